// InvocationProcessor (lambda-agent.md §2, §3.1–3.4, §4.5): fixture telemetry in, the enhanced
// metrics out through a FakeMetricSink — each metric's value, unit, timestamp and dynamic tags,
// the worked example of §3.3, late reports, evicted contexts, orphan and duplicate events, LMI
// concurrency, timeouts, DD_ENHANCED_METRICS=false.
#include "lambda/invocation_processor.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/proc_reader.h"
#include "core/self_metrics.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_metric_sink.h"
#include "lambda/telemetry.h"
#include "lambda/usage_metrics.h"
#include "test_paths.h"

namespace lc::lambda {
namespace {

using fakes::FakeClock;
using fakes::FakeMetricSink;

constexpr std::int64_t kT0 = 1761055500000;  // 2025-10-21T14:05:00.000Z

// Epoch ms → the platform's ISO-8601 time.
std::string iso(std::int64_t ms) {
  const std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string ev(std::string_view type, std::int64_t ms, std::string_view record) {
  return fmt::format(R"({{"time":"{}","type":"{}","record":{}}})", iso(ms), type, record);
}

class InvocationProcessorTest : public ::testing::Test {
 protected:
  void make(InvocationProcessorOptions options = {}) {
    if (options.start_ms == 0) options.start_ms = kT0;
    processor_ = std::make_unique<InvocationProcessor>(options, sink_, clock_, self_);
  }
  void SetUp() override {
    clock_.set_wall_ms(kT0);
    make();
  }

  // One telemetry batch of these events, through the real batch parser.
  void batch(const std::vector<std::string>& events) {
    std::string body = "[";
    for (std::size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
    body += "]";
    process_telemetry_batch(body, counters_,
                            [this](const TelemetryEvent& e) { processor_->on_telemetry(e); });
  }
  void invoke(std::string_view id, std::int64_t at_ms) {
    clock_.set_wall_ms(at_ms);
    processor_->on_invoke(id, at_ms + 3000);
  }

  // The one point of `name`; fails the test when there is not exactly one.
  const FakeMetricSink::Point& one(std::string_view name) {
    const std::string full = "aws.lambda.enhanced." + std::string(name);
    auto all = sink_.find_all(full);
    EXPECT_EQ(all.size(), 1u) << full;
    static const FakeMetricSink::Point kNone{};
    return all.empty() ? kNone : *all.front();
  }
  std::size_t count(std::string_view name) {
    return sink_.count("aws.lambda.enhanced." + std::string(name));
  }

  FakeClock clock_{kT0};
  SelfMetrics self_;
  TelemetryCounters counters_{self_};
  FakeMetricSink sink_;
  std::unique_ptr<InvocationProcessor> processor_;
};

using Tags = std::vector<std::string>;

// §3.3: one successful warm on-demand invocation on arm64, every point exactly.
TEST_F(InvocationProcessorTest, WorkedExampleWarmOnDemandInvocation) {
  InvocationProcessorOptions o;
  o.architecture = "arm64";
  make(o);
  // A first invocation makes the next one warm.
  batch({ev("platform.initStart", kT0 - 500,
            R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r0", kT0 + 100);
  batch({ev("platform.report", kT0 + 200,
            R"({"requestId":"r0","status":"success","metrics":{"durationMs":10.0}})")});
  sink_.clear();

  const std::int64_t invoke_at = kT0 + 60000;  // 14:06:00
  const std::int64_t done_at = invoke_at + 2599;
  const std::int64_t report_at = invoke_at + 2601;
  invoke("r1", invoke_at);
  batch(
      {ev("platform.start", invoke_at, R"({"requestId":"r1","version":"$LATEST"})"),
       ev("platform.runtimeDone", done_at,
          R"({"requestId":"r1","status":"success","metrics":{"durationMs":2599.0,"producedBytes":8},
                "spans":[{"name":"responseLatency","start":"2025-10-21T14:06:00.000Z","durationMs":2598.0},
                         {"name":"responseDuration","start":"2025-10-21T14:06:02.598Z","durationMs":0.0}]})"),
       ev("platform.report", report_at,
          R"({"requestId":"r1","status":"success","metrics":{"durationMs":2599.4,"billedDurationMs":2600,
                "memorySizeMB":128,"maxMemoryUsedMB":94}})")});

  struct Want {
    const char* name;
    double value;
    std::int64_t at_ms;
  };
  const Want want[] = {
      {"invocations", 1, invoke_at},
      {"runtime_duration", 2599.0, done_at},
      {"response_latency", 2598.0, done_at},
      {"response_duration", 0.0, done_at},
      {"produced_bytes", 8, done_at},
      {"duration", 2.5994, report_at},
      {"billed_duration", 2.6, report_at},
      {"max_memory_used", 94, report_at},
      {"memorysize", 128, report_at},
      {"post_runtime_duration", 0.4, report_at},
      {"estimated_cost", 0.000004533355, report_at},
  };
  for (const auto& w : want) {
    SCOPED_TRACE(w.name);
    const auto& p = one(w.name);
    EXPECT_EQ(p.type, MetricType::kDistribution);
    EXPECT_NEAR(p.value(), w.value, 1e-9);
    EXPECT_EQ(p.timestamp, w.at_ms / 1000);
    EXPECT_EQ(p.tags, Tags{"cold_start:false"});
  }
  EXPECT_EQ(sink_.size(), std::size(want));
  for (const char* absent : {"errors", "timeouts", "out_of_memory", "init_duration"}) {
    EXPECT_EQ(count(absent), 0u) << absent;
  }
  EXPECT_EQ(processor_->awaiting_reports(), 0u);
  EXPECT_EQ(processor_->open_contexts(), 0u);
}

TEST_F(InvocationProcessorTest, EstimatedCostFollowsTheTable) {
  EXPECT_NEAR(estimated_cost_usd(500, 1024, "x86_64", {}, {}), 0.000008533350, 1e-15);
  EXPECT_NEAR(estimated_cost_usd(500, 1024, "arm64", {}, {}), 0.000006866700, 1e-15);
  EXPECT_NEAR(estimated_cost_usd(2600, 128, "arm64", {}, {}), 0.000004533355, 1e-15);
  // The overrides replace the table.
  EXPECT_NEAR(estimated_cost_usd(1000, 1024, "arm64", 0.00001, 0.000001), 0.000011, 1e-15);
}

TEST_F(InvocationProcessorTest, ColdStartIsHeldUntilInitStartAndCarriesDurableAndInitType) {
  invoke("r1", kT0 + 300);
  // The first invocation's point waits for initStart (durable_function may follow).
  EXPECT_EQ(count("invocations"), 0u);
  batch(
      {ev("platform.initStart", kT0 + 10,
          R"({"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.13.DurableFunction.v2"})"),
       ev("platform.initReport", kT0 + 250,
          R"({"initializationType":"provisioned-concurrency","phase":"init","metrics":{"durationMs":436.9}})"),
       ev("platform.start", kT0 + 300, R"({"requestId":"r1"})")});
  const auto& inv = one("invocations");
  EXPECT_EQ(inv.timestamp, (kT0 + 300) / 1000);
  EXPECT_EQ(inv.tags, (Tags{"cold_start:true", "durable_function:true"}));
  const auto& init = one("init_duration");
  EXPECT_NEAR(init.value(), 0.4369, 1e-12);
  EXPECT_EQ(init.timestamp, (kT0 + 250) / 1000);
  // The event's init type, one value per point.
  EXPECT_EQ(init.tags, (Tags{"durable_function:true", "init_type:provisioned-concurrency"}));

  // The report's initDurationMs does not give a second init_duration.
  batch({ev(
      "platform.report", kT0 + 900,
      R"({"requestId":"r1","status":"success","metrics":{"durationMs":500,"initDurationMs":437}})")});
  EXPECT_EQ(count("init_duration"), 1u);
  EXPECT_EQ(one("duration").tags, (Tags{"cold_start:true", "durable_function:true"}));

  // The next invocation is warm.
  invoke("r2", kT0 + 5000);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.invocations")->tags,
            (Tags{"cold_start:false", "durable_function:true"}));
}

// lambda-platform.md §8 item 26: initStart names the runtime with runtimeVersionArn or with
// runtimeArn; both are an initStart (the held cold start goes out at once, durable detected).
TEST_F(InvocationProcessorTest, InitStartWithRuntimeVersionArnOrRuntimeArnIsAccepted) {
  for (const char* arn_key : {"runtimeVersionArn", "runtimeArn"}) {
    SCOPED_TRACE(arn_key);
    make();
    sink_.clear();
    invoke("r1", kT0 + 300);
    batch({ev(
        "platform.initStart", kT0 + 10,
        fmt::format(
            R"({{"initializationType":"on-demand","phase":"init","runtimeVersion":"nodejs:20.DurableFunction.v1","{}":"arn:aws:lambda:us-east-1::runtime:abc"}})",
            arn_key))});
    EXPECT_EQ(one("invocations").tags, (Tags{"cold_start:true", "durable_function:true"}));
  }
}

// §8 item 27 (lambda-agent.md §2.4): a suppressed init (init events with phase "invoke") changes
// no rule: the first invocation is the cold start and the initReport gives init_duration.
TEST_F(InvocationProcessorTest, SuppressedInitPhaseInvokeKeepsColdStartAndInitDuration) {
  batch({ev(
      "platform.initStart", kT0 + 10,
      R"({"initializationType":"on-demand","phase":"invoke","runtimeVersion":"python:3.13.v1"})")});
  invoke("r1", kT0 + 2000);
  batch(
      {ev("platform.initRuntimeDone", kT0 + 2400,
          R"({"initializationType":"on-demand","phase":"invoke","status":"success"})"),
       ev("platform.initReport", kT0 + 2400,
          R"({"initializationType":"on-demand","phase":"invoke","metrics":{"durationMs":390.0}})"),
       ev("platform.start", kT0 + 2400, R"({"requestId":"r1"})"),
       ev("platform.runtimeDone", kT0 + 2600, R"({"requestId":"r1","status":"success"})")});
  EXPECT_EQ(one("invocations").tags, Tags{"cold_start:true"});
  EXPECT_NEAR(one("init_duration").value(), 0.39, 1e-12);
  EXPECT_EQ(count("errors"), 0u);
}

// §8 item 24: initRuntimeDone without phase, runtimeDone without metrics or spans, errorType ""
// and an unknown event type are accepted; the report still gives its metrics, nothing fails.
TEST_F(InvocationProcessorTest, OmittedOptionalFieldsAndUnknownTypesAreAccepted) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})"),
         ev("platform.initRuntimeDone", kT0 + 200,
            R"({"initializationType":"on-demand","status":"success"})"),
         ev("platform.futureThing", kT0 + 250, R"({"requestId":"r1","whatever":[1,2]})")});
  invoke("r1", kT0 + 300);
  batch(
      {ev("platform.start", kT0 + 300, R"({"requestId":"r1","version":"$LATEST","extra":{}})"),
       ev("platform.runtimeDone", kT0 + 800,
          R"({"requestId":"r1","status":"success","errorType":""})"),
       ev("platform.report", kT0 + 900,
          R"({"requestId":"r1","status":"success","errorType":"","metrics":{"durationMs":600,"billedDurationMs":600,"memorySizeMB":128,"maxMemoryUsedMB":70}})")});
  EXPECT_EQ(one("invocations").tags, Tags{"cold_start:true"});
  EXPECT_EQ(count("errors"), 0u);
  EXPECT_EQ(count("runtime_duration"), 0u);  // no metrics on runtimeDone
  EXPECT_EQ(count("response_latency"), 0u);  // no spans anywhere
  EXPECT_NEAR(one("duration").value(), 0.6, 1e-12);
  EXPECT_EQ(one("max_memory_used").value(), 70);
  // An error status with an empty errorType is still one error.
  invoke("r2", kT0 + 5000);
  batch({ev("platform.runtimeDone", kT0 + 5100,
            R"({"requestId":"r2","status":"error","errorType":""})")});
  EXPECT_EQ(count("errors"), 1u);
}

