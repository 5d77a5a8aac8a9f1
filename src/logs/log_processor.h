// logs/log_processor.h — the LogSink every log producer emits into (architecture.md "Layout"):
// JSON messages (lambda-agent.md §5.3: top-level and nested `ddtags` merged, a nested `message`
// object unwrapped, `level`/`status` mapped), the user's processing rules (§5.5), the 1 MB entry
// limit (datadog-wire.md §4.5: truncated with a marker and counted), then the entry is encoded
// once and buffered until the next flush batches the buffer into logs payloads (≤ 1000 entries,
// ≤ 5 242 880 bytes uncompressed each; the forward stage compresses). The buffer charges the
// memory budget (value class logs): an entry that does not fit is refused and counted
// lastcall.dropped{kind:logs,reason:memory_budget}, never dropped silently.
// Owned by app/ (the pipeline); called on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/common_config.h"
#include "core/log_sink.h"
#include "core/logs_config.h"
#include "core/memory_budget.h"
#include "core/mode.h"
#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "logs/processing_rules.h"

namespace lc::logs {

// datadog-wire.md §4.5.
inline constexpr std::size_t kMaxBatchEntries = 1000;
inline constexpr std::size_t kMaxBatchBytes = 5242880;
inline constexpr std::size_t kMaxEntryBytes = 1048576;
inline constexpr std::string_view kTruncatedMarker = "...TRUNCATED...";

struct LogProcessorOptions {
  // Lambda (extension mode): the nested entry shape of datadog-wire.md §4.5 — `message` an object
  // holding the line, `lambda.arn`, `lambda.request_id`, `timestamp`, `status`; `hostname` and
  // `lambda.arn` are the tag sets' `function_arn`, read when a payload is built (it arrives with
  // the first INVOKE). Otherwise the flat shape, `hostname` from the options.
  bool lambda_shape = true;
  std::string service;                // DD_SERVICE lower-cased; empty: omitted
  std::string ddsource;               // "lambda" in extension mode; else DD_SOURCE; empty: omitted
  std::string hostname;               // flat shape only; empty: omitted
  std::string processing_rules_json;  // DD_LOGS_CONFIG_PROCESSING_RULES as given
  std::size_t max_batch_entries = kMaxBatchEntries;
  std::size_t max_batch_bytes = kMaxBatchBytes;
  std::size_t max_entry_bytes = kMaxEntryBytes;

  // Extension mode: Lambda shape, ddsource "lambda"; wrapper and sidecar: flat shape, DD_SOURCE
  // (the platform default is init/'s to set later), DD_HOSTNAME.
  static LogProcessorOptions from(const LogsConfig& logs, const CommonConfig& common, Mode mode);
};

class LogProcessor final : public LogSink {
 public:
  // `self`, `tags` and `budget` outlive the processor. The rules are compiled here; each problem
  // is logged once as a warning naming the rule. `budget` null: unlimited.
  LogProcessor(LogProcessorOptions options, SelfMetrics& self, const TagSets& tags,
               MemoryBudget* budget = nullptr);
  ~LogProcessor() override;
  LogProcessor(const LogProcessor&) = delete;
  LogProcessor& operator=(const LogProcessor&) = delete;

  // JSON handling, rules, truncation, encoding, buffering (see the top of this file). Counts:
  // lastcall.logs.entries (accepted), lastcall.logs.excluded{rule:<name>},
  // lastcall.logs.truncated, lastcall.dropped{kind:logs,reason:memory_budget}.
  void add(LogRecord record) override;

  // Every buffered entry, in arrival order, as Payload{kLogs} JSON arrays (uncompressed,
  // "application/json", path /api/v2/logs) within the batch limits; the buffer is empty after.
  std::vector<Payload> flush();

  // The platform's ddsource (serverless-init.md §5.1: cloudrun, containerapp, ...), used when
  // DD_SOURCE is unset; known only once init/ detected the cloud, after construction.
  void set_default_source(std::string_view source);

  std::size_t buffered() const { return entries_.size(); }
  std::size_t buffered_bytes() const { return buffered_bytes_; }  // as charged to the budget
  const ProcessingRules& rules() const { return rules_; }
  const LogProcessorOptions& options() const { return options_; }
  // One JSON object: shape, service, source, rules by name, limits.
  std::string describe() const;

 private:
  // One accepted line, its message already encoded as JSON; the envelope (hostname, ARN, tags)
  // is written at flush from the tag sets then current.
  struct Entry {
    std::string message_json;  // a JSON string or object: the line after §5.3 and the rules
    std::string extra_tags;    // comma-joined: the record's tags and the JSON ddtags
    std::string request_id;
    std::int64_t timestamp_ms = 0;
    LogStatus status = LogStatus::kInfo;
    bool truncated = false;
    std::size_t charged = 0;  // bytes charged to the budget
  };

  LogProcessorOptions options_;
  SelfMetrics& self_;
  const TagSets& tags_;
  MemoryBudget* budget_;
  ProcessingRules rules_;
  std::vector<SelfMetrics::Counter> excluded_;  // per rule, lastcall.logs.excluded{rule}
  SelfMetrics::Counter accepted_;
  SelfMetrics::Counter truncated_;
  SelfMetrics::Counter refused_;
  std::deque<Entry> entries_;
  std::size_t buffered_bytes_ = 0;
};

}  // namespace lc::logs
