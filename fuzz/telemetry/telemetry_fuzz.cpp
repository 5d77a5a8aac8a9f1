// fuzz/telemetry — one Telemetry API batch body (lambda-platform.md §4.4–4.5) through
// process_telemetry_batch, with a sink that reads the typed view the way consumers do: the fields
// of every platform record type, the string and object log records and their text prefix
// (`<time>\t<requestId>\t<LEVEL>\t`), the own-record flag. Every event also goes through two
// OomDetectors (on-demand and LMI; lambda-agent.md §4): log records to the P1 matcher, start as the
// INVOKE, runtimeDone and report to P2/P3, time stepping one second per event so parked windows
// expire; a request id emitted twice (while the dedup set still held it) or a second on-demand
// sandbox-level point is a crash. Every event also goes through two TelemetryLogs (on-demand with
// small orphan caps, and LMI; lambda-agent.md §5.2, §5.4) into a counting LogSink: after SHUTDOWN
// each must have handed over exactly one line per log record and per synthesized platform line
// (none dropped, none twice), never held more orphans than its caps, and in LMI none at all.
// The raw bytes also go to the event-time parser, the matcher and the text prefix parser.
// Nothing may crash, hang or allocate without bound.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/clock.h"
#include "core/json.h"
#include "core/log_sink.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "lambda/oom_detector.h"
#include "lambda/telemetry.h"
#include "lambda/telemetry_logs.h"

namespace {

using lc::lambda::TelemetryEvent;
using lc::lambda::TelemetryType;
namespace json = lc::json;

volatile std::size_t g_sink;  // keeps what the sink reads from being optimised away

void touch(std::string_view s) { g_sink = g_sink + s.size(); }
void touch(std::optional<std::string_view> s) {
  if (s) touch(*s);
}
void touch(std::optional<std::int64_t> v) {
  g_sink = g_sink + (v ? static_cast<std::size_t>(*v) : 1);
}
void touch(std::optional<double> v) { g_sink = g_sink + (v && *v > 0 ? 1 : 2); }

// A text log line's prefix: "<ISO time>\t<requestId>\t<LEVEL>\t<message>".
void read_text_line(std::string_view line) {
  const std::size_t tab1 = line.find('\t');
  if (tab1 == std::string_view::npos) return;
  (void)lc::lambda::parse_event_time_ms(line.substr(0, tab1));
  const std::size_t tab2 = line.find('\t', tab1 + 1);
  if (tab2 == std::string_view::npos) return;
  touch(line.substr(tab1 + 1, tab2 - tab1 - 1));
  const std::size_t tab3 = line.find('\t', tab2 + 1);
  touch(line.substr(tab2 + 1, tab3 == std::string_view::npos ? tab3 : tab3 - tab2 - 1));
}

void read_metrics(const boost::json::object& record) {
  if (const auto* m = json::object_member(record, "metrics")) {
    for (const char* key : {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
                            "initDurationMs", "restoreDurationMs", "producedBytes"}) {
      touch(json::double_member(*m, key));
      touch(json::int64_member(*m, key));
    }
  }
  if (const auto* spans = json::array_member(record, "spans")) {
    for (const auto& span : *spans) {
      if (const auto* s = span.if_object()) {
        touch(json::string_member(*s, "name"));
        if (auto start = json::string_member(*s, "start")) {
          (void)lc::lambda::parse_event_time_ms(*start);
        }
        touch(json::double_member(*s, "durationMs"));
      }
    }
  }
  if (const auto* tracing = json::object_member(record, "tracing")) {
    touch(json::string_member(*tracing, "value"));
  }
}

void read_event(const TelemetryEvent& e) {
  touch(e.type_name);
  touch(lc::lambda::telemetry_type_name(e.type));
  if (e.time_ms) g_sink = g_sink + static_cast<std::size_t>(*e.time_ms);
  if (const auto* text = e.record_text()) {
    read_text_line(json::view(*text));
    return;
  }
  const auto* r = e.record_object();
  if (r == nullptr) return;
  switch (e.type) {
    case TelemetryType::kInitStart:
      for (const char* key : {"initializationType", "phase", "runtimeVersion", "runtimeVersionArn",
                              "runtimeArn", "functionName", "functionVersion"}) {
        touch(json::string_member(*r, key));
      }
      touch(json::int64_member(*r, "instanceMaxMemory"));
      break;
    case TelemetryType::kStart:
      touch(json::string_member(*r, "requestId"));
      touch(json::string_member(*r, "version"));
      read_metrics(*r);
      break;
    case TelemetryType::kInitRuntimeDone:
    case TelemetryType::kInitReport:
    case TelemetryType::kRuntimeDone:
    case TelemetryType::kReport:
    case TelemetryType::kRestoreRuntimeDone:
    case TelemetryType::kRestoreReport:
      touch(json::string_member(*r, "requestId"));
      touch(json::string_member(*r, "status"));
      touch(json::string_member(*r, "errorType"));
      read_metrics(*r);
      break;
    case TelemetryType::kLogsDropped:
      touch(json::int64_member(*r, "droppedRecords"));
      touch(json::int64_member(*r, "droppedBytes"));
      touch(json::string_member(*r, "reason"));
      break;
    case TelemetryType::kPlatformExtension:
    case TelemetryType::kTelemetrySubscription:
      touch(json::string_member(*r, "name"));
      touch(json::string_member(*r, "state"));
      if (const auto* a = json::array_member(*r, "events")) g_sink = g_sink + a->size();
      if (const auto* a = json::array_member(*r, "types")) g_sink = g_sink + a->size();
      break;
    case TelemetryType::kFunction:
    case TelemetryType::kExtension:
      touch(json::string_member(*r, "level"));
      touch(json::string_member(*r, "requestId"));
      touch(json::string_member(*r, "AWSRequestId"));
      if (const auto* inner = json::object_member(*r, "message")) {
        touch(json::string_member(*inner, "ddtags"));
      } else if (auto m = json::string_member(*r, "message")) {
        g_sink = g_sink + (lc::lambda::is_own_log_line(*m) ? 1 : 0);
      }
      break;
    case TelemetryType::kRestoreStart:
    case TelemetryType::kUnknown:
      g_sink = g_sink + r->size();
      break;
  }
}

// Time for the detectors: advance() runs due timers in order, like tests/fakes/fake_clock.h
// (which the fuzz build does not reach).
class StepClock final : public lc::Clock, public lc::TimerService {
 public:
  lc::WallTime wall_now() const override {
    return lc::WallTime(lc::Millis(1760227430000)) +
           std::chrono::duration_cast<lc::Millis>(now_ - lc::SteadyTime());
  }
  lc::SteadyTime steady_now() const override { return now_; }
  void advance(lc::Millis d) {
    const lc::SteadyTime target = now_ + d;
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
      auto node = timers_.extract(timers_.begin());
      now_ = node.key().first;
      due_.erase(node.key().second);
      node.mapped()();
    }
    now_ = target;
  }

