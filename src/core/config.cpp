#include "core/config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "core/json.h"
#include "core/strings.h"
#include "core/tags.h"

namespace lc {
namespace {

constexpr const char* kKnownSites[] = {
    "datadoghq.com",     "us3.datadoghq.com", "us5.datadoghq.com",
    "datadoghq.eu",      "ap1.datadoghq.com", "ap2.datadoghq.com",
    "uk1.datadoghq.com", "ddog-gov.com",      "us2.ddog-gov.com"};

template <VarType T>
using Handle = Var<LastcallVars, T>;

constexpr std::size_t kRowCount = std::size(LastcallVars::kRows);

// The rows some other row takes its default from (default_from): only their final text is kept
// when the sources are not recorded.
constexpr auto kIsDefaultSource = [] {
  std::array<bool, kRowCount> out{};
  for (const auto& row : LastcallVars::kRows) {
    if (row.default_from.empty()) continue;
    for (std::size_t i = 0; i < kRowCount; ++i) {
      if (LastcallVars::kRows[i].name == row.default_from) out[i] = true;
    }
  }
  return out;
}();

// Reads the registry through typed handles, turning raw text into typed values and recording, per
// variable, the value used and every source that set it. Every default comes from the row.
class Finalizer {
 public:
  Finalizer(const RawConfig& raw, Mode mode, ConfigDetail detail, FinalConfig& out)
      : raw_(raw),
        mode_(mode),
        sources_(detail == ConfigDetail::kSources),
        out_(out),
        state_(kRowCount) {
    // The winning source of each row, found once (the raw values are few; the rows are many).
    for (const auto& [name, layers] : raw.values) {
      const VarSpec* spec = find_variable(name);
      if (spec == nullptr || layers.empty()) continue;
      state_[static_cast<std::size_t>(spec - all_variables().data())].raw = &layers.back();
    }
  }

  Mode mode() const { return mode_; }

  // The typed value: the winning source's when it parses, else the row's default for this mode
  // (a rejected value is reported once, naming the variable and the default used). The default
  // is parsed only when it is used: a set value that parses needs none.
  template <VarType T>
  typename VarValue<T>::type get(Handle<T> v) {
    const VarSpec& spec = v.spec();
    const std::optional<std::string> t = text(v);
    std::string why;
    if (t) {
      if (auto value = parse_var_value<T>(spec, *t, &why)) {
        // The text of the value is only kept where it is shown or is another row's default.
        record(v, keeps_text(v.index) ? format_var_value<T>(*value) : std::string(), true);
        return std::move(*value);
      }
    }
    const std::string_view fallback_text = default_text(spec);
    if (t) bad(v, *t, why, fallback_text);
    typename VarValue<T>::type fallback{};
    if (!fallback_text.empty()) {
      if (auto d = parse_var_value<T>(spec, fallback_text, nullptr)) fallback = std::move(*d);
    }
    record(v, fallback_text, false);
    return fallback;
  }

  // The winning raw text (trimmed) if set and non-empty; marks the variable read.
  template <VarType T>
  std::optional<std::string> text(Handle<T> v) {
    State& st = state_[v.index];
    st.read = true;
    if (st.raw == nullptr) return std::nullopt;
    const std::string_view t = trim(st.raw->value);
    if (t.empty()) return std::nullopt;
    return std::string(t);
  }

  template <VarType T>
  bool is_set(Handle<T> v) {
    return text(v).has_value();
  }

  // A value the finalizer parsed itself was rejected: one warning, the default is used.
  template <VarType T>
  void bad(Handle<T> v, std::string_view value, std::string_view why, std::string_view fallback) {
    const VarSpec& spec = v.spec();
    const std::string shown = mask_value(spec, value);
    out_.warnings.push_back(fmt::format("config: {}=\"{}\" is invalid ({}); using default {}",
                                        from(v), shown, why,
                                        fallback.empty() ? "(unset)" : std::string(fallback)));
    state_[v.index].rejected = true;
    out_.rejected_values = true;
  }

  // A warning of the finalizer's own (not about one rejected value).
  void warn(std::string text) { out_.warnings.push_back(std::move(text)); }

  // A value rejected with its own warning: the default is used.
  template <VarType T>
  void reject(Handle<T> v) {
    state_[v.index].rejected = true;
    out_.rejected_values = true;
    record(v, default_text(v.spec()), true);
  }

  // The value used, as --check-config shows it (the first record of a variable counts).
  template <VarType T>
  void record(Handle<T> v, std::string_view display, bool from_raw) {
    record_spec(v.index, display, from_raw);
  }

  // The value used follows a rule from other variables rather than any one source: shown with its
  // reason, every source still listed, none marked as used (records the variable if not yet).
  template <VarType T>
  void derive(Handle<T> v, const std::string& display, std::string why) {
    text(v);
    record(v, display, false);
    texts_[v.index] = display;
    for (auto& e : out_.entries) {
      if (e.name != v.name()) continue;
      e.display = display.empty() ? "(unset)" : mask_value(v.spec(), display);
      e.source = "derived (" + why + ")";
      e.derived = std::move(why);
      for (auto& layer : e.layers) layer.winner = false;
      return;
    }
  }

