#include "core/config.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/strings.h"
#include "core/tags.h"

namespace lc {
namespace {

constexpr const char* kKnownSites[] = {
    "datadoghq.com",     "us3.datadoghq.com", "us5.datadoghq.com",
    "datadoghq.eu",      "ap1.datadoghq.com", "ap2.datadoghq.com",
    "uk1.datadoghq.com", "ddog-gov.com",      "us2.ddog-gov.com"};

constexpr const char* kNamespaceBlacklist[] = {"datadog.agent",
                                               "datadog.dogstatsd",
                                               "datadog.process",
                                               "datadog.trace_agent",
                                               "datadog.tracer",
                                               "activemq",
                                               "activemq_58",
                                               "airflow",
                                               "cassandra",
                                               "confluent",
                                               "hazelcast",
                                               "hive",
                                               "ignite",
                                               "jboss",
                                               "jvm",
                                               "kafka",
                                               "presto",
                                               "sidekiq",
                                               "solr",
                                               "tomcat",
                                               "runtime"};

// Walks the registry, turning raw text into typed values and recording source and warnings.
class Finalizer {
 public:
  Finalizer(const RawConfig& raw, FinalConfig& out) : raw_(raw), out_(out) {}

  // The raw value (trimmed) if set and non-empty.
  std::optional<std::string> text(std::string_view name) {
    const RawValue* v = raw_.find(name);
    if (v == nullptr) return std::nullopt;
    std::string t(trim(v->value));
    if (t.empty()) return std::nullopt;
    return t;
  }

  std::string str(std::string_view name, const std::string& fallback = {}) {
    auto t = text(name);
    record(name, t ? *t : fallback, t.has_value());
    return t ? *t : fallback;
  }

  bool boolean(std::string_view name, bool fallback) {
    auto t = text(name);
    if (t) {
      if (auto b = parse_bool(*t)) {
        record(name, *b ? "true" : "false", true);
        return *b;
      }
      bad(name, *t, "expected true/false/1/0/yes/no/on/off", fallback ? "true" : "false");
    }
    record(name, fallback ? "true" : "false", false);
    return fallback;
  }

  std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) {
    auto t = text(name);
    if (t) {
      auto v = parse_int(*t);
      if (v && *v >= lo && *v <= hi) {
        record(name, std::to_string(*v), true);
        return *v;
      }
      bad(name, *t, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi),
          std::to_string(fallback));
    }
    record(name, std::to_string(fallback), false);
    return fallback;
  }

  double number(std::string_view name, double fallback, double lo_exclusive) {
    auto t = text(name);
    if (t) {
      auto v = parse_double(*t);
      if (v && *v > lo_exclusive) {
        record(name, *t, true);
        return *v;
      }
      bad(name, *t, "expected a number greater than " + fmt::format("{}", lo_exclusive),
          fmt::format("{}", fallback));
    }
    record(name, fmt::format("{}", fallback), false);
    return fallback;
  }

  void bad(std::string_view name, std::string_view value, std::string_view why,
           std::string_view fallback) {
    const VarSpec* spec = find_variable(name);
    const std::string shown = spec && spec->secret ? mask_secret(value) : std::string(value);
    out_.warnings.push_back(fmt::format("config: {}=\"{}\" is invalid ({}); using default {}",
                                        from(name), shown, why,
                                        fallback.empty() ? "(unset)" : std::string(fallback)));
    invalid_.insert(std::string(name));
    out_.rejected_values = true;
  }

  void record(std::string_view name, std::string display, bool from_raw) {
    if (recorded_.count(std::string(name))) return;
    recorded_.insert(std::string(name));
    const VarSpec* spec = find_variable(name);
    const RawValue* v = raw_.find(name);
    std::string source = "default";
    if (from_raw && v && !invalid_.count(std::string(name))) {
      source = v->source == ConfigSource::kYaml ? v->from : "env " + v->from;
    } else if (v && invalid_.count(std::string(name))) {
      source = "default (" + v->from + " rejected)";
    }
    if (spec && spec->secret && !display.empty()) display = mask_secret(display);
    out_.entries.push_back({std::string(name), display.empty() ? "(unset)" : display, source});
  }

