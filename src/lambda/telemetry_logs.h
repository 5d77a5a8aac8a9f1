// lambda/telemetry_logs.h — telemetry records as log lines (lambda-agent.md §5.2, §5.4): `function`
// and `extension` records (text or JSON object) and the synthesized platform lines (INIT_START,
// START, END with timeout/failure text, REPORT on-demand and LMI), each handed to a LogSink with
// its request id: the record's own (object requestId/AWSRequestId, a managed-runtime text prefix;
// never for extension records), else the active id (set at platform.start, cleared at that id's
// runtimeDone), else — on-demand — parked in the bounded orphan buffer and stamped with the next
// id that becomes active; in LMI sent at once without an id. platform.logsDropped becomes one warn
// line and the counters lastcall.telemetry.logs_dropped_records / _bytes.
// Built by the extension composition root when logs are enabled; fed every telemetry event on the
// loop thread, next to the invocation processor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/log_sink.h"
#include "core/self_metrics.h"
#include "lambda/telemetry.h"

namespace lc::lambda {

struct TelemetryLogsOptions {
  bool lmi = false;
  // §5.4 orphan buffer caps; past either, the oldest orphan goes out without an id
  // (lastcall.logs.orphan_overflow), never dropped.
  std::size_t orphan_max_entries = 1000;
  std::size_t orphan_max_bytes = 1024 * 1024;
};

// A managed-runtime text line "<ISO time>\t<requestId>\t<LEVEL>\t<message>" (lambda-platform.md
// §4.5), as views into the line.
struct ManagedLine {
  std::string_view time;
  std::string_view request_id;  // a UUID
  std::string_view level;
  std::string_view message;
};
// nullopt when `line` does not start with such a prefix (the id must parse as a UUID).
std::optional<ManagedLine> parse_managed_line(std::string_view line);

class TelemetryLogs {
 public:
  // `sink`, `clock` and `self` outlive this object.
  TelemetryLogs(TelemetryLogsOptions options, LogSink& sink, const Clock& clock, SelfMetrics& self);

  // Every telemetry event; events that make no line are ignored.
  void on_telemetry(const TelemetryEvent& event);
  // SHUTDOWN (§5.4): every orphan goes out without an id, in arrival order. Idempotent.
  void release_orphans();

  std::size_t orphans() const { return orphans_.size(); }
  std::string_view active_request_id() const { return active_; }

 private:
  // On-demand ids whose runtimeDone durationMs was seen, for the REPORT line's Runtime Duration.
  // A report follows its runtimeDone before the next invocation's ends, so a few suffice.
  static constexpr std::size_t kRuntimeDoneCapacity = 64;

  void on_log_record(const TelemetryEvent& event);
  void on_start(const boost::json::object& record, std::int64_t time_ms);
  void on_runtime_done(const boost::json::object& record, std::int64_t time_ms);
  void on_report(const boost::json::object& record, std::int64_t time_ms);
  void on_logs_dropped(const boost::json::object& record);
  // A line with no id of its own: the active id, else parked (on-demand) or sent as is (LMI).
  void route(LogRecord record);
  void emit(std::string message, std::int64_t time_ms, LogStatus status, std::string_view id);
  void park(LogRecord record);  // into the orphan buffer (overflow handled)
  std::optional<double> runtime_done_ms(std::string_view request_id) const;

  TelemetryLogsOptions options_;
  LogSink& sink_;
  const Clock& clock_;
  SelfMetrics::Counter dropped_records_;  // lastcall.telemetry.logs_dropped_records
  SelfMetrics::Counter dropped_bytes_;    // lastcall.telemetry.logs_dropped_bytes
  SelfMetrics::Counter orphan_overflow_;  // lastcall.logs.orphan_overflow
  std::string active_;
  std::deque<LogRecord> orphans_;
  std::deque<std::size_t> orphan_sizes_;  // the bytes each orphan was charged, same order
  std::size_t orphan_bytes_ = 0;
  std::deque<std::pair<std::string, double>> runtime_done_;  // oldest first
};

}  // namespace lc::lambda