  // A set variable that an alternative of higher precedence overrides (HTTPS_PROXY under
  // DD_PROXY_HTTPS): listed with its sources, none marked as used.
  template <VarType T, VarType U>
  void overridden(Handle<T> v, Handle<U> by) {
    if (!text(v)) return;
    overridden_by_[v.index] = std::string(by.name());
    record(v, "", false);
  }

  template <VarType T>
  std::string from(Handle<T> v) const {
    const RawValue* raw = state_[v.index].raw;
    return raw ? raw->from : std::string(v.name());
  }

  void finish() {
    // Every registry variable appears in --check-config, even those no component reads yet.
    const auto specs = all_variables();
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const VarSpec& spec = specs[i];
      if (state_[i].recorded) continue;
      const RawValue* raw = state_[i].raw;
      const bool set = raw != nullptr && !trim(raw->value).empty();
      if (set && spec.later_work) {
        out_.warnings.push_back(
            fmt::format("config: {} is set but not supported yet; it is ignored", raw->from));
      }
      if (sources_) record_spec(i, set ? trim(raw->value) : default_text(spec), set);
    }
    if (!sources_) return;
    std::sort(out_.entries.begin(), out_.entries.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }

 private:
  struct State {
    const RawValue* raw = nullptr;  // the winning source, if any
    bool read = false;
    bool recorded = false;
    bool rejected = false;
  };

  // Whether a row's final text is kept: for --check-config, or as another row's default.
  bool keeps_text(std::size_t index) const { return sources_ || kIsDefaultSource[index]; }

  // The row's default text in this mode, or the final text of the variable it defaults from
  // (valid until that variable's state changes: use it at once).
  std::string_view default_text(const VarSpec& spec) const {
    if (!spec.default_from.empty()) {
      if (const VarSpec* from = find_variable(spec.default_from)) {
        const auto index = static_cast<std::size_t>(from - all_variables().data());
        if (!state_[index].recorded) return default_text(*from);
        const auto it = texts_.find(index);
        return it == texts_.end() ? std::string_view() : std::string_view(it->second);
      }
    }
    return spec.defaults[mode_];
  }

  void record_spec(std::size_t index, std::string_view display, bool from_raw) {
    State& st = state_[index];
    if (st.recorded) return;
    st.recorded = true;
    const VarSpec& spec = all_variables()[index];
    const bool winner_raw = from_raw && !st.rejected;
    const auto overridden = overridden_by_.find(index);
    const bool used = overridden == overridden_by_.end();
    if (keeps_text(index)) texts_[index] = display;
    if (!sources_) return;  // the typed values are complete; nobody will print the sources
    const auto masked = [&](std::string_view text) { return mask_value(spec, text); };

    FinalConfig::Entry e;
    e.name = std::string(spec.name);
    e.area = spec.area;
    e.read = st.read;
    e.display = !used             ? "(not used: " + overridden->second + " is)"
                : display.empty() ? "(unset)"
                                  : masked(display);
    const std::string def(default_text(spec));
    e.layers.push_back(
        {ConfigSource::kDefault,
         spec.default_from.empty() ? "default" : "default (" + std::string(spec.default_from) + ")",
         def.empty() ? "(unset)" : masked(def), !winner_raw && used, false});
    const auto layers = raw_.layers(spec.name);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const bool top = i + 1 == layers.size();
      const std::string value(trim(layers[i].value));
      e.layers.push_back({layers[i].source, layers[i].from,
                          value.empty() ? "(empty)" : masked(value), top && winner_raw,
                          top && st.rejected});
    }
    const RawValue* raw = st.raw;
    e.source = "default";
    if (!used) {
      e.source = "not used (" + overridden->second + " is)";
    } else if (winner_raw && raw != nullptr) {
      e.source = raw->source == ConfigSource::kYaml ? raw->from : "env " + raw->from;
    } else if (raw != nullptr && st.rejected) {
      e.source = "default (" + raw->from + " rejected)";
    }
    out_.entries.push_back(std::move(e));
  }

