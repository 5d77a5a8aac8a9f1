// The golden examples G1–G12 of datadog-wire.md §7, end to end: datagram bytes in through
// DogStatsdServer (parser → aggregator → encoders; the Harness of metrics_test_util.h), payload
// bytes out, compared with support/golden_vectors.h and decoded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config.h"
#include "fakes/fake_clock.h"
#include "metrics/dogstatsd_server.h"
#include "metrics_test_util.h"
#include "support/golden_vectors.h"

namespace lc::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace lc::metrics::testing;
using test::to_hex;

TEST(GoldenTest, G1CountsAndSampleRate) {
  Harness h;
  h.send("page.views:1|c\npage.views:1|c\npage.views:1|c\npage.views:2|c|@0.5");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, PayloadKind::kSeriesV2);
  EXPECT_EQ(out[0].path, "/api/v2/series");
  EXPECT_EQ(out[0].content_type, "application/x-protobuf");
  EXPECT_EQ(out[0].content_encoding, "");
  EXPECT_EQ(out[0].items, 1u);
  EXPECT_EQ(to_hex(out[0].body), test::kG1Hex);
  auto series = decode_series_v2(out[0].body);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].type, 2);
  EXPECT_EQ(series[0].interval, 10);
  ASSERT_EQ(series[0].points.size(), 1u);
  EXPECT_EQ(series[0].points[0].ts, 1700000000);
  EXPECT_EQ(series[0].points[0].value, 0.7);
}

TEST(GoldenTest, G1V1Json) {
  AggregatorConfig c;
  c.series_format = SeriesFormat::kV1Json;
  c.sketch_output = SketchOutput::kV1SeriesFallback;
  Harness h(c);
  h.send("page.views:1|c\npage.views:1|c\npage.views:1|c\npage.views:2|c|@0.5");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, PayloadKind::kSeriesV1);
  EXPECT_EQ(out[0].path, "/api/v1/series");
  EXPECT_EQ(out[0].content_type, "application/json");
  EXPECT_EQ(
      out[0].body,
      "{\"series\":[{\"metric\":\"page.views\",\"points\":[[1700000000,0.7]],\"type\":\"rate\","
      "\"interval\":10,\"host\":\"\",\"tags\":[]}]}");
}

TEST(GoldenTest, G2TagOrderAndDuplicates) {
  Harness h;
  h.send("req:1|c|#b:2,a:1");
  h.send("req:1|c|#a:1,b:2");
  h.send("req:1|c|#a:1,b:2,a:1");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  auto series = decode_series_v2(out[0].body);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].metric, "req");
  EXPECT_EQ(series[0].type, 2);
  EXPECT_THAT(series[0].tags, ElementsAre("a:1", "b:2"));
  ASSERT_EQ(series[0].points.size(), 1u);
  EXPECT_EQ(series[0].points[0].value, 0.3);
}

TEST(GoldenTest, G3GaugesLastValueAndPacking) {
  Harness h;
  h.send("temp:10|g");
  h.send("temp:12.5|g");
  h.send("temp:11|g");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0].body), test::kG3Hex);
  Harness p;
  p.send("load:1:2:3|g");
  auto series = decode_series_v2(p.flush()[0].body);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].metric, "load");
  EXPECT_EQ(series[0].type, 3);
  EXPECT_EQ(series[0].points[0].value, 3);
}

TEST(GoldenTest, G4Sets) {
  Harness h;
  h.send("users:alice|s");
  h.send("users:bob|s");
  h.send("users:alice|s|@0.5");
  h.send("users:carol|s|#x:1");
  auto series = decode_series_v2(h.flush()[0].body);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].metric, "users");
  EXPECT_THAT(series[0].tags, IsEmpty());
  EXPECT_EQ(series[0].type, 3);
  EXPECT_EQ(series[0].points[0].value, 2);
  EXPECT_THAT(series[1].tags, ElementsAre("x:1"));
  EXPECT_EQ(series[1].points[0].value, 1);
}

