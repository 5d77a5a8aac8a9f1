// Series and sketch encoders (datadog-wire.md §4.0–4.4): JSON numbers, v1 keys, payload splitting
// by bytes and points, item_too_big, the acceptance window, and decoded round trips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "core/tag_sets.h"
#include "metrics/series_encoder.h"
#include "metrics/sketch_encoder.h"
#include "metrics_test_util.h"

namespace lc::metrics {
namespace {

using ::testing::ElementsAre;
using namespace lc::metrics::testing;

constexpr std::int64_t kNow = 1700000003;

Series gauge(std::string name, std::vector<SeriesPoint> points,
             std::vector<std::string> tags = {}) {
  Series s;
  s.name = std::move(name);
  s.tags = std::move(tags);
  s.type = SeriesType::kGauge;
  s.points = std::move(points);
  return s;
}

std::string number(double v) {
  std::string out;
  append_json_number(out, v);
  return out;
}

TEST(EncoderTest, JsonNumbersShortestRoundTrip) {
  EXPECT_EQ(number(11), "11");
  EXPECT_EQ(number(0.7), "0.7");
  EXPECT_EQ(number(33.333333333333336), "33.333333333333336");
  EXPECT_EQ(number(-5), "-5");
  EXPECT_EQ(number(0), "0");
  EXPECT_EQ(number(1e21), "1e+21");
  EXPECT_EQ(std::stod(number(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(EncoderTest, MergeTags) {
  EXPECT_THAT(merge_tags({"a:1", "z:1"}, {"env:prod", "a:1", "env:prod"}),
              ElementsAre("a:1", "z:1", "env:prod"));
  EXPECT_THAT(merge_tags({}, {}), ElementsAre());
}

TEST(EncoderTest, V1AlwaysWritesHostAndTagsAndEscapes) {
  SelfMetrics self;
  SeriesEncoder enc({}, TagSets::none(), TagSetId::kCustomMetrics, self);
  Series s = gauge("we\"ird\\name", {{kNow, 1.5}}, {"k:\x01"});
  s.host = "h";
  auto out = enc.encode_v1({s}, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body,
            "{\"series\":[{\"metric\":\"we\\\"ird\\\\name\",\"points\":[[1700000003,1.5]],"
            "\"type\":\"gauge\",\"interval\":10,\"host\":\"h\",\"tags\":[\"k:\\u0001\"]}]}");
  EXPECT_NO_THROW(boost::json::parse(out[0].body));
}

TEST(EncoderTest, V2DecodesBack) {
  SelfMetrics self;
  TagSets tags;
  tags.set("env", "dev");
  SeriesEncoder enc({}, tags, TagSetId::kCustomMetrics, self);
  Series s = gauge("m", {{kNow - 20, 0}, {kNow - 10, -2.5}}, {"a:b"});
  s.host = "h1";
  Series r = s;
  r.name = "r";
  r.type = SeriesType::kRate;
  auto out = enc.encode_v2({s, r}, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].items, 2u);
  auto d = decode_series_v2(out[0].body);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].metric, "m");
  EXPECT_EQ(d[0].type, 3);
  EXPECT_EQ(d[1].type, 2);
  EXPECT_EQ(d[0].interval, 10);
  EXPECT_THAT(d[0].tags, ElementsAre("a:b", "env:dev"));
  ASSERT_EQ(d[0].resources.size(), 1u);
  EXPECT_EQ(d[0].resources[0], std::make_pair(std::string("host"), std::string("h1")));
  ASSERT_EQ(d[0].points.size(), 2u);
  EXPECT_EQ(d[0].points[0].value, 0);  // omitted on the wire, decodes as 0
  EXPECT_EQ(d[0].points[1].value, -2.5);
}

TEST(EncoderTest, AcceptanceWindowDropsTooOldAndTooFarInFuture) {
  SelfMetrics self;
  SeriesEncoder enc({}, TagSets::none(), TagSetId::kCustomMetrics, self);
  auto out = enc.encode_v2(
      {gauge("a", {{kNow - 3601, 1}, {kNow - 3600, 2}, {kNow + 600, 3}, {kNow + 601, 4}}),
       gauge("b", {{kNow - 4000, 1}})},
      kNow);
  ASSERT_EQ(out.size(), 1u);
  auto d = decode_series_v2(out[0].body);
  ASSERT_EQ(d.size(), 1u);  // b had no point left
  ASSERT_EQ(d[0].points.size(), 2u);
  EXPECT_EQ(d[0].points[0].value, 2);
  EXPECT_EQ(d[0].points[1].value, 3);
  EXPECT_EQ(self.dropped_count("metrics", "too_old"), 3u);

  SketchEncoder sk({}, TagSets::none(), TagSetId::kCustomMetrics, self);
  SketchSeries old;
  old.name = "s";
  old.points.push_back({kNow - 4000, {}});
  old.points.back().sketch.insert(1);
  EXPECT_TRUE(sk.encode({old}, kNow).empty());
  EXPECT_EQ(self.dropped_count("metrics", "too_old"), 4u);
}

TEST(EncoderTest, V2SplitsAtPointLimit) {
  SelfMetrics self;
  EncoderLimits limits;
  limits.series_v2_points = 3;
  SeriesEncoder enc(limits, TagSets::none(), TagSetId::kCustomMetrics, self);
  std::vector<Series> in;
  for (int i = 0; i < 5; ++i) in.push_back(gauge("m" + std::to_string(i), {{kNow, double(i)}}));
  in.push_back(gauge("two", {{kNow - 10, 1}, {kNow, 2}}));
  auto out = enc.encode_v2(in, kNow);
  ASSERT_EQ(out.size(), 3u);
  std::vector<std::string> names;
  std::size_t points = 0;
  for (const auto& p : out) {
    std::size_t in_payload = 0;
    for (const auto& s : decode_series_v2(p.body)) {
      names.push_back(s.metric);
      in_payload += s.points.size();
    }
    EXPECT_LE(in_payload, 3u);
    points += in_payload;
  }
  EXPECT_THAT(names, ElementsAre("m0", "m1", "m2", "m3", "m4", "two"));
  EXPECT_EQ(points, 7u);
}

TEST(EncoderTest, V2SplitsAtByteLimitAndDropsItemTooBig) {
  SelfMetrics self;
  EncoderLimits limits;
  limits.series_v2_bytes = 200;
  SeriesEncoder enc(limits, TagSets::none(), TagSetId::kCustomMetrics, self);
  std::vector<Series> in;
  for (int i = 0; i < 20; ++i)
    in.push_back(gauge("metric.number." + std::to_string(i), {{kNow, 1}}));
  in.push_back(gauge(std::string(300, 'x'), {{kNow, 1}}));
  auto out = enc.encode_v2(in, kNow);
  ASSERT_GT(out.size(), 1u);
  std::size_t total = 0;
  for (const auto& p : out) {
    EXPECT_LE(p.body.size(), 200u);
    auto d = decode_series_v2(p.body);
    EXPECT_EQ(d.size(), p.items);
    total += d.size();
  }
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(self.dropped_count("metrics", "item_too_big"), 1u);
}

TEST(EncoderTest, V1SplitsIntoValidJsonDocuments) {
  SelfMetrics self;
  EncoderLimits limits;
  limits.series_v1_bytes = 400;
  TagSets tags;
  tags.set("env", "x");
  SeriesEncoder enc(limits, tags, TagSetId::kCustomMetrics, self);
  std::vector<Series> in;
  for (int i = 0; i < 30; ++i) in.push_back(gauge("m" + std::to_string(i), {{kNow, 0.5}}));
  auto out = enc.encode_v1(in, kNow);
  ASSERT_GT(out.size(), 1u);
  std::size_t total = 0;
  for (const auto& p : out) {
    EXPECT_LE(p.body.size(), 400u);
    auto v = boost::json::parse(p.body);
    total += v.as_object().at("series").as_array().size();
    EXPECT_EQ(v.as_object().at("series").as_array().size(), p.items);
  }
  EXPECT_EQ(total, 30u);
}

TEST(EncoderTest, SketchesSplitAtByteLimit) {
  SelfMetrics self;
  EncoderLimits limits;
  limits.sketch_bytes = 300;
  SketchEncoder enc(limits, TagSets::none(), TagSetId::kCustomMetrics, self);
  std::vector<SketchSeries> in;
  for (int i = 0; i < 10; ++i) {
    SketchSeries s;
    s.name = "dist." + std::to_string(i);
    s.points.push_back({kNow, {}});
    for (int v = 1; v <= 20; ++v) s.points.back().sketch.insert(v * 1.7);
    in.push_back(std::move(s));
  }
  auto out = enc.encode(in, kNow);
  ASSERT_GT(out.size(), 1u);
  std::size_t total = 0;
  for (const auto& p : out) {
    EXPECT_EQ(p.kind, PayloadKind::kSketches);
    EXPECT_LE(p.body.size(), 300u);
    for (const auto& d : decode_sketches(p.body)) {
      ASSERT_EQ(d.dogsketches.size(), 1u);
      EXPECT_EQ(d.dogsketches[0].cnt, 20);
      EXPECT_EQ(d.dogsketches[0].k.size(), d.dogsketches[0].n.size());
      ++total;
    }
  }
  EXPECT_EQ(total, 10u);
}

// The tags of the one series of a v1 JSON body.
std::vector<std::string> v1_tags(const std::string& body) {
  std::vector<std::string> out;
  const auto doc = boost::json::parse(body);
  const auto& series = doc.at("series").as_array();
  EXPECT_EQ(series.size(), 1u);
  if (series.empty()) return out;
  for (const auto& t : series[0].at("tags").as_array()) out.emplace_back(t.as_string());
  return out;
}

// Tags are read when a payload is built, not when the encoder is: a tag set afterwards (the
// account id of the register reply, the runtime after the first /next) is in the next payload,
// and a replaced value replaces the old one in place.
TEST(EncoderTest, TagSetAfterConstructionIsInTheNextPayload) {
  SelfMetrics self;
  TagSets tags;
  tags.set("env", "prod");
  SeriesEncoder series(EncoderLimits{}, tags, TagSetId::kCustomMetrics, self);
  SketchEncoder sketches(EncoderLimits{}, tags, TagSetId::kCustomMetrics, self);
  const Series s = gauge("m", {{kNow, 1}}, {"a:1"});
  SketchSeries d;
  d.name = "d";
  d.tags = {"a:1"};
  d.points.push_back({kNow, {}});
  d.points.back().sketch.insert(1);

  auto before = decode_series_v2(series.encode_v2({s}, kNow).at(0).body);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_THAT(before[0].tags, ElementsAre("a:1", "env:prod"));

  tags.set("account_id", "123456789012");
  tags.set("runtime", "nodejs20.x");
  auto v2 = decode_series_v2(series.encode_v2({s}, kNow).at(0).body);
  ASSERT_EQ(v2.size(), 1u);
  EXPECT_THAT(v2[0].tags,
              ElementsAre("a:1", "env:prod", "account_id:123456789012", "runtime:nodejs20.x"));
  EXPECT_THAT(v1_tags(series.encode_v1({s}, kNow).at(0).body),
              ElementsAre("a:1", "env:prod", "account_id:123456789012", "runtime:nodejs20.x"));
  auto sk = decode_sketches(sketches.encode({d}, kNow).at(0).body);
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_THAT(sk[0].tags,
              ElementsAre("a:1", "env:prod", "account_id:123456789012", "runtime:nodejs20.x"));

  tags.set("env", "staging");  // replaced in place: one value, same position
  tags.remove("runtime");
  auto after = decode_series_v2(series.encode_v2({s}, kNow).at(0).body);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_THAT(after[0].tags, ElementsAre("a:1", "env:staging", "account_id:123456789012"));
}

// The encoder reads the set it was given: custom metrics lose the excluded keys, enhanced metrics
// keep them (lambda-agent.md §3.5).
TEST(EncoderTest, EachEncoderReadsItsOwnSet) {
  SelfMetrics self;
  TagSets tags;
  tags.set("functionname", "my-fn");
  tags.set("memorysize", "1024");
  tags.set_custom_metrics_excluded_keys({"memorysize"});
  SeriesEncoder custom(EncoderLimits{}, tags, TagSetId::kCustomMetrics, self);
  SeriesEncoder enhanced(EncoderLimits{}, tags, TagSetId::kEnhancedMetrics, self);
  const Series s = gauge("m", {{kNow, 1}});
  auto c = decode_series_v2(custom.encode_v2({s}, kNow).at(0).body);
  auto e = decode_series_v2(enhanced.encode_v2({s}, kNow).at(0).body);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_THAT(c[0].tags, ElementsAre("functionname:my-fn"));
  EXPECT_THAT(e[0].tags, ElementsAre("functionname:my-fn", "memorysize:1024"));
}

TEST(EncoderTest, FallbackSeriesFromSketch) {
  SketchSeries s;
  s.name = "lat";
  s.tags = {"a:1"};
  s.points.push_back({kNow - 10, {}});
  s.points.back().sketch.insert(2);
  s.points.back().sketch.insert(4, 2.0);
  auto f = sketch_fallback_series(s);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].name, "lat.count");
  EXPECT_EQ(f[0].type, SeriesType::kRate);
  EXPECT_EQ(f[0].points[0].value, 0.3);
  EXPECT_EQ(f[1].name, "lat.sum");
  EXPECT_EQ(f[1].points[0].value, 10);
  EXPECT_EQ(f[2].name, "lat.min");
  EXPECT_EQ(f[2].points[0].value, 2);
  EXPECT_EQ(f[3].name, "lat.max");
  EXPECT_EQ(f[3].points[0].value, 4);
  EXPECT_EQ(f[4].name, "lat.avg");
  EXPECT_DOUBLE_EQ(f[4].points[0].value, 2 + (4 - 2) * 2.0 / 3.0);
  for (const auto& one : f) {
    EXPECT_EQ(one.tags, s.tags);
    EXPECT_EQ(one.points[0].ts, kNow - 10);
  }
}

}  // namespace
}  // namespace lc::metrics
