#include "fakeintake/intake.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <protozero/pbf_writer.hpp>

#include "fakeintake/json_util.h"
#include "test_bytes.h"

namespace lc::fakeintake {
namespace {

namespace json = boost::json;
using testing::gzip;
using testing::kG1;
using testing::kG8;
using testing::kG9;
using testing::zstd;

IntakeRequest req(std::string path, std::string content_type, std::string body,
                  std::string encoding = "") {
  IntakeRequest r;
  r.path = std::move(path);
  r.api_key = "0123456789abcdef";
  r.content_type = std::move(content_type);
  r.content_encoding = std::move(encoding);
  r.body = std::move(body);
  return r;
}

class FakeIntakeCore : public ::testing::Test {
 protected:
  SelfMetrics self_;
  std::vector<json::value> recorded_;
  Intake intake_{self_, IntakeLimits{}, [this](const json::value& v) { recorded_.push_back(v); }};

  // The rejection list of the query API, for one endpoint.
  json::array rejections(std::string_view endpoint) {
    return intake_.payloads_json(endpoint).at("rejections").as_array();
  }
  void expect_rejected(const IntakeRequest& r, int status, std::string_view reason_part) {
    const std::size_t before = rejections(r.path).size();
    const std::size_t recorded_before = recorded_.size();
    Verdict v = intake_.submit(r);
    EXPECT_EQ(v.status, status) << v.reason;
    EXPECT_NE(v.reason.find(reason_part), std::string::npos) << v.reason;
    EXPECT_EQ(v.reason.find('\n'), std::string::npos);
    EXPECT_NE(v.body().find("errors"), std::string::npos);
    auto after = rejections(r.path);
    ASSERT_EQ(after.size(), before + 1);
    EXPECT_EQ(after.back().at("status").as_int64(), status);
    EXPECT_EQ(after.back().at("reason").as_string(), v.reason);
    ASSERT_EQ(recorded_.size(), recorded_before + 1);
    EXPECT_EQ(recorded_.back().at("kind").as_string(), "rejection");
    EXPECT_TRUE(intake_.payloads_json(r.path).at("payloads").as_array().empty());
  }
};

TEST_F(FakeIntakeCore, AcceptsG1AndReadsItBackWithCount) {
  Verdict v = intake_.submit(req("/api/v2/series", "application/x-protobuf", zstd(kG1), "zstd"));
  ASSERT_EQ(v.status, 202) << v.reason;
  auto m = intake_.metrics_json("page.views");
  ASSERT_EQ(m.at("points").as_array().size(), 1u);
  const auto& p = m.at("points").at(0);
  EXPECT_EQ(p.at("type").as_string(), "rate");
  EXPECT_EQ(p.at("timestamp").as_int64(), 1700000000);
  EXPECT_DOUBLE_EQ(p.at("value").as_double(), 0.7);
  EXPECT_EQ(p.at("interval").as_int64(), 10);
  EXPECT_DOUBLE_EQ(m.at("count").as_double(), 7.0);
  EXPECT_EQ(m.at("duplicates").as_uint64(), 0u);
  auto payloads = intake_.payloads_json("/api/v2/series").at("payloads").as_array();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0].at("content_encoding").as_string(), "zstd");
  EXPECT_EQ(payloads[0].at("bytes").as_uint64(), kG1.size());
  EXPECT_EQ(payloads[0].at("decoded").at("series").at(0).at("metric").as_string(), "page.views");
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(recorded_[0].at("kind").as_string(), "payload");
  // A gauge-only metric has no count.
  EXPECT_TRUE(intake_.metrics_json("nothing").at("count").is_null());
}