  const RawConfig& raw_;
  Mode mode_;
  bool sources_;  // build FinalConfig::entries
  FinalConfig& out_;
  std::vector<State> state_;  // per row, small: most rows are only looked at once
  // By row: the unmasked final text, for default_from (see keeps_text()); the variable used
  // instead of a set one.
  std::map<std::size_t, std::string> texts_;
  std::map<std::size_t, std::string> overridden_by_;
};

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

int as_int(std::int64_t v) { return static_cast<int>(v); }

// --- one finalizer per area -------------------------------------------------------------------

// lambda-agent.md §6.1: DD_SERVERLESS_FLUSH_STRATEGY, a bad value reported once (Default used);
// in LMI anything but continuously,N becomes continuously,30000 (warned unless it was Default).
void finalize_flush_strategy(Finalizer& f, LambdaConfig& c) {
  const auto v = var::kDdServerlessFlushStrategy;
  c.flush_strategy = FlushStrategy{};
  if (const auto text = f.text(v)) {
    std::string why;
    if (const auto parsed = parse_flush_strategy(*text, &why)) {
      c.flush_strategy = *parsed;
      f.record(v, describe_flush_strategy(*parsed), true);
    } else {
      f.bad(v, *text, why, "\"default\" (adaptive)");
    }
  }
  f.record(v, describe_flush_strategy(c.flush_strategy), false);  // no-op once recorded
  if (!c.lmi || c.flush_strategy.kind == FlushStrategy::Kind::kContinuously) return;
  const FlushStrategy forced{FlushStrategy::Kind::kContinuously, 30000};
  const std::string was = describe_flush_strategy(c.flush_strategy);
  if (c.flush_strategy.kind != FlushStrategy::Kind::kDefault) {
    f.warn(fmt::format(
        "config: {}={} is not used in Lambda Managed Instances; using {} (lambda-agent.md §6.1)",
        f.from(v), was, describe_flush_strategy(forced)));
  }
  f.derive(v, describe_flush_strategy(forced),
           fmt::format("lambda-agent.md §6.1: Lambda Managed Instances flush continuously; {} "
                       "becomes {}",
                       was, describe_flush_strategy(forced)));
  c.flush_strategy = forced;
}

void finalize_lambda(Finalizer& f, LambdaConfig& c, const std::string& bind_host) {
  c.runtime_api = f.get(var::kAwsLambdaRuntimeApi);
  c.initialization_type = f.get(var::kAwsLambdaInitializationType);
  c.lmi = f.mode() == Mode::kExtension && c.initialization_type == "lambda-managed-instances";
  c.region = f.get(var::kAwsRegion);
  c.function_name = f.get(var::kAwsLambdaFunctionName);
  c.function_version = f.get(var::kAwsLambdaFunctionVersion);
  c.memory_size_mb = as_int(f.get(var::kAwsLambdaFunctionMemorySize));
  c.task_root = f.get(var::kLambdaTaskRoot);
  c.custom_metrics_exclude_tags = f.get(var::kDdLambdaCustomerMetricsExcludeTags);
  finalize_flush_strategy(f, c);
  c.shutdown_margin_ms = f.get(var::kLastcallShutdownMarginMs);
  c.telemetry_host = !bind_host.empty() ? bind_host : "0.0.0.0";
  c.telemetry_port = as_int(f.get(var::kLastcallTelemetryPort));
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) out += (out.empty() ? "" : ",") + t;
  return out;
}

// The items of DD_TAGS or DD_EXTRA_TAGS as given. lambda-agent.md §3.5: an env:, service: or
// version: item gives way to DD_ENV / DD_SERVICE / DD_VERSION when that is set (TagSets drops it,
// core/tag_sets.h); --check-config then shows the items used and why.
std::vector<std::string> user_tags(Finalizer& f, Handle<VarType::kList> v, const CommonConfig& c) {
  std::vector<std::string> items = f.get(v);
  const struct {
    const std::string& value;
    const char* key;
    Handle<VarType::kString> handle;
  } dedicated[] = {{c.env, "env", var::kDdEnv},
                   {c.service, "service", var::kDdService},
                   {c.version, "version", var::kDdVersion}};
  std::vector<std::string> keys;
  for (const auto& d : dedicated) {
    if (!d.value.empty()) keys.emplace_back(d.key);
  }
  std::vector<std::string> dropped;
  const std::vector<std::string> kept = without_keys(items, keys, &dropped);
  if (dropped.empty()) return items;
  std::string why;
  for (const auto& d : dedicated) {
    const bool used = std::any_of(dropped.begin(), dropped.end(),
                                  [&](const std::string& t) { return tag_key(t) == d.key; });
    if (used) why += fmt::format("{}{} is set", why.empty() ? "" : " and ", f.from(d.handle));
  }
  f.derive(v, join_tags(kept),
           fmt::format("{}: {} dropped, lambda-agent.md §3.5", why, join_tags(dropped)));
  return items;
}

void finalize_common(Finalizer& f, CommonConfig& c, const std::string& bind_host) {
  c.env = f.get(var::kDdEnv);
  c.service = f.get(var::kDdService);
  c.version = f.get(var::kDdVersion);
  c.hostname = f.get(var::kDdHostname);
  if (c.hostname == "none") c.hostname.clear();
  c.source = f.get(var::kDdSource);
  c.tags = user_tags(f, var::kDdTags, c);
  append_unique(c.tags, user_tags(f, var::kDdExtraTags, c));
  c.self_metrics = f.get(var::kLastcallSelfMetrics);
  c.memory_budget_bytes = f.get(var::kLastcallMemoryBudgetBytes);
  c.local_api_host = !bind_host.empty() ? bind_host : "127.0.0.1";
  c.local_api_port = as_int(f.get(var::kLastcallLocalApiPort));
}