  std::string from(std::string_view name) {
    const RawValue* v = raw_.find(name);
    return v ? v->from : std::string(name);
  }

  void finish() {
    // Every registry variable appears in --check-config, even those no component reads yet.
    for (const auto& spec : all_variables()) {
      if (recorded_.count(std::string(spec.name))) continue;
      auto t = text(spec.name);
      if (t && spec.later_work) {
        out_.warnings.push_back(
            fmt::format("config: {} is set but not supported yet; it is ignored", from(spec.name)));
      }
      record(spec.name, t ? *t : std::string(spec.default_value), t.has_value());
    }
    std::sort(out_.entries.begin(), out_.entries.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }

 private:
  const RawConfig& raw_;
  FinalConfig& out_;
  std::set<std::string> recorded_;
  std::set<std::string> invalid_;
};

// "http://h:1/p/" → "http://h:1/p"; a value without scheme is rejected.
std::optional<std::string> normalise_url(std::string_view url) {
  std::string u(trim(url));
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (!starts_with(u, "http://") && !starts_with(u, "https://")) return std::nullopt;
  if (u.size() <= std::string_view("https://").size()) return std::nullopt;
  return u;
}

std::optional<ProxyConfig> parse_proxy_url(std::string_view url) {
  std::string_view u = trim(url);
  if (!starts_with(u, "http://")) return std::nullopt;
  u.remove_prefix(7);
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  ProxyConfig p;
  if (const size_t at = u.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = u.substr(0, at);
    const size_t colon = cred.find(':');
    p.user = std::string(cred.substr(0, colon));
    if (colon != std::string_view::npos) p.password = std::string(cred.substr(colon + 1));
    u.remove_prefix(at + 1);
  }
  const size_t colon = u.rfind(':');
  if (colon == std::string_view::npos) {
    p.host = std::string(u);
    p.port = 80;
  } else {
    p.host = std::string(u.substr(0, colon));
    auto port = parse_int(u.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535) return std::nullopt;
    p.port = static_cast<std::uint16_t>(*port);
  }
  if (p.host.empty() || p.host.find('/') != std::string::npos) return std::nullopt;
  return p;
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kExtension:
      return "extension";
    case Mode::kWrapper:
      return "wrapper";
    case Mode::kSidecar:
      return "sidecar";
  }
  return "sidecar";
}

std::string_view compressor_name(Compressor c) {
  switch (c) {
    case Compressor::kZstd:
      return "zstd";
    case Compressor::kZlib:
      return "zlib";
    case Compressor::kGzip:
      return "gzip";
    case Compressor::kNone:
      return "none";
  }
  return "none";
}