TEST_F(FakeIntakeCore, LaterPointWithSameIdentityReplacesAndCountsADuplicate) {
  ASSERT_TRUE(intake_.submit(req("/api/v2/series", "application/x-protobuf", kG1)).accepted());
  // Same name, same tag set (order differs), same host and timestamp: replaces.
  const char* v1 = R"({"series":[
    {"metric":"page.views","points":[[1700000000,0.2]],"type":"rate","interval":10,"host":"","tags":[]},
    {"metric":"page.views","points":[[1700000010,0.5]],"type":"rate","interval":10,"host":"","tags":[]}]})";
  ASSERT_TRUE(intake_.submit(req("/api/v1/series", "application/json", v1)).accepted());
  auto m = intake_.metrics_json("page.views");
  EXPECT_EQ(m.at("duplicates").as_uint64(), 1u);
  ASSERT_EQ(m.at("points").as_array().size(), 2u);
  EXPECT_DOUBLE_EQ(m.at("points").at(0).at("value").as_double(), 0.2);
  EXPECT_DOUBLE_EQ(m.at("count").as_double(), 7.0);  // (0.2 + 0.5) × 10
  const char* tags_ab =
      R"({"series":[{"metric":"t","points":[[1700000000,1]],"type":"gauge","interval":10,"host":"h","tags":["a:1","b:2"]}]})";
  const char* tags_ba =
      R"({"series":[{"metric":"t","points":[[1700000000,2]],"type":"gauge","interval":10,"host":"h","tags":["b:2","a:1"]}]})";
  const char* other_host =
      R"({"series":[{"metric":"t","points":[[1700000000,3]],"type":"gauge","interval":10,"host":"g","tags":["b:2","a:1"]}]})";
  ASSERT_TRUE(intake_.submit(req("/api/v1/series", "application/json", tags_ab)).accepted());
  ASSERT_TRUE(intake_.submit(req("/api/v1/series", "application/json", tags_ba)).accepted());
  ASSERT_TRUE(intake_.submit(req("/api/v1/series", "application/json", other_host)).accepted());
  auto t = intake_.metrics_json("t");
  EXPECT_EQ(t.at("duplicates").as_uint64(), 1u);
  EXPECT_EQ(t.at("points").as_array().size(), 2u);
  EXPECT_TRUE(t.at("count").is_null());
}

TEST_F(FakeIntakeCore, SketchesAreListedPerPointAndMerged) {
  ASSERT_TRUE(intake_.submit(req("/api/beta/sketches", "application/x-protobuf", gzip(kG9), "gzip"))
                  .accepted());
  std::string second = kG9;
  // Same context, a later bucket: patch ts 1700000000 → 1700000010 (varint 80e2cfaa06 →
  // 8ae2cfaa06).
  const auto pos = second.find(testing::from_hex("80e2cfaa06"));
  ASSERT_NE(pos, std::string::npos);
  second[pos] = static_cast<char>(0x8a);
  ASSERT_TRUE(
      intake_.submit(req("/api/beta/sketches", "application/x-protobuf", second)).accepted());
  auto m = intake_.metrics_json("temp.delta");
  EXPECT_EQ(m.at("sketches").as_array().size(), 2u);
  const auto& merged = m.at("sketch");
  EXPECT_EQ(merged.at("cnt").as_int64(), 6);
  EXPECT_DOUBLE_EQ(merged.at("min").as_double(), -5);
  EXPECT_DOUBLE_EQ(merged.at("max").as_double(), 5);
  EXPECT_DOUBLE_EQ(merged.at("sum").as_double(), 0);
  const auto& ctx = m.at("contexts").at(0);
  EXPECT_EQ(ctx.at("k"), (json::array{-1442, 0, 1442}));
  EXPECT_EQ(ctx.at("n"), (json::array{2, 2, 2}));
  EXPECT_EQ(m.at("duplicates").as_uint64(), 0u);
  ASSERT_TRUE(intake_.submit(req("/api/beta/sketches", "application/x-protobuf", kG8)).accepted());
  auto g8 = intake_.metrics_json("probe.biz.latency");
  EXPECT_DOUBLE_EQ(g8.at("sketch").at("avg").as_double(), 12.5);
  EXPECT_EQ(g8.at("contexts").at(0).at("tags"), (json::array{"env:dev", "route:/a"}));
}

TEST_F(FakeIntakeCore, MergedSketchAverageFollowsTheMergeRule) {
  auto point = [](std::int64_t ts, std::int64_t cnt, double v, double sum) {
    std::string body;
    protozero::pbf_writer payload(body);
    protozero::pbf_writer sketch(payload, 1);
    sketch.add_string(1, "w");
    protozero::pbf_writer ds(sketch, 7);
    ds.add_int64(1, ts);
    ds.add_int64(2, cnt);
    ds.add_double(3, v);
    ds.add_double(4, v);
    ds.add_double(5, v);
    ds.add_double(6, sum);
    const std::vector<std::int32_t> k{1400};
    const std::vector<std::uint32_t> n{static_cast<std::uint32_t>(cnt)};
    ds.add_packed_sint32(7, k.begin(), k.end());
    ds.add_packed_uint32(8, n.begin(), n.end());
    return body;
  };
  // 2 at @0.3 (cnt 3, sum 6.67, avg 2), then 4 once: avg = 2 + (4 − 2) · 1/4 = 2.5, not sum/cnt.
  ASSERT_TRUE(intake_
                  .submit(req("/api/beta/sketches", "application/x-protobuf",
                              point(1700000000, 3, 2, 6.666666666666667)))
                  .accepted());
  ASSERT_TRUE(
      intake_
          .submit(req("/api/beta/sketches", "application/x-protobuf", point(1700000010, 1, 4, 4)))
          .accepted());
  auto merged = intake_.metrics_json("w").at("sketch");
  EXPECT_EQ(merged.at("cnt").as_int64(), 4);
  EXPECT_DOUBLE_EQ(merged.at("avg").as_double(), 2.5);
  EXPECT_DOUBLE_EQ(merged.at("min").as_double(), 2);
  EXPECT_DOUBLE_EQ(merged.at("max").as_double(), 4);
}

