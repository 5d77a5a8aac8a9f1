#include "lambda/usage_metrics.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::lambda {
namespace {

// /proc/stat counts in USER_HZ, which the kernel fixes at 100 on x86_64 and arm64.
constexpr double kMsPerTick = 1000.0 / 100.0;
constexpr double kDefaultLimit = 1024;  // §3.2: when no process states a limit
constexpr std::string_view kPrefix = "aws.lambda.enhanced.";

// §3.2: the function's interfaces; on-demand vinternal_1* / vint_runtime*, LMI Ceth1*.
constexpr std::array<std::string_view, 2> kOnDemandInterfaces = {"vinternal_1", "vint_runtime"};
constexpr std::array<std::string_view, 1> kLmiInterfaces = {"Ceth1"};

std::vector<std::string_view> fields(std::string_view line) { return split_any(line, " \t"); }

std::optional<double> number(std::string_view s) { return parse_double(s); }

}  // namespace

UsageOptions UsageOptions::from(const MetricsConfig& metrics, const LambdaConfig& lambda) {
  UsageOptions o;
  o.enabled = metrics.enhanced_metrics && metrics.proc_enhanced_metrics;
  o.lmi = lambda.lmi;
  o.sample_interval = Millis(std::max<std::int64_t>(1, metrics.usage_sample_ms));
  return o;
}

CpuCounters parse_cpu_counters(std::string_view proc_stat, std::string_view proc_uptime) {
  CpuCounters c;
  bool total = false;
  for (const auto line : split_any(proc_stat, "\n")) {
    const auto f = fields(line);
    if (f.empty() || !starts_with(f[0], "cpu")) continue;
    // cpu user nice system idle ...
    if (f.size() < 5) return {};
    const auto user = number(f[1]);
    const auto system = number(f[3]);
    const auto idle = number(f[4]);
    if (!user || !system || !idle) return {};
    if (f[0] == "cpu") {
      c.user_ms = *user * kMsPerTick;
      c.system_ms = *system * kMsPerTick;
      total = true;
    } else {
      c.core_idle_ms.emplace_back(std::string(f[0]), *idle * kMsPerTick);
    }
  }
  const auto up = fields(proc_uptime);
  const auto uptime_s = up.empty() ? std::nullopt : number(up[0]);
  if (!total || c.core_idle_ms.empty() || !uptime_s) return {};
  c.uptime_ms = *uptime_s * 1000.0;
  c.ok = true;
  return c;
}

NetCounters parse_net_dev(std::string_view net_dev, std::span<const std::string_view> prefixes) {
  NetCounters n;
  for (const auto line : split_any(net_dev, "\n")) {
    // "  name: rx_bytes rx_packets ... (8 receive fields) tx_bytes ..."
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const bool wanted = std::any_of(prefixes.begin(), prefixes.end(),
                                    [&](std::string_view p) { return starts_with(name, p); });
    if (!wanted) continue;
    const auto f = fields(line.substr(colon + 1));
    if (f.size() < 9) continue;
    const auto rx = number(f[0]);
    const auto tx = number(f[8]);
    if (!rx || !tx) continue;
    n.rx_bytes += *rx;
    n.tx_bytes += *tx;
    n.ok = true;
  }
  return n;
}

double parse_soft_limit(std::string_view limits, std::string_view name) {
  for (const auto line : split_any(limits, "\n")) {
    if (!starts_with(line, name)) continue;
    const auto f = fields(line.substr(name.size()));
    if (f.empty()) return -1;
    const auto v = number(f[0]);  // "unlimited" does not parse
    return v ? *v : -1;
  }
  return -1;
}

UsageMetrics::UsageMetrics(UsageOptions options, const ProcReader& proc, MetricSink& sink,
                           TimerService& timers)
    : options_(options), proc_(proc), sink_(sink), timers_(timers) {}

CpuCounters UsageMetrics::read_cpu() const {
  auto stat = proc_.read_file("stat");
  auto uptime = proc_.read_file("uptime");
  if (!stat || !uptime) return {};
  return parse_cpu_counters(*stat, *uptime);
}

NetCounters UsageMetrics::read_net() const {
  auto dev = proc_.read_file("net/dev");
  if (!dev) return {};
  if (options_.lmi) return parse_net_dev(*dev, kLmiInterfaces);
  return parse_net_dev(*dev, kOnDemandInterfaces);
}