 protected:
  TimerId arm(lc::Millis delay, std::function<void()> callback) override {
    const TimerId id = next_id_++;
    const lc::SteadyTime at = now_ + std::max(delay, lc::Millis(0));
    timers_.emplace(std::make_pair(at, id), std::move(callback));
    due_.emplace(id, at);
    return id;
  }
  void disarm(TimerId id) override {
    auto it = due_.find(id);
    if (it == due_.end()) return;
    timers_.erase(std::make_pair(it->second, id));
    due_.erase(it);
  }
  bool pending(TimerId id) const override { return due_.count(id) != 0; }

 private:
  lc::SteadyTime now_{lc::Millis(1000000)};
  TimerId next_id_ = 1;
  std::map<std::pair<lc::SteadyTime, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, lc::SteadyTime> due_;
};

// What a detector emitted: an id twice while fewer ids than the dedup set holds were emitted is
// the one bug this target looks for beyond crashes, and so is a second on-demand init point.
struct Emitted {
  std::set<std::string> ids;
  std::size_t attributed = 0;
  std::size_t cold_start_points = 0;
  void add(const lc::lambda::OomDetector::Hit& hit) {
    if (hit.request_id.empty()) {
      if (hit.cold_start && ++cold_start_points > 1) __builtin_trap();
      return;
    }
    ++attributed;
    if (!ids.insert(hit.request_id).second &&
        attributed <= lc::lambda::OomDetector::kDedupCapacity) {
      __builtin_trap();
    }
  }
};

