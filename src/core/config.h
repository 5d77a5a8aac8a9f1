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

enum class Mode { kExtension, kWrapper, kSidecar };
std::string_view mode_name(Mode mode);

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

struct FinalConfig {
  Mode mode = Mode::kSidecar;
  bool lmi = false;  // AWS_LAMBDA_INITIALIZATION_TYPE == lambda-managed-instances

  // identity and intakes (datadog-wire.md §5)
  std::string api_key;
  std::string site = "datadoghq.com";
  std::string metrics_url;  // "https://api.datadoghq.com" or the DD_DD_URL/DD_URL override
  std::string logs_url;
  std::string apm_url;
  std::vector<AdditionalEndpoint> additional_metrics_endpoints;
  bool use_v2_series = true;
  Compressor metrics_compressor = Compressor::kZstd;
  int metrics_compression_level = 3;
  int logs_compression_level = 3;
  int apm_compression_level = 3;
  bool logs_use_compression = true;
  bool sketch_fallback_series = true;  // LASTCALL_SKETCH_FALLBACK (v1 series only)

  // tagging
  std::string env, service, version, hostname, source;
  std::vector<std::string> tags;       // DD_TAGS + DD_EXTRA_TAGS
  std::vector<std::string> base_tags;  // env:, service:, version: + tags (serialisation order)

  // own behaviour
  LogLevel log_level = LogLevel::kInfo;
  int flush_timeout_s = 30;
  std::string flush_strategy = "default";
  std::int64_t flush_interval_ms = 10000;
  bool enhanced_metrics = true;
  bool self_metrics = false;
  std::int64_t shutdown_margin_ms = 200;
  std::int64_t retry_queue_bytes = 16 * 1024 * 1024;
  std::int64_t memory_budget_bytes = 24 * 1024 * 1024;

  // receivers
  std::string dogstatsd_host = "0.0.0.0";
  int dogstatsd_port = 8125;
  std::string dogstatsd_socket;
  int dogstatsd_buffer_size = 8192;
  int dogstatsd_queue_size = 1024;
  int dogstatsd_so_rcvbuf = 0;   // 0 = OS default
  std::string statsd_namespace;  // with trailing '.' when set
  std::vector<std::string> statsd_namespace_blacklist;
  std::vector<std::string> histogram_aggregates;
  std::vector<double> histogram_percentiles;
  bool histogram_copy_to_distribution = false;
  std::string histogram_copy_to_distribution_prefix;
  std::string local_api_host = "127.0.0.1";
  int local_api_port = 8124;
  std::string telemetry_host = "0.0.0.0";
  int telemetry_port = 8999;
  std::string apm_host = "127.0.0.1";
  int apm_receiver_port = 8126;

  // network
  ProxyConfig proxy;
  bool skip_ssl_validation = false;
  std::string tls_cert_file;

  // platform (Lambda)
  std::string runtime_api;
  std::string initialization_type;
  std::string region, function_name, function_version;
  int memory_size_mb = 0;

  // What --check-config prints: every variable with its final display value and source.
  struct Entry {
    std::string name;
    std::string display;  // masked for secrets; "(unset)" when nothing applies
    std::string source;   // default / datadog.yaml / env (NAME)
  };
  std::vector<Entry> entries;
  std::vector<std::string> warnings;  // reported once at start
  bool rejected_values = false;       // a value was rejected (--check-config exits 1)
};

// The one start-up line about a missing API key (lambda-agent.md §8.3), empty when a key is set.
std::string missing_api_key_message(const FinalConfig& config);

// Mode-specific defaults apply (serverless-init.md §8, lambda-agent.md §8.2). Never fails on a bad
// value; the Expected is for future hard failures (none today).
Expected<FinalConfig> finalize_config(const RawConfig& raw, Mode mode);

// The sources a mode reads, finalized: the environment, plus $LAMBDA_TASK_ROOT/datadog.yaml
// (default /var/task) in extension mode only (clarifications: wrapper and sidecar read the
// environment alone).
Expected<FinalConfig> load_config(const Environment& env, Mode mode);

// Secrets to register with the logger (API keys, proxy password, additional endpoint keys).
std::vector<std::string> config_secrets(const FinalConfig& config);

// The text --check-config prints.
std::string render_check_config(const FinalConfig& config);

}  // namespace lc