Expected<FinalConfig> finalize_config(const RawConfig& raw, Mode mode) {
  FinalConfig c;
  c.mode = mode;
  c.warnings = raw.problems;
  c.rejected_values = !raw.problems.empty();  // an unreadable datadog.yaml counts as rejected
  Finalizer f(raw, c);

  // --- platform
  c.runtime_api = f.str("AWS_LAMBDA_RUNTIME_API");
  c.initialization_type = f.str("AWS_LAMBDA_INITIALIZATION_TYPE");
  c.lmi = mode == Mode::kExtension && c.initialization_type == "lambda-managed-instances";
  c.region = f.str("AWS_REGION");
  c.function_name = f.str("AWS_LAMBDA_FUNCTION_NAME");
  c.function_version = f.str("AWS_LAMBDA_FUNCTION_VERSION");
  c.memory_size_mb = static_cast<int>(f.integer("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 0, 1 << 20));

  // --- own log level first, so later warnings can be judged against it
  {
    const LogLevel fallback = mode == Mode::kWrapper ? LogLevel::kWarn : LogLevel::kInfo;
    c.log_level = fallback;
    if (auto t = f.text("DD_LOG_LEVEL")) {
      if (auto lvl = parse_log_level(*t)) {
        c.log_level = *lvl;
      } else {
        f.bad("DD_LOG_LEVEL", *t, lvl.error().message, to_lower(log_level_name(fallback)));
      }
    }
    f.record("DD_LOG_LEVEL", to_lower(log_level_name(c.log_level)),
             f.text("DD_LOG_LEVEL").has_value());
  }

  // --- identity and intakes
  c.api_key = f.str("DD_API_KEY");
  c.site = to_lower(f.str("DD_SITE", "datadoghq.com"));
  if (std::find(std::begin(kKnownSites), std::end(kKnownSites), c.site) == std::end(kKnownSites)) {
    c.warnings.push_back(
        fmt::format("config: DD_SITE=\"{}\" is not a known Datadog site; using it anyway", c.site));
  }
  c.metrics_url = "https://api." + c.site;
  c.logs_url = "https://http-intake.logs." + c.site;
  c.apm_url = "https://trace.agent." + c.site;
  for (const char* name : {"DD_URL", "DD_DD_URL"}) {  // DD_DD_URL wins: applied last
    if (auto t = f.text(name)) {
      if (auto u = normalise_url(*t)) {
        c.metrics_url = *u;
        f.record(name, *u, true);
      } else {
        f.bad(name, *t, "expected scheme://host[:port][/prefix]", c.metrics_url);
      }
    }
  }
  const bool logs_no_ssl = f.boolean("DD_LOGS_CONFIG_LOGS_NO_SSL", false);
  if (auto t = f.text("DD_LOGS_CONFIG_LOGS_DD_URL")) {
    if (t->find("://") != std::string::npos) {
      if (auto u = normalise_url(*t)) {
        c.logs_url = *u;
      } else {
        f.bad("DD_LOGS_CONFIG_LOGS_DD_URL", *t, "expected host:port or a full URL", c.logs_url);
      }
    } else {
      c.logs_url = (logs_no_ssl ? "http://" : "https://") + *t;
    }
  }
  f.record("DD_LOGS_CONFIG_LOGS_DD_URL", c.logs_url,
           f.text("DD_LOGS_CONFIG_LOGS_DD_URL").has_value());
  if (auto t = f.text("DD_APM_DD_URL")) {
    if (auto u = normalise_url(*t)) {
      c.apm_url = *u;
    } else {
      f.bad("DD_APM_DD_URL", *t, "expected scheme://host[:port][/prefix]", c.apm_url);
    }
  }
  f.record("DD_APM_DD_URL", c.apm_url, f.text("DD_APM_DD_URL").has_value());

  if (auto t = f.text("DD_ADDITIONAL_ENDPOINTS")) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*t, ec);
    bool ok = !ec && v.is_object();
    if (ok) {
      for (const auto& [url, keys] : v.as_object()) {
        auto u = normalise_url(std::string_view(url.data(), url.size()));
        if (!u || !keys.is_array()) {
          ok = false;
          break;
        }
        for (const auto& key : keys.as_array()) {
          if (!key.is_string()) {
            ok = false;
            break;
          }
          c.additional_metrics_endpoints.push_back({*u, std::string(trim(key.as_string()))});
        }
      }
    }
    if (!ok) {
      c.additional_metrics_endpoints.clear();
      f.bad("DD_ADDITIONAL_ENDPOINTS", *t, "expected JSON {\"https://url\":[\"key\",...]}", "");
    } else {
      std::string shown;
      for (const auto& e : c.additional_metrics_endpoints) {
        shown += (shown.empty() ? "" : " ") + e.url + "=" + mask_secret(e.api_key);
      }
      f.record("DD_ADDITIONAL_ENDPOINTS", shown, true);
    }
  }

  c.use_v2_series = f.boolean("DD_USE_V2_API_SERIES", true);
  {
    const Compressor fallback = c.use_v2_series ? Compressor::kZstd : Compressor::kZlib;
    c.metrics_compressor = fallback;
    if (auto t = f.text("DD_SERIALIZER_COMPRESSOR_KIND")) {
      const std::string k = to_lower(*t);
      if (k == "zstd")
        c.metrics_compressor = Compressor::kZstd;
      else if (k == "zlib" || k == "deflate")
        c.metrics_compressor = Compressor::kZlib;
      else if (k == "gzip")
        c.metrics_compressor = Compressor::kGzip;
      else if (k == "none")
        c.metrics_compressor = Compressor::kNone;
      else
        f.bad("DD_SERIALIZER_COMPRESSOR_KIND", *t, "expected zstd, zlib, gzip or none",
              std::string(compressor_name(fallback)));
    }
    f.record("DD_SERIALIZER_COMPRESSOR_KIND", std::string(compressor_name(c.metrics_compressor)),
             f.text("DD_SERIALIZER_COMPRESSOR_KIND").has_value());
  }
  const int level = static_cast<int>(f.integer("DD_COMPRESSION_LEVEL", 3, 1, 22));
  c.metrics_compression_level =
      static_cast<int>(f.integer("DD_METRICS_CONFIG_COMPRESSION_LEVEL", level, 1, 22));
  c.logs_compression_level =
      static_cast<int>(f.integer("DD_LOGS_CONFIG_COMPRESSION_LEVEL", level, 1, 22));
  c.apm_compression_level =
      static_cast<int>(f.integer("DD_APM_CONFIG_COMPRESSION_LEVEL", level, 1, 22));
  c.logs_use_compression = f.boolean("DD_LOGS_CONFIG_USE_COMPRESSION", true);
  {
    const std::string fb = f.str("LASTCALL_SKETCH_FALLBACK", "series");
    if (fb == "series" || fb == "drop") {
      c.sketch_fallback_series = fb == "series";
    } else {
      c.rejected_values = true;
      c.warnings.push_back(
          fmt::format("config: LASTCALL_SKETCH_FALLBACK=\"{}\" is invalid (expected series or "
                      "drop); using default series",
                      fb));
    }
  }

  // --- tagging
  c.env = f.str("DD_ENV");
  c.service = f.str("DD_SERVICE");
  c.version = f.str("DD_VERSION");
  c.hostname = f.str("DD_HOSTNAME");
  if (c.hostname == "none") c.hostname.clear();
  c.source = f.str("DD_SOURCE");
  c.tags = parse_tag_list(f.str("DD_TAGS"));
  append_unique(c.tags, parse_tag_list(f.str("DD_EXTRA_TAGS")));
  if (!c.env.empty()) c.base_tags.push_back("env:" + to_lower(c.env));
  if (!c.service.empty()) c.base_tags.push_back("service:" + to_lower(c.service));
  if (!c.version.empty()) c.base_tags.push_back("version:" + c.version);
  append_unique(c.base_tags, c.tags);

  // --- own behaviour
  c.flush_timeout_s = static_cast<int>(f.integer("DD_FLUSH_TIMEOUT", 30, 1, 3600));
  c.flush_strategy = f.str("DD_SERVERLESS_FLUSH_STRATEGY", "default");
  c.flush_interval_ms = static_cast<std::int64_t>(
      std::llround(f.number("DD_FLUSH_INTERVAL", mode == Mode::kWrapper ? 3.0 : 10.0, 0.0) * 1000));
  if (c.flush_interval_ms < 1) c.flush_interval_ms = 1;
  {
    const bool alias = f.boolean("DD_ENHANCED_METRICS_ENABLED", true);
    c.enhanced_metrics = f.boolean("DD_ENHANCED_METRICS", alias);
  }
  c.self_metrics = f.boolean("LASTCALL_SELF_METRICS", false);
  c.shutdown_margin_ms = f.integer("LASTCALL_SHUTDOWN_MARGIN_MS", 200, 0, 60000);
  c.retry_queue_bytes = f.integer("LASTCALL_RETRY_QUEUE_BYTES", 16 << 20, 0, std::int64_t{1} << 34);
  c.memory_budget_bytes =
      f.integer("LASTCALL_MEMORY_BUDGET_BYTES", 24 << 20, 1 << 20, std::int64_t{1} << 34);

  // --- receivers
  const std::string bind_host = f.str("LASTCALL_BIND_HOST");
  const bool dsd_non_local = f.boolean("DD_DOGSTATSD_NON_LOCAL_TRAFFIC", mode != Mode::kWrapper) ||
                             mode == Mode::kExtension;
  c.dogstatsd_host = !bind_host.empty() ? bind_host : (dsd_non_local ? "0.0.0.0" : "127.0.0.1");
  const bool apm_non_local = f.boolean("DD_APM_NON_LOCAL_TRAFFIC", mode == Mode::kSidecar);
  c.apm_host = !bind_host.empty() ? bind_host : (apm_non_local ? "0.0.0.0" : "127.0.0.1");
  c.local_api_host = !bind_host.empty() ? bind_host : "127.0.0.1";
  c.telemetry_host = !bind_host.empty() ? bind_host : "0.0.0.0";
  c.dogstatsd_port = static_cast<int>(f.integer("DD_DOGSTATSD_PORT", 8125, 0, 65535));
  c.dogstatsd_socket = f.str("DD_DOGSTATSD_SOCKET");
  c.dogstatsd_buffer_size =
      static_cast<int>(f.integer("DD_DOGSTATSD_BUFFER_SIZE", 8192, 512, 1 << 20));
  c.dogstatsd_queue_size = static_cast<int>(f.integer("DD_DOGSTATSD_QUEUE_SIZE", 1024, 1, 1 << 20));
  c.dogstatsd_so_rcvbuf = static_cast<int>(f.integer("DD_DOGSTATSD_SO_RCVBUF", 0, 0, 1 << 30));
  c.statsd_namespace = f.str("DD_STATSD_METRIC_NAMESPACE");
  if (!c.statsd_namespace.empty() && c.statsd_namespace.back() != '.') c.statsd_namespace += '.';
  if (auto t = f.text("DD_STATSD_METRIC_NAMESPACE_BLACKLIST")) {
    c.statsd_namespace_blacklist = parse_tag_list(*t);
    f.record("DD_STATSD_METRIC_NAMESPACE_BLACKLIST", *t, true);
  } else {
    c.statsd_namespace_blacklist.assign(std::begin(kNamespaceBlacklist),
                                        std::end(kNamespaceBlacklist));
  }
  {
    static constexpr const char* kAggregates[] = {"max", "median", "avg", "count", "min", "sum"};
    const std::string text = f.str("DD_HISTOGRAM_AGGREGATES", "max,median,avg,count");
    for (auto piece : parse_tag_list(text)) {
      if (std::find(std::begin(kAggregates), std::end(kAggregates), piece) ==
          std::end(kAggregates)) {
        c.rejected_values = true;
        c.warnings.push_back(fmt::format(
            "config: DD_HISTOGRAM_AGGREGATES entry \"{}\" is invalid (expected max, median, avg, "
            "count, min or sum); skipping it",
            piece));
        continue;
      }
      c.histogram_aggregates.push_back(piece);
    }
    const std::string pct = f.str("DD_HISTOGRAM_PERCENTILES", "0.95");
    for (auto piece : parse_tag_list(pct)) {
      auto p = parse_double(piece);
      if (!p || *p <= 0 || *p >= 1) {
        c.rejected_values = true;
        c.warnings.push_back(fmt::format(
            "config: DD_HISTOGRAM_PERCENTILES entry \"{}\" is invalid (expected 0 < p < 1); "
            "skipping it",
            piece));
        continue;
      }
      c.histogram_percentiles.push_back(std::round(*p * 100) / 100);
    }
  }
  c.histogram_copy_to_distribution = f.boolean("DD_HISTOGRAM_COPY_TO_DISTRIBUTION", false);
  c.histogram_copy_to_distribution_prefix = f.str("DD_HISTOGRAM_COPY_TO_DISTRIBUTION_PREFIX");
  c.apm_receiver_port = static_cast<int>(f.integer("DD_APM_RECEIVER_PORT", 8126, 0, 65535));
  c.local_api_port = static_cast<int>(f.integer("LASTCALL_LOCAL_API_PORT", 8124, 0, 65535));
  c.telemetry_port = static_cast<int>(f.integer("LASTCALL_TELEMETRY_PORT", 8999, 0, 65535));

  // --- network
  {
    std::string name = "DD_PROXY_HTTPS";
    std::optional<std::string> url = f.text(name);
    for (const char* alt : {"HTTPS_PROXY", "https_proxy"}) {
      if (!url) {
        name = alt;
        url = f.text(alt);
      }
    }
    if (url) {
      if (auto p = parse_proxy_url(*url)) {
        c.proxy = *p;
        f.record(name, *url, true);
      } else {
        // A proxy URL that does not parse: reported once, traffic goes direct (lambda-agent.md
        // §8.4).
        f.bad(name, *url, "expected http://[user:pass@]host:port; intake traffic goes direct", "");
      }
    }
    std::vector<std::string> no_proxy;
    for (const char* np : {"DD_PROXY_NO_PROXY", "NO_PROXY", "no_proxy"}) {
      if (auto t = f.text(np)) {
        no_proxy = parse_tag_list(*t);
        f.record(np, *t, true);
        break;
      }
    }
    c.proxy.no_proxy = std::move(no_proxy);
  }
  c.skip_ssl_validation = f.boolean("DD_SKIP_SSL_VALIDATION", false);
  if (c.skip_ssl_validation) {
    c.warnings.push_back(
        "config: DD_SKIP_SSL_VALIDATION=true: intake certificates are not checked");
  }
  c.tls_cert_file = f.str("DD_TLS_CERT_FILE");

  f.finish();
  return c;
}