void expect_histogram(const std::vector<DecodedSeries>& series, const std::string& base, double max,
                      double median, double avg, double count, double p95,
                      const std::vector<std::string>& tags) {
  ASSERT_EQ(series.size(), 5u);
  std::map<std::string, const DecodedSeries*> by_name;
  for (const auto& s : series) by_name[s.metric] = &s;
  const std::pair<std::string, double> expected[] = {
      {".max", max}, {".median", median}, {".avg", avg}, {".count", count}, {".95percentile", p95}};
  for (const auto& [suffix, value] : expected) {
    ASSERT_TRUE(by_name.count(base + suffix)) << base + suffix;
    const auto& s = *by_name[base + suffix];
    EXPECT_EQ(s.type, suffix == ".count" ? 2 : 3) << suffix;
    EXPECT_EQ(s.interval, 10);
    EXPECT_EQ(s.tags, tags);
    ASSERT_EQ(s.points.size(), 1u);
    EXPECT_EQ(s.points[0].ts, 1700000000);
    EXPECT_EQ(s.points[0].value, value) << suffix;
  }
}

TEST(GoldenTest, G5HistogramPackingAndSampleRate) {
  Harness h;
  h.send("lat:10:20:30:40|h");
  h.send("lat:50|h|@0.5");
  expect_histogram(decode_series_v2(h.flush()[0].body), "lat", 50, 30, 33.333333333333336, 0.6, 50,
                   {});
}

TEST(GoldenTest, G6Timer) {
  Harness h;
  h.send("db.query:120|ms|#db:pg");
  h.send("db.query:80|ms|#db:pg");
  expect_histogram(decode_series_v2(h.flush()[0].body), "db.query", 120, 80, 100, 0.2, 120,
                   {"db:pg"});
}

TEST(GoldenTest, G7DistributionPackingAndSampleRate) {
  Harness h;
  h.send("resp.size:1:2:3|d");
  h.send("resp.size:3|d|@0.5");
  auto out = h.flush();
  const Payload* p = find_payload(out, PayloadKind::kSketches);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->path, "/api/beta/sketches");
  EXPECT_EQ(find_payload(out, PayloadKind::kSeriesV2), nullptr);
  auto sk = decode_sketches(p->body);
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_EQ(sk[0].metric, "resp.size");
  EXPECT_THAT(sk[0].tags, IsEmpty());
  ASSERT_EQ(sk[0].dogsketches.size(), 1u);
  const auto& d = sk[0].dogsketches[0];
  EXPECT_EQ(d.ts, 1700000000);
  EXPECT_EQ(d.cnt, 5);
  EXPECT_EQ(d.min, 1);
  EXPECT_EQ(d.max, 3);
  EXPECT_EQ(d.sum, 12);
  EXPECT_DOUBLE_EQ(d.avg, 2.4);
  EXPECT_THAT(d.k, ElementsAre(1338, 1383, 1409));
  EXPECT_THAT(d.n, ElementsAre(1, 1, 3));
}

TEST(GoldenTest, G8TimestampedDistributionBytes) {
  Harness h({}, {}, 1700000031000);
  h.send("probe.biz.latency:12.5|d|#route:/a,env:dev|T1700000015");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, PayloadKind::kSketches);
  EXPECT_EQ(to_hex(out[0].body), test::kG8Hex);
  EXPECT_EQ(out[0].body.size(), 93u);
}

TEST(GoldenTest, G9NegativeAndZeroBytes) {
  Harness h;
  h.send("temp.delta:-5:0:5|d");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0].body), test::kG9Hex);
}

TEST(GoldenTest, G10MalformedAmongGood) {
  Harness h;
  h.send("ok.one:1|c\nbad.value:abc|c\nnocolon|c\nx:1|zz\n:1|c\nok.two:5|g\n");
  auto series = decode_series_v2(h.flush()[0].body);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].metric, "ok.one");
  EXPECT_EQ(series[0].type, 2);
  EXPECT_EQ(series[0].points[0].value, 0.1);
  EXPECT_EQ(series[1].metric, "ok.two");
  EXPECT_EQ(series[1].type, 3);
  EXPECT_EQ(series[1].points[0].value, 5);
  EXPECT_EQ(h.self.dropped_count("dogstatsd", "bad_value"), 1u);
  EXPECT_EQ(h.self.dropped_count("dogstatsd", "bad_format"), 2u);
  EXPECT_EQ(h.self.dropped_count("dogstatsd", "bad_type"), 1u);
  EXPECT_EQ(h.self.dropped_total(), 4u);
}

