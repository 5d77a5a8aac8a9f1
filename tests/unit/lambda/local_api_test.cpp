// lambda/local_api.h over real HTTP (a loop thread serves on 127.0.0.1, port 0; the test posts):
// start-invocation and end-invocation into a real InvocationProcessor writing to a
// FakeMetricSink — the 200 {} answers, the 6 MiB caps (413 counted; an oversized start still
// opens its invocation), pairing with and without lambda-runtime-aws-request-id (on-demand FIFO
// with INVOKE; LMI unpaired with one warning), error evidence (header, 5xx statusCode) as exactly
// one errors point, the error details and a body that is not JSON; 404 outside extension mode.
#include "lambda/local_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/logger.h"
#include "core/strings.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_metric_sink.h"
#include "lambda/invocation_processor.h"
#include "unit/net/test_support.h"

namespace lc::lambda {
namespace {

constexpr std::int64_t kT0 = 1760227200000;  // 2025-10-12T00:00:00Z

class LocalApiTest : public ::testing::Test {
 protected:
  void TearDown() override { stop(); }

  // Serves the API: in extension mode with a processor (lmi as asked), else without one.
  void serve(bool extension_mode = true, bool lmi = false) {
    clock_.run_timers_on(loop_.io());
    net::HttpServerOptions o;
    o.name = "local_api";
    o.self_metrics = &self_;
    auto created = net::HttpServer::create(loop_.io(), clock_, clock_, o);
    ASSERT_TRUE(created) << created.error().message;
    server_ = std::move(created).value();
    LocalApiOptions options;
    if (extension_mode) {
      InvocationProcessorOptions p;
      p.lmi = lmi;
      p.start_ms = kT0;
      processor_ = std::make_unique<InvocationProcessor>(p, sink_, clock_, self_);
      processor_->on_tracer_invocation(
          [this](TracerInvocation&& done) { tracer_.push_back(std::move(done)); });
      options.invocations = processor_.get();
    }
    api_ = std::make_unique<LocalApi>(
        *server_, clock_, self_, [](const std::function<void()>& done) { done(); }, options);
    server_->start();
    loop_.start();
  }
  void stop() {
    if (!server_) return;
    loop_.call([&] { server_->stop(); });
    loop_.stop();
    server_.reset();
  }

  sandbox::BlockingResponse post(std::string_view target, std::string_view body,
                                 std::string_view headers = "") {
    auto r =
        test::raw_exchange(server_->port(), test::request_with_body("POST", target, body, headers));
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(r).value() : sandbox::BlockingResponse{};
  }
  static std::string id_header(std::string_view id) {
    return "lambda-runtime-aws-request-id: " + std::string(id) + "\r\n";
  }
  void invoke(std::string_view id) {
    loop_.call([&] { processor_->on_invoke(id, kT0 + 3000); });
  }
  // One platform.<type> record for `id` with that status, through the real batch parser.
  void platform(std::string_view type, std::string_view id, std::string_view status) {
    loop_.call([&] {
      const std::string batch = R"([{"time":"2025-10-12T00:00:01.000Z","type":"platform.)" +
                                std::string(type) + R"(","record":{"requestId":")" +
                                std::string(id) + R"(","status":")" + std::string(status) +
                                R"(","metrics":{"durationMs":10}}}])";
      const TelemetryCounters counters(self_);
      process_telemetry_batch(batch, counters,
                              [&](const TelemetryEvent& e) { processor_->on_telemetry(e); });
    });
  }
  void runtime_done(std::string_view id, std::string_view status) {
    platform("runtimeDone", id, status);
  }
  std::size_t errors() {
    return loop_.call([&] { return sink_.count("aws.lambda.enhanced.errors"); });
  }
  std::vector<std::string> paired_ids() {
    return loop_.call([&] {
      std::vector<std::string> ids;
      for (const auto& t : tracer_) ids.push_back(t.request_id);
      return ids;
    });
  }

  fakes::FakeClock clock_{kT0};
  test::LoopThread loop_;
  SelfMetrics self_;
  fakes::FakeMetricSink sink_;
  std::unique_ptr<InvocationProcessor> processor_;
  std::vector<TracerInvocation> tracer_;  // touched on the loop thread only
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<LocalApi> api_;
};