void finalize_proxy(Finalizer& f, FinalConfig& out, ProxyConfig& proxy) {
  // DD_PROXY_HTTPS, else HTTPS_PROXY, else https_proxy; a URL that does not parse is reported
  // once, naming the variable, and intake traffic goes direct (lambda-agent.md §8.4,
  // clarifications "proxies").
  std::optional<std::string> url;
  const auto try_one = [&](auto handle) {
    if (url) return;
    url = f.text(handle);
    if (!url) return;
    if (auto p = parse_proxy_url(*url)) {
      proxy = *p;
      f.record(handle, *url, true);
    } else {
      out.warnings.push_back(fmt::format(
          "config: {}=\"{}\" is not a proxy URL (expected http://[user:pass@]host:port); intake "
          "traffic goes direct, without a proxy",
          f.from(handle), mask_value(handle.spec(), *url)));
      f.reject(handle);
    }
  };
  try_one(var::kDdProxyHttps);
  if (url) f.overridden(var::kHttpsProxy, var::kDdProxyHttps);
  try_one(var::kHttpsProxy);
  if (url) {
    f.overridden(var::kHttpsProxyLower,
                 f.is_set(var::kDdProxyHttps) ? var::kDdProxyHttps : var::kHttpsProxy);
  }
  try_one(var::kHttpsProxyLower);
  std::optional<Handle<VarType::kList>> no_proxy_from;
  for (const auto handle : {var::kDdProxyNoProxy, var::kNoProxy, var::kNoProxyLower}) {
    if (no_proxy_from) {
      f.overridden(handle, *no_proxy_from);
    } else if (f.is_set(handle)) {
      proxy.no_proxy = f.get(handle);
      no_proxy_from = handle;
    }
  }
}

// datadog-wire.md §5.2: DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS, a JSON array of
// {"api_key","Host","Port","is_reliable","use_ssl"}. Host may carry a scheme (used as is);
// otherwise use_ssl (default: not DD_LOGS_CONFIG_LOGS_NO_SSL) picks https:// or http://. A value
// that is not such an array is reported once and no additional logs endpoint is used.
void finalize_logs_endpoints(Finalizer& f, ForwardConfig& c, bool logs_no_ssl) {
  const auto t = f.text(var::kDdLogsConfigAdditionalEndpoints);
  if (!t) {
    f.get(var::kDdLogsConfigAdditionalEndpoints);  // records the default
    return;
  }
  const auto v = parse_json(*t);
  bool ok = v && v->is_array();
  if (ok) {
    for (const auto& item : v->as_array()) {
      const auto* o = item.if_object();
      const auto key = o != nullptr ? json::string_member(*o, "api_key") : std::nullopt;
      const auto host = o != nullptr ? json::string_member(*o, "Host") : std::nullopt;
      if (key == std::nullopt || host == std::nullopt || trim(*host).empty()) {
        ok = false;
        break;
      }
      std::string url(trim(*host));
      if (url.find("://") == std::string::npos) {
        const bool ssl = json::bool_member(*o, "use_ssl").value_or(!logs_no_ssl);
        url.insert(0, ssl ? "https://" : "http://");
        if (const auto port = json::int64_member(*o, "Port"); port && *port > 0) {
          url += ":" + std::to_string(*port);
        }
      }
      auto u = normalise_url(url);
      if (!u) {
        ok = false;
        break;
      }
      c.additional_logs_endpoints.push_back(
          {*u, std::string(trim(*key)), json::bool_member(*o, "is_reliable").value_or(true)});
    }
  }
  if (!ok) {
    c.additional_logs_endpoints.clear();
    f.bad(var::kDdLogsConfigAdditionalEndpoints, *t,
          "expected JSON [{\"api_key\":\"k\",\"Host\":\"h\",\"Port\":443,\"is_reliable\":true}]",
          "");
    f.record(var::kDdLogsConfigAdditionalEndpoints, "", false);
    return;
  }
  std::string shown;
  for (const auto& e : c.additional_logs_endpoints) {
    shown += (shown.empty() ? "" : " ") + e.url + "=" + mask_secret(e.api_key) +
             (e.reliable ? "" : "(unreliable)");
  }
  f.record(var::kDdLogsConfigAdditionalEndpoints, shown, true);
}