TEST(GoldenTest, G11U16BinOverflow) {
  Harness h;
  for (int i = 0; i < 70000; ++i) h.send("one:1|d");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 1u);
  auto sk = decode_sketches(out[0].body);
  ASSERT_EQ(sk.size(), 1u);
  ASSERT_EQ(sk[0].dogsketches.size(), 1u);
  const auto& d = sk[0].dogsketches[0];
  EXPECT_EQ(d.cnt, 70000);
  EXPECT_EQ(d.min, 1);
  EXPECT_EQ(d.max, 1);
  EXPECT_EQ(d.avg, 1);
  EXPECT_EQ(d.sum, 70000);
  EXPECT_THAT(d.k, ElementsAre(1338, 1338));
  EXPECT_THAT(d.n, ElementsAre(4465, 65535));
}

TEST(GoldenTest, G12ReservedNameLambdaMode) {
  ParserOptions lambda;
  lambda.lambda_mode = true;
  Harness h({}, lambda);
  h.send("aws.lambda.enhanced.invocations:1|d|#functionname:f|T1700000000");
  EXPECT_THAT(h.flush(), IsEmpty());
  EXPECT_EQ(h.self.dropped_count("dogstatsd", "reserved_name"), 1u);
  EXPECT_EQ(h.self.dropped_total(), 1u);
}

TEST(GoldenTest, EventsAndServiceChecksCountedAndDroppedUnsupported) {
  Harness h;
  h.send(
      "_e{15,9}:deploy happened|text body|t:info|#env:dev,ev:1\n"
      "_sc|svc.check|0|h:h1|#env:dev,ck:1|m:fine\nx:1|g");
  EXPECT_EQ(h.server.events_received(), 1u);
  EXPECT_EQ(h.server.service_checks_received(), 1u);
  EXPECT_EQ(h.self.get("lastcall.dogstatsd.events"), 1u);
  EXPECT_EQ(h.self.get("lastcall.dogstatsd.service_checks"), 1u);
  EXPECT_EQ(h.self.dropped_count("dogstatsd", "unsupported"), 2u);
  EXPECT_EQ(decode_series_v2(h.flush()[0].body).size(), 1u);
}

TEST(GoldenTest, CreateFromFinalConfig) {
  FinalConfig cfg = default_config();
  cfg.mode = Mode::kExtension;
  cfg.common.hostname = "ignored-in-lambda";
  cfg.metrics.use_v2_series = false;
  cfg.metrics.sketch_fallback_series = true;
  cfg.common.env = "prod";
  cfg.metrics.statsd_namespace = "ns.";
  cfg.metrics.histogram_aggregates = {"max"};
  cfg.metrics.histogram_percentiles = {};
  lc::fakes::FakeClock clock;
  SelfMetrics self;
  TagSets tags(cfg.common, cfg.lambda);
  auto server = DogStatsdServer::create(cfg.metrics, cfg.common, tags, cfg.mode, self, clock);
  server->handle_datagram("h:1|h|#host:h9\nd:2|d");
  auto out = server->flush(FlushScope::kAll);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, PayloadKind::kSeriesV1);
  EXPECT_EQ(out[0].body,
            "{\"series\":["
            "{\"metric\":\"ns.h.max\",\"points\":[[1700000000,1]],\"type\":\"gauge\",\"interval\":"
            "10,\"host\":\"\",\"tags\":[\"env:prod\"]},"
            "{\"metric\":\"ns.d.count\",\"points\":[[1700000000,0.1]],\"type\":\"rate\","
            "\"interval\":10,\"host\":\"\",\"tags\":[\"env:prod\"]},"
            "{\"metric\":\"ns.d.sum\",\"points\":[[1700000000,2]],\"type\":\"gauge\",\"interval\":"
            "10,\"host\":\"\",\"tags\":[\"env:prod\"]},"
            "{\"metric\":\"ns.d.min\",\"points\":[[1700000000,2]],\"type\":\"gauge\",\"interval\":"
            "10,\"host\":\"\",\"tags\":[\"env:prod\"]},"
            "{\"metric\":\"ns.d.max\",\"points\":[[1700000000,2]],\"type\":\"gauge\",\"interval\":"
            "10,\"host\":\"\",\"tags\":[\"env:prod\"]},"
            "{\"metric\":\"ns.d.avg\",\"points\":[[1700000000,2]],\"type\":\"gauge\",\"interval\":"
            "10,\"host\":\"\",\"tags\":[\"env:prod\"]}"
            "]}");
}

}  // namespace
}  // namespace lc::metrics