using Ids = std::vector<std::string>;

TEST_F(LocalApiTest, StartAndEndAnswerTwoHundredAndHandTheCallsOnPairedByHeader) {
  serve();
  invoke("r1");
  const std::string event = R"({"httpMethod":"GET","headers":{"x-datadog-trace-id":"7"}})";
  auto start = post("/lambda/start-invocation", event,
                    id_header("r1") + "Datadog-Meta-Lang: nodejs\r\nx-datadog-trace-id: 11\r\n");
  EXPECT_EQ(start.status, 200);
  EXPECT_EQ(start.body, "{}");
  auto end = post("/lambda/end-invocation", R"({"statusCode":200,"body":"ok"})",
                  id_header("r1") +
                      "x-datadog-trace-id: 11\r\nx-datadog-span-id: 22\r\n"
                      "x-datadog-parent-id: 33\r\nx-datadog-sampling-priority: 1\r\n"
                      "x-datadog-tags: _dd.p.tid=66b2f2e400000000\r\n");
  EXPECT_EQ(end.status, 200);
  EXPECT_EQ(end.body, "{}");
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 1u);
    const TracerInvocation& t = tracer_[0];
    EXPECT_EQ(t.request_id, "r1");
    ASSERT_TRUE(t.start.has_value());
    EXPECT_EQ(t.start->event, event);
    EXPECT_FALSE(t.start->event_too_large);
    EXPECT_EQ(t.start->lang, "nodejs");
    EXPECT_EQ(t.start->trace.trace_id, "11");
    EXPECT_EQ(t.start->time_ms, kT0);
    EXPECT_EQ(t.end.response, R"({"statusCode":200,"body":"ok"})");
    EXPECT_EQ(t.end.status_code, 200);
    EXPECT_FALSE(t.end.is_error());
    EXPECT_EQ(t.end.trace.span_id, "22");
    EXPECT_EQ(t.end.trace.parent_id, "33");
    EXPECT_EQ(t.end.trace.sampling_priority, "1");
    EXPECT_EQ(t.end.trace.tags, "_dd.p.tid=66b2f2e400000000");
  });
  EXPECT_EQ(errors(), 0u);
  // A repeated end for the same id is not handed on twice.
  EXPECT_EQ(post("/lambda/end-invocation", "{}", id_header("r1")).status, 200);
  EXPECT_EQ(paired_ids(), Ids{"r1"});
}

TEST_F(LocalApiTest, StartBeforeItsInvokeMakesTheContextAndInvokeFillsItIn) {
  serve();
  EXPECT_EQ(post("/lambda/start-invocation", "{}", id_header("r2")).status, 200);
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
  invoke("r2");
  EXPECT_EQ(loop_.call([&] { return processor_->awaiting_reports(); }), 1u);
  EXPECT_EQ(post("/lambda/end-invocation", "{}", id_header("r2")).status, 200);
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 1u);
    EXPECT_EQ(tracer_[0].request_id, "r2");
    EXPECT_TRUE(tracer_[0].start.has_value());
  });
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
}

// §2.2: with a tracer, the context outlives its report until end-invocation (at most 5 s).
TEST_F(LocalApiTest, ContextWithATracerStartIsReleasedAtItsEndOrFiveSecondsAfterTheReport) {
  serve();
  invoke("r1");
  post("/lambda/start-invocation", "{}", id_header("r1"));
  platform("report", "r1", "success");
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
  post("/lambda/end-invocation", R"({"statusCode":500})", id_header("r1"));
  EXPECT_EQ(errors(), 1u);  // the end after the report still counts
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 0u);

  invoke("r2");
  post("/lambda/start-invocation", "{}", id_header("r2"));
  platform("report", "r2", "success");
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
  clock_.set_wall_ms(kT0 + InvocationProcessor::kTracerEndWaitMs - 1);
  invoke("r3");
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 2u);
  clock_.set_wall_ms(kT0 + InvocationProcessor::kTracerEndWaitMs + 1);
  invoke("r4");
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 2u);  // r3, r4
  // Its end past the wait: handed on without its start; no evidence counts for a released one.
  post("/lambda/end-invocation", R"({"statusCode":500})", id_header("r2"));
  EXPECT_EQ(errors(), 1u);
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 2u);
    EXPECT_EQ(tracer_[1].request_id, "r2");
    EXPECT_FALSE(tracer_[1].start.has_value());
  });
}

