// lambda/usage_metrics.h: the /proc usage metrics of lambda-agent.md §3.2 — every metric's value,
// unit, timestamp and emission point, the peak sampling every LASTCALL_USAGE_SAMPLE_MS while an
// invocation is active, LMI totals at SHUTDOWN — on FakeProcReader, FakeMetricSink and FakeClock,
// and on the fixture tree tests/fixtures/proc/lambda_node20.
#include "lambda/usage_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_metric_sink.h"
#include "fakes/fake_proc_reader.h"
#include "test_paths.h"

namespace lc::lambda {
namespace {

using ::testing::IsEmpty;

constexpr std::int64_t kRuntimeDoneTs = 1700000010;
constexpr std::int64_t kReportTs = 1700000011;
constexpr std::uint64_t kMiB = 1024 * 1024;

std::string fixture(std::string_view name) {
  return std::string(LC_TEST_SOURCE_DIR) + "/tests/fixtures/proc/" + std::string(name);
}

// /proc/stat with two cores, in ticks (10 ms each).
std::string stat(int user, int system, int idle0, int idle1) {
  return "cpu  " + std::to_string(user) + " 0 " + std::to_string(system) + " " +
         std::to_string(idle0 + idle1) + " 0 0 0 0 0 0\ncpu0 " + std::to_string(user / 2) + " 0 " +
         std::to_string(system / 2) + " " + std::to_string(idle0) + " 0 0 0 0 0 0\ncpu1 " +
         std::to_string(user - user / 2) + " 0 " + std::to_string(system - system / 2) + " " +
         std::to_string(idle1) + " 0 0 0 0 0 0\nintr 1 2 3\nctxt 99\n";
}

std::string net_dev(std::string_view iface, std::uint64_t rx, std::uint64_t tx) {
  return "Inter-|   Receive                                                |  Transmit\n"
         " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
         "errs drop fifo colls carrier compressed\n"
         "    lo:     500       5    0    0    0     0          0         0      500       5    "
         "0    0    0     0       0          0\n" +
         std::string(iface) + ": " + std::to_string(rx) + " 10 0 0 0 0 0 0 " + std::to_string(tx) +
         " 12 0 0 0 0 0 0\n";
}

std::string limits(int open_files, const std::string& processes) {
  return "Limit                     Soft Limit           Hard Limit           Units     \n"
         "Max cpu time              unlimited            unlimited            seconds   \n"
         "Max processes             " +
         processes + "                 " + processes +
         "                 processes \n"
         "Max open files            " +
         std::to_string(open_files) + "                 65536                files     \n";
}

// A sandbox: the init (PID 1: 1 fd, 1 thread) and a runtime (PID 13: 4 fds, 2 threads).
fakes::FakeProcReader sandbox(std::string_view iface = "vinternal_1") {
  fakes::FakeProcReader p;
  p.pids({1, 13})
      .file("stat", stat(100, 50, 500, 500))
      .file("uptime", "10.00 19.00\n")
      .file("net/dev", net_dev(iface, 1000, 2000))
      .file("1/fd/0", "")
      .file("1/task/1", "")
      .file("1/limits", limits(4096, "512"))
      .file("13/fd/0", "")
      .file("13/fd/1", "")
      .file("13/fd/2", "")
      .file("13/fd/3", "")
      .file("13/task/13", "")
      .file("13/task/14", "")
      .file("13/limits", limits(1024, "unlimited"))
      .fs("/tmp", FsStats{512 * kMiB, 500 * kMiB, 500 * kMiB});
  return p;
}

struct Rig {
  explicit Rig(UsageOptions o = {}, fakes::FakeProcReader p = sandbox())
      : proc(std::move(p)), usage(o, proc, sink, clock) {}
  fakes::FakeProcReader proc;
  fakes::FakeMetricSink sink;
  fakes::FakeClock clock;
  UsageMetrics usage;

