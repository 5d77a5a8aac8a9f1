#include "forward/http_exporter.h"

#include <gtest/gtest.h>

#include "core/version.h"
#include "fakes/fake_http_client.h"
#include "unit/forward/test_payloads.h"

namespace lc::forward {
namespace {

using fakes::FakeClock;
using fakes::FakeHttpClient;

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

Endpoint metrics_endpoint() {
  return {"metrics", "http://intake.test/prefix",
          kKey,      {PayloadKind::kSeriesV2, PayloadKind::kSeriesV1, PayloadKind::kSketches},
          false,     true};
}

class HttpExporterTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeHttpClient http{clock};

  std::optional<SendOutcome> send(HttpExporter& ex, Payload p, Deadline d = Deadline::none()) {
    std::optional<SendOutcome> got;
    ex.send(std::make_shared<const Payload>(std::move(p)), d,
            [&](SendOutcome o) { got = std::move(o); });
    clock.advance(Millis(0));
    return got;
  }
};

TEST_F(HttpExporterTest, ProtobufSeriesRequestHeadersAndZstdBody) {
  HttpExporter ex(metrics_endpoint(), HttpExporterOptions{}, http, clock);
  const Payload p = test::series_v2({"a", "b"});
  auto got = send(ex, p);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, SendOutcome::Kind::kOk);
  ASSERT_EQ(http.requests().size(), 1u);
  const auto& r = http.requests()[0];
  EXPECT_EQ(r.request.method, "POST");
  EXPECT_EQ(r.request.url, "http://intake.test/prefix/api/v2/series");
  EXPECT_EQ(r.header("DD-API-KEY"), kKey);
  EXPECT_EQ(r.header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(r.header("Content-Encoding"), "zstd");
  EXPECT_EQ(r.header("User-Agent"), std::string("lastcall/") + kVersion);
  EXPECT_EQ(r.header("DD-Agent-Version"), kVersion);
  EXPECT_EQ(r.header("DD-Agent-Payload"), "v5.0.141");
  EXPECT_FALSE(r.header("DD-PROTOCOL"));
  EXPECT_EQ(test::decode_series_v2(test::zstd_open(r.body())).names,
            (std::vector<std::string>{"a", "b"}));
}

TEST_F(HttpExporterTest, V1SeriesWithDeflateForVictoriaMetrics) {
  HttpExporterOptions o;
  o.metrics_codec = Compressor::kZlib;
  HttpExporter ex(metrics_endpoint(), o, http, clock);
  const Payload p = test::series_v1({"m"});
  ASSERT_TRUE(send(ex, p));
  const auto& r = http.requests().at(0);
  EXPECT_EQ(r.request.url, "http://intake.test/prefix/api/v1/series");
  EXPECT_EQ(r.header("Content-Encoding"), "deflate");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_FALSE(r.header("DD-Agent-Payload"));  // JSON, not protobuf
  EXPECT_EQ(test::zlib_open(r.body(), 15), p.body);
}

TEST_F(HttpExporterTest, GzipAndNoneCodecs) {
  HttpExporterOptions o;
  o.metrics_codec = Compressor::kGzip;
  HttpExporter gz(metrics_endpoint(), o, http, clock);
  const Payload p = test::series_v1({"m"});
  ASSERT_TRUE(send(gz, p));
  EXPECT_EQ(http.requests().at(0).header("Content-Encoding"), "gzip");
  EXPECT_EQ(test::zlib_open(http.requests().at(0).body(), 31), p.body);

  o.metrics_codec = Compressor::kNone;
  HttpExporter plain(metrics_endpoint(), o, http, clock);
  ASSERT_TRUE(send(plain, p));
  EXPECT_FALSE(http.requests().at(1).header("Content-Encoding"));
  EXPECT_EQ(http.requests().at(1).body(), p.body);
}

TEST_F(HttpExporterTest, LogsHeadersAndCompressionSwitch) {
  Endpoint logs{"logs", "https://logs.test", kKey, {PayloadKind::kLogs}, false, true};
  HttpExporter ex(logs, HttpExporterOptions{}, http, clock);
  const Payload p = test::logs({"hello"});
  ASSERT_TRUE(send(ex, p));
  const auto& r = http.requests().at(0);
  EXPECT_EQ(r.request.url, "https://logs.test/api/v2/logs");
  EXPECT_EQ(r.header("DD-PROTOCOL"), "agent-json");
  EXPECT_EQ(r.header("DD-EVP-ORIGIN"), "lastcall");
  EXPECT_EQ(r.header("DD-EVP-ORIGIN-VERSION"), kVersion);
  EXPECT_FALSE(r.header("DD-Agent-Payload"));
  EXPECT_EQ(r.header("Content-Encoding"), "zstd");
  EXPECT_EQ(test::zstd_open(r.body()), p.body);

  HttpExporterOptions off;
  off.logs_compress = false;  // DD_LOGS_CONFIG_USE_COMPRESSION=false
  HttpExporter raw(logs, off, http, clock);
  ASSERT_TRUE(send(raw, p));
  EXPECT_FALSE(http.requests().at(1).header("Content-Encoding"));
  EXPECT_EQ(http.requests().at(1).body(), p.body);
}

TEST_F(HttpExporterTest, TraceStatsAlwaysGzip) {
  Endpoint apm{"apm", "https://trace.test", kKey, {PayloadKind::kTraceStats}, false, true};
  HttpExporter ex(apm, HttpExporterOptions{}, http, clock);
  Payload p;
  p.kind = PayloadKind::kTraceStats;
  p.path = "/api/v0.2/stats";
  p.content_type = "application/msgpack";
  p.body =
      "\x81\xa3"
      "Env\xa3"
      "dev";
  ASSERT_TRUE(send(ex, p));
  EXPECT_EQ(http.requests().at(0).header("Content-Encoding"), "gzip");
  EXPECT_EQ(test::zlib_open(http.requests().at(0).body(), 31), p.body);
}

TEST_F(HttpExporterTest, RequestDeadlineIsTheEarlierOfFlushTimeoutAndFlushDeadline) {
  HttpExporterOptions o;
  o.request_timeout = Millis(5000);
  HttpExporter ex(metrics_endpoint(), o, http, clock);
  ASSERT_TRUE(send(ex, test::series_v2({"a"}), Deadline::after(clock, Millis(800))));
  EXPECT_EQ(http.requests().at(0).deadline.remaining(clock), Millis(800));
  ASSERT_TRUE(send(ex, test::series_v2({"a"}), Deadline::after(clock, Millis(60000))));
  EXPECT_EQ(http.requests().at(1).deadline.remaining(clock), Millis(5000));
  ASSERT_TRUE(send(ex, test::series_v2({"a"})));
  EXPECT_EQ(http.requests().at(2).deadline.remaining(clock), Millis(5000));
}

TEST_F(HttpExporterTest, OverLimitPayloadIsSplitNotSent) {
  HttpExporter ex(metrics_endpoint(), HttpExporterOptions{}, http, clock);
  Endpoint logs{"logs", "https://logs.test", kKey, {PayloadKind::kLogs}, false, true};
  HttpExporter lex(logs, HttpExporterOptions{}, http, clock);

  Payload big = test::series_v2({"a", "b"});
  big.body.append(5242881 - big.body.size(), '\0');  // over 5 242 880 B uncompressed
  auto got = send(ex, big);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, SendOutcome::Kind::kSplit);
  EXPECT_EQ(got->reason, "item_too_big");

