#include "forward/payload_split.h"

#include <gtest/gtest.h>

#include <random>

#include "forward/compression.h"
#include "unit/forward/test_payloads.h"

namespace lc::forward {
namespace {

using Names = std::vector<std::string>;

TEST(PayloadSplit, SeriesV2SplitsOnRepeatedSeriesAndKeepsOtherFields) {
  const Payload p = test::series_v2({"a", "b", "c", "d", "e"}, /*extra_field2=*/true);
  auto halves = split_payload(p);
  ASSERT_TRUE(halves) << halves.error().message;
  const auto first = test::decode_series_v2(halves->first.body);
  const auto second = test::decode_series_v2(halves->second.body);
  EXPECT_EQ(first.names, (Names{"a", "b"}));
  EXPECT_EQ(second.names, (Names{"c", "d", "e"}));
  EXPECT_EQ(first.field2, (Names{"shared-metadata"}));
  EXPECT_EQ(second.field2, (Names{"shared-metadata"}));
  EXPECT_EQ(halves->first.items, 2u);
  EXPECT_EQ(halves->second.items, 3u);
  EXPECT_EQ(halves->first.path, p.path);
  EXPECT_EQ(halves->first.content_type, p.content_type);
  EXPECT_EQ(halves->first.kind, PayloadKind::kSeriesV2);
}

TEST(PayloadSplit, HalvesKeepEveryByteOfEachSeries) {
  const Payload whole = test::series_v2({"a", "b", "c", "d"});
  auto halves = split_payload(whole);
  ASSERT_TRUE(halves);
  EXPECT_EQ(halves->first.body + halves->second.body, whole.body);
}

TEST(PayloadSplit, CompressedBodyIsOpenedFirst) {
  Payload p = test::series_v2({"a", "b", "c", "d"});
  auto packed = compress(Compressor::kZstd, p.body, 3);
  ASSERT_TRUE(packed);
  p.body = *packed;
  p.content_encoding = "zstd";
  auto halves = split_payload(p);
  ASSERT_TRUE(halves) << halves.error().message;
  EXPECT_EQ(halves->first.content_encoding, "");
  EXPECT_EQ(test::decode_series_v2(halves->first.body).names, (Names{"a", "b"}));
  EXPECT_EQ(test::decode_series_v2(halves->second.body).names, (Names{"c", "d"}));
}

TEST(PayloadSplit, SeriesV1JsonSplitsTheSeriesArrayRespectingStrings) {
  const Payload p = test::series_v1({"m1", "m2", "m3"});
  auto halves = split_payload(p);
  ASSERT_TRUE(halves) << halves.error().message;
  const Payload one = test::series_v1({"m1"});
  const Payload two = test::series_v1({"m2", "m3"});
  EXPECT_EQ(halves->first.body, one.body);
  EXPECT_EQ(halves->second.body, two.body);
  EXPECT_EQ(halves->first.items + halves->second.items, 3u);
}

TEST(PayloadSplit, LogsArray) {
  const Payload p = test::logs({"one", "two [x]", "three {y}", "four"});
  auto halves = split_payload(p);
  ASSERT_TRUE(halves);
  EXPECT_EQ(halves->first.body, test::logs({"one", "two [x]"}).body);
  EXPECT_EQ(halves->second.body, test::logs({"three {y}", "four"}).body);
  EXPECT_EQ(count_items(p).value_or(0), 4u);
}

TEST(PayloadSplit, ObjectWithLeadingScalarMembers) {
  Payload p = test::series_v1({"x"});
  p.body = R"({"version":1,"meta":{"a":[1,2]}, "series" : [ {"metric":"a"} , {"metric":"b"} ] })";
  p.items = 2;
  auto halves = split_payload(p);
  ASSERT_TRUE(halves) << halves.error().message;
  // Only top-level members count: the nested "meta.a" array is kept in both halves.
  EXPECT_EQ(halves->first.body,
            R"({"version":1,"meta":{"a":[1,2]}, "series" : [{"metric":"a"}] })");
  EXPECT_EQ(halves->second.body,
            R"({"version":1,"meta":{"a":[1,2]}, "series" : [{"metric":"b"}] })");
}

TEST(PayloadSplit, TracesSplitOnTracerPayloadsSharingItemsProportionally) {
  Payload p;
  p.kind = PayloadKind::kTraces;
  p.content_type = "application/x-protobuf";
  protozero::pbf_writer w(p.body);
  w.add_string(1, "host");
  w.add_string(5, "tp1");
  w.add_string(5, "tp2");
  w.add_string(7, "0.1.0");
  p.items = 10;  // chunks, not tracer payloads
  auto halves = split_payload(p);
  ASSERT_TRUE(halves);
  EXPECT_EQ(halves->first.items + halves->second.items, 10u);
  fakeintake::ProtoReader r(halves->second.body);
  std::vector<std::string> fields;
  std::uint32_t tag;
  fakeintake::WireType type;
  std::string_view value;
  while (r.next(tag, type) && r.read_bytes(value)) {
    fields.push_back(std::to_string(tag) + "=" + std::string(value));
  }
  EXPECT_EQ(fields, (Names{"1=host", "5=tp2", "7=0.1.0"}));
}

TEST(PayloadSplit, SingleItemIsTooLarge) {
  auto r = split_payload(test::series_v2({"only"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  auto l = split_payload(test::logs({"only"}));
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kTooLarge);
}

TEST(PayloadSplit, UnsplittableKindsAndGarbageAreErrorsNotCrashes) {
  Payload stats;
  stats.kind = PayloadKind::kTraceStats;
  stats.body = "\x81\xa1x\x01";
  auto s = split_payload(stats);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);

  for (const char* body : {"", "{", "[1,", "{\"a\":", "\"str", "[\"unterminated]", "{\"a\":1}"}) {
    Payload j = test::logs({"x"});
    j.body = body;
    EXPECT_FALSE(split_payload(j)) << body;
  }
  Payload pb = test::series_v2({"a", "b"});
  pb.body.resize(pb.body.size() - 3);
  EXPECT_FALSE(split_payload(pb));
  pb.body = "\x0f\x01";  // wire type 7
  EXPECT_FALSE(split_payload(pb));
}

// Mutated bodies (bit flips, truncation, inserted bytes) give an error or two halves whose items
// add up; never a crash or an out-of-bounds read (ASan build).
TEST(PayloadSplit, MutatedBodiesNeverCrash) {
  std::mt19937 rng(12345);
  const std::vector<Payload> seeds = {test::series_v2({"a", "b", "c"}, true),
                                      test::series_v1({"x", "y", "z"}),
                                      test::logs({"p", "q", "r", "s"})};
  int split_ok = 0;
  for (int round = 0; round < 3000; ++round) {
    Payload p = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !p.body.empty(); ++e) {
      const std::size_t at = rng() % p.body.size();
      switch (rng() % 3) {
        case 0:
          p.body[at] = static_cast<char>(p.body[at] ^ (1u << (rng() % 8)));
          break;
        case 1:
          p.body.resize(at);
          break;
        default:
          p.body.insert(at, 1, static_cast<char>(rng() % 256));
          break;
      }
    }
    auto halves = split_payload(p);
    if (halves) {
      ++split_ok;
      EXPECT_EQ(halves->first.items + halves->second.items, p.items);
    }
    (void)count_items(p);
  }
  EXPECT_GT(split_ok, 0);
}

}  // namespace
}  // namespace lc::forward
