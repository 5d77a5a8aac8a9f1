#include "fakeintake/decoders.h"

#include <gtest/gtest.h>
#include <msgpuck.h>
#include <protozero/pbf_writer.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string_view>
#include <vector>

#include "fakeintake/json_util.h"
#include "test_bytes.h"

namespace lc::fakeintake {
namespace {

namespace json = boost::json;
using testing::from_hex;
using testing::kG1;
using testing::kG3;
using testing::kG8;
using testing::kG9;

TEST(FakeIntakeSeriesV2Protobuf, DecodesGoldenG1) {
  auto d = decode_series_v2_protobuf(kG1);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->points.size(), 1u);
  const MetricPoint& p = d->points[0];
  EXPECT_EQ(p.name, "page.views");
  EXPECT_EQ(p.type, "rate");
  EXPECT_EQ(p.interval, 10);
  EXPECT_EQ(p.timestamp, 1700000000);
  EXPECT_DOUBLE_EQ(p.value, 0.7);
  EXPECT_TRUE(p.tags.empty());
  EXPECT_EQ(p.host, "");
  ASSERT_EQ(p.resources.size(), 1u);
  EXPECT_EQ(p.resources[0].first, "host");
  EXPECT_EQ(p.resources[0].second, "");
  const auto& s = d->decoded.at("series").at(0);
  EXPECT_EQ(s.at("type").as_int64(), 2);
  EXPECT_EQ(s.at("metric").as_string(), "page.views");
  EXPECT_EQ(s.at("resources").at(0).at("type").as_string(), "host");
}

TEST(FakeIntakeSeriesV2Protobuf, DecodesGoldenG3) {
  auto d = decode_series_v2_protobuf(kG3);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->points.size(), 1u);
  EXPECT_EQ(d->points[0].name, "temp");
  EXPECT_EQ(d->points[0].type, "gauge");
  EXPECT_EQ(d->points[0].interval, 10);
  EXPECT_DOUBLE_EQ(d->points[0].value, 11.0);
}

TEST(FakeIntakeSeriesV2Protobuf, ReadsTagsHostResourceAndOrigin) {
  std::string body;
  {
    protozero::pbf_writer payload(body);
    protozero::pbf_writer series(payload, 1);
    {
      protozero::pbf_writer res(series, 1);
      res.add_string(1, "host");
      res.add_string(2, "web-1");
    }
    series.add_string(2, "req");
    series.add_string(3, "a:1");
    series.add_string(3, "b:2");
    {
      protozero::pbf_writer pt(series, 4);
      pt.add_double(1, 3.5);
      pt.add_int64(2, 1700000010);
    }
    series.add_enum(5, 3);
    series.add_int64(8, 10);
    {
      protozero::pbf_writer meta(series, 9);
      protozero::pbf_writer origin(meta, 1);
      origin.add_uint32(4, 1);
      origin.add_uint32(5, 38);
      origin.add_uint32(6, 472);
    }
  }
  auto d = decode_series_v2_protobuf(body);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->points.size(), 1u);
  EXPECT_EQ(d->points[0].host, "web-1");
  EXPECT_EQ(d->points[0].tags, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(d->points[0].timestamp, 1700000010);
  const auto& origin = d->decoded.at("series").at(0).at("metadata").at("origin");
  EXPECT_EQ(origin.at("origin_service").as_int64(), 472);
  EXPECT_EQ(origin.at("origin_category").as_int64(), 38);
}