UsageSnapshot UsageMetrics::invocation_started() {
  UsageSnapshot s;
  if (!options_.enabled || shut_down_) return s;
  s.started = true;
  s.cpu = read_cpu();
  s.net = read_net();
  s.active = true;
  if (options_.lmi) {
    if (!lmi_baseline_.started) lmi_baseline_ = s;
    ++active_;
  } else {
    // On-demand one invocation runs at a time: one that is still open ended where this begins.
    if (generation_ > 0) {
      closed_ = Closed{generation_, s.cpu, s.net, peaks_};
      have_closed_ = true;
    }
    peaks_ = Peaks{};
    active_ = 1;
  }
  s.generation = ++generation_;
  sample();
  arm();
  return s;
}

void UsageMetrics::arm() {
  if (active_ <= 0 || timer_.armed()) return;
  timer_ = timers_.schedule_after(options_.sample_interval, [this] {
    sample();
    arm();
  });
}

void UsageMetrics::end_activity(UsageSnapshot& start) {
  if (!start.active) return;
  start.active = false;
  if (options_.lmi) {
    if (active_ > 0) --active_;
  } else if (start.generation == generation_) {
    active_ = 0;  // a superseded invocation no longer counted
  }
  if (active_ == 0) timer_.cancel();
}

// One sample of the peaks: /tmp in use, and the open fds and threads of every process.
void UsageMetrics::sample() {
  ++samples_;
  if (auto fs = proc_.statfs("/tmp")) {
    const double used =
        static_cast<double>(fs->total_bytes) - static_cast<double>(fs->available_bytes);
    peaks_.tmp_used = std::max(peaks_.tmp_used, used);
  }
  auto pids = proc_.list_pids();
  if (!pids) return;
  double fds = 0, threads = 0;
  for (const int pid : *pids) {
    // A process that ended meanwhile, or is not ours to read, counts nothing.
    if (auto fd = proc_.list_dir(fmt::format("{}/fd", pid))) fds += static_cast<double>(fd->size());
    if (auto task = proc_.list_dir(fmt::format("{}/task", pid))) {
      threads += static_cast<double>(task->size());
    }
  }
  peaks_.fd_use = std::max(peaks_.fd_use, fds);
  peaks_.threads_use = std::max(peaks_.threads_use, threads);
}

void UsageMetrics::emit(std::string_view name, double value, std::int64_t timestamp_s,
                        PointTags tags) {
  std::string full;
  full.reserve(kPrefix.size() + name.size());
  full.append(kPrefix).append(name);
  MetricPoint p;
  p.name = full;
  p.type = MetricType::kDistribution;
  p.values = std::span<const double>(&value, 1);
  p.timestamp = timestamp_s;
  p.tags = tags;
  sink_.add(p);
}

void UsageMetrics::emit_utilization(const CpuCounters& from, const CpuCounters& to, std::int64_t ts,
                                    PointTags tags) {
  if (!from.ok || !to.ok) {
    LC_DEBUG("usage: /proc/stat or /proc/uptime unreadable; no cpu utilization");
    return;
  }
  const double uptime = to.uptime_ms - from.uptime_ms;
  double min_idle = std::numeric_limits<double>::max();
  double max_idle = 0;
  double total_idle = 0;
  int cores = 0;
  for (const auto& core : to.core_idle_ms) {
    const auto it = std::find_if(from.core_idle_ms.begin(), from.core_idle_ms.end(),
                                 [&](const auto& c) { return c.first == core.first; });
    if (it == from.core_idle_ms.end()) continue;
    const double idle = std::clamp(core.second - it->second, 0.0, std::max(uptime, 0.0));
    min_idle = std::min(min_idle, idle);
    max_idle = std::max(max_idle, idle);
    total_idle += idle;
    ++cores;
  }
  if (uptime <= 0 || cores == 0) {
    LC_DEBUG("usage: no uptime elapsed; no cpu utilization");
    return;
  }
  const double n = cores;
  // The busiest core idled least; the idlest most. Total: non-idle share of every core's time.
  const double total_share = std::max(0.0, n * uptime - total_idle) / (n * uptime);
  emit("cpu_total_utilization_pct", total_share * 100.0, ts, tags);
  emit("cpu_total_utilization", total_share * n, ts, tags);
  emit("num_cores", n, ts, tags);
  emit("cpu_max_utilization", (uptime - min_idle) / uptime * 100.0, ts, tags);
  emit("cpu_min_utilization", (uptime - max_idle) / uptime * 100.0, ts, tags);
}

