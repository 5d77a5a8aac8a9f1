// init/cloud_metrics.h — the enhanced metrics of the init wrapper and sidecar
// (serverless-init.md §5.5): lifecycle points (cold start, shutdown, Cloud Run job task) and the
// CPU collector's cpu.usage / cpu.limit / instance gauges. Both emit through a MetricSink — the
// enhanced-metrics aggregator, whose encoder adds the enhanced tag set to every point — and are
// called on the loop thread by the init composition root, which owns them and drives the timing
// (§3.4, §3.5: start, child exit, end of grace; the CPU sample timer). Every metric name is in
// the one table of metric_names().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/metric_sink.h"
#include "core/proc_reader.h"
#include "init/cloud.h"

namespace lc::init {

// The names one platform emits; an empty name is not emitted.
struct PlatformMetricNames {
  std::string_view cpu_prefix;  // "<prefix>enhanced.cpu.usage" ...; empty = no CPU metrics
  std::string_view cold_start, shutdown;                     // carry the enhanced tags
  std::string_view legacy_cold_start, legacy_shutdown;       // carry the base tags
  std::string_view task_started, task_ended, task_duration;  // Cloud Run jobs
};

// §5.5's table. Container Apps' namespace is (unconfirmed) in the spec: change it here only.
const PlatformMetricNames& metric_names(Platform platform);

// Lifecycle metrics: distributions of value 1 (Go submits them as distributions).
class CloudMetrics {
 public:
  // `enabled`: DD_ENHANCED_METRICS. The identity's tags are what the legacy names add as point
  // tags (those in base but not in the enhanced set).
  CloudMetrics(const CloudIdentity& identity, bool enabled, MetricSink& sink);
  CloudMetrics(const CloudMetrics&) = delete;
  CloudMetrics& operator=(const CloudMetrics&) = delete;

  // The metadata tags (metadata_tags()) once decided. On Cloud Run the legacy cold start waits
  // for them (its point tags are fixed when it enters the aggregator); this releases it.
  void add_tags(const std::vector<CloudTag>& tags);

  // Step 6 of §2, t0 = the start: cold start pair, Cloud Run job task.started, local cold start.
  void emit_start(std::int64_t t0_epoch_s);
  // At the start of the final flush (child exit or end of grace). A legacy cold start still
  // waiting for metadata leaves now with the tags known so far.
  void emit_shutdown();
  // Cloud Run job, at child exit: task.ended{succeeded,exit_code} and task.duration (ms).
  void emit_task_end(int exit_code, Millis duration);

  std::string describe() const;

 private:
  void emit(std::string_view name, double value, std::int64_t timestamp,
            const std::vector<std::string>& tags);
  void emit_legacy(std::string_view name, std::int64_t timestamp);
  void release_legacy_cold_start();

  Platform platform_;
  const PlatformMetricNames& names_;
  bool enabled_;
  MetricSink& sink_;
  std::vector<CloudTag> base_only_;  // base but not enhanced: the legacy names' point tags
  bool waiting_for_metadata_;
  bool legacy_cold_start_pending_ = false;
  std::int64_t t0_ = 0;
};

// One reading of the container's cgroup (§5.5).
struct CgroupCpu {
  bool usage_ok = false;
  double usage_ns = 0;     // cumulative CPU time of the cgroup
  double limit_cores = 0;  // min(cpuset size, CFS quota/period); 0 = neither is readable / set
  int version = 0;         // 1 or 2; 0 = no cgroup CPU file readable
};

// Reads a cgroup tree rooted at `cgroup` (/sys/fs/cgroup, or a fixture): v2 `cpu.stat`
// usage_usec, `cpu.max`, `cpuset.cpus.effective`; v1 `cpuacct.usage`, `cpu.cfs_quota_us` +
// `cpu.cfs_period_us`, `cpuset.effective_cpus`, under `cpuacct/`, `cpu/`, `cpu,cpuacct/`,
// `cpuset/`.
CgroupCpu read_cgroup_cpu(const ProcReader& cgroup);
// "0-3,8,10-11" → 7; 0 when unparsable.
int cpuset_size(std::string_view list);

// The tag value of the usage `instance` tag: Cloud Run container_id, Container Apps replica,
// App Service instance id; empty when the tags hold none.
std::string instance_id(const std::vector<CloudTag>& tags);

// Samples the cgroup's CPU use every LASTCALL_CPU_SAMPLE_MS (the app's timer calls sample(), and
// once more before the final flush) and emits gauges: `<prefix>enhanced.cpu.usage` (nanocores
// over the last interval; the first sample only sets the start), `.cpu.limit` (nanocores) and
// `.instance` = 1 with `instance:<id>`. Nothing on local and Cloud Run jobs (§5.5).
class CpuCollector {
 public:
  // `host_cpus`: the limit when the cgroup sets none (std::thread::hardware_concurrency()).
  CpuCollector(const CloudIdentity& identity, bool enabled, const ProcReader& cgroup,
               MetricSink& sink, unsigned host_cpus);
  CpuCollector(const CpuCollector&) = delete;
  CpuCollector& operator=(const CpuCollector&) = delete;

  // Late tags (Cloud Run's container_id from metadata): updates the instance id.
  void add_tags(const std::vector<CloudTag>& tags);
  void set_instance(std::string id) { instance_ = std::move(id); }

  void sample(SteadyTime now);

  // False when it never emits (disabled, local, Cloud Run job): the app need not arm its timer.
  bool active() const { return active_; }
  std::string describe() const;

 private:
  void gauge(std::string_view suffix, double value, const std::vector<std::string>& tags);

  std::string prefix_;
  bool active_;
  const ProcReader& cgroup_;
  MetricSink& sink_;
  unsigned host_cpus_;
  std::string instance_;
  bool have_previous_ = false;
  double previous_ns_ = 0;
  SteadyTime previous_at_{};
  int last_version_ = 0;
};

}  // namespace lc::init