Expected<FinalConfig> load_config(const Environment& env, Mode mode) {
  std::optional<std::string> yaml;
  if (mode == Mode::kExtension) {
    yaml = env.get("LAMBDA_TASK_ROOT").value_or("/var/task") + "/datadog.yaml";
  }
  return finalize_config(load_raw_config(env, std::move(yaml)), mode);
}

std::string missing_api_key_message(const FinalConfig& config) {
  if (!config.api_key.empty()) return {};
  return "no API key: DD_API_KEY is not set; telemetry will not be sent (it is counted and "
         "dropped)";
}

std::vector<std::string> config_secrets(const FinalConfig& config) {
  std::vector<std::string> out;
  if (!config.api_key.empty()) out.push_back(config.api_key);
  if (!config.proxy.password.empty()) out.push_back(config.proxy.password);
  for (const auto& e : config.additional_metrics_endpoints) out.push_back(e.api_key);
  return out;
}

std::string render_check_config(const FinalConfig& config) {
  std::string out = fmt::format("mode: {}{}\n", mode_name(config.mode), config.lmi ? " (lmi)" : "");
  out += fmt::format("intake: metrics={} logs={} traces={}\n", config.metrics_url, config.logs_url,
                     config.apm_url);
  size_t width = 0;
  for (const auto& e : config.entries) width = std::max(width, e.name.size());
  for (const auto& e : config.entries) {
    out += fmt::format("{:<{}} = {}  [{}]\n", e.name, width, e.display, e.source);
  }
  for (const auto& w : config.warnings) out += "warning: " + w + "\n";
  if (const std::string m = missing_api_key_message(config); !m.empty())
    out += "warning: " + m + "\n";
  return out;
}

}  // namespace lc