void finalize_forward(Finalizer& f, FinalConfig& out, bool use_v2_series) {
  ForwardConfig& c = out.forward;
  c.api_key = f.get(var::kDdApiKey);
  c.site = to_lower(f.get(var::kDdSite));
  if (std::find(std::begin(kKnownSites), std::end(kKnownSites), c.site) == std::end(kKnownSites)) {
    out.warnings.push_back(
        fmt::format("config: DD_SITE=\"{}\" is not a known Datadog site; using it anyway", c.site));
  }
  c.metrics_url = "https://api." + c.site;
  c.logs_url = "https://http-intake.logs." + c.site;
  c.apm_url = "https://trace.agent." + c.site;
  // DD_DD_URL wins over DD_URL.
  if (auto u = f.get(var::kDdUrl); !u.empty()) c.metrics_url = u;
  if (auto u = f.get(var::kDdDdUrl); !u.empty()) c.metrics_url = u;
  const bool logs_no_ssl = f.get(var::kDdLogsConfigLogsNoSsl);
  if (auto t = f.text(var::kDdLogsConfigLogsDdUrl)) {
    if (t->find("://") != std::string::npos) {
      if (auto u = normalise_url(*t)) {
        c.logs_url = *u;
        f.record(var::kDdLogsConfigLogsDdUrl, *u, true);
      } else {
        f.bad(var::kDdLogsConfigLogsDdUrl, *t, "expected host:port or a full URL", "");
        f.record(var::kDdLogsConfigLogsDdUrl, "", false);
      }
    } else {
      c.logs_url = (logs_no_ssl ? "http://" : "https://") + *t;
      f.record(var::kDdLogsConfigLogsDdUrl, c.logs_url, true);
    }
  } else {
    f.get(var::kDdLogsConfigLogsDdUrl);  // records the default
  }
  if (auto u = f.get(var::kDdApmDdUrl); !u.empty()) c.apm_url = u;

  if (auto t = f.text(var::kDdAdditionalEndpoints)) {
    const auto v = parse_json(*t);
    bool ok = v && v->is_object();
    if (ok) {
      for (const auto& [url, keys] : v->as_object()) {
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
      f.bad(var::kDdAdditionalEndpoints, *t, "expected JSON {\"https://url\":[\"key\",...]}", "");
      f.record(var::kDdAdditionalEndpoints, "", false);
    } else {
      std::string shown;
      for (const auto& e : c.additional_metrics_endpoints) {
        shown += (shown.empty() ? "" : " ") + e.url + "=" + mask_secret(e.api_key);
      }
      f.record(var::kDdAdditionalEndpoints, shown, true);
    }
  } else {
    f.get(var::kDdAdditionalEndpoints);  // records the default
  }

  finalize_logs_endpoints(f, c, logs_no_ssl);

  if (use_v2_series || f.is_set(var::kDdSerializerCompressorKind)) {
    const std::string k = f.get(var::kDdSerializerCompressorKind);
    c.metrics_compressor = k == "zlib" || k == "deflate" ? Compressor::kZlib
                           : k == "gzip"                 ? Compressor::kGzip
                           : k == "none"                 ? Compressor::kNone
                                                         : Compressor::kZstd;
  } else {
    c.metrics_compressor = Compressor::kZlib;  // v1 series are zlib unless a codec is named
    f.derive(var::kDdSerializerCompressorKind, "zlib",
             fmt::format("{}=false and no codec named: v1 series use zlib",
                         f.from(var::kDdUseV2ApiSeries)));
  }
  f.get(var::kDdCompressionLevel);
  c.metrics_compression_level = as_int(f.get(var::kDdMetricsConfigCompressionLevel));
  c.logs_compression_level = as_int(f.get(var::kDdLogsConfigCompressionLevel));
  c.apm_compression_level = as_int(f.get(var::kDdApmConfigCompressionLevel));
  c.logs_use_compression = f.get(var::kDdLogsConfigUseCompression);
  c.flush_timeout_s = as_int(f.get(var::kDdFlushTimeout));
  c.retry_queue_bytes = f.get(var::kLastcallRetryQueueBytes);

  finalize_proxy(f, out, c.proxy);
  c.skip_ssl_validation = f.get(var::kDdSkipSslValidation);
  if (c.skip_ssl_validation) {
    out.warnings.push_back(
        "config: DD_SKIP_SSL_VALIDATION=true: intake certificates are not checked");
  }
  c.tls_cert_file = f.get(var::kDdTlsCertFile);
}

void finalize_metrics(Finalizer& f, FinalConfig& out, const std::string& bind_host) {
  MetricsConfig& c = out.metrics;
  c.use_v2_series = f.get(var::kDdUseV2ApiSeries);
  c.sketch_fallback_series = f.get(var::kLastcallSketchFallback) == "series";
  f.get(var::kDdEnhancedMetricsEnabled);  // the alias: DD_ENHANCED_METRICS defaults from it
  c.enhanced_metrics = f.get(var::kDdEnhancedMetrics);
  c.proc_enhanced_metrics = f.get(var::kDdLambdaProcEnhancedMetrics);
  c.usage_sample_ms = f.get(var::kLastcallUsageSampleMs);
  c.price_per_gb_second = f.get(var::kLastcallPricePerGbSecond);
  c.price_per_request = f.get(var::kLastcallPricePerRequest);
  const bool non_local = f.get(var::kDdDogstatsdNonLocalTraffic) || f.mode() == Mode::kExtension;
  c.dogstatsd_host = !bind_host.empty() ? bind_host : (non_local ? "0.0.0.0" : "127.0.0.1");
  c.dogstatsd_port = as_int(f.get(var::kDdDogstatsdPort));
  c.dogstatsd_socket = f.get(var::kDdDogstatsdSocket);
  c.dogstatsd_buffer_size = as_int(f.get(var::kDdDogstatsdBufferSize));
  c.dogstatsd_queue_size = as_int(f.get(var::kDdDogstatsdQueueSize));
  c.dogstatsd_so_rcvbuf = as_int(f.get(var::kDdDogstatsdSoRcvbuf));
  if (c.dogstatsd_so_rcvbuf == 0) {
    // lambda-agent.md §8.2: no size of the user's is a rule, not a number: the socket asks for
    // 8 MiB and the kernel caps it at its limit when it is bound (net/udp_receiver.h), which logs
    // the size granted.
    f.derive(var::kDdDogstatsdSoRcvbuf, std::string(kSoRcvbufRule),
             "lambda-agent.md §8.2: unset or 0: the largest receive buffer the kernel allows; the "
             "size granted is in the debug start line");
  }
  c.statsd_namespace = f.get(var::kDdStatsdMetricNamespace);
  if (!c.statsd_namespace.empty() && c.statsd_namespace.back() != '.') c.statsd_namespace += '.';
  c.statsd_namespace_blacklist = f.get(var::kDdStatsdMetricNamespaceBlacklist);

  static constexpr const char* kAggregates[] = {"max", "median", "avg", "count", "min", "sum"};
  for (auto& piece : f.get(var::kDdHistogramAggregates)) {
    if (std::find(std::begin(kAggregates), std::end(kAggregates), piece) == std::end(kAggregates)) {
      out.rejected_values = true;
      out.warnings.push_back(fmt::format(
          "config: DD_HISTOGRAM_AGGREGATES entry \"{}\" is invalid (expected max, median, avg, "
          "count, min or sum); skipping it",
          piece));
      continue;
    }
    c.histogram_aggregates.push_back(piece);
  }
  for (const auto& piece : f.get(var::kDdHistogramPercentiles)) {
    auto p = parse_double(piece);
    if (!p || *p <= 0 || *p >= 1) {
      out.rejected_values = true;
      out.warnings.push_back(fmt::format(
          "config: DD_HISTOGRAM_PERCENTILES entry \"{}\" is invalid (expected 0 < p < 1); "
          "skipping it",
          piece));
      continue;
    }
    c.histogram_percentiles.push_back(std::round(*p * 100) / 100);
  }
  c.histogram_copy_to_distribution = f.get(var::kDdHistogramCopyToDistribution);
  c.histogram_copy_to_distribution_prefix = f.get(var::kDdHistogramCopyToDistributionPrefix);
}

void finalize_traces(Finalizer& f, TracesConfig& c, const std::string& bind_host) {
  const bool non_local = f.get(var::kDdApmNonLocalTraffic);
  c.apm_host = !bind_host.empty() ? bind_host : (non_local ? "0.0.0.0" : "127.0.0.1");
  c.apm_receiver_port = as_int(f.get(var::kDdApmReceiverPort));
}

void finalize_logs(Finalizer& f, LogsConfig& c) {
  // lambda-agent.md §5.1: in extension mode, once DD_SERVERLESS_LOGS_ENABLED is set the result is
  // the OR of the two with an unset DD_LOGS_ENABLED counting as false; elsewhere DD_LOGS_ENABLED.
  const bool serverless_set = f.is_set(var::kDdServerlessLogsEnabled);
  const bool serverless = f.get(var::kDdServerlessLogsEnabled);
  const bool logs_set = f.is_set(var::kDdLogsEnabled);
  const bool logs = f.get(var::kDdLogsEnabled);
  c.enabled = logs;
  if (f.mode() == Mode::kExtension && serverless_set) {
    // DD_LOGS_ENABLED's row shows the value used, and the rule that gave it.
    c.enabled = serverless || (logs_set && logs);
    f.derive(var::kDdLogsEnabled, c.enabled ? "true" : "false",
             fmt::format("lambda-agent.md §5.1: {}={} OR {}={} = {}",
                         f.from(var::kDdServerlessLogsEnabled), serverless ? "true" : "false",
                         f.from(var::kDdLogsEnabled),
                         logs_set ? (logs ? "true" : "false") : "unset (counts as false)",
                         c.enabled ? "true" : "false"));
  }
  c.processing_rules_json = f.get(var::kDdLogsConfigProcessingRules);
}

void finalize_init(Finalizer& f, InitConfig& c) {
  c.flush_interval_ms = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(f.get(var::kDdFlushInterval) * 1000)));
  c.shutdown_grace_ms = f.get(var::kLastcallShutdownGraceMs);
  c.kill_reserve_ms = f.get(var::kLastcallKillReserveMs);
  c.final_flush_ms = f.get(var::kLastcallFinalFlushMs);
  c.signal_target =
      f.get(var::kLastcallSignalTarget) == "child" ? SignalTarget::kChild : SignalTarget::kGroup;
  c.log_line_max_bytes = f.get(var::kLastcallLogLineMaxBytes);
  c.log_buffer_bytes = f.get(var::kLastcallLogBufferBytes);
  c.logs_multiline_indent = f.get(var::kLastcallLogsMultiline) == "indent";
  c.metadata_timeout_ms = f.get(var::kLastcallMetadataTimeoutMs);
  c.cpu_sample_ms = f.get(var::kLastcallCpuSampleMs);
  CloudEnv& e = c.cloud;
  e.k_service = f.get(var::kKService);
  e.k_revision = f.get(var::kKRevision);
  e.k_configuration = f.get(var::kKConfiguration);
  e.function_target = f.get(var::kFunctionTarget);
  e.function_signature_type = f.get(var::kFunctionSignatureType);
  e.cloud_run_job = f.get(var::kCloudRunJob);
  e.cloud_run_execution = f.get(var::kCloudRunExecution);
  e.cloud_run_task_index = f.get(var::kCloudRunTaskIndex);
  e.cloud_run_task_attempt = f.get(var::kCloudRunTaskAttempt);
  e.cloud_run_task_count = f.get(var::kCloudRunTaskCount);
  e.container_app_name = f.get(var::kContainerAppName);
  e.container_app_revision = f.get(var::kContainerAppRevision);
  e.container_app_replica_name = f.get(var::kContainerAppReplicaName);
  e.container_app_env_dns_suffix = f.get(var::kContainerAppEnvDnsSuffix);
  e.azure_subscription_id = f.get(var::kDdAzureSubscriptionId);
  e.azure_resource_group = f.get(var::kDdAzureResourceGroup);
  e.website_stack = f.get(var::kWebsiteStack);
  e.appsvc_run_zip = f.get(var::kAppsvcRunZip);
  e.website_site_name = f.get(var::kWebsiteSiteName);
  e.region_name = f.get(var::kRegionName);
  e.website_resource_group = f.get(var::kWebsiteResourceGroup);
  e.website_owner_name = f.get(var::kWebsiteOwnerName);
  e.website_instance_id = f.get(var::kWebsiteInstanceId);
  e.computername = f.get(var::kComputername);
  e.dd_runtime = f.get(var::kDdRuntime);
  e.gce_metadata_host = f.get(var::kGceMetadataHost);
}

