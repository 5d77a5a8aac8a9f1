// core/log_sink.h — the seam every log producer emits through (architecture.md "Layout"):
// lambda/ (telemetry records, synthesized START/END/REPORT lines) and init/ (the child's stdout and
// stderr) hand LogRecords to a LogSink; logs::LogProcessor implements it. Called on the loop
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lc {

// The statuses of the logs intake (datadog-wire.md logs; lambda-agent.md §5.3 maps inputs to
// these).
enum class LogStatus : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical };
std::string_view log_status_name(LogStatus status);  // "trace", "debug", "info", "warn", ...

struct LogRecord {
  std::string message;
  std::int64_t timestamp_ms = 0;  // epoch ms of the line (the record's time, not arrival)
  LogStatus status = LogStatus::kInfo;
  std::string request_id;         // empty when the line has none (yet)
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