TEST(FakeIntakeSeriesV2Protobuf, RejectsMalformedBodies) {
  // Truncated anywhere inside.
  for (std::size_t cut = 1; cut < kG1.size(); ++cut) {
    EXPECT_FALSE(decode_series_v2_protobuf(kG1.substr(0, cut))) << "cut at " << cut;
  }
  // Groups (wire type 3) are not protobuf 3.
  EXPECT_FALSE(decode_series_v2_protobuf(from_hex("0b")));
  // A series whose metric name is a varint.
  EXPECT_FALSE(decode_series_v2_protobuf(from_hex("0a021005")));
  auto with_type = [](int type, int interval) {
    std::string body;
    protozero::pbf_writer payload(body);
    protozero::pbf_writer series(payload, 1);
    series.add_string(2, "m");
    {
      protozero::pbf_writer pt(series, 4);
      pt.add_double(1, 1);
      pt.add_int64(2, 1700000000);
    }
    series.add_enum(5, type);
    if (interval) series.add_int64(8, interval);
    series.commit();
    return body;
  };
  auto unknown = decode_series_v2_protobuf(with_type(7, 10));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown metric type 7"), std::string::npos);
  auto no_interval = decode_series_v2_protobuf(with_type(2, 0));
  ASSERT_FALSE(no_interval);
  EXPECT_NE(no_interval.error().message.find("interval"), std::string::npos);
  // Type 0 is decodable and shows as "unspecified" so a test can catch it.
  auto unspecified = decode_series_v2_protobuf(with_type(0, 10));
  ASSERT_TRUE(unspecified);
  EXPECT_EQ(unspecified->points[0].type, "unspecified");
  auto count = decode_series_v2_protobuf(with_type(1, 10));
  ASSERT_TRUE(count);
  EXPECT_EQ(count->points[0].type, "count");
}

TEST(FakeIntakeSeriesV2Json, DecodesTheSpecExample) {
  auto d = decode_series_v2_json(
      R"({"series":[{"metric":"page.views","type":2,"interval":10,"points":[{"timestamp":1700000000,"value":0.7}],
         "resources":[{"type":"host","name":""}],"tags":["env:dev"]}]})");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->points.size(), 1u);
  EXPECT_EQ(d->points[0].type, "rate");
  EXPECT_EQ(d->points[0].tags, std::vector<std::string>{"env:dev"});
  EXPECT_DOUBLE_EQ(d->points[0].value, 0.7);
  EXPECT_FALSE(decode_series_v2_json(
      R"({"series":[{"metric":"a","type":9,"points":[{"timestamp":1,"value":1}]}]})"));
  EXPECT_FALSE(decode_series_v2_json(
      R"({"series":[{"metric":"a","points":[{"timestamp":"x","value":1}]}]})"));
  EXPECT_FALSE(decode_series_v2_json(R"({"series":{}})"));
  EXPECT_FALSE(
      decode_series_v2_json(R"({"series":[{"metric":"a","points":[{"timestamp":1,"value":1}]})"));
}

TEST(FakeIntakeSeriesV1Json, DecodesTheSpecExample) {
  auto d = decode_series_v1_json(R"({"series":[
 {"metric":"page.views","points":[[1700000000,0.7]],"type":"rate","interval":10,"host":"","tags":["env:dev"]},
 {"metric":"temp","points":[[1700000000,11]],"type":"gauge","interval":10,"host":"h","tags":[]}]})");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->points.size(), 2u);
  EXPECT_EQ(d->points[0].type, "rate");
  EXPECT_EQ(d->points[0].interval, 10);
  EXPECT_DOUBLE_EQ(d->points[0].value, 0.7);
  EXPECT_EQ(d->points[1].type, "gauge");
  EXPECT_EQ(d->points[1].host, "h");
  EXPECT_DOUBLE_EQ(d->points[1].value, 11);
  EXPECT_EQ(d->items, 2u);
}

TEST(FakeIntakeSeriesV1Json, RejectsMalformedSeries) {
  for (const char* body : {
           "",
           "{",
           "[]",
           R"({"series":[1]})",
           R"({"series":[{"points":[[1700000000,1]]}]})",
           R"({"series":[{"metric":"","points":[[1700000000,1]]}]})",
           R"({"series":[{"metric":"a","points":[]}]})",
           R"({"series":[{"metric":"a","points":[[1700000000]]}]})",
           R"({"series":[{"metric":"a","points":[[1700000000,"1"]]}]})",
           R"({"series":[{"metric":"a","points":[[1700000000.5,1]]}]})",
           R"({"series":[{"metric":"a","type":"histogram","points":[[1700000000,1]]}]})",
           R"({"series":[{"metric":"a","type":"rate","points":[[1700000000,1]]}]})",
           R"({"series":[{"metric":"a","tags":"x:1","points":[[1700000000,1]]}]})",
           R"({"series":[{"metric":"a","tags":[1],"points":[[1700000000,1]]}]})",
       }) {
    auto d = decode_series_v1_json(body);
    EXPECT_FALSE(d) << body;
    if (!d) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
      EXPECT_EQ(d.error().message.find('\n'), std::string::npos);
    }
  }
}