TEST_F(InvocationProcessorTest, HeldInvocationGoesOutAtRuntimeDoneFlushOrShutdown) {
  invoke("r1", kT0 + 100);
  EXPECT_EQ(count("invocations"), 0u);
  batch({ev("platform.runtimeDone", kT0 + 200, R"({"requestId":"r1","status":"success"})")});
  EXPECT_EQ(one("invocations").tags, Tags{"cold_start:true"});
  EXPECT_EQ(one("invocations").timestamp, (kT0 + 100) / 1000);

  make();
  sink_.clear();
  invoke("a", kT0 + 100);
  processor_->release_held_invocation();  // a flush decision
  EXPECT_EQ(count("invocations"), 1u);

  make();
  sink_.clear();
  invoke("b", kT0 + 100);
  processor_->on_shutdown();
  EXPECT_EQ(count("invocations"), 1u);
  EXPECT_EQ(count("shutdowns"), 1u);
  EXPECT_EQ(count("unused_init"), 0u);
}

TEST_F(InvocationProcessorTest, ProactiveInitAfterMoreThanTenSecondsIdle) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 10001);
  EXPECT_EQ(one("invocations").tags, (Tags{"cold_start:false", "proactive_initialization:true"}));
  invoke("r2", kT0 + 20000);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.invocations")->tags, Tags{"cold_start:false"});

  // Exactly 10 s is not more than 10 s.
  make();
  sink_.clear();
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 10000);
  EXPECT_EQ(one("invocations").tags, Tags{"cold_start:true"});
}

