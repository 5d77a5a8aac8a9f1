// The real lastcall-fakeintake binary on port 0, driven with raw HTTP requests carrying hand-built
// bodies (no lastcall encoder involved), read back through its query API.
#include <gtest/gtest.h>
#include <msgpuck.h>
#include <protozero/pbf_writer.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/fakeintake_client.h"
#include "unit/fakeintake/test_bytes.h"

namespace lc::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
namespace fi = lc::fakeintake::testing;

struct Body {
  std::string path;
  std::string content_type;
  std::string bytes;
};

std::string agent_payload() {
  std::string body;
  protozero::pbf_writer ap(body);
  ap.add_string(2, "dev");
  protozero::pbf_writer tp(ap, 5);
  tp.add_string(2, "nodejs");
  protozero::pbf_writer chunk(tp, 6);
  chunk.add_int32(1, 1);
  protozero::pbf_writer span(chunk, 3);
  span.add_string(1, "web");
  span.add_string(2, "http.request");
  span.add_string(3, "GET /");
  span.add_uint64(4, 11);
  span.add_uint64(5, 12);
  span.add_int64(7, 1700000000000000000);
  span.add_int64(8, 2000);
  return body;
}

std::string stats_payload() {
  std::string buf(256, '\0');
  char* w = buf.data();
  w = mp_encode_map(w, 2);
  w = mp_encode_str(w, "AgentEnv", 8);
  w = mp_encode_str(w, "dev", 3);
  w = mp_encode_str(w, "Stats", 5);
  w = mp_encode_array(w, 1);
  w = mp_encode_map(w, 1);
  w = mp_encode_str(w, "Service", 7);
  w = mp_encode_str(w, "web", 3);
  buf.resize(static_cast<std::size_t>(w - buf.data()));
  return buf;
}

std::vector<Body> every_endpoint() {
  return {
      {"/api/v2/series", "application/x-protobuf", fi::kG1},
      {"/api/v2/series", "application/json",
       R"({"series":[{"metric":"temp","type":3,"interval":10,"points":[{"timestamp":1700000000,"value":11}],"resources":[{"type":"host","name":""}],"tags":[]}]})"},
      {"/api/v1/series", "application/json",
       R"({"series":[{"metric":"v1.rate","points":[[1700000000,0.3]],"type":"rate","interval":10,"host":"","tags":["a:1"]}]})"},
      {"/api/beta/sketches", "application/x-protobuf", fi::kG8},
      {"/api/v2/logs", "application/json",
       R"([{"message":"hello","service":"web","ddtags":"env:dev","status":"info","timestamp":1761055503165}])"},
      {"/api/v0.2/traces", "application/x-protobuf", agent_payload()},
      {"/api/v0.2/stats", "application/msgpack", stats_payload()},
      {"/api/v1/events", "application/json", R"({"title":"deploy","text":"v2"})"},
      {"/api/v1/check_run", "application/json", R"([{"check":"app.ok","status":0}])"},
  };
}

std::string encode(std::string_view body, std::string_view encoding) {
  if (encoding == "gzip") return fi::gzip(body);
  if (encoding == "deflate") return fi::deflate_zlib(body);
  if (encoding == "zstd") return fi::zstd(body);
  return std::string(body);
}

Expected<BlockingResponse> post(std::uint16_t port, const std::string& path,
                                std::string content_type, std::string body,
                                std::string encoding = "",
                                std::optional<std::string> key = "abcdef0123456789",
                                std::chrono::milliseconds timeout = 5s) {
  BlockingRequest r;
  r.method = "POST";
  r.target = path;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  if (!encoding.empty()) r.headers.emplace_back("Content-Encoding", encoding);
  if (key) r.headers.emplace_back("DD-API-KEY", *key);
  r.headers.emplace_back("X-Test-Header", "yes");
  r.body = std::move(body);
  return http_request(port, r, timeout);
}

