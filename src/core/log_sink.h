// core/log_sink.h — the seam every log producer emits through (architecture.md "Layout"):
// lambda/ (telemetry records, synthesized START/END/REPORT lines) and init/ (the child's stdout and
// stderr) hand LogRecords to a LogSink; logs::LogProcessor implements it. Called on the loop
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace lc {

// The statuses of the logs intake (datadog-wire.md logs; lambda-agent.md §5.3 maps inputs to
// these).
enum class LogStatus : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical };
std::string_view log_status_name(LogStatus status);  // "trace", "debug", "info", "warn", ...
// A level word as the status it names (lambda-agent.md §5.3's table, case-insensitive: FATAL and
// CRITICAL → critical, ERROR and ERR → error, WARN and WARNING → warn, INFO and INFORMATION →
// info, DEBUG, TRACE); nullopt for anything else. JSON `level`/`status` values, managed-runtime
// prefixes and lastcall's own `DD_EXTENSION | <LEVEL> |` lines all go through it.
std::optional<LogStatus> log_status_from_level(std::string_view level);

struct LogRecord {
  // The line as text. Empty when `object` holds the message.
  std::string message;
  // The line as a parsed JSON object when it arrived as one (a JSON-format `function` record):
  // lambda-agent.md §5.3 forbids serializing it to text and parsing it again, so the parsed object
  // travels as is. Null otherwise. A text message that looks like JSON is parsed by the sink.
  boost::json::value object;
  std::int64_t timestamp_ms = 0;  // epoch ms of the line (the record's time, not arrival)
  // The status the producer gives the line (info, or error for a synthesized timeout/failure
  // line); a JSON message's own `level`/`status` wins over it (§5.3).
  LogStatus status = LogStatus::kInfo;
  std::string request_id;         // empty when the line has none
  std::string source;             // "lambda", "stdout", "stderr", ...
  std::vector<std::string> tags;  // extra ddtags of this record, on top of the TagSets logs set
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Takes the record; never throws, never blocks. A record the sink refuses is counted by it.
  virtual void add(LogRecord record) = 0;
};

}  // namespace lc