void feed_oom(lc::lambda::OomDetector& detector, const TelemetryEvent& e, bool lmi) {
  const std::int64_t time_ms = e.time_ms.value_or(0);
  const auto* r = e.record_object();
  switch (e.type) {
    case TelemetryType::kFunction:
    case TelemetryType::kExtension:
      detector.on_record(e);
      break;
    case TelemetryType::kStart:
      if (r != nullptr && !lmi) {
        detector.on_invoke(json::string_member(*r, "requestId").value_or(std::string_view()));
      }
      break;
    case TelemetryType::kRuntimeDone:
    case TelemetryType::kReport: {
      if (r == nullptr) break;
      const auto id = json::string_member(*r, "requestId").value_or(std::string_view());
      const auto status = json::string_member(*r, "status").value_or(std::string_view());
      const auto error_type = json::string_member(*r, "errorType").value_or(std::string_view());
      if (e.type == TelemetryType::kRuntimeDone) {
        detector.on_runtime_done(id, status, error_type, time_ms);
        break;
      }
      const auto* m = json::object_member(*r, "metrics");
      detector.on_report(id, status, error_type,
                         m != nullptr ? json::int64_member(*m, "maxMemoryUsedMB") : std::nullopt,
                         m != nullptr ? json::int64_member(*m, "memorySizeMB") : std::nullopt,
                         time_ms);
      break;
    }
    default:
      break;
  }
}

// Counts what a TelemetryLogs hands over and reads each record the way the logs processor would.
class CountingLogSink final : public lc::LogSink {
 public:
  void add(lc::LogRecord record) override {
    ++count;
    touch(std::string_view(record.message));
    touch(std::string_view(record.request_id));
    if (const auto* o = record.object.if_object()) g_sink = g_sink + o->size();
  }
  std::size_t count = 0;
};

// The lines a TelemetryLogs owes for one event: one per log record (string or object), one per
// synthesized platform line (lambda-agent.md §5.2).
std::size_t lines_owed(const TelemetryEvent& e) {
  switch (e.type) {
    case TelemetryType::kFunction:
    case TelemetryType::kExtension:
      return e.record_text() != nullptr || e.record_object() != nullptr ? 1 : 0;
    case TelemetryType::kInitStart:
    case TelemetryType::kStart:
    case TelemetryType::kRuntimeDone:
    case TelemetryType::kReport:
      return e.record_object() != nullptr ? 1 : 0;
    default:
      return 0;
  }
}

constexpr lc::lambda::TelemetryLogsOptions kOnDemandLogs{false, 8, 4096};
constexpr lc::lambda::TelemetryLogsOptions kLmiLogs{true, 8, 4096};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    lc::Logger::instance().set_level(lc::LogLevel::kOff);
    return true;
  }();
  (void)quiet;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static lc::SelfMetrics self;  // one for the process: the counters' keys are registered once
  static const lc::lambda::TelemetryCounters counters(self);
  StepClock clock;
  Emitted on_demand_hits, lmi_hits;
  lc::lambda::OomDetector on_demand(false, clock, clock, self,
                                    [&](const auto& hit) { on_demand_hits.add(hit); });
  lc::lambda::OomDetector lmi(true, clock, clock, self,
                              [&](const auto& hit) { lmi_hits.add(hit); });
  CountingLogSink on_demand_sink, lmi_sink;
  lc::lambda::TelemetryLogs on_demand_logs(kOnDemandLogs, on_demand_sink, clock, self);
  lc::lambda::TelemetryLogs lmi_logs(kLmiLogs, lmi_sink, clock, self);
  std::size_t owed = 0;
  (void)lc::lambda::process_telemetry_batch(body, counters, [&](const TelemetryEvent& e) {
    read_event(e);
    feed_oom(on_demand, e, false);
    feed_oom(lmi, e, true);
    owed += lines_owed(e);
    on_demand_logs.on_telemetry(e);
    lmi_logs.on_telemetry(e);
    if (on_demand_logs.orphans() > kOnDemandLogs.orphan_max_entries) __builtin_trap();
    if (lmi_logs.orphans() != 0 || !lmi_logs.active_request_id().empty()) __builtin_trap();
    clock.advance(lc::Millis(1000));
  });
  lmi.on_shutdown();
  on_demand.on_shutdown();
  on_demand_logs.release_orphans();
  lmi_logs.release_orphans();
  if (on_demand_logs.orphans() != 0) __builtin_trap();
  if (on_demand_sink.count != owed || lmi_sink.count != owed) __builtin_trap();
  clock.advance(lc::Millis(10000));
  (void)lc::lambda::parse_event_time_ms(body);
  (void)lc::lambda::is_own_log_line(body);
  touch(lc::lambda::match_oom_pattern(body));
  touch(lc::lambda::managed_runtime_request_id(body));
  if (auto m = lc::lambda::parse_managed_line(body)) touch(m->message);
  return 0;
}
