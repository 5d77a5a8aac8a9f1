#include "core/config_registry.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/strings.h"

extern char** environ;  // NOLINT

namespace lc {
namespace {

using T = VarType;

// Every variable lastcall reads. Mode-dependent defaults are resolved by finalize_config().
constexpr VarSpec kVariables[] = {
    // --- identity and intake ---------------------------------------------------------------
    {"DD_API_KEY", T::kString, "", "api_key", true, false, "Datadog API key; trimmed"},
    {"DD_SITE", T::kString, "datadoghq.com", "site", false, false, "intake site"},
    {"DD_DD_URL", T::kUrl, "", "dd_url", false, false,
     "metrics intake override (wins over DD_URL)"},
    {"DD_URL", T::kUrl, "", "", false, false, "legacy metrics intake override"},
    {"DD_LOGS_CONFIG_LOGS_DD_URL", T::kString, "", "logs_config.logs_dd_url", false, false,
     "logs intake override: host:port or full URL"},
    {"DD_LOGS_CONFIG_LOGS_NO_SSL", T::kBool, "false", "logs_config.logs_no_ssl", false, false,
     "bare host:port logs URL uses http://"},
    {"DD_APM_DD_URL", T::kUrl, "", "apm_config.apm_dd_url", false, false, "trace intake override"},
    {"DD_ADDITIONAL_ENDPOINTS", T::kJson, "", "", true, false,
     "extra metrics intakes, JSON {url:[keys]}"},
    {"DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS", T::kJson, "", "", true, false,
     "extra logs intakes, JSON array"},
    {"DD_USE_V2_API_SERIES", T::kBool, "true", "use_v2_api.series", false, false,
     "series v2 protobuf (true) or v1 JSON (false)"},
    {"DD_SERIALIZER_COMPRESSOR_KIND", T::kEnum, "", "serializer_compressor_kind", false, false,
     "metrics codec: zstd|zlib|gzip|none (default zstd; zlib with v1 series)"},
    {"DD_COMPRESSION_LEVEL", T::kInt, "3", "", false, false, "zstd level for every payload kind"},
    {"DD_METRICS_CONFIG_COMPRESSION_LEVEL", T::kInt, "", "", false, false, "metrics zstd level"},
    {"DD_LOGS_CONFIG_COMPRESSION_LEVEL", T::kInt, "", "", false, false, "logs zstd level"},
    {"DD_APM_CONFIG_COMPRESSION_LEVEL", T::kInt, "", "", false, false, "traces zstd level"},
    {"DD_LOGS_CONFIG_USE_COMPRESSION", T::kBool, "true", "logs_config.use_compression", false,
     false, "compress log payloads"},
    {"LASTCALL_SKETCH_FALLBACK", T::kEnum, "series", "", false, false,
     "with v1 series: distributions as series (series) or dropped (drop)"},
    // --- unified service tagging ---------------------------------------------------------------
    {"DD_ENV", T::kString, "", "env", false, false, "env tag"},
    {"DD_SERVICE", T::kString, "", "service", false, false, "service tag"},
    {"DD_VERSION", T::kString, "", "version", false, false, "version tag"},
    {"DD_TAGS", T::kList, "", "tags", false, false, "extra tags, comma or space separated"},
    {"DD_EXTRA_TAGS", T::kList, "", "extra_tags", false, false, "more extra tags"},
    {"DD_HOSTNAME", T::kString, "", "hostname", false, false,
     "series/log host outside Lambda; 'none' = unset"},
    {"DD_SOURCE", T::kString, "", "", false, false, "log ddsource outside Lambda"},
    // --- own behaviour -------------------------------------------------------------------------
    {"DD_LOG_LEVEL", T::kLevel, "", "log_level", false, false,
     "own log level (default info; warn in wrapper mode)"},
    {"DD_FLUSH_TIMEOUT", T::kInt, "30", "flush_timeout", false, false,
     "per-request HTTP timeout ceiling, seconds"},
    {"DD_SERVERLESS_FLUSH_STRATEGY", T::kString, "default", "serverless_flush_strategy", false,
     false, "Lambda flush strategy (lambda-agent.md §6.1)"},
    {"DD_FLUSH_INTERVAL", T::kDouble, "", "", false, false,
     "periodic flush seconds outside Lambda (3 wrapper, 10 sidecar)"},
    {"DD_ENHANCED_METRICS", T::kBool, "true", "enhanced_metrics", false, false,
     "emit aws.lambda.enhanced.* / platform enhanced metrics"},
    {"DD_ENHANCED_METRICS_ENABLED", T::kBool, "", "", false, false, "alias of DD_ENHANCED_METRICS"},
    {"DD_LAMBDA_PROC_ENHANCED_METRICS", T::kBool, "true", "", false, false,
     "emit the /proc-based enhanced metrics"},
    {"DD_SERVERLESS_LOGS_ENABLED", T::kBool, "", "serverless_logs_enabled", false, false,
     "Lambda log forwarding"},
    {"DD_LOGS_ENABLED", T::kBool, "", "logs_enabled", false, false, "log forwarding"},
    {"LASTCALL_SELF_METRICS", T::kBool, "false", "", false, false,
     "also send lastcall.* self-metrics to the intake"},
    {"LASTCALL_SHUTDOWN_MARGIN_MS", T::kInt, "200", "", false, false,
     "safety margin before deadlineMs"},
    {"LASTCALL_RETRY_QUEUE_BYTES", T::kInt, "16777216", "", false, false,
     "retry queue budget shared by all endpoints"},
    {"LASTCALL_MEMORY_BUDGET_BYTES", T::kInt, "25165824", "", false, false, "total buffered bytes"},
    // --- receivers -----------------------------------------------------------------------------
    {"DD_DOGSTATSD_PORT", T::kInt, "8125", "dogstatsd_port", false, false,
     "DogStatsD UDP port (0 = ephemeral)"},
    {"DD_DOGSTATSD_SOCKET", T::kString, "", "dogstatsd_socket", false, false,
     "DogStatsD unix datagram socket path"},
    {"DD_DOGSTATSD_BUFFER_SIZE", T::kInt, "8192", "dogstatsd_buffer_size", false, false,
     "max datagram size"},
    {"DD_DOGSTATSD_QUEUE_SIZE", T::kInt, "1024", "dogstatsd_queue_size", false, false,
     "datagrams queued between receive and parse"},
    {"DD_DOGSTATSD_SO_RCVBUF", T::kInt, "", "dogstatsd_so_rcvbuf", false, false,
     "UDP receive buffer bytes (OS default when unset)"},
    {"DD_DOGSTATSD_NON_LOCAL_TRAFFIC", T::kBool, "", "dogstatsd_non_local_traffic", false, false,
     "bind DogStatsD on 0.0.0.0 (default: true in Lambda and sidecar, false in wrapper)"},
    {"DD_APM_NON_LOCAL_TRAFFIC", T::kBool, "", "apm_config.apm_non_local_traffic", false, false,
     "bind the trace receiver on 0.0.0.0"},
    {"DD_STATSD_METRIC_NAMESPACE", T::kString, "", "statsd_metric_namespace", false, false,
     "prefix for custom metric names"},
    {"DD_STATSD_METRIC_NAMESPACE_BLACKLIST", T::kList, "", "statsd_metric_namespace_blacklist",
     false, false, "name prefixes never namespaced (Agent list by default)"},
    {"DD_HISTOGRAM_AGGREGATES", T::kList, "max,median,avg,count", "histogram_aggregates", false,
     false, "histogram aggregates: max,median,avg,count,min,sum"},
    {"DD_HISTOGRAM_PERCENTILES", T::kList, "0.95", "histogram_percentiles", false, false,
     "histogram percentiles, 0 < p < 1"},
    {"DD_HISTOGRAM_COPY_TO_DISTRIBUTION", T::kBool, "false", "histogram_copy_to_distribution",
     false, false, "also insert h/ms samples into a distribution"},
    {"DD_HISTOGRAM_COPY_TO_DISTRIBUTION_PREFIX", T::kString, "",
     "histogram_copy_to_distribution_prefix", false, false, "name prefix of that distribution"},
    {"DD_APM_RECEIVER_PORT", T::kInt, "8126", "apm_config.receiver_port", false, false,
     "trace receiver port (0 = ephemeral)"},
    {"LASTCALL_LOCAL_API_PORT", T::kInt, "8124", "", false, false,
     "local API port (0 = ephemeral)"},
    {"LASTCALL_TELEMETRY_PORT", T::kInt, "8999", "", false, false,
     "telemetry listener port (0 = ephemeral)"},
    {"LASTCALL_BIND_HOST", T::kString, "", "", false, false,
     "overrides every listener's bind address"},
    // --- network -------------------------------------------------------------------------------
    {"DD_PROXY_HTTPS", T::kString, "", "proxy.https", true, false,
     "HTTPS proxy for intake traffic, http://[user:pass@]host:port"},
    {"HTTPS_PROXY", T::kString, "", "", true, false, "used when DD_PROXY_HTTPS is unset"},
    {"https_proxy", T::kString, "", "", true, false, "used when HTTPS_PROXY is unset"},
    {"DD_PROXY_NO_PROXY", T::kList, "", "proxy.no_proxy", false, false,
     "hosts that bypass the proxy"},
    {"NO_PROXY", T::kList, "", "", false, false, "hosts that bypass the proxy"},
    {"no_proxy", T::kList, "", "", false, false, "hosts that bypass the proxy"},
    {"DD_SKIP_SSL_VALIDATION", T::kBool, "false", "skip_ssl_validation", false, false,
     "disable certificate checks"},
    {"DD_TLS_CERT_FILE", T::kString, "", "", false, false, "CA bundle to trust"},
    // --- platform ------------------------------------------------------------------------------
    {"AWS_LAMBDA_RUNTIME_API", T::kString, "", "", false, false, "Lambda Runtime API host:port"},
    {"AWS_LAMBDA_INITIALIZATION_TYPE", T::kString, "", "", false, false,
     "on-demand, provisioned-concurrency, snap-start, lambda-managed-instances"},
    {"AWS_REGION", T::kString, "", "", false, false, "Lambda region"},
    {"AWS_LAMBDA_FUNCTION_NAME", T::kString, "", "", false, false, "function name"},
    {"AWS_LAMBDA_FUNCTION_VERSION", T::kString, "", "", false, false, "function version"},
    {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", T::kInt, "", "", false, false, "memory size MB"},
    {"LAMBDA_TASK_ROOT", T::kString, "/var/task", "", false, false, "folder holding datadog.yaml"},
    // --- recognised, later work ----------------------------------------------------------------
    {"DD_KMS_API_KEY", T::kString, "", "kms_api_key", true, true, "KMS-encrypted API key"},
    {"DD_API_KEY_SECRET_ARN", T::kString, "", "", false, true, "API key in Secrets Manager"},
    {"DD_API_KEY_SSM_ARN", T::kString, "", "", false, true, "API key in SSM"},
    {"DD_APM_ADDITIONAL_ENDPOINTS", T::kJson, "", "", true, true, "extra trace intakes"},
    {"DD_SERVERLESS_APPSEC_ENABLED", T::kBool, "", "", false, true, "App and API Protection"},
    {"DD_LAMBDA_FIPS_MODE", T::kBool, "", "", false, true, "FIPS endpoints"},
    {"DD_HTTP_PROTOCOL", T::kString, "", "", false, true, "HTTP protocol to intakes"},
};

std::optional<std::string> yaml_to_env_key_value(const std::map<std::string, std::string>& yaml,
                                                 std::string_view key) {
  auto it = yaml.find(std::string(key));
  if (it == yaml.end()) return std::nullopt;
  return it->second;
}

void flatten_node(const YAML::Node& node, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      flatten_node(kv.second, prefix.empty() ? key : std::string(prefix).append(".").append(key),
                   out);
    }
  } else if (node.IsSequence()) {
    std::string joined;
    bool scalars = true;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        scalars = false;
        break;
      }
      if (!joined.empty()) joined.push_back(',');
      joined += item.as<std::string>();
    }
    if (scalars) {
      out[prefix] = joined;
    } else {
      YAML::Emitter emitter;
      emitter << YAML::DoubleQuoted << YAML::Flow << YAML::BeginSeq;
      for (const auto& item : node) emitter << item;
      emitter << YAML::EndSeq;
      out[prefix] = emitter.c_str();
    }
  } else if (node.IsScalar()) {
    out[prefix] = node.as<std::string>();
  }
}

}  // namespace