void finalize_microvm(Finalizer& f, MicrovmConfig& c, const std::string& bind_host,
                      FinalConfig& out) {
  c.image_arn = f.get(var::kAwsLambdaMicrovmImageArn);
  c.lifecycle_host = bind_host.empty() ? "0.0.0.0" : bind_host;
  // serverless-init.md §7.3: each earlier DD_SERVERLESS_MICROVM_* name is read first (it is the
  // default of its DD_AWS_MICROVM_* name) and warns once when set.
  const auto alias = [&](auto old_name, auto new_name) {
    if (f.is_set(old_name)) {
      out.warnings.push_back(
          fmt::format("config: {} is deprecated; use {}", old_name.name(), new_name.name()));
    }
    (void)f.get(old_name);
    return f.get(new_name);
  };
  c.lifecycle_port =
      as_int(alias(var::kDdServerlessMicrovmLifecyclePort, var::kDdAwsMicrovmLifecyclePort));
  c.user_app_port =
      as_int(alias(var::kDdServerlessMicrovmUserAppPort, var::kDdAwsMicrovmUserAppPort));
  c.enable[0] = alias(var::kDdServerlessMicrovmEnableReady, var::kDdAwsMicrovmEnableReady);
  c.enable[1] = alias(var::kDdServerlessMicrovmEnableValidate, var::kDdAwsMicrovmEnableValidate);
  c.enable[2] = alias(var::kDdServerlessMicrovmEnableRun, var::kDdAwsMicrovmEnableRun);
  c.enable[3] = alias(var::kDdServerlessMicrovmEnableResume, var::kDdAwsMicrovmEnableResume);
  c.enable[4] = alias(var::kDdServerlessMicrovmEnableSuspend, var::kDdAwsMicrovmEnableSuspend);
  c.enable[5] = alias(var::kDdServerlessMicrovmEnableTerminate, var::kDdAwsMicrovmEnableTerminate);
  c.forward_timeout_ms =
      alias(var::kDdServerlessMicrovmForwardTimeoutMs, var::kDdAwsMicrovmForwardTimeoutMs);
  c.ready_timeout_ms =
      alias(var::kDdServerlessMicrovmReadyTimeoutMs, var::kDdAwsMicrovmReadyTimeoutMs);
  c.validate_timeout_ms =
      alias(var::kDdServerlessMicrovmValidateTimeoutMs, var::kDdAwsMicrovmValidateTimeoutMs);
  c.send_run_signal =
      alias(var::kDdServerlessMicrovmSendRunSignal, var::kDdAwsMicrovmSendRunSignal);
  c.flush_timeout_ms = f.get(var::kLastcallMicrovmFlushTimeoutMs);
  c.heartbeat_ms = f.get(var::kLastcallMicrovmHeartbeatMs);
  if (c.user_app_port != 0 && c.user_app_port == c.lifecycle_port) {
    out.rejected_values = true;
    out.warnings.push_back(fmt::format(
        "config: DD_AWS_MICROVM_USER_APP_PORT {} equals the lifecycle port; no hook is forwarded",
        c.user_app_port));
    c.user_app_port = 0;
  }
}

}  // namespace

