// lambda/usage_metrics.h — the /proc usage metrics of lambda-agent.md §3.2 ("proc metrics": cpu
// times and utilization, network, /tmp, file descriptors, threads), read through ProcReader only
// and emitted as aws.lambda.enhanced.* distributions through a MetricSink. Driven on the loop
// thread by the invocation processor: invocation_started() at INVOKE (LMI: platform.start) gives
// the counters the invocation's deltas start from (kept in its context), runtime_done() and
// report() emit what the catalogue emits then, shutdown() emits the LMI totals. While an
// invocation is active it samples the peaks (tmp, fds, threads) every LASTCALL_USAGE_SAMPLE_MS.
// Owns its sampling timer; borrows the reader, the sink and the timer service.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/lambda_config.h"
#include "core/metric_sink.h"
#include "core/metrics_config.h"
#include "core/proc_reader.h"

namespace lc::lambda {

// The point tags a caller adds (cold_start, ...); the base tags come from TagSets at flush.
using PointTags = std::span<const std::string_view>;

struct UsageOptions {
  bool enabled = true;  // DD_ENHANCED_METRICS and DD_LAMBDA_PROC_ENHANCED_METRICS
  bool lmi = false;     // emit once, at SHUTDOWN (§3.2)
  Millis sample_interval{25};
  static UsageOptions from(const MetricsConfig& metrics, const LambdaConfig& lambda);
};

// /proc/stat and /proc/uptime at one instant, in ms.
struct CpuCounters {
  bool ok = false;
  double user_ms = 0, system_ms = 0;
  std::vector<std::pair<std::string, double>> core_idle_ms;  // "cpu0" → idle ms
  double uptime_ms = 0;
};

// /proc/net/dev bytes summed over the sandbox's interfaces (§3.2) at one instant.
struct NetCounters {
  bool ok = false;
  double rx_bytes = 0, tx_bytes = 0;
};

// What an invocation's deltas start from; the invocation processor keeps it in the context and
// hands it back. Its flags make runtime_done() and report() idempotent (duplicate deliveries).
struct UsageSnapshot {
  bool started = false;
  std::uint64_t generation = 0;
  CpuCounters cpu;
  NetCounters net;
  bool active = false;  // counted among the invocations being sampled
  bool runtime_done_seen = false;
  bool report_seen = false;
};

// Parsers, exposed for tests. Clock ticks are USER_HZ (100 on every Linux Lambda runs on).
CpuCounters parse_cpu_counters(std::string_view proc_stat, std::string_view proc_uptime);
NetCounters parse_net_dev(std::string_view net_dev, std::span<const std::string_view> prefixes);
// The soft limit of `name` ("Max open files") in a /proc/<pid>/limits; -1 when absent/unlimited.
double parse_soft_limit(std::string_view limits, std::string_view name);

class UsageMetrics {
 public:
  UsageMetrics(UsageOptions options, const ProcReader& proc, MetricSink& sink,
               TimerService& timers);
  UsageMetrics(const UsageMetrics&) = delete;
  UsageMetrics& operator=(const UsageMetrics&) = delete;

  // INVOKE (on-demand) / platform.start (LMI): reads the counters, takes a sample and samples
  // every interval from now on while an invocation is active. On-demand the peaks start afresh.
  UsageSnapshot invocation_started();
  // runtimeDone of that invocation, `timestamp_s` its time. On-demand: a last sample, then
  // cpu_total_utilization_pct, cpu_total_utilization, num_cores, cpu_max_utilization,
  // cpu_min_utilization (since `start`), fd_max, fd_use, threads_max, threads_use and, when /tmp
  // use is above 0, tmp_max, tmp_used, tmp_free. LMI: the invocation stops being active.
  void runtime_done(UsageSnapshot& start, std::int64_t timestamp_s, PointTags tags);
  // report of that invocation. On-demand: cpu_user_time, cpu_system_time, cpu_total_time (ms)
  // and rx_bytes, tx_bytes, total_network since `start` (and what runtime_done() emits, when no
  // runtimeDone came). LMI: the invocation stops being active.
  void report(UsageSnapshot& start, std::int64_t timestamp_s, PointTags tags);
  // A context dropped without its report (evicted): it stops being active, nothing is emitted.
  void discard(UsageSnapshot& start);
  // SHUTDOWN: sampling stops. LMI: every usage metric once, since the first invocation started
  // (peaks over the sandbox's life).
  void shutdown(std::int64_t timestamp_s, PointTags tags);

  std::size_t samples_taken() const { return samples_; }
  bool sampling() const { return timer_.armed(); }

 private:
  struct Peaks {
    double tmp_used = 0, fd_use = 0, threads_use = 0;
  };
  // The end of an on-demand invocation superseded by the next INVOKE before its runtimeDone or
  // report arrived (telemetry lags behind /next): its deltas and peaks end where the next began.
  struct Closed {
    std::uint64_t generation = 0;
    CpuCounters cpu;
    NetCounters net;
    Peaks peaks;
  };

  void sample();
  void arm();
  void end_activity(UsageSnapshot& start);
  CpuCounters read_cpu() const;
  NetCounters read_net() const;
  void emit(std::string_view name, double value, std::int64_t timestamp_s, PointTags tags);
  void emit_utilization(const CpuCounters& from, const CpuCounters& to, std::int64_t ts,
                        PointTags tags);
  void emit_limits_and_peaks(const Peaks& peaks, std::int64_t ts, PointTags tags);
  void emit_times_and_network(const UsageSnapshot& from, const CpuCounters& cpu,
                              const NetCounters& net, std::int64_t ts, PointTags tags);

  UsageOptions options_;
  const ProcReader& proc_;
  MetricSink& sink_;
  TimerService& timers_;
  Timer timer_;
  std::uint64_t generation_ = 0;
  int active_ = 0;
  Peaks peaks_;
  Closed closed_;
  bool have_closed_ = false;
  UsageSnapshot lmi_baseline_;
  bool shut_down_ = false;
  std::size_t samples_ = 0;
};

}  // namespace lc::lambda
