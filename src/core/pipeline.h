// core/pipeline.h — the small interfaces between pipeline stages (architecture.md "Layout"):
// an encoded Payload, the Exporter contract (send → Ok | Retry | Drop(reason) within a deadline),
// and the sinks that receivers emit into. Stages depend on these, never on each other's classes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"

namespace lc {

enum class PayloadKind {
  kSeriesV2,
  kSeriesV1,
  kSketches,
  kLogs,
  kTraces,
  kTraceStats,
  kEvents,
  kServiceChecks
};
std::string_view payload_kind_name(PayloadKind kind);  // "series_v2", ...
// The lastcall.dropped kind for a payload kind: metrics, logs or traces.
std::string_view payload_drop_kind(PayloadKind kind);

// One encoded, compressed request body ready for an intake. Immutable once built.
struct Payload {
  PayloadKind kind = PayloadKind::kSeriesV2;
  std::string path;              // "/api/v2/series", appended to the endpoint's base URL
  std::string content_type;      // "application/x-protobuf"
  std::string content_encoding;  // "zstd", "gzip", "deflate" or "" (uncompressed)
  std::string body;
  std::uint32_t items = 0;  // series/sketches/entries in the body, for drop accounting
};

struct SendOutcome {
  enum class Kind { kOk, kRetry, kDrop, kSplit } kind = Kind::kOk;
  std::string
      reason;      // for kDrop ("forbidden", "http_418", ...) and kRetry ("timeout", "http_503")
  int status = 0;  // HTTP status, 0 for transport errors
  std::int64_t retry_after_ms = -1;  // kRetry: the intake's Retry-After in ms; -1 when absent
  std::string detail;  // for one log line per flush: 400 body excerpt, "API key rejected by <host>"
  std::size_t body_bytes = 0;  // the request body as sent (compressed); 0 when not known
};

// Sends one payload to one intake. Called and completed on the loop thread.
class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual void send(std::shared_ptr<const Payload> payload, Deadline deadline,
                    std::function<void(SendOutcome)> done) = 0;
};

}  // namespace lc