std::string_view flush_strategy_kind_name(FlushStrategy::Kind kind) {
  switch (kind) {
    case FlushStrategy::Kind::kDefault:
      return "default";
    case FlushStrategy::Kind::kEnd:
      return "end";
    case FlushStrategy::Kind::kEndPeriodically:
      return "end_periodically";
    case FlushStrategy::Kind::kPeriodically:
      return "periodically";
    case FlushStrategy::Kind::kContinuously:
      return "continuously";
  }
  return "default";
}

std::string describe_flush_strategy(const FlushStrategy& strategy) {
  switch (strategy.kind) {
    case FlushStrategy::Kind::kDefault:
      return "default";
    case FlushStrategy::Kind::kEnd:
      return "end";
    case FlushStrategy::Kind::kEndPeriodically:
      return fmt::format("end,{}", strategy.interval_ms);
    case FlushStrategy::Kind::kPeriodically:
      return fmt::format("periodically,{}", strategy.interval_ms);
    case FlushStrategy::Kind::kContinuously:
      return fmt::format("continuously,{}", strategy.interval_ms);
  }
  return "default";
}

std::optional<FlushStrategy> parse_flush_strategy(std::string_view text, std::string* why) {
  const auto fail = [why](std::string reason) -> std::optional<FlushStrategy> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  const std::string_view t = trim(text);
  const size_t comma = t.find(',');
  const std::string word = to_lower(trim(t.substr(0, comma)));
  std::optional<std::int64_t> n;
  if (comma != std::string_view::npos) {
    const std::string_view digits = trim(t.substr(comma + 1));
    n = parse_int(digits);
    if (!n || *n <= 0) {
      return fail(
          fmt::format("the interval \"{}\" is not a positive number of milliseconds", digits));
    }
  }
  using Kind = FlushStrategy::Kind;
  if (word == "default" || word == "end") {
    if (word == "default") {
      if (n) return fail("\"default\" takes no interval");
      return FlushStrategy{};
    }
    return n ? FlushStrategy{Kind::kEndPeriodically, *n} : FlushStrategy{Kind::kEnd, 0};
  }
  if (word == "periodically" || word == "continuously") {
    if (!n) return fail(fmt::format("\"{}\" needs an interval: {},N (N ms)", word, word));
    return FlushStrategy{word == "periodically" ? Kind::kPeriodically : Kind::kContinuously, *n};
  }
  return fail("expected end, end,N, periodically,N, continuously,N or default");
}

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