TEST_F(InvocationProcessorTest, SnapStartRestoreMakesTheNextInvocationColdAgain) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"snap-start","phase":"init"})")});
  invoke("r0", kT0 + 100);
  // Restored much later: proactive init counts from the restore, not the process start.
  const std::int64_t restore = kT0 + 3600000;
  batch({ev("platform.restoreStart", restore, "{}"),
         ev("platform.restoreReport", restore + 250,
            R"({"status":"success","metrics":{"durationMs":150.5}})")});
  invoke("r1", restore + 400);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.invocations")->tags, Tags{"cold_start:true"});
  const auto& restore_point = one("snapstart_restore_duration");
  EXPECT_NEAR(restore_point.value(), 0.1505, 1e-12);
  EXPECT_EQ(restore_point.timestamp, (restore + 250) / 1000);
  EXPECT_TRUE(restore_point.tags.empty());
}

// §2.3: the report of r1 arrives after the INVOKE of r2; both invocations get their own values.
TEST_F(InvocationProcessorTest, ReportAfterTheNextInvoke) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 1000);
  batch({ev("platform.start", kT0 + 1000, R"({"requestId":"r1"})"),
         ev("platform.runtimeDone", kT0 + 1100,
            R"({"requestId":"r1","status":"success","metrics":{"durationMs":100}})")});
  invoke("r2", kT0 + 2000);
  EXPECT_EQ(processor_->awaiting_reports(), 2u);
  batch(
      {ev("platform.report", kT0 + 1102,
          R"({"requestId":"r1","status":"success","metrics":{"durationMs":101,"billedDurationMs":101,"memorySizeMB":128,"maxMemoryUsedMB":60}})"),
       ev("platform.start", kT0 + 2000, R"({"requestId":"r2"})"),
       ev("platform.runtimeDone", kT0 + 2300,
          R"({"requestId":"r2","status":"error","errorType":"Runtime.ExitError","metrics":{"durationMs":300}})"),
       ev("platform.report", kT0 + 2305,
          R"({"requestId":"r2","status":"error","metrics":{"durationMs":305,"billedDurationMs":305,"memorySizeMB":128,"maxMemoryUsedMB":61}})")});
  EXPECT_EQ(count("invocations"), 2u);
  const auto post = sink_.find_all("aws.lambda.enhanced.post_runtime_duration");
  ASSERT_EQ(post.size(), 2u);
  EXPECT_NEAR(post[0]->value(), 1.0, 1e-9);
  EXPECT_EQ(post[0]->tags, Tags{"cold_start:true"});
  EXPECT_NEAR(post[1]->value(), 5.0, 1e-9);
  EXPECT_EQ(post[1]->tags, Tags{"cold_start:false"});
  EXPECT_EQ(one("errors").tags, Tags{"cold_start:false"});
  EXPECT_EQ(one("errors").timestamp, (kT0 + 2300) / 1000);
  EXPECT_EQ(count("timeouts"), 0u);
  EXPECT_EQ(processor_->awaiting_reports(), 0u);
}