  const fakes::FakeMetricSink::Point* point(std::string_view short_name) const {
    return sink.find("aws.lambda.enhanced." + std::string(short_name));
  }
  std::size_t count(std::string_view short_name) const {
    return sink.count("aws.lambda.enhanced." + std::string(short_name));
  }
  double value(std::string_view short_name) const {
    const auto* p = point(short_name);
    return p != nullptr ? p->value() : -1;
  }
};

const std::vector<std::string_view> kColdStart = {"cold_start:true"};

// Every point is a one-value distribution at `ts` carrying the caller's tags.
void expect_shape(const fakes::FakeMetricSink& sink, std::int64_t ts, std::string_view tag) {
  for (const auto& p : sink.points()) {
    EXPECT_EQ(p.type, MetricType::kDistribution) << p.name;
    EXPECT_EQ(p.values.size(), 1u) << p.name;
    EXPECT_EQ(p.timestamp, ts) << p.name;
    if (!tag.empty()) {
      EXPECT_TRUE(p.has_tag(tag)) << p.name;
    }
  }
}

TEST(UsageParsers, CpuNetworkAndLimitsFromTheFixtureTree) {
  const SystemProcReader proc(fixture("lambda_node20"));
  const auto cpu = parse_cpu_counters(*proc.read_file("stat"), *proc.read_file("uptime"));
  ASSERT_TRUE(cpu.ok);
  EXPECT_DOUBLE_EQ(cpu.user_ms, 22550);  // 2255 ticks of 10 ms
  EXPECT_DOUBLE_EQ(cpu.system_ms, 22900);
  ASSERT_EQ(cpu.core_idle_ms.size(), 2u);
  EXPECT_EQ(cpu.core_idle_ms[0].first, "cpu0");
  EXPECT_DOUBLE_EQ(cpu.core_idle_ms[0].second, 113117180);
  EXPECT_DOUBLE_EQ(cpu.core_idle_ms[1].second, 113138450);
  EXPECT_DOUBLE_EQ(cpu.uptime_ms, 1534110);
  const std::string_view od[] = {"vinternal_1", "vint_runtime"};
  const auto net = parse_net_dev(*proc.read_file("net/dev"), od);
  ASSERT_TRUE(net.ok);
  EXPECT_DOUBLE_EQ(net.rx_bytes, 180034);  // lo and telemetry1 are not the function's
  EXPECT_DOUBLE_EQ(net.tx_bytes, 254120);
  const std::string_view lmi[] = {"Ceth1"};
  EXPECT_FALSE(parse_net_dev(*proc.read_file("net/dev"), lmi).ok);
  EXPECT_DOUBLE_EQ(parse_soft_limit(*proc.read_file("13/limits"), "Max open files"), 1024);
  EXPECT_DOUBLE_EQ(parse_soft_limit(*proc.read_file("13/limits"), "Max cpu time"), -1);
  EXPECT_FALSE(parse_cpu_counters("cpu  1 2\n", "1.0 2.0").ok);
  EXPECT_FALSE(parse_cpu_counters(stat(1, 1, 1, 1), "").ok);
}

TEST(UsageMetrics, OnDemandEveryMetricAtItsEmissionPoint) {
  Rig rig;
  UsageSnapshot s = rig.usage.invocation_started();
  EXPECT_EQ(rig.usage.samples_taken(), 1u);  // a sample at INVOKE
  EXPECT_TRUE(rig.usage.sampling());
  EXPECT_THAT(rig.sink.points(), IsEmpty());

  // The function opens 2 more fds and a thread, uses 20 MiB of /tmp, then closes them again: the
  // sampled peaks keep the highest values.
  rig.proc.file("13/fd/4", "").file("13/fd/5", "").file("13/task/15", "");
  rig.proc.fs("/tmp", FsStats{512 * kMiB, 480 * kMiB, 480 * kMiB});
  rig.clock.advance(Millis(25));
  EXPECT_EQ(rig.usage.samples_taken(), 2u);
  rig.proc.remove("13/fd/4").remove("13/fd/5").remove("13/task/15");
  rig.proc.fs("/tmp", FsStats{512 * kMiB, 505 * kMiB, 505 * kMiB});
  rig.clock.advance(Millis(25));
  EXPECT_EQ(rig.usage.samples_taken(), 3u);

  // By runtimeDone 1 s of uptime passed; core 0 idled 500 ms, core 1 200 ms.
  rig.proc.file("stat", stat(100, 50, 550, 520)).file("uptime", "11.00 19.70\n");
  rig.usage.runtime_done(s, kRuntimeDoneTs, kColdStart);
  EXPECT_FALSE(rig.usage.sampling());
  EXPECT_EQ(rig.usage.samples_taken(), 4u);                      // and one at runtimeDone
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_utilization_pct"), 65);  // 1300 of 2000 core-ms busy
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_utilization"), 1.3);     // cores
  EXPECT_DOUBLE_EQ(rig.value("num_cores"), 2);
  EXPECT_DOUBLE_EQ(rig.value("cpu_max_utilization"), 80);  // core 1
  EXPECT_DOUBLE_EQ(rig.value("cpu_min_utilization"), 50);  // core 0
  EXPECT_DOUBLE_EQ(rig.value("fd_max"), 1024);             // the smallest soft limit
  EXPECT_DOUBLE_EQ(rig.value("fd_use"), 7);                // 1 + 6 at the peak
  EXPECT_DOUBLE_EQ(rig.value("threads_max"), 512);         // "unlimited" is no limit
  EXPECT_DOUBLE_EQ(rig.value("threads_use"), 4);           // 1 + 3 at the peak
  EXPECT_DOUBLE_EQ(rig.value("tmp_max"), 512.0 * kMiB);    // bytes
  EXPECT_DOUBLE_EQ(rig.value("tmp_used"), 32.0 * kMiB);    // the peak
  EXPECT_DOUBLE_EQ(rig.value("tmp_free"), 480.0 * kMiB);
  EXPECT_EQ(rig.sink.size(), 12u);
  EXPECT_EQ(rig.point("cpu_user_time"), nullptr);  // at the report
  EXPECT_EQ(rig.point("rx_bytes"), nullptr);
  expect_shape(rig.sink, kRuntimeDoneTs, "cold_start:true");

  // By the report: 300 ms user, 120 ms system, 500 B in and 700 B out.
  rig.sink.clear();
  rig.proc.file("stat", stat(130, 62, 560, 530))
      .file("uptime", "11.20 19.90\n")
      .file("net/dev", net_dev("vinternal_1", 1500, 2700));
  rig.usage.report(s, kReportTs, kColdStart);
  EXPECT_DOUBLE_EQ(rig.value("cpu_user_time"), 300);  // ms
  EXPECT_DOUBLE_EQ(rig.value("cpu_system_time"), 120);
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_time"), 420);
  EXPECT_DOUBLE_EQ(rig.value("rx_bytes"), 500);  // bytes
  EXPECT_DOUBLE_EQ(rig.value("tx_bytes"), 700);
  EXPECT_DOUBLE_EQ(rig.value("total_network"), 1200);
  EXPECT_EQ(rig.sink.size(), 6u);
  expect_shape(rig.sink, kReportTs, "cold_start:true");

  // A duplicate delivery emits nothing twice.
  rig.sink.clear();
  rig.usage.runtime_done(s, kRuntimeDoneTs, kColdStart);
  rig.usage.report(s, kReportTs, kColdStart);
  EXPECT_THAT(rig.sink.points(), IsEmpty());
}

TEST(UsageMetrics, SamplesEveryIntervalOnlyWhileAnInvocationIsActive) {
  UsageOptions o;
  o.sample_interval = Millis(40);
  Rig rig(o);
  rig.clock.advance(Millis(500));
  EXPECT_EQ(rig.usage.samples_taken(), 0u);  // nothing before the first invocation
  UsageSnapshot s = rig.usage.invocation_started();
  EXPECT_EQ(rig.usage.samples_taken(), 1u);
  rig.clock.advance(Millis(39));
  EXPECT_EQ(rig.usage.samples_taken(), 1u);
  rig.clock.advance(Millis(1));
  EXPECT_EQ(rig.usage.samples_taken(), 2u);
  rig.clock.advance(Millis(80));
  EXPECT_EQ(rig.usage.samples_taken(), 4u);
  rig.usage.runtime_done(s, kRuntimeDoneTs, {});
  EXPECT_EQ(rig.usage.samples_taken(), 5u);
  EXPECT_EQ(rig.clock.pending_timers(), 0u);
  rig.clock.advance(Millis(1000));  // the sandbox freezes between invocations
  EXPECT_EQ(rig.usage.samples_taken(), 5u);
}

TEST(UsageMetrics, AShortInvocationStillHasItsTwoEdgeSamples) {
  Rig rig;
  UsageSnapshot s = rig.usage.invocation_started();
  rig.proc.file("13/fd/4", "");  // opened after INVOKE, seen by the runtimeDone sample
  rig.usage.runtime_done(s, kRuntimeDoneTs, {});
  EXPECT_EQ(rig.usage.samples_taken(), 2u);
  EXPECT_DOUBLE_EQ(rig.value("fd_use"), 6);
  EXPECT_DOUBLE_EQ(rig.value("threads_use"), 3);
  // /proc/uptime did not move: no utilization rather than a division by zero.
  EXPECT_EQ(rig.point("cpu_total_utilization_pct"), nullptr);
}

TEST(UsageMetrics, TmpMetricsOnlyWhenTmpIsInUse) {
  fakes::FakeProcReader p = sandbox();
  p.fs("/tmp", FsStats{512 * kMiB, 512 * kMiB, 512 * kMiB});
  Rig rig({}, std::move(p));
  UsageSnapshot s = rig.usage.invocation_started();
  rig.usage.runtime_done(s, kRuntimeDoneTs, {});
  EXPECT_EQ(rig.count("tmp_max"), 0u);
  EXPECT_EQ(rig.count("tmp_used"), 0u);
  EXPECT_EQ(rig.count("tmp_free"), 0u);
  EXPECT_EQ(rig.count("fd_use"), 1u);
}

TEST(UsageMetrics, DefaultLimitsWhenNoProcessStatesOne) {
  fakes::FakeProcReader p = sandbox();
  p.remove("1/limits").remove("13/limits");
  Rig rig({}, std::move(p));
  UsageSnapshot s = rig.usage.invocation_started();
  rig.usage.runtime_done(s, kRuntimeDoneTs, {});
  EXPECT_DOUBLE_EQ(rig.value("fd_max"), 1024);
  EXPECT_DOUBLE_EQ(rig.value("threads_max"), 1024);
}

TEST(UsageMetrics, DisabledReadsNothingAndEmitsNothing) {
  UsageOptions o;
  o.enabled = false;  // DD_ENHANCED_METRICS=false or DD_LAMBDA_PROC_ENHANCED_METRICS=false
  Rig rig(o);
  UsageSnapshot s = rig.usage.invocation_started();
  rig.usage.runtime_done(s, kRuntimeDoneTs, {});
  rig.usage.report(s, kReportTs, {});
  rig.usage.shutdown(kReportTs, {});
  EXPECT_THAT(rig.sink.points(), IsEmpty());
  EXPECT_EQ(rig.proc.reads("stat"), 0u);
  EXPECT_EQ(rig.clock.pending_timers(), 0u);
}

TEST(UsageMetrics, AReportWithoutRuntimeDoneGivesBothSets) {
  Rig rig;
  UsageSnapshot s = rig.usage.invocation_started();
  rig.proc.file("stat", stat(110, 55, 540, 540)).file("uptime", "10.50 19.80\n");
  rig.usage.report(s, kReportTs, {});
  EXPECT_FALSE(rig.usage.sampling());
  EXPECT_DOUBLE_EQ(rig.value("cpu_user_time"), 100);
  EXPECT_DOUBLE_EQ(rig.value("cpu_system_time"), 50);
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_utilization_pct"), 20);  // 800 of 1000 core-ms idle
  EXPECT_EQ(rig.count("fd_use"), 1u);
  expect_shape(rig.sink, kReportTs, "");
}

// Telemetry lags behind /next: r1's runtimeDone and report can arrive after the INVOKE of r2. r1's
// deltas then end where r2 began, and r2's sampling goes on.
TEST(UsageMetrics, ALateRuntimeDoneAndReportEndWhereTheNextInvocationBegan) {
  Rig rig;
  UsageSnapshot r1 = rig.usage.invocation_started();
  rig.proc.file("13/fd/4", "");
  rig.clock.advance(Millis(25));  // r1's peak: 6 fds
  rig.proc.file("stat", stat(120, 60, 550, 550))
      .file("uptime", "11.00 20.00\n")
      .file("net/dev", net_dev("vinternal_1", 1100, 2100));
  rig.proc.remove("13/fd/4");
  UsageSnapshot r2 = rig.usage.invocation_started();
  // Activity during r2 must not count for r1.
  rig.proc.file("stat", stat(500, 300, 600, 600))
      .file("uptime", "12.00 21.00\n")
      .file("net/dev", net_dev("vinternal_1", 9000, 9000));
  rig.usage.runtime_done(r1, kRuntimeDoneTs, {});
  rig.usage.report(r1, kReportTs, {});
  EXPECT_TRUE(rig.usage.sampling()) << "r2 is still running";
  EXPECT_DOUBLE_EQ(rig.value("fd_use"), 6);
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_utilization_pct"), 50);  // 1000 of 2000 core-ms idle
  EXPECT_DOUBLE_EQ(rig.value("cpu_user_time"), 200);
  EXPECT_DOUBLE_EQ(rig.value("cpu_system_time"), 100);
  EXPECT_DOUBLE_EQ(rig.value("rx_bytes"), 100);
  EXPECT_DOUBLE_EQ(rig.value("tx_bytes"), 100);
  rig.sink.clear();
  rig.usage.runtime_done(r2, kRuntimeDoneTs + 5, {});
  EXPECT_FALSE(rig.usage.sampling());
  EXPECT_DOUBLE_EQ(rig.value("fd_use"), 5);  // r2's own peak
}

TEST(UsageMetrics, LmiEmitsEverythingOnceAtShutdownSinceTheFirstInvocation) {
  UsageOptions o;
  o.lmi = true;
  Rig rig(o, sandbox("Ceth1"));
  UsageSnapshot a = rig.usage.invocation_started();
  UsageSnapshot b = rig.usage.invocation_started();  // concurrent
  rig.proc.file("13/fd/4", "").file("13/fd/5", "");
  rig.clock.advance(Millis(25));
  rig.proc.remove("13/fd/4").remove("13/fd/5");
  rig.usage.runtime_done(a, kRuntimeDoneTs, {});
  rig.usage.report(a, kReportTs, {});
  EXPECT_TRUE(rig.usage.sampling()) << "b is still active";
  rig.usage.report(b, kReportTs, {});  // LMI may send no runtimeDone
  EXPECT_FALSE(rig.usage.sampling());
  EXPECT_THAT(rig.sink.points(), IsEmpty()) << "nothing per invocation in LMI";

  rig.proc.file("stat", stat(140, 70, 600, 700))
      .file("uptime", "12.00 21.00\n")
      .file("net/dev", net_dev("Ceth1", 4000, 6000));
  const std::vector<std::string_view> none;
  rig.usage.shutdown(1700000100, none);
  EXPECT_DOUBLE_EQ(rig.value("cpu_user_time"), 400);
  EXPECT_DOUBLE_EQ(rig.value("cpu_system_time"), 200);
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_time"), 600);
  EXPECT_DOUBLE_EQ(rig.value("rx_bytes"), 3000);
  EXPECT_DOUBLE_EQ(rig.value("tx_bytes"), 4000);
  EXPECT_DOUBLE_EQ(rig.value("total_network"), 7000);
  EXPECT_DOUBLE_EQ(rig.value("num_cores"), 2);
  EXPECT_DOUBLE_EQ(rig.value("cpu_total_utilization_pct"), 25);  // 3000 of 4000 core-ms idle
  EXPECT_DOUBLE_EQ(rig.value("cpu_max_utilization"), 50);
  EXPECT_DOUBLE_EQ(rig.value("cpu_min_utilization"), 0);
  EXPECT_DOUBLE_EQ(rig.value("fd_use"), 7);  // the peak over the sandbox's life
  EXPECT_DOUBLE_EQ(rig.value("threads_use"), 3);
  EXPECT_DOUBLE_EQ(rig.value("tmp_used"), 12.0 * kMiB);
  EXPECT_EQ(rig.sink.size(), 18u);
  expect_shape(rig.sink, 1700000100, "");
  rig.sink.clear();
  rig.usage.shutdown(1700000101, none);
  EXPECT_THAT(rig.sink.points(), IsEmpty());
}

TEST(UsageMetrics, ADiscardedContextStopsTheSampler) {
  UsageOptions o;
  o.lmi = true;
  Rig rig(o);
  UsageSnapshot a = rig.usage.invocation_started();
  EXPECT_TRUE(rig.usage.sampling());
  rig.usage.discard(a);
  EXPECT_FALSE(rig.usage.sampling());
  rig.usage.report(a, kReportTs, {});
  EXPECT_THAT(rig.sink.points(), IsEmpty());
}

TEST(UsageMetrics, CountsFdsAndThreadsOfTheFixtureSandbox) {
  const SystemProcReader proc(fixture("lambda_node20"));
  fakes::FakeMetricSink sink;
  fakes::FakeClock clock;
  UsageMetrics usage(UsageOptions{}, proc, sink, clock);
  UsageSnapshot s = usage.invocation_started();
  usage.runtime_done(s, kRuntimeDoneTs, {});
  auto value = [&](std::string_view n) {
    const auto* p = sink.find("aws.lambda.enhanced." + std::string(n));
    return p != nullptr ? p->value() : -1;
  };
  EXPECT_DOUBLE_EQ(value("fd_use"), 9);        // init 3 + node 6
  EXPECT_DOUBLE_EQ(value("threads_use"), 18);  // init 7 + node 11
  EXPECT_DOUBLE_EQ(value("fd_max"), 1024);
  EXPECT_DOUBLE_EQ(value("threads_max"), 1024);
  usage.report(s, kReportTs, {});
  EXPECT_DOUBLE_EQ(value("cpu_user_time"), 0);  // the tree does not move
  EXPECT_DOUBLE_EQ(value("rx_bytes"), 0);
}

}  // namespace
}  // namespace lc::lambda