TEST(FakeIntakeSketches, DecodesGoldenG8) {
  auto d = decode_sketches(kG8);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->sketches.size(), 1u);
  const SketchPoint& s = d->sketches[0];
  EXPECT_EQ(s.name, "probe.biz.latency");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"env:dev", "route:/a"}));
  EXPECT_EQ(s.host, "");
  EXPECT_EQ(s.ts, 1700000010);
  EXPECT_EQ(s.cnt, 1);
  EXPECT_DOUBLE_EQ(s.min, 12.5);
  EXPECT_DOUBLE_EQ(s.max, 12.5);
  EXPECT_DOUBLE_EQ(s.avg, 12.5);
  EXPECT_DOUBLE_EQ(s.sum, 12.5);
  EXPECT_EQ(s.k, std::vector<std::int32_t>{1501});
  EXPECT_EQ(s.n, std::vector<std::uint32_t>{1});
  EXPECT_TRUE(s.problems.empty());
}

TEST(FakeIntakeSketches, DecodesGoldenG9WithNegativeKeysAndOmittedZeros) {
  auto d = decode_sketches(kG9);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->sketches.size(), 1u);
  const SketchPoint& s = d->sketches[0];
  EXPECT_EQ(s.name, "temp.delta");
  EXPECT_EQ(s.ts, 1700000000);
  EXPECT_EQ(s.cnt, 3);
  EXPECT_DOUBLE_EQ(s.min, -5);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.sum, 0);
  EXPECT_DOUBLE_EQ(s.avg, 0);
  EXPECT_EQ(s.k, (std::vector<std::int32_t>{-1442, 0, 1442}));
  EXPECT_EQ(s.n, (std::vector<std::uint32_t>{1, 1, 1}));
  EXPECT_TRUE(s.problems.empty());
}

// A SketchPayload with one Sketch of `metric` holding these Dogsketches; a summary field left
// unset is not written.
struct Dogsketch {
  std::int64_t ts = 1700000000;
  std::int64_t cnt = 0;
  std::optional<double> min, max, avg, sum;
  std::vector<std::int32_t> k;
  std::vector<std::uint32_t> n;
};
std::string sketch_payload(std::string_view metric, const std::vector<Dogsketch>& dogsketches) {
  std::string body;
  protozero::pbf_writer payload(body);
  protozero::pbf_writer sketch(payload, 1);
  sketch.add_string(1, std::string(metric));
  for (const auto& d : dogsketches) {
    protozero::pbf_writer ds(sketch, 7);
    ds.add_int64(1, d.ts);
    ds.add_int64(2, d.cnt);
    std::uint32_t field = 3;
    for (const auto& v : {d.min, d.max, d.avg, d.sum}) {
      if (v) ds.add_double(field, *v);
      ++field;
    }
    ds.add_packed_sint32(7, d.k.begin(), d.k.end());
    ds.add_packed_uint32(8, d.n.begin(), d.n.end());
  }
  return body;
}

TEST(FakeIntakeSketches, NotesInconsistentSummariesWithoutRefusingThem) {
  // cnt 3 but Σn = 2; min > max; avg outside [min, max]; keys descending.
  const std::string body = sketch_payload("d", {{1700000000, 3, 5, 1, 9, 3, {7, 6}, {1, 1}}});
  auto d = decode_sketches(body);
  ASSERT_TRUE(d) << d.error().message;
  const auto& problems = d->sketches[0].problems;
  EXPECT_EQ(problems, (std::vector<std::string>{"sum(n)=2 != cnt=3", "min > max",
                                                "avg outside [min, max]", "keys not ascending"}));
  EXPECT_EQ(
      d->decoded.at("sketches").at(0).at("dogsketches").at(0).at("problems").as_array().size(), 4u);
}