// §2.3: function logs (and other events) in the same batch before platform.start change nothing.
TEST_F(InvocationProcessorTest, LogsBeforePlatformStart) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 1000);
  batch({ev("function", kT0 + 1001, R"("2025-10-21T14:05:01.001Z\tr1\tINFO\thello")"),
         ev("function", kT0 + 1002, R"({"requestId":"r1","level":"INFO","message":"hi"})"),
         ev("extension", kT0 + 1002, R"("[other] line")"),
         ev("platform.start", kT0 + 1000, R"({"requestId":"r1"})"),
         ev("platform.runtimeDone", kT0 + 1100,
            R"({"requestId":"r1","status":"success","metrics":{"durationMs":100}})"),
         ev("platform.report", kT0 + 1101,
            R"({"requestId":"r1","status":"success","metrics":{"durationMs":100.5}})")});
  EXPECT_EQ(count("invocations"), 1u);
  EXPECT_EQ(count("runtime_duration"), 1u);
  EXPECT_EQ(count("duration"), 1u);
  EXPECT_EQ(one("duration").tags, Tags{"cold_start:true"});
}

TEST_F(InvocationProcessorTest, DuplicateDeliveriesEmitNothingTwice) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 1000);
  const std::vector<std::string> events = {
      ev("platform.start", kT0 + 1000, R"({"requestId":"r1"})"),
      ev("platform.runtimeDone", kT0 + 1100,
         R"({"requestId":"r1","status":"timeout","metrics":{"durationMs":100}})"),
      ev("platform.report", kT0 + 1101,
         R"({"requestId":"r1","status":"timeout","metrics":{"durationMs":100.5,"billedDurationMs":101,"memorySizeMB":128,"maxMemoryUsedMB":60}})")};
  batch(events);
  const std::size_t after_first = sink_.size();
  batch(events);  // the platform resends after a listener error
  processor_->on_invoke("r1", 0);
  processor_->on_invocation_error("r1", kT0 + 1200);
  EXPECT_EQ(sink_.size(), after_first);
  EXPECT_EQ(count("errors"), 1u);
  EXPECT_EQ(count("timeouts"), 1u);
  EXPECT_EQ(count("invocations"), 1u);
  EXPECT_EQ(count("duration"), 1u);
}