TEST_F(FakeIntakeCore, MissingOrEmptyApiKeyIs403) {
  auto r = req("/api/v2/series", "application/x-protobuf", kG1);
  r.api_key.reset();
  expect_rejected(r, 403, "DD-API-KEY");
  r.api_key = "";
  expect_rejected(r, 403, "DD-API-KEY");
  EXPECT_TRUE(intake_.metrics_json("page.views").at("points").as_array().empty());
}

TEST_F(FakeIntakeCore, RequiredKeyFaultRejectsAWrongKey) {
  FaultPlan plan;
  plan.require_key = "right";
  intake_.set_fault("/api/v2/series", plan);
  auto r = req("/api/v2/series", "application/x-protobuf", kG1);
  expect_rejected(r, 403, "rejected");
  r.api_key = "right";
  EXPECT_EQ(intake_.submit(r).status, 202);
  // Other endpoints are unaffected.
  EXPECT_EQ(intake_.submit(req("/api/beta/sketches", "application/x-protobuf", kG8)).status, 202);
}

TEST_F(FakeIntakeCore, WrongContentTypeIs400) {
  expect_rejected(req("/api/v2/series", "text/plain", kG1), 400, "Content-Type");
  expect_rejected(req("/api/v2/series", "", kG1), 400, "Content-Type");
  expect_rejected(req("/api/v1/series", "application/x-protobuf", "{}"), 400, "Content-Type");
  expect_rejected(req("/api/v0.2/stats", "application/json", "{}"), 400, "application/msgpack");
  // Parameters and case are ignored.
  const char* v1 =
      R"({"series":[{"metric":"a","points":[[1700000000,1]],"type":"gauge","interval":10,"host":"","tags":[]}]})";
  EXPECT_EQ(intake_.submit(req("/api/v1/series", "Application/JSON; charset=utf-8", v1)).status,
            202);
  // v2 also takes JSON.
  const char* v2 =
      R"({"series":[{"metric":"b","type":3,"points":[{"timestamp":1700000000,"value":1}]}]})";
  EXPECT_EQ(intake_.submit(req("/api/v2/series", "application/json", v2)).status, 202);
}

TEST_F(FakeIntakeCore, BadCompressionIs400) {
  expect_rejected(req("/api/v2/series", "application/x-protobuf", kG1, "zstd"), 400, "zstd");
  expect_rejected(req("/api/v2/series", "application/x-protobuf", gzip(kG1), "deflate"), 400,
                  "deflate");
  expect_rejected(req("/api/v2/series", "application/x-protobuf", kG1, "br"), 400,
                  "Content-Encoding");
}

TEST_F(FakeIntakeCore, UndecodableBodyIs400) {
  expect_rejected(req("/api/v2/series", "application/x-protobuf", kG1.substr(0, 20)), 400, "");
  expect_rejected(req("/api/v2/logs", "application/json", "[{"), 400, "JSON");
  expect_rejected(req("/api/v2/series", "application/x-protobuf", ""), 400, "empty");
}

TEST_F(FakeIntakeCore, OversizeBodiesAre413) {
  // Compressed size over the series v2 limit of 512 000 bytes.
  expect_rejected(req("/api/v2/series", "application/x-protobuf", std::string(512001, 'x')), 413,
                  "512000");
  // A zip bomb: small on the wire, over 5 242 880 bytes once inflated.
  const std::string bomb = zstd(std::string(6 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 512000u);
  expect_rejected(req("/api/v2/series", "application/x-protobuf", bomb, "zstd"), 413, "exceeds");
}

TEST_F(FakeIntakeCore, TooManyPointsOrEntriesIs413) {
  std::string series = R"({"series":[{"metric":"many","type":3,"points":[)";
  for (int i = 0; i < 10001; ++i) {
    if (i) series += ',';
    series += R"({"timestamp":)" + std::to_string(1700000000 + i) + R"(,"value":1})";
  }
  series += "]}]}";
  expect_rejected(req("/api/v2/series", "application/json", gzip(series), "gzip"), 413, "10000");
  std::string logs = "[";
  for (int i = 0; i < 1001; ++i) logs += std::string(i ? "," : "") + R"({"message":"m"})";
  logs += "]";
  expect_rejected(req("/api/v2/logs", "application/json", logs), 413, "1000");
  EXPECT_TRUE(intake_.logs_json().at("entries").as_array().empty());
}

TEST_F(FakeIntakeCore, UnknownEndpointIs404) {
  expect_rejected(req("/api/v3/series", "application/json", "{}"), 404, "/api/v3/series");
}

TEST_F(FakeIntakeCore, LogsTracesAndResetRoundTrip) {
  ASSERT_EQ(intake_
                .submit(req("/api/v2/logs", "application/json",
                            R"([{"message":"hello","service":"web","status":"info"}])"))
                .status,
            202);
  auto logs = intake_.logs_json().at("entries").as_array();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("message").as_string(), "hello");
  intake_.reset();
  EXPECT_TRUE(intake_.logs_json().at("entries").as_array().empty());
  EXPECT_TRUE(intake_.payloads_json("").at("payloads").as_array().empty());
}