std::size_t payload_count(const FakeIntakeClient& c, std::string_view endpoint) {
  return c.payloads(endpoint).at("payloads").as_array().size();
}

class FakeIntakeBinary : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(std::vector<std::string> args) {
    std::string error;
    intake_ =
        FakeIntakeProcess::start(std::move(args), &error, built_binary("lastcall-fakeintake"));
    ASSERT_NE(intake_, nullptr) << error;
  }
  std::unique_ptr<FakeIntakeProcess> intake_;
};

TEST_F(FakeIntakeBinary, EveryEndpointAndEveryEncodingDecodes) {
  const FakeIntakeClient c = intake_->client();
  for (const std::string encoding : {"", "gzip", "deflate", "zstd"}) {
    SCOPED_TRACE("encoding '" + encoding + "'");
    ASSERT_TRUE(c.reset());
    for (const Body& b : every_endpoint()) {
      auto r = post(intake_->port(), b.path, b.content_type, encode(b.bytes, encoding), encoding);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->status, 202) << b.path << " " << r->body;
    }
    // Series v2, protobuf and JSON.
    auto g1 = c.metrics("page.views");
    ASSERT_EQ(g1.at("points").as_array().size(), 1u);
    EXPECT_EQ(g1.at("points").at(0).at("type").as_string(), "rate");
    EXPECT_DOUBLE_EQ(g1.at("points").at(0).at("value").as_double(), 0.7);
    EXPECT_DOUBLE_EQ(g1.at("count").as_double(), 7.0);
    EXPECT_EQ(g1.at("duplicates").to_number<std::uint64_t>(), 0u);
    auto temp = c.metrics("temp");
    ASSERT_EQ(temp.at("points").as_array().size(), 1u);
    EXPECT_EQ(temp.at("points").at(0).at("type").as_string(), "gauge");
    EXPECT_EQ(temp.at("points").at(0).at("value").to_number<double>(), 11.0);
    // Series v1.
    auto v1 = c.metrics("v1.rate");
    ASSERT_EQ(v1.at("points").as_array().size(), 1u);
    EXPECT_EQ(v1.at("points").at(0).at("tags"), (json::array{"a:1"}));
    EXPECT_DOUBLE_EQ(v1.at("count").as_double(), 3.0);
    // Sketches (G8).
    auto g8 = c.metrics("probe.biz.latency");
    EXPECT_EQ(g8.at("sketch").at("cnt").as_int64(), 1);
    EXPECT_DOUBLE_EQ(g8.at("sketch").at("sum").as_double(), 12.5);
    EXPECT_EQ(g8.at("sketches").at(0).at("k"), (json::array{1501}));
    EXPECT_EQ(g8.at("sketches").at(0).at("ts").as_int64(), 1700000010);
    // Logs.
    auto logs = c.logs().at("entries").as_array();
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("message").as_string(), "hello");
    EXPECT_EQ(logs[0].at("ddtags").as_string(), "env:dev");
    // Traces.
    auto spans = c.traces().at("spans").as_array();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].at("resource").as_string(), "GET /");
    EXPECT_EQ(spans[0].at("traceID").to_number<std::uint64_t>(), 11u);
    // Stats, events, service checks.
    auto stats = c.payloads("/api/v0.2/stats").at("payloads").at(0).at("decoded");
    EXPECT_EQ(stats.at("Stats").at(0).at("Service").as_string(), "web");
    auto event = c.payloads("/api/v1/events").at("payloads").at(0);
    EXPECT_EQ(event.at("decoded").at("title").as_string(), "deploy");
    EXPECT_EQ(event.at("content_encoding").as_string(), encoding);
    EXPECT_EQ(event.at("api_key").as_string(), "abcdef0123456789");
    EXPECT_EQ(event.at("headers").at("x-test-header").as_string(), "yes");
    EXPECT_EQ(payload_count(c, "/api/v1/check_run"), 1u);
    EXPECT_EQ(c.payloads("").at("rejections").as_array().size(), 0u);
  }
}

