// core/forward_config.h — the forward stage's configuration part: intakes, encoding and transport
// (datadog-wire.md §5). Filled by finalize_config() (core/config.h) from the rows of area
// forward; no field carries a default of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proxy_config.h"

namespace lc {

enum class Compressor { kZstd, kZlib, kGzip, kNone };
std::string_view compressor_name(Compressor c);  // "zstd", "zlib", "gzip", "none"

struct AdditionalEndpoint {
  std::string url;      // normalised base URL
  std::string api_key;  // secret
  // false: failures are counted, never retried nor queued (logs `"is_reliable": false`).
  bool reliable = true;
};

struct ForwardConfig {
  std::string api_key;
  std::string site;
  std::string metrics_url;  // "https://api.datadoghq.com" or the DD_DD_URL/DD_URL override
  std::string logs_url;
  std::string apm_url;
  std::vector<AdditionalEndpoint> additional_metrics_endpoints;
  // DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS (datadog-wire.md §5.2): every logs payload also goes to
  // each of these.
  std::vector<AdditionalEndpoint> additional_logs_endpoints;
  Compressor metrics_compressor{};
  int metrics_compression_level{};
  int logs_compression_level{};
  int apm_compression_level{};
  bool logs_use_compression{};
  int flush_timeout_s{};
  std::int64_t retry_queue_bytes{};
  ProxyConfig proxy;
  bool skip_ssl_validation{};
  std::string tls_cert_file;
};

}  // namespace lc