TEST(FakeIntakeSketches, U16OverflowBinsAndWeightedAveragesAreNotProblems) {
  // G11: 70 000 × 1.0 → k=[1338,1338], n=[4465,65535]. Then a weighted mean where avg ≠ sum/cnt:
  // one sample at @0.3, cnt trunc(3.33) = 3, sum 3.33 × 2.
  const std::string body =
      sketch_payload("one", {{1700000000, 70000, 1, 1, 1, 70000, {1338, 1338}, {4465, 65535}},
                             {1700000010, 3, 2, 2, 2, 6.666666666666667, {1383}, {3}}});
  auto d = decode_sketches(body);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->sketches.size(), 2u);
  EXPECT_TRUE(d->sketches[0].problems.empty());
  EXPECT_TRUE(d->sketches[1].problems.empty());
}

TEST(FakeIntakeSketches, RejectsMismatchedBinsAndTruncation) {
  Dogsketch mismatched;
  mismatched.cnt = 2;
  mismatched.k = {1, 2};
  mismatched.n = {2};
  const std::string body = sketch_payload("d", {mismatched});
  auto d = decode_sketches(body);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("len(k)=2 != len(n)=1"), std::string::npos);
  for (std::size_t cut = 1; cut < kG8.size(); ++cut) {
    EXPECT_FALSE(decode_sketches(kG8.substr(0, cut))) << "cut at " << cut;
  }
}

// `full` adds the fields after the tracer payload; without them every strict prefix is invalid.
std::string build_agent_payload(bool full = true) {
  std::string body;
  protozero::pbf_writer ap(body);
  ap.add_string(1, "host-a");
  ap.add_string(2, "prod");
  {
    protozero::pbf_writer tp(ap, 5);
    tp.add_string(2, "nodejs");
    tp.add_string(4, "5.132.0");
    {
      protozero::pbf_writer chunk(tp, 6);
      chunk.add_int32(1, -128);
      chunk.add_string(2, "lambda");
      {
        protozero::pbf_writer span(chunk, 3);
        span.add_string(1, "checkout");
        span.add_string(2, "aws.lambda");
        span.add_string(3, "GET /cart");
        span.add_uint64(4, 0xfedcba9876543210ull);
        span.add_uint64(5, 42);
        span.add_int64(7, 1700000000000000000);
        span.add_int64(8, 1500000);
        span.add_int32(9, 1);
        {
          protozero::pbf_writer entry(span, 10);
          entry.add_string(1, "env");
          entry.add_string(2, "prod");
        }
        {
          protozero::pbf_writer entry(span, 11);
          entry.add_string(1, "_sampling_priority_v1");
          entry.add_double(2, 1.0);
        }
        {
          protozero::pbf_writer entry(span, 13);
          entry.add_string(1, "blob");
          entry.add_bytes(2, std::string("\x01\x02\x03", 3));
        }
        {
          protozero::pbf_writer link(span, 14);
          link.add_uint64(1, 7);
          link.add_uint64(3, 8);
        }
      }
    }
  }
  if (!full) return body;
  {
    protozero::pbf_writer tag(ap, 6);
    tag.add_string(1, "_dd.tags.function");
    tag.add_string(2, "env:prod");
  }
  ap.add_string(7, "lastcall-0.1.0");
  ap.add_double(8, 10);
  ap.add_double(9, 10);
  return body;
}