TEST_F(FakeIntakeBinary, RejectsLikeTheRealIntakeAndListsRejections) {
  const FakeIntakeClient c = intake_->client();
  const std::uint16_t port = intake_->port();
  struct Case {
    std::string content_type, body, encoding;
    std::optional<std::string> key;
    int status;
  };
  const std::vector<Case> cases = {
      {"application/x-protobuf", fi::kG1, "", std::nullopt, 403},
      {"application/x-protobuf", fi::kG1, "", "", 403},
      {"text/plain", fi::kG1, "", "k", 400},
      {"application/x-protobuf", fi::kG1, "zstd", "k", 400},
      {"application/x-protobuf", fi::kG1.substr(0, 30), "", "k", 400},
      {"application/x-protobuf", std::string(600000, 'x'), "", "k", 413},
      {"application/x-protobuf", fi::zstd(std::string(6 << 20, '\0')), "zstd", "k", 413},
  };
  for (const Case& k : cases) {
    auto r = post(port, "/api/v2/series", k.content_type, k.body, k.encoding, k.key);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, k.status) << r->body;
    EXPECT_NE(r->body.find("errors"), std::string::npos);
    EXPECT_EQ(r->body.find('\n'), std::string::npos);
  }
  auto listed = c.payloads("/api/v2/series");
  EXPECT_TRUE(listed.at("payloads").as_array().empty());
  const auto& rejections = listed.at("rejections").as_array();
  ASSERT_EQ(rejections.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(rejections[i].at("status").as_int64(), cases[i].status);
    EXPECT_FALSE(rejections[i].at("reason").as_string().empty());
  }
  EXPECT_TRUE(c.metrics("page.views").at("points").as_array().empty());
  // A body over every route limit is refused by the HTTP layer, still as a listed 413.
  auto huge =
      post(port, "/api/v0.2/traces", "application/x-protobuf", std::string(13 * 1024 * 1024, 'x'));
  ASSERT_TRUE(huge) << huge.error().message;
  EXPECT_EQ(huge->status, 413);
  EXPECT_EQ(c.payloads("/api/v0.2/traces").at("rejections").at(0).at("status").as_int64(), 413);
}

class FakeIntakeWithFaultFlag : public FakeIntakeBinary {
 protected:
  void SetUp() override {
    record_ = std::filesystem::temp_directory_path() /
              ("fakeintake_record_" + std::to_string(::getpid()) + ".jsonl");
    std::filesystem::remove(record_);
    start({"--fault", "/api/v2/series=503,503,200", "--record", record_.string()});
  }
  void TearDown() override { std::filesystem::remove(record_); }
  std::filesystem::path record_;
};

TEST_F(FakeIntakeWithFaultFlag, AnswersTheStatusSequenceThenNormally) {
  const FakeIntakeClient c = intake_->client();
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    auto r = post(intake_->port(), "/api/v2/series", "application/x-protobuf", fi::kG1);
    ASSERT_TRUE(r) << r.error().message;
    statuses.push_back(r->status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{503, 503, 200, 202}));
  auto listed = c.payloads("/api/v2/series");
  EXPECT_EQ(listed.at("payloads").as_array().size(), 2u);
  EXPECT_EQ(listed.at("rejections").as_array().size(), 2u);
  auto m = c.metrics("page.views");
  EXPECT_EQ(m.at("points").as_array().size(), 1u);
  EXPECT_EQ(m.at("duplicates").to_number<std::uint64_t>(), 1u);  // the same point sent twice
  // Other endpoints are not affected.
  auto logs = post(intake_->port(), "/api/v2/logs", "application/json", R"([{"message":"m"}])");
  ASSERT_TRUE(logs);
  EXPECT_EQ(logs->status, 202);
  // --record: one JSON line per request (2 rejections + 3 payloads), flushed as written.
  std::ifstream in(record_);
  std::vector<std::string> kinds;
  for (std::string line; std::getline(in, line);) {
    kinds.emplace_back(json::parse(line).at("kind").as_string());
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"rejection", "rejection", "payload", "payload", "payload"}));
  // Graceful stop.
  intake_->process().signal(SIGTERM);
  EXPECT_EQ(intake_->process().wait_exit(10s), 0);
}

