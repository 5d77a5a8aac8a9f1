// lambda/telemetry.h — the Telemetry API, extension side: the subscription request body and the
// listener that receives the platform's batches (lambda-agent.md §1.3, lambda-platform.md §4).
// The listener answers 200 to every batch it has read (malformed and oversize too, counted), then
// parses it once on the loop and hands each event to the sink as a typed view of the parsed JSON
// (no serialize-then-reparse, lambda-agent.md §5.3). Owned by the extension composition root.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/self_metrics.h"
#include "net/http_server.h"

namespace lc::lambda {

struct SubscriptionOptions {
  bool lmi = false;
  bool logs_enabled = true;
  bool enhanced_metrics = true;
  int port = 8999;
  bool alternate_schema = false;  // the retry after a 400 naming the schema uses the other version
};

// {"schemaVersion":…,"types":[…],"buffering":{…},"destination":{…}}
std::string telemetry_subscription_body(const SubscriptionOptions& options);

// Every event type of lambda-platform.md §4.5; anything else is kUnknown (its name kept in
// TelemetryEvent::type_name).
enum class TelemetryType : std::uint8_t {
  kInitStart,              // platform.initStart
  kInitRuntimeDone,        // platform.initRuntimeDone
  kInitReport,             // platform.initReport
  kStart,                  // platform.start
  kRuntimeDone,            // platform.runtimeDone
  kReport,                 // platform.report
  kRestoreStart,           // platform.restoreStart
  kRestoreRuntimeDone,     // platform.restoreRuntimeDone
  kRestoreReport,          // platform.restoreReport
  kPlatformExtension,      // platform.extension
  kTelemetrySubscription,  // platform.telemetrySubscription
  kLogsDropped,            // platform.logsDropped
  kFunction,               // function (a log line: string or object record)
  kExtension,              // extension (a log line: string or object record)
  kUnknown,
};
inline constexpr std::size_t kTelemetryTypeCount =
    static_cast<std::size_t>(TelemetryType::kUnknown) + 1;

// "platform.start", "function", …; "unknown" for kUnknown.
std::string_view telemetry_type_name(TelemetryType type);
// Exact (case-sensitive) match of a type name; kUnknown for anything else.
TelemetryType telemetry_type_of(std::string_view name);

// One element of a batch ({"time","type","record"}), as a view of the parsed batch: valid only
// during the sink call. A consumer copies what it keeps (a boost::json::value copy of `record` owns
// its memory).
struct TelemetryEvent {
  TelemetryType type = TelemetryType::kUnknown;
  std::string_view type_name;           // as received (also for kUnknown)
  std::string_view time;                // as received; empty when absent or not a string
  std::optional<std::int64_t> time_ms;  // `time` as epoch ms; nullopt when absent or unparsable
  const boost::json::value& record;     // object or string as received; null when absent
  // An `extension` record lastcall itself logged (`DD_EXTENSION | <LEVEL> | `): a string record
  // with the prefix, or an object record whose string `message` has it (lambda-agent.md §1.3).
  bool own_record = false;

  const boost::json::object* record_object() const { return record.if_object(); }
  const boost::json::string* record_text() const { return record.if_string(); }
};

// The largest body the listener reads (lambda-agent.md §1.3).
inline constexpr std::size_t kTelemetryMaxBody = 8 * 1024 * 1024;

// lastcall.telemetry.events{type} per type (unknown types as type:unknown, so whoever sends us
// events cannot grow the key space) and lastcall.dropped{kind:telemetry,reason:malformed}, each
// registered once; counting is one relaxed atomic add per type per batch.
class TelemetryCounters {
 public:
  explicit TelemetryCounters(SelfMetrics& self);
  void events(TelemetryType type, std::uint64_t n) const {
    events_[static_cast<std::size_t>(type)].add(n);
  }
  void malformed(std::uint64_t n = 1) const { malformed_.add(n); }

 private:
  std::array<SelfMetrics::Counter, kTelemetryTypeCount> events_;
  SelfMetrics::Counter malformed_;
};

using TelemetrySink = std::function<void(const TelemetryEvent&)>;

class TelemetryListener {
 public:
  using Sink = TelemetrySink;

  TelemetryListener(net::HttpServer& server, SelfMetrics& self, Sink sink);

  std::uint64_t batches() const { return batches_; }

 private:
  TelemetryCounters counters_;
  Sink sink_;
  std::uint64_t batches_ = 0;
};

// Parses one batch body and hands each event with a string `type` to sink (unknown types too, as
// kUnknown); returns how many. A body that is not a JSON array counts one malformed drop; an
// element that is not an object with a string `type` counts one and is skipped, the rest of the
// batch goes on (lambda-agent.md §1.3). Event types are counted once per batch.
std::size_t process_telemetry_batch(std::string_view body, const TelemetryCounters& counters,
                                    const TelemetrySink& sink);

// An event `time` (ISO-8601: 2025-10-12T00:00:15.064Z; any number of fractional digits, `Z` or a
// numeric offset ±hh[:mm], none = UTC) as epoch ms; nullopt when it is not such a time.
std::optional<std::int64_t> parse_event_time_ms(std::string_view time);

// True for lines lastcall itself logged in extension mode ("DD_EXTENSION | LEVEL | ...").
bool is_own_log_line(std::string_view line);

}  // namespace lc::lambda