// Events without a usable requestId are counted; an id never invoked gets a context of its own
// and no invocation is made up for it on-demand.
TEST_F(InvocationProcessorTest, OrphanEvents) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})"),
         ev("platform.report", kT0 + 10, R"({"status":"success","metrics":{"durationMs":1}})"),
         ev("platform.runtimeDone", kT0 + 10, R"("not an object")"),
         ev("platform.start", kT0 + 10, R"({"requestId":""})")});
  EXPECT_EQ(self_.get("lastcall.lambda.orphan_events"), 3u);
  EXPECT_EQ(sink_.size(), 0u);
  processor_->on_invoke("", 0);
  EXPECT_EQ(self_.get("lastcall.lambda.orphan_events"), 4u);

  batch({ev("platform.runtimeDone", kT0 + 20,
            R"({"requestId":"ghost","status":"success","metrics":{"durationMs":7}})"),
         ev("platform.report", kT0 + 21,
            R"({"requestId":"ghost","status":"success","metrics":{"durationMs":8}})")});
  EXPECT_EQ(count("invocations"), 0u);
  EXPECT_NEAR(one("runtime_duration").value(), 7, 1e-9);
  EXPECT_NEAR(one("duration").value(), 0.008, 1e-12);
  EXPECT_EQ(processor_->open_contexts(), 0u);
}

TEST_F(InvocationProcessorTest, EvictedContextIsCountedAndItsLateReportStillCountsOnce) {
  InvocationProcessorOptions o;
  o.capacity = 2;
  make(o);
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("a", kT0 + 100);
  invoke("b", kT0 + 200);
  invoke("c", kT0 + 300);  // evicts a (open)
  EXPECT_EQ(self_.get("lastcall.lambda.context_evicted"), 1u);
  EXPECT_EQ(self_.get("lastcall.lambda.context_evicted_open"), 1u);
  EXPECT_EQ(processor_->open_contexts(), 2u);
  EXPECT_EQ(count("invocations"), 3u);

  // a's report comes late: a context again, with a's tags; evicts b.
  batch({ev("platform.report", kT0 + 400,
            R"({"requestId":"a","status":"success","metrics":{"durationMs":5}})")});
  EXPECT_EQ(one("duration").tags, Tags{"cold_start:true"});
  EXPECT_EQ(self_.get("lastcall.lambda.context_evicted"), 2u);
  // A second INVOKE of a is a repeat: nothing new.
  processor_->on_invoke("a", 0);
  EXPECT_EQ(count("invocations"), 3u);
}

// LMI: lifecycle from platform.start / platform.report only, concurrent requests interleaved, no
// cold-start tags, only what the LMI report carries.
TEST_F(InvocationProcessorTest, LmiConcurrentRequests) {
  InvocationProcessorOptions o;
  o.lmi = true;
  make(o);
  batch(
      {ev("platform.initStart", kT0,
          R"({"initializationType":"lambda-managed-instances","phase":"init"})"),
       ev("platform.initReport", kT0 + 100,
          R"({"initializationType":"lambda-managed-instances","phase":"init","metrics":{"durationMs":1200}})"),
       ev("platform.start", kT0 + 1000, R"({"requestId":"a"})"),
       ev("platform.start", kT0 + 1001, R"({"requestId":"b"})"),
       ev("platform.start", kT0 + 1002, R"({"requestId":"c"})"),
       ev("function", kT0 + 1003, R"("no id here")"),
       ev("platform.report", kT0 + 2001,
          R"({"requestId":"b","status":"success","metrics":{"durationMs":1.148},
                "spans":[{"name":"responseLatency","durationMs":0.847},{"name":"responseDuration","durationMs":0.127}]})"),
       ev("platform.report", kT0 + 2002,
          R"({"requestId":"c","status":"timeout","errorType":"Sandbox.Timeout","metrics":{"durationMs":900}})")});
  EXPECT_EQ(count("invocations"), 3u);
  for (const auto* p : sink_.find_all("aws.lambda.enhanced.invocations")) {
    EXPECT_TRUE(p->tags.empty());
  }
  const auto runtime = sink_.find_all("aws.lambda.enhanced.runtime_duration");
  ASSERT_EQ(runtime.size(), 2u);
  EXPECT_NEAR(runtime[0]->value(), 0.974, 1e-9);  // responseLatency + responseDuration
  EXPECT_NEAR(runtime[1]->value(), 900, 1e-9);    // no spans: the report's durationMs
  EXPECT_NEAR(one("response_latency").value(), 0.847, 1e-12);
  EXPECT_NEAR(one("response_duration").value(), 0.127, 1e-12);
  EXPECT_EQ(count("duration"), 2u);
  EXPECT_EQ(one("errors").timestamp, (kT0 + 2002) / 1000);
  EXPECT_EQ(count("timeouts"), 1u);
  EXPECT_EQ(one("init_duration").tags, Tags{"init_type:lambda-managed-instances"});
  for (const char* absent : {"billed_duration", "max_memory_used", "memorysize", "estimated_cost",
                             "post_runtime_duration", "produced_bytes"}) {
    EXPECT_EQ(count(absent), 0u) << absent;
  }
  // No INVOKE in LMI: the final flush waits for no report.
  EXPECT_EQ(processor_->awaiting_reports(), 0u);
  EXPECT_EQ(processor_->open_contexts(), 1u);  // a

  // A report whose platform.start was lost still counts its invocation once.
  batch({ev("platform.report", kT0 + 3000,
            R"({"requestId":"d","status":"success","metrics":{"durationMs":2}})")});
  EXPECT_EQ(count("invocations"), 4u);
}

