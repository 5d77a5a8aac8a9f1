#include "forward/endpoints.h"

#include <algorithm>

namespace lc::forward {

bool Endpoint::accepts(PayloadKind kind) const {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

std::string normalize_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::vector<Endpoint> resolve_endpoints(const ForwardConfig& forward) {
  using K = PayloadKind;
  std::vector<Endpoint> out;
  out.push_back({"metrics",
                 normalize_base_url(forward.metrics_url),
                 forward.api_key,
                 {K::kSeriesV2, K::kSeriesV1, K::kSketches, K::kEvents, K::kServiceChecks},
                 false,
                 true});
  out.push_back(
      {"logs", normalize_base_url(forward.logs_url), forward.api_key, {K::kLogs}, false, true});
  out.push_back({"apm",
                 normalize_base_url(forward.apm_url),
                 forward.api_key,
                 {K::kTraces, K::kTraceStats},
                 false,
                 true});
  int n = 0;
  for (const auto& extra : forward.additional_metrics_endpoints) {
    // datadog-wire.md §5.2: every series and sketch payload also goes to each (url, key) pair.
    out.push_back({"metrics+" + std::to_string(++n),
                   normalize_base_url(extra.url),
                   extra.api_key,
                   {K::kSeriesV2, K::kSeriesV1, K::kSketches},
                   true,
                   true});
  }
  n = 0;
  for (const auto& extra : forward.additional_logs_endpoints) {
    // datadog-wire.md §5.2: the same logs batches to each; is_reliable:false is never retried.
    out.push_back({"logs+" + std::to_string(++n),
                   normalize_base_url(extra.url),
                   extra.api_key,
                   {K::kLogs},
                   true,
                   extra.reliable});
  }
  return out;
}

}  // namespace lc::forward