TEST_F(LocalApiTest, ErrorHeaderAndFiveHundredStatusCodeGiveExactlyOneErrorsPoint) {
  serve();
  invoke("r1");
  // Both kinds of evidence on one call, then the platform's own error status: one point.
  EXPECT_EQ(post("/lambda/end-invocation", R"({"statusCode":503})",
                 id_header("r1") + "x-datadog-invocation-error: true\r\n")
                .status,
            200);
  EXPECT_EQ(errors(), 1u);
  runtime_done("r1", "error");
  EXPECT_EQ(errors(), 1u);
  loop_.call([&] {
    const auto* p = sink_.find("aws.lambda.enhanced.errors");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->timestamp, kT0 / 1000);
    EXPECT_TRUE(p->has_tag("cold_start:true"));
  });

  // Each kind alone counts; statusCode as a number or a string of one.
  invoke("r2");
  post("/lambda/end-invocation", R"({"statusCode":502,"body":"bad gateway"})", id_header("r2"));
  EXPECT_EQ(errors(), 2u);
  invoke("r3");
  post("/lambda/end-invocation", R"({"statusCode":"500"})", id_header("r3"));
  EXPECT_EQ(errors(), 3u);
  invoke("r4");
  post("/lambda/end-invocation", "", id_header("r4") + "X-Datadog-Invocation-Error: TRUE\r\n");
  EXPECT_EQ(errors(), 4u);
  // Not errors: 4xx, 600, a false header, a nested statusCode.
  invoke("r5");
  post("/lambda/end-invocation", R"({"statusCode":404})", id_header("r5"));
  invoke("r6");
  post("/lambda/end-invocation", R"({"statusCode":600})", id_header("r6"));
  invoke("r7");
  post("/lambda/end-invocation", R"({"body":{"statusCode":500}})",
       id_header("r7") + "x-datadog-invocation-error: false\r\n");
  EXPECT_EQ(errors(), 4u);
  EXPECT_EQ(paired_ids(), (Ids{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}));
}

TEST_F(LocalApiTest, ErrorDetailsAreBase64DecodedWhenValidElseRaw) {
  serve();
  invoke("r1");
  const std::string stack = "Error: boom\n    at handler (/var/task/index.js:3:9)";
  post("/lambda/end-invocation", "{}",
       id_header("r1") + "x-datadog-invocation-error: true\r\nx-datadog-invocation-error-msg: " +
           base64_encode("boom") + "\r\nx-datadog-invocation-error-type: TypeError\r\n" +
           "x-datadog-invocation-error-stack: " + base64_encode(stack) + "\r\n");
  invoke("r2");
  // Looks like base64 but is not (bad characters, or bytes that are not text): used raw.
  post("/lambda/end-invocation", "{}",
       id_header("r2") +
           "x-datadog-invocation-error-msg: ab*d\r\nx-datadog-invocation-error-type: Test\r\n");
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 2u);
    EXPECT_EQ(tracer_[0].end.error_msg, "boom");
    EXPECT_EQ(tracer_[0].end.error_type, "TypeError");
    EXPECT_EQ(tracer_[0].end.error_stack, stack);
    EXPECT_FALSE(tracer_[0].start.has_value());
    EXPECT_EQ(tracer_[1].end.error_msg, "ab*d");
    EXPECT_EQ(tracer_[1].end.error_type, "Test");
    EXPECT_EQ(tracer_[1].end.error_stack, "");
  });
  EXPECT_EQ(errors(), 1u);
}