TEST_F(InvocationProcessorTest, TimeoutWithoutRuntimeDoneComesFromTheReport) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  batch({ev(
      "platform.report", kT0 + 3100,
      R"({"requestId":"r1","status":"timeout","errorType":"Sandbox.Timeout","metrics":{"durationMs":3000,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":128}})")});
  EXPECT_EQ(one("errors").tags, Tags{"cold_start:true"});
  EXPECT_EQ(one("timeouts").timestamp, (kT0 + 3100) / 1000);
  EXPECT_EQ(count("post_runtime_duration"), 0u);  // no runtimeDone for this id
  EXPECT_EQ(count("runtime_duration"), 0u);
  EXPECT_EQ(one("max_memory_used").value(), 128);
}

// lambda-platform.md §8 item 16 / §3.5: SHUTDOWN `timeout` while r2 runs and neither its
// runtimeDone nor its report ever came: r2 (the last INVOKE, not the finished r1) is one errors
// and one timeouts point; a runtimeDone/report arriving after all adds nothing.
TEST_F(InvocationProcessorTest, ShutdownTimeoutWithoutRuntimeDoneCountsTheRunningRequestOnce) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  batch({ev("platform.runtimeDone", kT0 + 200, R"({"requestId":"r1","status":"success"})")});
  invoke("r2", kT0 + 1000);
  clock_.set_wall_ms(kT0 + 4000);
  ExtensionEvent shutdown;
  shutdown.type = ExtensionEvent::Type::kShutdown;
  shutdown.shutdown_reason = "timeout";
  processor_->on_extension_event(shutdown);
  processor_->on_extension_event(shutdown);  // a repeat changes nothing
  EXPECT_EQ(one("errors").tags, Tags{"cold_start:false"});
  EXPECT_EQ(one("timeouts").timestamp, (kT0 + 4000) / 1000);
  batch({ev("platform.runtimeDone", kT0 + 4100, R"({"requestId":"r2","status":"timeout"})"),
         ev("platform.report", kT0 + 4100,
            R"({"requestId":"r2","status":"timeout","metrics":{"durationMs":3000}})")});
  EXPECT_EQ(count("errors"), 1u);
  EXPECT_EQ(count("timeouts"), 1u);
  EXPECT_EQ(count("shutdowns"), 1u);
}

// The running invocation's runtimeDone came first (sandbox timeout): SHUTDOWN `timeout` adds
// nothing; another reason never counts a timeout.
TEST_F(InvocationProcessorTest, ShutdownTimeoutAfterTheRuntimeDoneOrOtherReasonsAddNothing) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  batch({ev("platform.runtimeDone", kT0 + 3100, R"({"requestId":"r1","status":"timeout"})")});
  ExtensionEvent shutdown;
  shutdown.type = ExtensionEvent::Type::kShutdown;
  shutdown.shutdown_reason = "timeout";
  processor_->on_extension_event(shutdown);
  EXPECT_EQ(count("errors"), 1u);
  EXPECT_EQ(count("timeouts"), 1u);

  make();
  invoke("s1", kT0 + 5000);
  shutdown.shutdown_reason = "spindown";
  processor_->on_extension_event(shutdown);
  EXPECT_EQ(count("timeouts"), 1u);  // still only r1's
}

// §8 item 35: a streamed response whose error came in the trailers (runtimeDone status error)
// is an error invocation and still gives produced_bytes and both response spans.
TEST_F(InvocationProcessorTest, StreamedResponseWithAnErrorTrailerIsAnErrorInvocation) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  batch({ev(
      "platform.runtimeDone", kT0 + 900,
      fmt::format(
          R"({{"requestId":"r1","status":"error","errorType":"Stream.Broken","metrics":{{"durationMs":800,"producedBytes":24}},"spans":[{{"name":"responseLatency","start":"{}","durationMs":120.5}},{{"name":"responseDuration","start":"{}","durationMs":679.5}}]}})",
          iso(kT0 + 100), iso(kT0 + 220)))});
  EXPECT_EQ(count("errors"), 1u);
  EXPECT_EQ(count("timeouts"), 0u);
  EXPECT_EQ(one("produced_bytes").value(), 24);
  EXPECT_EQ(one("response_latency").value(), 120.5);
  EXPECT_EQ(one("response_duration").value(), 679.5);
}

