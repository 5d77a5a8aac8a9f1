#include "forward/compression.h"

#include <gtest/gtest.h>

#include "unit/forward/test_payloads.h"

namespace lc::forward {
namespace {

std::string sample_text() {
  std::string s;
  for (int i = 0; i < 2000; ++i) s += "metric.name." + std::to_string(i % 37) + ":1|c|#env:dev\n";
  return s;
}

TEST(Compression, ContentEncodingNames) {
  EXPECT_EQ(content_encoding(Compressor::kZstd), "zstd");
  EXPECT_EQ(content_encoding(Compressor::kGzip), "gzip");
  EXPECT_EQ(content_encoding(Compressor::kZlib), "deflate");
  EXPECT_EQ(content_encoding(Compressor::kNone), "");
}

TEST(Compression, ZstdRoundTripsThroughLibzstd) {
  const std::string in = sample_text();
  auto out = compress(Compressor::kZstd, in, 3);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_LT(out->size(), in.size() / 4);
  EXPECT_EQ(test::zstd_open(*out), in);
}

TEST(Compression, GzipHasGzipWrapper) {
  const std::string in = sample_text();
  auto out = compress(Compressor::kGzip, in, 6);
  ASSERT_TRUE(out);
  ASSERT_GE(out->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*out)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*out)[1]), 0x8b);
  EXPECT_EQ(test::zlib_open(*out, 31), in);
  EXPECT_EQ(test::zlib_open(*out, 15), "<bad zlib>");  // not zlib-wrapped
}

TEST(Compression, DeflateIsZlibWrappedRfc1950) {
  const std::string in = sample_text();
  auto out = compress(Compressor::kZlib, in, 99);  // level clamped into zlib's range
  ASSERT_TRUE(out);
  EXPECT_EQ(static_cast<unsigned char>((*out)[0]) & 0x0f, 8);  // CM = deflate
  EXPECT_EQ(
      ((static_cast<unsigned char>((*out)[0]) << 8) | static_cast<unsigned char>((*out)[1])) % 31,
      0);
  EXPECT_EQ(test::zlib_open(*out, 15), in);
}

TEST(Compression, NoneIsIdentity) {
  auto out = compress(Compressor::kNone, "abc", 3);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "abc");
}

TEST(Compression, EmptyInputRoundTrips) {
  for (auto c : {Compressor::kZstd, Compressor::kGzip, Compressor::kZlib}) {
    auto out = compress(c, "", 3);
    ASSERT_TRUE(out);
    auto back = decompress(content_encoding(c), *out);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, "");
  }
}

TEST(Compression, DecompressOpensEveryEncoding) {
  const std::string in = sample_text();
  for (auto c : {Compressor::kZstd, Compressor::kGzip, Compressor::kZlib, Compressor::kNone}) {
    auto packed = compress(c, in, 3);
    ASSERT_TRUE(packed);
    auto back = decompress(content_encoding(c), *packed);
    ASSERT_TRUE(back) << compressor_name(c) << ": " << back.error().message;
    EXPECT_EQ(*back, in);
  }
}

TEST(Compression, DecompressRejectsCorruptUnknownAndOversize) {
  auto bad = decompress("zstd", "definitely not zstd");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  auto gz = compress(Compressor::kGzip, sample_text(), 6);
  ASSERT_TRUE(gz);
  auto truncated = decompress("gzip", gz->substr(0, gz->size() / 2));
  ASSERT_FALSE(truncated);

  auto unknown = decompress("br", "x");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("br"), std::string::npos);

  auto zs = compress(Compressor::kZstd, sample_text(), 3);
  ASSERT_TRUE(zs);
  auto capped = decompress("zstd", *zs, 100);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace lc::forward