const FinalConfig::Entry* FinalConfig::entry(std::string_view name) const {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

Expected<FinalConfig> finalize_config(const RawConfig& raw, Mode mode, ConfigDetail detail) {
  FinalConfig c;
  c.mode = mode;
  c.warnings = raw.problems;
  c.rejected_values = !raw.problems.empty();  // an unreadable datadog.yaml counts as rejected
  Finalizer f(raw, mode, detail, c);

  // Own log level first, so later warnings can be judged against it.
  c.common.log_level = f.get(var::kDdLogLevel);
  const std::string bind_host = f.get(var::kLastcallBindHost);
  finalize_lambda(f, c.lambda, bind_host);
  finalize_metrics(f, c, bind_host);
  finalize_forward(f, c, c.metrics.use_v2_series);
  finalize_common(f, c.common, bind_host);
  finalize_traces(f, c.traces, bind_host);
  finalize_logs(f, c.logs);
  finalize_init(f, c.init);
  finalize_microvm(f, c.microvm, bind_host, c);

  f.finish();
  return c;
}

FinalConfig default_config(Mode mode) {
  auto c = finalize_config(RawConfig{}, mode);
  return c ? std::move(*c) : FinalConfig{};
}

Expected<FinalConfig> load_config(const Environment& env, Mode mode, ConfigDetail detail) {
  std::optional<std::string> yaml;
  if (mode == Mode::kExtension) yaml = env_value(env, var::kLambdaTaskRoot, mode) + "/datadog.yaml";
  return finalize_config(load_raw_config(env, std::move(yaml)), mode, detail);
}

std::string missing_api_key_message(const FinalConfig& config) {
  if (!config.forward.api_key.empty()) return {};
  return "no API key: DD_API_KEY is not set; telemetry will not be sent (it is counted and "
         "dropped)";
}

std::vector<std::string> config_secrets(const FinalConfig& config) {
  std::vector<std::string> out;
  if (!config.forward.api_key.empty()) out.push_back(config.forward.api_key);
  if (!config.forward.proxy.password.empty()) out.push_back(config.forward.proxy.password);
  for (const auto& e : config.forward.additional_metrics_endpoints) out.push_back(e.api_key);
  for (const auto& e : config.forward.additional_logs_endpoints) out.push_back(e.api_key);
  return out;
}

std::string render_check_config(const FinalConfig& config) {
  std::string out =
      fmt::format("mode: {}{}\n", mode_name(config.mode), config.lambda.lmi ? " (lmi)" : "");
  out += fmt::format("intake: metrics={} logs={} traces={}\n", config.forward.metrics_url,
                     config.forward.logs_url, config.forward.apm_url);
  out +=
      "sources, lowest precedence first: default < datadog.yaml (extension mode) < DATADOG_* < "
      "DD_*; * marks the one used\n";
  size_t width = 0;
  for (const auto& e : config.entries) width = std::max(width, e.name.size());
  for (const auto& e : config.entries) {
    std::string chain;
    for (const auto& l : e.layers) {
      if (!chain.empty()) chain += " < ";
      // The winner's value is the one shown after '='.
      chain += l.winner
                   ? "*" + l.from
                   : fmt::format("{} {}{}", l.from, l.display, l.rejected ? " (rejected)" : "");
    }
    if (!e.derived.empty()) chain += "; *derived: " + e.derived;
    out += fmt::format("{:<{}} = {}  [{}]\n", e.name, width, e.display, chain);
  }
  for (const auto& w : config.warnings) out += "warning: " + w + "\n";
  if (const std::string m = missing_api_key_message(config); !m.empty())
    out += "warning: " + m + "\n";
  return out;
}

}  // namespace lc