TEST_F(FakeIntakeCore, FlagsLogEntriesOverOneMebibyte) {
  const std::string big(1048576, 'x');
  const std::string body = R"([{"message":"small"},{"message":")" + big + R"("}])";
  ASSERT_EQ(intake_.submit(req("/api/v2/logs", "application/json", body)).status, 202);
  auto p = intake_.payloads_json("/api/v2/logs").at("payloads").at(0);
  EXPECT_EQ(p.at("oversize_entries").as_uint64(), 1u);
  EXPECT_EQ(p.at("items").as_uint64(), 2u);
  EXPECT_EQ(intake_.logs_json().at("entries").as_array().size(), 2u);
}

TEST_F(FakeIntakeCore, StatusSequenceIsConsumedInOrder) {
  auto flag = parse_fault_flag("/api/v2/series=503,503,200");
  ASSERT_TRUE(flag);
  intake_.set_fault(flag->first, flag->second);
  EXPECT_EQ(intake_.take_fault("/api/v2/series").status, 503);
  EXPECT_EQ(intake_.take_fault("/api/v1/series").status, 0);
  EXPECT_EQ(intake_.take_fault("/api/v2/series").status, 503);
  EXPECT_EQ(intake_.take_fault("/api/v2/series").status, 200);
  EXPECT_EQ(intake_.take_fault("/api/v2/series").status, 0);
  FaultPlan star;
  star.delay_ms = 50;
  intake_.set_fault("*", star);
  EXPECT_EQ(intake_.take_fault("/api/v2/logs").delay_ms, 50);
  intake_.clear_faults();
  EXPECT_EQ(intake_.take_fault("/api/v2/logs").delay_ms, 0);
}

TEST_F(FakeIntakeCore, ListsTheKeyAndHeadersOfEachPayload) {
  auto r = req("/api/v2/series", "application/x-protobuf", kG1);
  r.api_key = "key-2";
  r.headers = {{"DD-Agent-Version", "0.1.0"}, {"User-Agent", "lastcall/0.1.0"}};
  ASSERT_TRUE(intake_.submit(r).accepted());
  auto p = intake_.payloads_json("/api/v2/series").at("payloads").at(0);
  EXPECT_EQ(p.at("api_key").as_string(), "key-2");
  EXPECT_EQ(p.at("headers").at("dd-agent-version").as_string(), "0.1.0");
  EXPECT_EQ(p.at("headers").at("user-agent").as_string(), "lastcall/0.1.0");
  // The --record line carries the headers but never the key.
  EXPECT_EQ(recorded_.back().at("headers").at("user-agent").as_string(), "lastcall/0.1.0");
  EXPECT_EQ(to_json(recorded_.back()).find("key-2"), std::string::npos);
}

TEST_F(FakeIntakeCore, StoredPayloadsAreCappedByBytesOldestFirst) {
  SelfMetrics self;
  IntakeLimits limits;
  limits.max_payload_bytes = 2 * kG1.size();
  Intake small(self, limits);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(small.submit(req("/api/v2/series", "application/x-protobuf", kG1)).accepted());
  }
  EXPECT_EQ(small.payloads_json("").at("payloads").as_array().size(), 2u);
  EXPECT_EQ(self.dropped_count("fakeintake", "payload_cap"), 1u);
  // Points are kept apart from payload records.
  EXPECT_EQ(small.metrics_json("page.views").at("duplicates").as_uint64(), 2u);
}

TEST_F(FakeIntakeCore, StoredPointsAreCappedAndCounted) {
  SelfMetrics self;
  IntakeLimits limits;
  limits.max_points = 1;
  Intake small(self, limits);
  const char* v1 =
      R"({"series":[{"metric":"a","points":[[1700000000,1],[1700000010,1]],"type":"gauge","interval":10,"host":"","tags":[]}]})";
  EXPECT_EQ(small.submit(req("/api/v1/series", "application/json", v1)).status, 202);
  EXPECT_EQ(small.metrics_json("a").at("points").as_array().size(), 1u);
  EXPECT_EQ(self.dropped_count("fakeintake", "point_cap"), 1u);
}

}  // namespace
}  // namespace lc::fakeintake
