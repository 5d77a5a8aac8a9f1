// forward/endpoints.h — the intakes a configuration sends to: the metrics, logs and APM base URLs
// of datadog-wire.md §5 plus every (url, key) pair of DD_ADDITIONAL_ENDPOINTS and every entry of
// DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS. Called once by the
// composition root to build one HttpExporter and one Forwarder route per Endpoint. Plain values.
#pragma once

#include <string>
#include <vector>

#include "core/forward_config.h"
#include "core/pipeline.h"

namespace lc::forward {

struct Endpoint {
  std::string name;      // "metrics", "logs", "apm", "metrics+1" (additional) — for log lines
  std::string base_url;  // normalised, no trailing '/'; a payload's path is appended
  std::string api_key;   // secret: never logged
  std::vector<PayloadKind> kinds;  // payload kinds this intake receives
  bool additional = false;
  // false: failures are never retried nor queued, only counted (datadog-wire.md §5.2, logs
  // additional endpoints with "is_reliable": false).
  bool reliable = true;

  bool accepts(PayloadKind kind) const;
};

// Primary metrics (series v1/v2, sketches, events, service checks), logs, APM (traces, stats),
// then one endpoint per additional (url, key) pair receiving series and sketches only, then one per
// additional logs endpoint receiving logs only.
std::vector<Endpoint> resolve_endpoints(const ForwardConfig& forward);

// Drops a trailing '/' (and repeated ones) from a base URL.
std::string normalize_base_url(std::string url);

}  // namespace lc::forward