TEST_F(LocalApiTest, BodyThatIsNotJsonIsAcceptedWithoutErrorEvidence) {
  serve();
  invoke("r1");
  const std::string body = "statusCode 500 but not JSON {";
  EXPECT_EQ(post("/lambda/start-invocation", "<xml/>", id_header("r1")).status, 200);
  auto r = post("/lambda/end-invocation", body, id_header("r1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(errors(), 0u);
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 1u);
    EXPECT_EQ(tracer_[0].end.response, body);
    EXPECT_FALSE(tracer_[0].end.status_code.has_value());
    EXPECT_EQ(tracer_[0].start->event, "<xml/>");
  });
}

TEST_F(LocalApiTest, BodiesOverSixMiBAreRefusedCountedAndTheStartStillOpensTheInvocation) {
  serve();
  const std::string over(LocalApi::kInvocationBody + 1, 'x');
  auto start =
      post("/lambda/start-invocation", over, id_header("big") + "x-datadog-trace-id: 5\r\n");
  EXPECT_EQ(start.status, 413);
  EXPECT_EQ(self_.dropped_count("local_api", "too_large"), 1u);
  // Opened from the header as if the body were {}: INVOKE then finds it.
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
  invoke("big");
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 1u);
  auto end = post("/lambda/end-invocation", over,
                  id_header("big") + "x-datadog-invocation-error: true\r\n");
  EXPECT_EQ(end.status, 413);
  EXPECT_EQ(self_.dropped_count("local_api", "too_large"), 2u);
  EXPECT_EQ(errors(), 1u);  // the header alone is still evidence
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 1u);
    EXPECT_EQ(tracer_[0].request_id, "big");
    ASSERT_TRUE(tracer_[0].start.has_value());
    EXPECT_EQ(tracer_[0].start->event, "{}");
    EXPECT_TRUE(tracer_[0].start->event_too_large);
    EXPECT_EQ(tracer_[0].start->trace.trace_id, "5");
    EXPECT_EQ(tracer_[0].end.response, "");
  });

  // At the cap exactly: read and answered 200.
  invoke("r2");
  std::string at_cap = R"({"statusCode":500,"body":")";
  at_cap.append(LocalApi::kInvocationBody - at_cap.size() - 2, 'y');
  at_cap += "\"}";
  ASSERT_EQ(at_cap.size(), LocalApi::kInvocationBody);
  EXPECT_EQ(post("/lambda/start-invocation", at_cap, id_header("r2")).status, 200);
  EXPECT_EQ(post("/lambda/end-invocation", at_cap, id_header("r2")).status, 200);
  EXPECT_EQ(errors(), 2u);
  EXPECT_EQ(self_.dropped_count("local_api", "too_large"), 2u);

  // hello and flush keep their 64 KiB cap.
  const std::string small_over(LocalApi::kSmallBody + 1, 'z');
  EXPECT_EQ(post("/lambda/flush", small_over).status, 413);
  EXPECT_EQ(self_.dropped_count("local_api", "too_large"), 3u);
}

