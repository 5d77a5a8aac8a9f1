#include "fakeintake/decompress.h"

#include <gtest/gtest.h>

#include "test_bytes.h"

namespace lc::fakeintake {
namespace {

using testing::deflate_zlib;
using testing::gzip;
using testing::zlib_compress;
using testing::zstd;

const std::string kText = R"({"series":[{"metric":"a","points":[[1700000000,1]]}]})";

TEST(FakeIntakeDecompress, ParsesContentEncodingHeader) {
  EXPECT_EQ(*parse_content_encoding(""), Encoding::kNone);
  EXPECT_EQ(*parse_content_encoding("identity"), Encoding::kNone);
  EXPECT_EQ(*parse_content_encoding(" ZSTD "), Encoding::kZstd);
  EXPECT_EQ(*parse_content_encoding("gzip"), Encoding::kGzip);
  EXPECT_EQ(*parse_content_encoding("deflate"), Encoding::kDeflate);
  auto br = parse_content_encoding("br");
  ASSERT_FALSE(br);
  EXPECT_EQ(br.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(br.error().message.find("br"), std::string::npos);
}

TEST(FakeIntakeDecompress, RoundTripsEveryEncoding) {
  EXPECT_EQ(*decompress(kText, Encoding::kNone, 1000), kText);
  EXPECT_EQ(*decompress(gzip(kText), Encoding::kGzip, 1000), kText);
  EXPECT_EQ(*decompress(deflate_zlib(kText), Encoding::kDeflate, 1000), kText);
  EXPECT_EQ(*decompress(zstd(kText), Encoding::kZstd, 1000), kText);
}

TEST(FakeIntakeDecompress, AcceptsConcatenatedGzipMembersAndZstdFrames) {
  EXPECT_EQ(*decompress(gzip("ab") + gzip("cd"), Encoding::kGzip, 100), "abcd");
  EXPECT_EQ(*decompress(zstd("ab") + zstd("cd"), Encoding::kZstd, 100), "abcd");
}

TEST(FakeIntakeDecompress, RejectsCorruptTruncatedAndMislabelledBodies) {
  for (Encoding e : {Encoding::kGzip, Encoding::kDeflate, Encoding::kZstd}) {
    auto r = decompress("not compressed at all", e, 1000);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    auto empty = decompress("", e, 1000);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  }
  const std::string gz = gzip(kText);
  auto cut_gz = decompress(gz.substr(0, gz.size() - 6), Encoding::kGzip, 1000);
  ASSERT_FALSE(cut_gz);
  EXPECT_EQ(cut_gz.error().code, ErrorCode::kInvalidArgument);
  const std::string zs = zstd(kText);
  auto cut_zs = decompress(zs.substr(0, zs.size() - 3), Encoding::kZstd, 1000);
  ASSERT_FALSE(cut_zs);
  EXPECT_EQ(cut_zs.error().code, ErrorCode::kInvalidArgument);
  // deflate means zlib-wrapped (RFC 1950); a raw deflate stream is refused.
  auto raw = decompress(zlib_compress(kText, -15), Encoding::kDeflate, 1000);
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().code, ErrorCode::kInvalidArgument);
  // gzip labelled as deflate and the other way round.
  EXPECT_FALSE(decompress(gz, Encoding::kDeflate, 1000));
  EXPECT_FALSE(decompress(deflate_zlib(kText), Encoding::kGzip, 1000));
  EXPECT_FALSE(decompress(deflate_zlib(kText) + "xx", Encoding::kDeflate, 1000));
  EXPECT_FALSE(decompress(zs + "xx", Encoding::kZstd, 1000));
}

TEST(FakeIntakeDecompress, StopsAZipBombAtTheCap) {
  const std::string zeros(8 * 1024 * 1024, '\0');
  for (const auto& [body, e] :
       {std::pair{gzip(zeros), Encoding::kGzip}, std::pair{deflate_zlib(zeros), Encoding::kDeflate},
        std::pair{zstd(zeros), Encoding::kZstd}}) {
    ASSERT_LT(body.size(), 64u * 1024);
    auto r = decompress(body, e, 1024 * 1024);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  }
  auto plain = decompress(std::string(11, 'x'), Encoding::kNone, 10);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code, ErrorCode::kTooLarge);
  // Exactly at the cap is fine.
  EXPECT_EQ(decompress(gzip(std::string(1000, 'y')), Encoding::kGzip, 1000)->size(), 1000u);
}

}  // namespace
}  // namespace lc::fakeintake