std::span<const VarSpec> all_variables() { return kVariables; }

const VarSpec* find_variable(std::string_view name) {
  for (const auto& v : kVariables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> ProcessEnvironment::get(std::string_view name) const {
  const std::string key(name);
  const char* value = std::getenv(key.c_str());  // the only getenv in lastcall
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::vector<std::pair<std::string, std::string>> ProcessEnvironment::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> MapEnvironment::get(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, std::string>> MapEnvironment::all() const {
  return {vars_.begin(), vars_.end()};
}

std::string_view config_source_name(ConfigSource source) {
  switch (source) {
    case ConfigSource::kDefault:
      return "default";
    case ConfigSource::kYaml:
      return "datadog.yaml";
    case ConfigSource::kEnvDatadog:
    case ConfigSource::kEnvDd:
    case ConfigSource::kEnv:
      return "env";
  }
  return "default";
}

Expected<std::map<std::string, std::string>> flatten_yaml(std::string_view text) {
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    std::map<std::string, std::string> out;
    if (root.IsNull()) return out;
    if (!root.IsMap()) {
      return make_error(ErrorCode::kInvalidArgument, "top level is not a mapping");
    }
    flatten_node(root, "", out);
    return out;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, e.what());
  }
}

RawConfig load_raw_config(const Environment& env, std::optional<std::string> yaml_path) {
  RawConfig raw;
  std::map<std::string, std::string> yaml;
  if (yaml_path) {
    std::ifstream in(*yaml_path);
    if (in) {
      std::stringstream buf;
      buf << in.rdbuf();
      auto parsed = flatten_yaml(buf.str());
      if (parsed) {
        yaml = std::move(*parsed);
      } else {
        raw.problems.push_back("config: " + *yaml_path + " is not valid YAML (" +
                               parsed.error().message + "); ignoring it");
      }
    }
  }
  for (const auto& spec : kVariables) {
    const std::string name(spec.name);
    if (auto v = env.get(name)) {
      raw.values[name] =
          RawValue{*v, starts_with(name, "DD_") ? ConfigSource::kEnvDd : ConfigSource::kEnv, name};
      continue;
    }
    if (starts_with(name, "DD_")) {
      const std::string alt = "DATADOG_" + name.substr(3);
      if (auto v = env.get(alt)) {
        raw.values[name] = RawValue{*v, ConfigSource::kEnvDatadog, alt};
        continue;
      }
    }
    if (!spec.yaml_key.empty()) {
      if (auto v = yaml_to_env_key_value(yaml, spec.yaml_key)) {
        raw.values[name] =
            RawValue{*v, ConfigSource::kYaml, "datadog.yaml:" + std::string(spec.yaml_key)};
      }
    }
  }
  return raw;
}

}  // namespace lc