TEST_F(LocalApiTest, OnDemandCallsWithoutTheHeaderPairFifoWithInvoke) {
  serve();
  // INVOKE first, then the tracer's calls.
  invoke("r1");
  post("/lambda/start-invocation", R"({"n":1})");
  post("/lambda/end-invocation", R"({"statusCode":500})");
  EXPECT_EQ(paired_ids(), Ids{"r1"});
  EXPECT_EQ(errors(), 1u);
  runtime_done("r1", "success");

  // The tracer faster than the extension loop: start and end before INVOKE; the INVOKE pairs them.
  post("/lambda/start-invocation", R"({"n":2})");
  post("/lambda/end-invocation", "{}", "x-datadog-invocation-error: true\r\n");
  EXPECT_EQ(paired_ids(), Ids{"r1"});
  invoke("r2");
  EXPECT_EQ(paired_ids(), (Ids{"r1", "r2"}));
  EXPECT_EQ(errors(), 2u);

  // Start before INVOKE, end after it.
  post("/lambda/start-invocation", R"({"n":3})");
  invoke("r3");
  post("/lambda/end-invocation", "{}");
  EXPECT_EQ(paired_ids(), (Ids{"r1", "r2", "r3"}));

  // An INVOKE whose runtime is done is not what a later id-less start belongs to.
  invoke("r4");
  runtime_done("r4", "success");
  post("/lambda/start-invocation", R"({"n":5})");
  invoke("r5");
  post("/lambda/end-invocation", "{}");
  EXPECT_EQ(paired_ids(), (Ids{"r1", "r2", "r3", "r5"}));
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 4u);
    for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(tracer_[i].start.has_value());
    EXPECT_EQ(tracer_[0].start->event, R"({"n":1})");
    EXPECT_EQ(tracer_[1].start->event, R"({"n":2})");
    EXPECT_EQ(tracer_[2].start->event, R"({"n":3})");
    ASSERT_TRUE(tracer_[3].start.has_value());
    EXPECT_EQ(tracer_[3].start->event, R"({"n":5})");
  });
  EXPECT_EQ(errors(), 2u);

  // A second id-less start before any INVOKE replaces the first, counted.
  post("/lambda/start-invocation", R"({"n":6})");
  post("/lambda/start-invocation", R"({"n":7})");
  EXPECT_EQ(self_.dropped_count("local_api", "unpaired"), 1u);
  invoke("r7");
  post("/lambda/end-invocation", "{}");
  loop_.call([&] {
    ASSERT_EQ(tracer_.size(), 5u);
    EXPECT_EQ(tracer_[4].request_id, "r7");
    ASSERT_TRUE(tracer_[4].start.has_value());
    EXPECT_EQ(tracer_[4].start->event, R"({"n":7})");
  });
}

TEST_F(LocalApiTest, LmiCallsWithoutTheHeaderAreAcceptedNotPairedAndWarnedOnce) {
  std::atomic<int> warnings{0};
  Logger::instance().set_sink([&](std::string_view line) {
    if (line.find("tracer does not send lambda-runtime-aws-request-id; cannot pair under "
                  "concurrency") != std::string_view::npos &&
        line.find("WARN") != std::string_view::npos) {
      ++warnings;
    }
  });
  serve(/*extension_mode=*/true, /*lmi=*/true);
  EXPECT_EQ(post("/lambda/start-invocation", "{}").status, 200);
  EXPECT_EQ(post("/lambda/end-invocation", R"({"statusCode":500})",
                 "x-datadog-invocation-error: true\r\n")
                .status,
            200);
  EXPECT_EQ(post("/lambda/start-invocation", "{}").status, 200);
  EXPECT_EQ(post("/lambda/end-invocation", "{}").status, 200);
  EXPECT_EQ(errors(), 0u);  // no invocation to give the evidence to
  EXPECT_EQ(paired_ids(), (Ids{"", ""}));
  EXPECT_EQ(loop_.call([&] { return processor_->open_contexts(); }), 0u);
  // With the header, LMI calls pair by it even under concurrency.
  post("/lambda/start-invocation", "{}", id_header("a"));
  post("/lambda/start-invocation", "{}", id_header("b"));
  post("/lambda/end-invocation", R"({"statusCode":500})", id_header("b"));
  post("/lambda/end-invocation", "{}", id_header("a"));
  EXPECT_EQ(paired_ids(), (Ids{"", "", "b", "a"}));
  EXPECT_EQ(errors(), 1u);
  stop();
  Logger::instance().set_sink(nullptr);
  EXPECT_EQ(warnings.load(), 1);
}

TEST_F(LocalApiTest, OutsideExtensionModeTheInvocationRoutesAnswerNotFound) {
  serve(/*extension_mode=*/false);
  auto start = post("/lambda/start-invocation", "{}", id_header("r1"));
  EXPECT_EQ(start.status, 404);
  EXPECT_EQ(post("/lambda/end-invocation", "{}", id_header("r1")).status, 404);
  auto hello = test::raw_exchange(server_->port(), "GET /lambda/hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "{}");
  auto flush = post("/lambda/flush", "{}");
  EXPECT_EQ(flush.status, 200);
}

}  // namespace
}  // namespace lc::lambda
