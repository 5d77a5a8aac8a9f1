// init/cloud_metrics.cpp — lifecycle and CPU enhanced metrics (serverless-init.md §5.5).
#include "init/cloud_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <initializer_list>
#include <utility>

#include "core/strings.h"
#include "core/tags.h"

namespace lc::init {
namespace {

// The one table of §5.5, indexed by Platform.
constexpr std::array<PlatformMetricNames, 7> kNames = {{
    // kMicrovm: lifecycle metrics come from the hooks (§7.11).
    {"aws.lambda.microvm.", "", "", "", "", "", "", ""},
    // kCloudRunFunction
    {"gcp.run.container.", "gcp.run.container.enhanced.cold_start",
     "gcp.run.container.enhanced.shutdown", "gcp.run.enhanced.cold_start",
     "gcp.run.enhanced.shutdown", "", "", ""},
    // kCloudRunService
    {"gcp.run.container.", "gcp.run.container.enhanced.cold_start",
     "gcp.run.container.enhanced.shutdown", "gcp.run.enhanced.cold_start",
     "gcp.run.enhanced.shutdown", "", "", ""},
    // kCloudRunJob: the CPU prefix of jobs is unconfirmed, so none (§5.5).
    {"", "", "", "", "", "gcp.run.job.enhanced.task.started", "gcp.run.job.enhanced.task.ended",
     "gcp.run.job.enhanced.task.duration"},
    // kContainerApp: Go serverless-init's names.
    {"azure.containerapp.", "azure.containerapp.enhanced.cold_start",
     "azure.containerapp.enhanced.shutdown", "", "", "", "", ""},
    // kAppService
    {"azure.app_services.", "azure.app_services.enhanced.cold_start",
     "azure.app_services.enhanced.shutdown", "azure.appservice.enhanced.cold_start",
     "azure.appservice.enhanced.shutdown", "", "", ""},
    // kLocal
    {"", "datadog.serverless_agent.enhanced.cold_start",
     "datadog.serverless_agent.enhanced.shutdown", "", "", "", "", ""},
}};

void add_point(MetricSink& sink, std::string_view name, MetricType type, double value,
               std::int64_t timestamp, const std::vector<std::string>& tags) {
  std::vector<std::string_view> views(tags.begin(), tags.end());
  sort_unique_tags(views);
  const double values[] = {value};
  MetricPoint point;
  point.name = name;
  point.type = type;
  point.values = values;
  point.timestamp = timestamp;
  point.tags = views;
  sink.add(point);
}

// Replaces tags of the same key, appends new keys.
void merge_tags(std::vector<CloudTag>& into, const std::vector<CloudTag>& tags) {
  for (const CloudTag& tag : tags) {
    auto it =
        std::find_if(into.begin(), into.end(), [&](const CloudTag& t) { return t.key == tag.key; });
    if (it != into.end()) {
      *it = tag;
    } else {
      into.push_back(tag);
    }
  }
}

bool base_only(const CloudTag& tag) {
  return tag.sets.has(TagSetId::kBase) && !tag.sets.has(TagSetId::kEnhancedMetrics);
}

std::string_view read_or_empty(const ProcReader& reader, std::string_view path,
                               std::string& storage) {
  auto content = reader.read_file(path, 4096);
  if (!content) return {};
  storage = std::move(content).value();
  return trim(storage);
}

// The first readable of `paths`.
std::string_view read_first(const ProcReader& reader, std::initializer_list<std::string_view> paths,
                            std::string& storage) {
  for (const std::string_view path : paths) {
    const std::string_view text = read_or_empty(reader, path, storage);
    if (!text.empty()) return text;
  }
  return {};
}

// The smaller of two limits, 0 meaning "none".
double min_limit(double a, double b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return std::min(a, b);
}

}  // namespace

const PlatformMetricNames& metric_names(Platform platform) {
  return kNames.at(static_cast<std::size_t>(platform));
}

// --- CloudMetrics ----------------------------------------------------------------------------

CloudMetrics::CloudMetrics(const CloudIdentity& identity, bool enabled, MetricSink& sink)
    : platform_(identity.platform),
      names_(metric_names(identity.platform)),
      enabled_(enabled),
      sink_(sink),
      waiting_for_metadata_(identity.needs_metadata) {
  for (const CloudTag& tag : identity.tags) {
    if (base_only(tag)) base_only_.push_back(tag);
  }
}

void CloudMetrics::add_tags(const std::vector<CloudTag>& tags) {
  std::vector<CloudTag> base;
  for (const CloudTag& tag : tags) {
    if (base_only(tag)) base.push_back(tag);
  }
  merge_tags(base_only_, base);
  waiting_for_metadata_ = false;
  release_legacy_cold_start();
}

void CloudMetrics::emit_start(std::int64_t t0_epoch_s) {
  if (!enabled_) return;
  t0_ = t0_epoch_s;
  if (!names_.cold_start.empty()) emit(names_.cold_start, 1, t0_epoch_s, {});
  if (!names_.task_started.empty()) emit(names_.task_started, 1, t0_epoch_s, {});
  if (!names_.legacy_cold_start.empty()) {
    legacy_cold_start_pending_ = true;
    if (!waiting_for_metadata_) release_legacy_cold_start();
  }
}

void CloudMetrics::emit_shutdown() {
  if (!enabled_) return;
  release_legacy_cold_start();
  if (!names_.shutdown.empty()) emit(names_.shutdown, 1, 0, {});
  if (!names_.legacy_shutdown.empty()) emit_legacy(names_.legacy_shutdown, 0);
}

void CloudMetrics::emit_task_end(int exit_code, Millis duration) {
  if (!enabled_ || names_.task_ended.empty()) return;
  emit(names_.task_ended, 1, 0,
       {fmt::format("succeeded:{}", exit_code == 0 ? "true" : "false"),
        fmt::format("exit_code:{}", exit_code)});
  emit(names_.task_duration, static_cast<double>(duration.count()), 0, {});
}

void CloudMetrics::release_legacy_cold_start() {
  if (!legacy_cold_start_pending_) return;
  legacy_cold_start_pending_ = false;
  emit_legacy(names_.legacy_cold_start, t0_);
}

void CloudMetrics::emit_legacy(std::string_view name, std::int64_t timestamp) {
  std::vector<std::string> tags;
  tags.reserve(base_only_.size());
  for (const CloudTag& tag : base_only_) tags.push_back(tag.key + ":" + tag.value);
  emit(name, 1, timestamp, tags);
}

void CloudMetrics::emit(std::string_view name, double value, std::int64_t timestamp,
                        const std::vector<std::string>& tags) {
  add_point(sink_, name, MetricType::kDistribution, value, timestamp, tags);
}

std::string CloudMetrics::describe() const {
  return fmt::format(
      "{{\"platform\":\"{}\",\"enabled\":{},\"cold_start\":{},\"shutdown\":{},"
      "\"legacy_cold_start\":{},\"legacy_shutdown\":{},\"task_started\":{}}}",
      platform_name(platform_), enabled_ ? "true" : "false", json_quote(names_.cold_start),
      json_quote(names_.shutdown), json_quote(names_.legacy_cold_start),
      json_quote(names_.legacy_shutdown), json_quote(names_.task_started));
}

// --- cgroup reading ----------------------------------------------------------------------------

int cpuset_size(std::string_view list) {
  int count = 0;
  for (const std::string_view range : split_any(trim(list), ",")) {
    const std::size_t dash = range.find('-');
    const auto first = parse_int(trim(range.substr(0, dash)));
    const auto last =
        dash == std::string_view::npos ? first : parse_int(trim(range.substr(dash + 1)));
    if (!first || !last || *first < 0 || *last < *first || *last - *first > 65535) return 0;
    count += static_cast<int>(*last - *first + 1);
  }
  return count;
}

CgroupCpu read_cgroup_cpu(const ProcReader& cgroup) {
  CgroupCpu out;
  std::string storage;
  // cgroup v2: one unified tree; cpu.stat at its root has usage_usec.
  const std::string_view stat = read_or_empty(cgroup, "cpu.stat", storage);
  if (!stat.empty()) {
    for (const std::string_view line : split_any(stat, "\n")) {
      const auto fields = split_any(line, " \t");
      if (fields.size() == 2 && fields[0] == "usage_usec") {
        if (const auto usec = parse_int(fields[1]); usec && *usec >= 0) {
          out.usage_ok = true;
          out.usage_ns = static_cast<double>(*usec) * 1000.0;
        }
      }
    }
    if (out.usage_ok) {
      out.version = 2;
      double limit = 0;
      // cpu.max: "<quota> <period>" or "max <period>".
      const auto max = split_any(read_or_empty(cgroup, "cpu.max", storage), " \t");
      if (max.size() == 2 && max[0] != "max") {
        const auto quota = parse_int(max[0]);
        const auto period = parse_int(max[1]);
        if (quota && period && *quota > 0 && *period > 0) {
          limit = static_cast<double>(*quota) / static_cast<double>(*period);
        }
      }
      const int cpus =
          cpuset_size(read_first(cgroup, {"cpuset.cpus.effective", "cpuset.cpus"}, storage));
      out.limit_cores = min_limit(limit, cpus);
      return out;
    }
  }
  // cgroup v1: one tree per controller (cpu and cpuacct often co-mounted).
  const std::string_view usage = read_first(
      cgroup, {"cpuacct/cpuacct.usage", "cpu,cpuacct/cpuacct.usage", "cpuacct,cpu/cpuacct.usage"},
      storage);
  if (const auto ns = parse_int(usage); ns && *ns >= 0) {
    out.usage_ok = true;
    out.usage_ns = static_cast<double>(*ns);
  }
  double limit = 0;
  const auto quota = parse_int(read_first(
      cgroup,
      {"cpu/cpu.cfs_quota_us", "cpu,cpuacct/cpu.cfs_quota_us", "cpuacct,cpu/cpu.cfs_quota_us"},
      storage));
  const auto period = parse_int(read_first(
      cgroup,
      {"cpu/cpu.cfs_period_us", "cpu,cpuacct/cpu.cfs_period_us", "cpuacct,cpu/cpu.cfs_period_us"},
      storage));
  // A quota of -1 means unlimited.
  if (quota && period && *quota > 0 && *period > 0) {
    limit = static_cast<double>(*quota) / static_cast<double>(*period);
  }
  const int cpus = cpuset_size(
      read_first(cgroup, {"cpuset/cpuset.effective_cpus", "cpuset/cpuset.cpus"}, storage));
  out.limit_cores = min_limit(limit, cpus);
  if (out.usage_ok || out.limit_cores > 0) out.version = 1;
  return out;
}

std::string instance_id(const std::vector<CloudTag>& tags) {
  for (const std::string_view key :
       {"container_id", "replica_name", "aas.environment.instance_id"}) {
    const std::string_view value = find_tag(tags, key);
    if (!value.empty() && value != kUnknown) return std::string(value);
  }
  return {};
}

// --- CpuCollector ------------------------------------------------------------------------------

CpuCollector::CpuCollector(const CloudIdentity& identity, bool enabled, const ProcReader& cgroup,
                           MetricSink& sink, unsigned host_cpus)
    : prefix_(metric_names(identity.platform).cpu_prefix),
      active_(enabled && !prefix_.empty()),
      cgroup_(cgroup),
      sink_(sink),
      host_cpus_(host_cpus),
      instance_(instance_id(identity.tags)) {}

void CpuCollector::add_tags(const std::vector<CloudTag>& tags) {
  std::string id = instance_id(tags);
  if (!id.empty()) instance_ = std::move(id);
}

void CpuCollector::sample(SteadyTime now) {
  if (!active_) return;
  const CgroupCpu cpu = read_cgroup_cpu(cgroup_);
  last_version_ = cpu.version;
  if (cpu.usage_ok) {
    const double elapsed_s = std::chrono::duration<double>(now - previous_at_).count();
    // A counter that went backwards (a new cgroup) or no time passed: start over from here.
    if (have_previous_ && elapsed_s > 0 && cpu.usage_ns >= previous_ns_) {
      gauge("enhanced.cpu.usage", (cpu.usage_ns - previous_ns_) / elapsed_s, {});
    }
    have_previous_ = true;
    previous_ns_ = cpu.usage_ns;
    previous_at_ = now;
  }
  const double cores = cpu.limit_cores > 0 ? cpu.limit_cores : static_cast<double>(host_cpus_);
  if (cores > 0) gauge("enhanced.cpu.limit", cores * 1e9, {});
  // Sent even when the cgroup cannot be read: it counts instances (§5.5).
  std::vector<std::string> usage_tags;
  if (!instance_.empty()) usage_tags.push_back("instance:" + instance_);
  gauge("enhanced.instance", 1, usage_tags);
}

void CpuCollector::gauge(std::string_view suffix, double value,
                         const std::vector<std::string>& tags) {
  const std::string name = prefix_ + std::string(suffix);
  add_point(sink_, name, MetricType::kGauge, value, 0, tags);
}

std::string CpuCollector::describe() const {
  return fmt::format(
      "{{\"prefix\":{},\"active\":{},\"host_cpus\":{},\"cgroup_version\":{},\"instance\":{}}}",
      json_quote(prefix_), active_ ? "true" : "false", host_cpus_, last_version_,
      json_quote(instance_));
}

}  // namespace lc::init