  std::vector<std::string> many(1001, "m");
  auto over_count = send(lex, test::logs(many));  // over 1000 entries
  ASSERT_TRUE(over_count);
  EXPECT_EQ(over_count->kind, SendOutcome::Kind::kSplit);
  EXPECT_TRUE(http.requests().empty());
}

TEST_F(HttpExporterTest, CompressedLimitCheckedAfterCompression) {
  HttpExporterOptions o;
  o.metrics_codec = Compressor::kNone;  // 600 kB of protobuf stays 600 kB: over 512 000 B
  HttpExporter ex(metrics_endpoint(), o, http, clock);
  std::vector<std::string> names;
  for (int i = 0; i < 6000; ++i)
    names.push_back("metric.with.a.longish.name." + std::to_string(i) + std::string(60, 'x'));
  Payload p = test::series_v2(names);
  ASSERT_GT(p.body.size(), 512000u);
  ASSERT_LT(p.body.size(), 5242880u);
  auto got = send(ex, p);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, SendOutcome::Kind::kSplit);
  EXPECT_TRUE(http.requests().empty());
}

TEST_F(HttpExporterTest, StatusIsMappedAndRetriedPayloadIsNotRecompressed) {
  HttpExporter ex(metrics_endpoint(), HttpExporterOptions{}, http, clock);
  http.script({FakeHttpClient::Reply::with_status(403), FakeHttpClient::Reply::with_status(503)});
  auto p = std::make_shared<const Payload>(test::series_v2({"a"}));
  std::vector<SendOutcome> got;
  ex.send(p, Deadline::none(), [&](SendOutcome o) { got.push_back(o); });
  ex.send(p, Deadline::none(), [&](SendOutcome o) { got.push_back(o); });
  clock.advance(Millis(0));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].reason, "forbidden");
  EXPECT_EQ(got[0].detail, "API key rejected by intake.test");
  EXPECT_EQ(got[1].kind, SendOutcome::Kind::kRetry);
  EXPECT_EQ(http.requests()[0].request.body.get(), http.requests()[1].request.body.get());
}

TEST_F(HttpExporterTest, CompactKeepsTheBodyAsItWillBeSent) {
  HttpExporterOptions o;
  o.metrics_codec = Compressor::kZlib;
  HttpExporter ex(metrics_endpoint(), o, http, clock);
  std::vector<std::string> names(200, "same.metric.name");
  auto big = std::make_shared<const Payload>(test::series_v1(names));
  auto packed = ex.compact(big);
  ASSERT_NE(packed, big);
  EXPECT_EQ(packed->content_encoding, "deflate");
  EXPECT_EQ(packed->items, 200u);
  EXPECT_EQ(test::zlib_open(packed->body, 15), big->body);
  EXPECT_EQ(ex.compact(packed), packed);  // already compressed: as is

  auto tiny = std::make_shared<const Payload>(test::series_v1({"m"}));
  tiny = std::make_shared<const Payload>(
      Payload{tiny->kind, tiny->path, tiny->content_type, "", "{}", 1});
  EXPECT_EQ(ex.compact(tiny), tiny);  // would not shrink

  ASSERT_TRUE(send(ex, *packed));  // a compacted payload goes out unchanged
  EXPECT_EQ(http.requests().at(0).header("Content-Encoding"), "deflate");
  EXPECT_EQ(http.requests().at(0).body(), packed->body);
}

TEST_F(HttpExporterTest, DescribeNeverShowsTheKey) {
  HttpExporter ex(metrics_endpoint(), HttpExporterOptions{}, http, clock);
  const std::string d = ex.describe();
  EXPECT_NE(d.find("\"url\":\"http://intake.test/prefix\""), std::string::npos);
  EXPECT_EQ(d.find(kKey), std::string::npos);
}

}  // namespace
}  // namespace lc::forward