TEST_F(InvocationProcessorTest, ErrorStatusesAndOutsideEvidenceGiveOneErrorsPoint) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  processor_->on_invocation_error("r1", kT0 + 150);  // end-invocation error header
  batch({ev("platform.runtimeDone", kT0 + 200, R"({"requestId":"r1","status":"failure"})")});
  EXPECT_EQ(count("errors"), 1u);
  EXPECT_EQ(one("errors").timestamp, (kT0 + 150) / 1000);
  EXPECT_EQ(count("timeouts"), 0u);
}

TEST_F(InvocationProcessorTest, InitDurationFallsBackToTheReport) {
  InvocationProcessorOptions o;
  o.init_type = "on-demand";
  make(o);
  invoke("r1", kT0 + 100);
  batch({ev(
      "platform.report", kT0 + 700,
      R"({"requestId":"r1","status":"success","metrics":{"durationMs":10,"initDurationMs":549.04}})")});
  const auto& init = one("init_duration");
  EXPECT_NEAR(init.value(), 0.54904, 1e-12);
  EXPECT_EQ(init.tags, Tags{"init_type:on-demand"});
}

TEST_F(InvocationProcessorTest, ShutdownEmitsShutdownsAndUnusedInitOnce) {
  clock_.set_wall_ms(kT0 + 5000);
  processor_->on_shutdown();
  processor_->on_shutdown();
  EXPECT_EQ(one("shutdowns").timestamp, (kT0 + 5000) / 1000);
  EXPECT_EQ(one("unused_init").value(), 1);
  EXPECT_TRUE(one("unused_init").tags.empty());

  make();
  sink_.clear();
  invoke("r1", kT0 + 100);
  ExtensionEvent shutdown;
  shutdown.type = ExtensionEvent::Type::kShutdown;
  processor_->on_extension_event(shutdown);
  EXPECT_EQ(count("shutdowns"), 1u);
  EXPECT_EQ(count("unused_init"), 0u);
  // The report after SHUTDOWN is still processed (§6.5).
  EXPECT_EQ(processor_->awaiting_reports(), 1u);
  batch({ev("platform.report", kT0 + 300,
            R"({"requestId":"r1","status":"success","metrics":{"durationMs":10}})")});
  EXPECT_EQ(processor_->awaiting_reports(), 0u);
  EXPECT_EQ(count("duration"), 1u);
}

TEST_F(InvocationProcessorTest, OutOfMemoryCarriesTheInvocationsTagsWhileItIsKnown) {
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})")});
  invoke("r1", kT0 + 100);
  EXPECT_EQ(processor_->emit_out_of_memory("r1", kT0 + 150),
            InvocationProcessor::OomAttribution::kInvocation);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.out_of_memory")->tags, Tags{"cold_start:true"});
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.out_of_memory")->timestamp, (kT0 + 150) / 1000);

  batch({ev("platform.report", kT0 + 300,
            R"({"requestId":"r1","status":"error","metrics":{"durationMs":10}})")});
  EXPECT_EQ(processor_->emit_out_of_memory("r1", kT0 + 400),
            InvocationProcessor::OomAttribution::kReleased);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.out_of_memory")->tags, Tags{"cold_start:true"});

  EXPECT_EQ(processor_->emit_out_of_memory("never-seen", kT0 + 500),
            InvocationProcessor::OomAttribution::kContextGone);
  EXPECT_TRUE(sink_.last("aws.lambda.enhanced.out_of_memory")->tags.empty());
  EXPECT_EQ(processor_->emit_out_of_memory("", 0), InvocationProcessor::OomAttribution::kSandbox);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.out_of_memory")->timestamp, (kT0 + 100) / 1000);
  EXPECT_EQ(count("out_of_memory"), 4u);
  EXPECT_EQ(sink_.last("aws.lambda.enhanced.out_of_memory")->type, MetricType::kDistribution);
}

TEST_F(InvocationProcessorTest, EnhancedMetricsOffEmitsNothingButStillTracksReports) {
  InvocationProcessorOptions o;
  o.enhanced_metrics = false;
  make(o);
  batch({ev("platform.initStart", kT0, R"({"initializationType":"on-demand","phase":"init"})"),
         ev("platform.initReport", kT0 + 1,
            R"({"initializationType":"on-demand","phase":"init","metrics":{"durationMs":5}})")});
  invoke("r1", kT0 + 100);
  EXPECT_EQ(processor_->awaiting_reports(), 1u);
  batch(
      {ev("platform.runtimeDone", kT0 + 200,
          R"({"requestId":"r1","status":"timeout","metrics":{"durationMs":100}})"),
       ev("platform.report", kT0 + 201,
          R"({"requestId":"r1","status":"timeout","metrics":{"durationMs":101,"billedDurationMs":101,"memorySizeMB":128,"maxMemoryUsedMB":128}})")});
  processor_->emit_out_of_memory("r1", 0);
  processor_->on_shutdown();
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(processor_->awaiting_reports(), 0u);
}

}  // namespace
}  // namespace lc::lambda