TEST(FakeIntakeTraces, DecodesAnAgentPayloadDownToSpans) {
  auto d = decode_traces(build_agent_payload());
  ASSERT_TRUE(d) << d.error().message;
  const auto& doc = d->decoded;
  EXPECT_EQ(doc.at("hostName").as_string(), "host-a");
  EXPECT_EQ(doc.at("env").as_string(), "prod");
  EXPECT_EQ(doc.at("agentVersion").as_string(), "lastcall-0.1.0");
  EXPECT_DOUBLE_EQ(doc.at("targetTPS").as_double(), 10);
  EXPECT_EQ(doc.at("tags").at("_dd.tags.function").as_string(), "env:prod");
  const auto& tp = doc.at("tracerPayloads").at(0);
  EXPECT_EQ(tp.at("languageName").as_string(), "nodejs");
  const auto& chunk = tp.at("chunks").at(0);
  EXPECT_EQ(chunk.at("priority").as_int64(), -128);
  EXPECT_EQ(chunk.at("origin").as_string(), "lambda");
  const auto& span = chunk.at("spans").at(0);
  EXPECT_EQ(span.at("service").as_string(), "checkout");
  EXPECT_EQ(span.at("resource").as_string(), "GET /cart");
  EXPECT_EQ(span.at("traceID").as_uint64(), 0xfedcba9876543210ull);
  EXPECT_EQ(span.at("spanID").as_uint64(), 42u);
  EXPECT_EQ(span.at("start").as_int64(), 1700000000000000000);
  EXPECT_EQ(span.at("duration").as_int64(), 1500000);
  EXPECT_EQ(span.at("error").as_int64(), 1);
  EXPECT_EQ(span.at("meta").at("env").as_string(), "prod");
  EXPECT_DOUBLE_EQ(span.at("metrics").at("_sampling_priority_v1").as_double(), 1.0);
  EXPECT_EQ(span.at("meta_struct").at("blob").as_string(), "AQID");
  EXPECT_EQ(span.at("spanLinks").at(0).at("spanID").as_uint64(), 8u);
  EXPECT_EQ(d->items, 1u);  // chunks
}

TEST(FakeIntakeTraces, RejectsEmptyAndTruncatedPayloads) {
  EXPECT_FALSE(decode_traces(from_hex("0a0268")));  // hostName only, no tracer payloads
  const std::string good = build_agent_payload(false);
  ASSERT_TRUE(decode_traces(good));
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(decode_traces(good.substr(0, cut))) << "cut at " << cut;
  }
}

std::string build_stats_payload() {
  std::string buf(4096, '\0');
  char* w = buf.data();
  w = mp_encode_map(w, 4);
  w = mp_encode_str(w, "AgentHostname", 13);
  w = mp_encode_str(w, "h", 1);
  w = mp_encode_str(w, "AgentEnv", 8);
  w = mp_encode_str(w, "prod", 4);
  w = mp_encode_str(w, "ClientComputed", 14);
  w = mp_encode_bool(w, true);
  w = mp_encode_str(w, "Stats", 5);
  w = mp_encode_array(w, 1);
  {
    w = mp_encode_map(w, 2);
    w = mp_encode_str(w, "Service", 7);
    w = mp_encode_str(w, "checkout", 8);
    w = mp_encode_str(w, "Stats", 5);
    w = mp_encode_array(w, 1);
    w = mp_encode_map(w, 3);
    w = mp_encode_str(w, "Start", 5);
    w = mp_encode_uint(w, 1700000000000000000ull);
    w = mp_encode_str(w, "Duration", 8);
    w = mp_encode_uint(w, 10000000000ull);
    w = mp_encode_str(w, "Stats", 5);
    w = mp_encode_array(w, 1);
    w = mp_encode_map(w, 3);
    w = mp_encode_str(w, "Name", 4);
    w = mp_encode_str(w, "web.request", 11);
    w = mp_encode_str(w, "Hits", 4);
    w = mp_encode_uint(w, 12);
    w = mp_encode_str(w, "OkSummary", 9);
    w = mp_encode_bin(w, "\x01\x02\x03", 3);
  }
  buf.resize(static_cast<std::size_t>(w - buf.data()));
  return buf;
}