TEST_F(FakeIntakeBinary, DelaysAnswersByTheConfiguredTime) {
  const FakeIntakeClient c = intake_->client();
  ASSERT_TRUE(c.set_fault(R"({"endpoint":"/api/v2/logs","delay_ms":300})"));
  const auto start = std::chrono::steady_clock::now();
  auto r = post(intake_->port(), "/api/v2/logs", "application/json", R"([{"message":"late"}])");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 202);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_EQ(c.logs().at("entries").at(0).at("message").as_string(), "late");
}

TEST_F(FakeIntakeBinary, ClosesMidResponse) {
  const FakeIntakeClient c = intake_->client();
  ASSERT_TRUE(c.set_fault(R"({"endpoint":"/api/v2/series","close_mid_response":true})"));
  auto r = post(intake_->port(), "/api/v2/series", "application/x-protobuf", fi::kG1);
  ASSERT_TRUE(r) << r.error().message;  // a status line arrived...
  EXPECT_FALSE(r->complete);            // ...but not the whole body
  auto listed = c.payloads("/api/v2/series");
  EXPECT_TRUE(listed.at("payloads").as_array().empty());
  EXPECT_EQ(listed.at("rejections").at(0).at("reason").as_string(), "fault: close_mid_response");
  ASSERT_TRUE(c.clear_faults());
  auto ok = post(intake_->port(), "/api/v2/series", "application/x-protobuf", fi::kG1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202);
  EXPECT_TRUE(ok->complete);
}

TEST_F(FakeIntakeBinary, HangsUntilTheClientGivesUp) {
  const FakeIntakeClient c = intake_->client();
  ASSERT_TRUE(c.set_fault(R"({"endpoint":"/api/beta/sketches","hang":true})"));
  auto r = post(intake_->port(), "/api/beta/sketches", "application/x-protobuf", fi::kG8, "", "k",
                400ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  // The fake keeps serving other requests meanwhile and after.
  EXPECT_EQ(c.payloads("/api/beta/sketches").at("rejections").at(0).at("reason").as_string(),
            "fault: hang");
  ASSERT_TRUE(c.set_fault(R"({"endpoint":"/api/beta/sketches"})"));  // an empty plan removes it
  auto ok = post(intake_->port(), "/api/beta/sketches", "application/x-protobuf", fi::kG8);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 202);
}

TEST_F(FakeIntakeBinary, RequiredKeyAndStatusesFromTheFaultApi) {
  const FakeIntakeClient c = intake_->client();
  ASSERT_TRUE(c.set_fault(
      R"({"endpoint":"/api/v1/series","require_key":"the-key","statuses":[429],"retry_after_s":1})"));
  const std::string body =
      R"({"series":[{"metric":"k","points":[[1700000000,1]],"type":"gauge","interval":10,"host":"","tags":[]}]})";
  auto first = post(intake_->port(), "/api/v1/series", "application/json", body, "", "wrong");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 429);  // the status sequence comes first
  EXPECT_EQ(first->header("Retry-After"), "1");
  auto wrong = post(intake_->port(), "/api/v1/series", "application/json", body, "", "wrong");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_FALSE(wrong->header("Retry-After"));  // only injected statuses carry it
  auto right = post(intake_->port(), "/api/v1/series", "application/json", body, "", "the-key");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 202);
  EXPECT_EQ(c.metrics("k").at("points").as_array().size(), 1u);
  EXPECT_FALSE(c.set_fault(R"({"endpoint":"/api/v1/series","statuses":["x"]})"));
}

}  // namespace
}  // namespace lc::test
