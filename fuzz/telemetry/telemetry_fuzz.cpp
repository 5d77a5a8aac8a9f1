// fuzz/telemetry — one Telemetry API batch body (lambda-platform.md §4.4–4.5) through
// process_telemetry_batch, with a sink that reads the typed view the way consumers do: the fields
// of every platform record type, the string and object log records and their text prefix
// (`<time>\t<requestId>\t<LEVEL>\t`), the own-record flag. The raw bytes also go to the event-time
// parser. Nothing may crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "lambda/telemetry.h"

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
  (void)lc::lambda::process_telemetry_batch(body, counters, read_event);
  (void)lc::lambda::parse_event_time_ms(body);
  (void)lc::lambda::is_own_log_line(body);
  return 0;
}