void UsageMetrics::emit_limits_and_peaks(const Peaks& peaks, std::int64_t ts, PointTags tags) {
  // §3.2: the smallest soft limit any process has (default 1024).
  double fd_max = -1, threads_max = -1;
  if (auto pids = proc_.list_pids()) {
    for (const int pid : *pids) {
      auto limits = proc_.read_file(fmt::format("{}/limits", pid));
      if (!limits) continue;
      const double fd = parse_soft_limit(*limits, "Max open files");
      const double th = parse_soft_limit(*limits, "Max processes");
      if (fd > 0 && (fd_max < 0 || fd < fd_max)) fd_max = fd;
      if (th > 0 && (threads_max < 0 || th < threads_max)) threads_max = th;
    }
  }
  emit("fd_max", fd_max > 0 ? fd_max : kDefaultLimit, ts, tags);
  emit("fd_use", peaks.fd_use, ts, tags);
  emit("threads_max", threads_max > 0 ? threads_max : kDefaultLimit, ts, tags);
  emit("threads_use", peaks.threads_use, ts, tags);
  if (peaks.tmp_used > 0) {
    if (auto fs = proc_.statfs("/tmp")) {
      const double max = static_cast<double>(fs->total_bytes);
      emit("tmp_max", max, ts, tags);
      emit("tmp_used", peaks.tmp_used, ts, tags);
      emit("tmp_free", std::max(0.0, max - peaks.tmp_used), ts, tags);
    }
  }
}

void UsageMetrics::emit_times_and_network(const UsageSnapshot& from, const CpuCounters& cpu,
                                          const NetCounters& net, std::int64_t ts, PointTags tags) {
  if (from.cpu.ok && cpu.ok) {
    const double user = std::max(0.0, cpu.user_ms - from.cpu.user_ms);
    const double system = std::max(0.0, cpu.system_ms - from.cpu.system_ms);
    emit("cpu_user_time", user, ts, tags);
    emit("cpu_system_time", system, ts, tags);
    emit("cpu_total_time", user + system, ts, tags);
  }
  if (from.net.ok && net.ok) {
    const double rx = std::max(0.0, net.rx_bytes - from.net.rx_bytes);
    const double tx = std::max(0.0, net.tx_bytes - from.net.tx_bytes);
    emit("rx_bytes", rx, ts, tags);
    emit("tx_bytes", tx, ts, tags);
    emit("total_network", rx + tx, ts, tags);
  }
}

void UsageMetrics::runtime_done(UsageSnapshot& start, std::int64_t timestamp_s, PointTags tags) {
  if (!options_.enabled || !start.started || start.runtime_done_seen) return;
  start.runtime_done_seen = true;
  if (options_.lmi) {
    if (start.active) sample();
    end_activity(start);
    return;
  }
  if (start.generation == generation_) {
    sample();  // §3.2: always a sample at runtimeDone, so a short invocation still has one
    end_activity(start);
    emit_utilization(start.cpu, read_cpu(), timestamp_s, tags);
    emit_limits_and_peaks(peaks_, timestamp_s, tags);
  } else if (have_closed_ && closed_.generation == start.generation) {
    start.active = false;
    emit_utilization(start.cpu, closed_.cpu, timestamp_s, tags);
    emit_limits_and_peaks(closed_.peaks, timestamp_s, tags);
  } else {
    start.active = false;
    LC_DEBUG("usage: runtimeDone of an invocation two INVOKEs old; no usage metrics for it");
  }
}

void UsageMetrics::report(UsageSnapshot& start, std::int64_t timestamp_s, PointTags tags) {
  if (!options_.enabled || !start.started || start.report_seen) return;
  // No runtimeDone for this id: the report gives what it would have (lambda-agent.md §2.3).
  runtime_done(start, timestamp_s, tags);
  start.report_seen = true;
  if (options_.lmi) return;
  if (start.generation == generation_) {
    emit_times_and_network(start, read_cpu(), read_net(), timestamp_s, tags);
  } else if (have_closed_ && closed_.generation == start.generation) {
    emit_times_and_network(start, closed_.cpu, closed_.net, timestamp_s, tags);
  }
}

void UsageMetrics::discard(UsageSnapshot& start) {
  end_activity(start);
  start.runtime_done_seen = true;
  start.report_seen = true;
}

void UsageMetrics::shutdown(std::int64_t timestamp_s, PointTags tags) {
  if (!options_.enabled || shut_down_) return;
  shut_down_ = true;
  timer_.cancel();
  active_ = 0;
  if (!options_.lmi || !lmi_baseline_.started) return;
  // §3.2: in LMI every usage metric is emitted once, at SHUTDOWN.
  sample();
  const CpuCounters cpu = read_cpu();
  emit_times_and_network(lmi_baseline_, cpu, read_net(), timestamp_s, tags);
  emit_utilization(lmi_baseline_.cpu, cpu, timestamp_s, tags);
  emit_limits_and_peaks(peaks_, timestamp_s, tags);
}

}  // namespace lc::lambda
