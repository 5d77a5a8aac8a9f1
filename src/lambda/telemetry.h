// lambda/telemetry.h — the Telemetry API, extension side: the subscription request body and the
// listener that receives the platform's batches (lambda-agent.md §1.3, lambda-platform.md §4).
// The listener answers 200 to every batch it has read (malformed and oversize too, counted), then
// parses on the loop and hands each event to the sink. Owned by the extension composition root.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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

// One element of a batch: {"time","type","record"}; record is kept as raw JSON text.
struct TelemetryEvent {
  std::string time;
  std::string type;         // "platform.start", "function", ...
  std::string record;       // serialised JSON (object or string)
  bool own_record = false;  // an `extension` line lastcall itself wrote (DD_EXTENSION | prefix)
};

// The largest body the listener reads (lambda-agent.md §1.3).
inline constexpr std::size_t kTelemetryMaxBody = 8 * 1024 * 1024;

class TelemetryListener {
 public:
  using Sink = std::function<void(const TelemetryEvent&)>;

  TelemetryListener(net::HttpServer& server, SelfMetrics& self, Sink sink);

  std::uint64_t batches() const { return batches_; }

 private:
  SelfMetrics& self_;
  Sink sink_;
  std::uint64_t batches_ = 0;
};

// Parses one batch body and hands each well-formed event to sink; returns how many. Counts
// malformed batches and elements (lastcall.dropped{kind:telemetry,reason:malformed}).
std::size_t process_telemetry_batch(std::string_view body, SelfMetrics& self,
                                    const TelemetryListener::Sink& sink);

// True for lines lastcall itself logged in extension mode ("DD_EXTENSION | LEVEL | ...").
bool is_own_log_line(std::string_view line);

}  // namespace lc::lambda