TEST(FakeIntakeStats, DecodesAMsgpackStatsPayload) {
  auto d = decode_stats(build_stats_payload());
  ASSERT_TRUE(d) << d.error().message;
  const auto& doc = d->decoded;
  EXPECT_EQ(doc.at("AgentHostname").as_string(), "h");
  EXPECT_TRUE(doc.at("ClientComputed").as_bool());
  const auto& grouped = doc.at("Stats").at(0).at("Stats").at(0).at("Stats").at(0);
  EXPECT_EQ(grouped.at("Name").as_string(), "web.request");
  EXPECT_EQ(grouped.at("Hits").as_uint64(), 12u);
  EXPECT_EQ(grouped.at("OkSummary").as_string(), "AQID");
  EXPECT_EQ(doc.at("Stats").at(0).at("Stats").at(0).at("Start").as_uint64(),
            1700000000000000000ull);
}

TEST(FakeIntakeStats, RejectsMalformedMsgpack) {
  const std::string good = build_stats_payload();
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(decode_stats(good.substr(0, cut))) << cut;
  }
  EXPECT_FALSE(decode_stats(good + "\xc0"));                 // trailing bytes
  EXPECT_FALSE(decode_stats(from_hex("dd7fffffff")));        // forged array count
  EXPECT_FALSE(decode_stats(from_hex("dfffffffff")));        // forged map count
  EXPECT_FALSE(decode_stats(from_hex("dd00000001c0")));      // not a map
  EXPECT_FALSE(decode_stats(from_hex("81a553746174730a")));  // Stats: 10 (not an array)
  EXPECT_FALSE(decode_stats(from_hex("810102")));            // integer key
  EXPECT_FALSE(decode_stats(from_hex("c1")));                // reserved byte
  std::string deep(200, '\x91');
  deep += '\xc0';
  EXPECT_FALSE(decode_stats(deep));  // nesting beyond the limit
}

TEST(FakeIntakeLogs, DecodesBothShapesFromTheSpec) {
  auto d = decode_logs(
      R"([{"hostname":"arn:aws:lambda:us-east-1:123456789012:function:my-fn","service":"checkout","ddsource":"lambda",
  "ddtags":"region:us-east-1,env:prod",
  "message":{"message":"START RequestId: 459921b5-0000 Version: $LATEST",
             "lambda":{"arn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn","request_id":"459921b5-0000"},
             "timestamp":1761055503165,"status":"info"}},
  {"message":"listening on :8080","service":"web","ddtags":"env:dev","status":"info","timestamp":1761055503165}])");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->log_entries.size(), 2u);
  EXPECT_EQ(d->log_entries[0].at("message").at("lambda").at("request_id").as_string(),
            "459921b5-0000");
  EXPECT_EQ(d->log_entries[1].at("message").as_string(), "listening on :8080");
  EXPECT_EQ(d->items, 2u);
}

TEST(FakeIntakeLogs, RejectsMalformedEntries) {
  for (const char* body : {"{}", "[1]", R"([{"service":"a"}])", R"([{"message":1}])",
                           R"([{"message":"m","timestamp":"now"}])",
                           R"([{"message":"m","ddtags":["a"]}])", "[", "[]x"}) {
    EXPECT_FALSE(decode_logs(body)) << body;
  }
}

TEST(FakeIntakeEventsAndChecks, DecodeAndValidate) {
  auto e = decode_events(
      R"({"title":"deploy","text":"v2","date_happened":1700000000,"priority":"normal","tags":["a:b"],"alert_type":"info"})");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->decoded.at("title").as_string(), "deploy");
  EXPECT_FALSE(decode_events(R"({"title":"x"})"));
  EXPECT_FALSE(decode_events(R"([])"));
  auto c = decode_check_runs(
      R"([{"check":"app.ok","host_name":"","status":0,"timestamp":1700000000,"message":"","tags":[]}])");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->items, 1u);
  EXPECT_FALSE(decode_check_runs(R"([{"check":"app.ok","status":4}])"));
  EXPECT_FALSE(decode_check_runs(R"([{"status":0}])"));
}

}  // namespace
}  // namespace lc::fakeintake
