// core/config.h — the finalized, typed configuration every component copies from.
// Built once at start by finalize_config() from the raw sources of config_registry.h; a bad value
// becomes a warning naming the variable and the default used, never a failure (lambda-agent.md
// §8.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config_registry.h"
#include "core/expected.h"
#include "core/logger.h"

namespace lc {

enum class Compressor { kZstd, kZlib, kGzip, kNone };
std::string_view compressor_name(Compressor c);  // "zstd", "zlib", "gzip", "none"

struct AdditionalEndpoint {
  std::string url;      // normalised base URL
  std::string api_key;  // secret
};

struct ProxyConfig {
  std::string host;  // empty = no proxy
  std::uint16_t port = 0;
  std::string user, password;  // secrets
  std::vector<std::string> no_proxy;
};

// One part per area of the registry (core/config_variables.def); each is filled by its own
// finalize_<area>() from the rows of that area. No field carries a default of its own: every
// default comes from the row, through finalize_config() (an empty environment gives the
// defaults of a mode).

// Identity for tagging, own behaviour, the listeners every mode has.
struct CommonConfig {
  std::string env, service, version, hostname, source;
  std::vector<std::string> tags;       // DD_TAGS + DD_EXTRA_TAGS
  std::vector<std::string> base_tags;  // env:, service:, version: + tags (serialisation order)
  LogLevel log_level{};
  bool self_metrics{};
  std::int64_t memory_budget_bytes{};
  std::string local_api_host;
  int local_api_port{};
};

// Intakes, encoding and transport (datadog-wire.md §5).
struct ForwardConfig {
  std::string api_key;
  std::string site;
  std::string metrics_url;  // "https://api.datadoghq.com" or the DD_DD_URL/DD_URL override
  std::string logs_url;
  std::string apm_url;
  std::vector<AdditionalEndpoint> additional_metrics_endpoints;
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

// DogStatsD, aggregation, enhanced metrics.
struct MetricsConfig {
  bool use_v2_series{};
  bool sketch_fallback_series{};  // LASTCALL_SKETCH_FALLBACK (v1 series only)
  bool enhanced_metrics{};
  bool proc_enhanced_metrics{};
  std::string dogstatsd_host;
  int dogstatsd_port{};
  std::string dogstatsd_socket;
  int dogstatsd_buffer_size{};
  int dogstatsd_queue_size{};
  int dogstatsd_so_rcvbuf{};     // 0 = OS default
  std::string statsd_namespace;  // with trailing '.' when set
  std::vector<std::string> statsd_namespace_blacklist;
  std::vector<std::string> histogram_aggregates;
  std::vector<double> histogram_percentiles;
  bool histogram_copy_to_distribution{};
  std::string histogram_copy_to_distribution_prefix;
};

// The trace receiver.
struct TracesConfig {
  std::string apm_host;
  int apm_receiver_port{};
};

// The Lambda platform and the extension's own listeners and margins.
struct LambdaConfig {
  bool lmi{};  // extension mode and AWS_LAMBDA_INITIALIZATION_TYPE == lambda-managed-instances
  std::string runtime_api;
  std::string initialization_type;
  std::string region, function_name, function_version;
  int memory_size_mb{};
  std::string task_root;
  std::string flush_strategy;
  std::int64_t shutdown_margin_ms{};
  std::string telemetry_host;
  int telemetry_port{};
};

// Log forwarding (lambda-agent.md §5.1, serverless-init.md §4.1).
struct LogsConfig {
  bool enabled{};
  std::string additional_endpoints_json;  // secret; DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS as given
};

// Wrapper and sidecar modes (serverless-init.md).
struct InitConfig {
  std::int64_t flush_interval_ms{};
};

// The microVM lifecycle server (serverless-init.md §7.3): no variables yet.
struct MicrovmConfig {};

struct FinalConfig {
  Mode mode{};
  CommonConfig common;
  ForwardConfig forward;
  MetricsConfig metrics;
  TracesConfig traces;
  LambdaConfig lambda;
  LogsConfig logs;
  InitConfig init;
  MicrovmConfig microvm;

  // What --check-config prints: every variable, every source that set it in precedence order
  // (default < datadog.yaml < DATADOG_* < DD_*), the winner marked.
  struct Layer {
    ConfigSource source = ConfigSource::kDefault;
    std::string from;     // "default", "datadog.yaml:site", "DATADOG_SITE", "DD_SITE"
    std::string display;  // masked for secrets; "(unset)" for a default that is none
    bool winner = false;
    bool rejected = false;
  };
  struct Entry {
    std::string name;
    Area area = Area::kCommon;
    std::string display;  // the final value, masked for secrets; "(unset)" when nothing applies
    std::string source;  // the winner: default / datadog.yaml:key / env NAME / default (… rejected)
    std::vector<Layer> layers;
    bool read = false;  // read by a finalize_<area>() (every row that is not later work is)
  };
  std::vector<Entry> entries;
  std::vector<std::string> warnings;  // reported once at start
  bool rejected_values = false;       // a value was rejected (--check-config exits 1)

  const Entry* entry(std::string_view name) const;
};

// The one start-up line about a missing API key (lambda-agent.md §8.3), empty when a key is set.
std::string missing_api_key_message(const FinalConfig& config);

// Mode-specific defaults apply (serverless-init.md §8, lambda-agent.md §8.2), each from its row.
// Never fails on a bad value; the Expected is for future hard failures (none today).
Expected<FinalConfig> finalize_config(const RawConfig& raw, Mode mode);

// The defaults of a mode, every one from its row: finalize_config() of an empty environment.
FinalConfig default_config(Mode mode = Mode::kSidecar);

// The sources a mode reads, finalized: the environment, plus $LAMBDA_TASK_ROOT/datadog.yaml
// (default /var/task) in extension mode only (clarifications: wrapper and sidecar read the
// environment alone).
Expected<FinalConfig> load_config(const Environment& env, Mode mode);

// Secrets to register with the logger (API keys, proxy password, additional endpoint keys).
std::vector<std::string> config_secrets(const FinalConfig& config);

// The text --check-config prints.
std::string render_check_config(const FinalConfig& config);

}  // namespace lc