namespace lc::lambda {
namespace {

// The processor feeds an attached OomDetector what it parses (INVOKE, log records, runtimeDone,
// report): a Node OOM seen by three paths — the V8 line, an error runtimeDone and memory at the
// limit — is one out_of_memory point carrying the invocation's tags (lambda-agent.md §4.4 #9).
TEST_F(InvocationProcessorTest, AttachedOomDetectorGivesOnePointForAllThreePaths) {
  std::vector<OomDetector::Hit> hits;
  OomDetector oom(false, clock_, clock_, self_, [&](const OomDetector::Hit& hit) {
    hits.push_back(hit);
    processor_->emit_out_of_memory(hit.request_id, hit.time_ms, hit.cold_start);
  });
  processor_->attach_oom_detector(&oom);
  batch({ev("platform.initStart", kT0 - 500, R"({"initializationType":"on-demand"})")});
  invoke("r1", kT0 + 100);
  batch(
      {ev("platform.start", kT0 + 100, R"({"requestId":"r1"})"),
       ev("function", kT0 + 900,
          R"("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory")"),
       ev("platform.runtimeDone", kT0 + 950,
          R"({"requestId":"r1","status":"error","errorType":"Runtime.ExitError"})"),
       ev("platform.report", kT0 + 1000,
          R"({"requestId":"r1","status":"error","metrics":{"durationMs":900,"billedDurationMs":900,
                 "memorySizeMB":128,"maxMemoryUsedMB":128}})")});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].request_id, "r1");
  const auto& point = one("out_of_memory");
  EXPECT_EQ(point.tags, Tags{"cold_start:true"});
  EXPECT_EQ(point.timestamp, (kT0 + 900) / 1000);
  EXPECT_EQ(count("errors"), 1u);
  // SHUTDOWN reaches the detector too, and nothing more is emitted.
  processor_->on_shutdown();
  EXPECT_EQ(count("out_of_memory"), 1u);
}

}  // namespace
}  // namespace lc::lambda

namespace lc::lambda {
namespace {

// The processor drives attached usage metrics through the invocation's lifecycle (§3.2): the
// runtimeDone points (fds, threads, cpu utilization) and the report points (cpu times, network)
// carry the invocation's tags and timestamps, read through a ProcReader on the fixture tree.
TEST_F(InvocationProcessorTest, AttachedUsageMetricsFollowTheInvocation) {
  const SystemProcReader proc(std::string(LC_TEST_SOURCE_DIR) +
                              "/tests/fixtures/proc/lambda_node20");
  UsageMetrics usage(UsageOptions{}, proc, sink_, clock_);
  processor_->attach_usage_metrics(&usage);
  batch({ev("platform.initStart", kT0 - 500, R"({"initializationType":"on-demand"})")});
  invoke("r1", kT0 + 100);
  EXPECT_TRUE(usage.sampling());
  batch({ev("platform.start", kT0 + 100, R"({"requestId":"r1"})"),
         ev("platform.runtimeDone", kT0 + 2000, R"({"requestId":"r1","status":"success"})")});
  const auto& fds = one("fd_max");
  EXPECT_EQ(fds.timestamp, (kT0 + 2000) / 1000);
  EXPECT_EQ(fds.tags, Tags{"cold_start:true"});
  EXPECT_EQ(count("threads_use"), 1u);
  batch({ev("platform.report", kT0 + 3000,
            R"({"requestId":"r1","status":"success","metrics":{"durationMs":1900}})")});
  const auto& rx = one("rx_bytes");
  EXPECT_EQ(rx.timestamp, (kT0 + 3000) / 1000);
  EXPECT_EQ(rx.tags, Tags{"cold_start:true"});
  EXPECT_EQ(count("cpu_total_time"), 1u);
  EXPECT_FALSE(usage.sampling()) << "no invocation is active after its report";
}

// A context evicted before its report lets go of its usage snapshot: sampling stops with the
// last active invocation instead of running on for the process's life.
TEST_F(InvocationProcessorTest, EvictedContextStopsCountingForUsageSampling) {
  InvocationProcessorOptions o;
  o.capacity = 1;
  make(o);
  const SystemProcReader proc(std::string(LC_TEST_SOURCE_DIR) +
                              "/tests/fixtures/proc/lambda_node20");
  UsageMetrics usage(UsageOptions{}, proc, sink_, clock_);
  processor_->attach_usage_metrics(&usage);
  invoke("r1", kT0 + 100);
  invoke("r2", kT0 + 5000);  // evicts r1, never reported
  EXPECT_TRUE(usage.sampling());
  batch({ev("platform.report", kT0 + 6000,
            R"({"requestId":"r2","status":"success","metrics":{"durationMs":900}})")});
  EXPECT_FALSE(usage.sampling());
}

}  // namespace
}  // namespace lc::lambda
