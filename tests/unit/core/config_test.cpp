#include "core/config.h"
#include "core/json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <type_traits>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include "core/strings.h"

namespace lc {
namespace {

FinalConfig finalize(const std::map<std::string, std::string>& env, Mode mode = Mode::kSidecar,
                     std::optional<std::string> yaml = std::nullopt) {
  MapEnvironment e(env);
  auto c = finalize_config(load_raw_config(e, std::move(yaml)), mode);
  EXPECT_TRUE(c);
  return std::move(c).value();
}

const FinalConfig::Entry* entry(const FinalConfig& c, std::string_view name) {
  for (const auto& e : c.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string write_yaml(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("lastcall-config-test-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, Defaults) {
  const auto c = finalize({});
  EXPECT_EQ(c.forward.site, "datadoghq.com");
  EXPECT_EQ(c.forward.metrics_url, "https://api.datadoghq.com");
  EXPECT_EQ(c.forward.logs_url, "https://http-intake.logs.datadoghq.com");
  EXPECT_EQ(c.forward.apm_url, "https://trace.agent.datadoghq.com");
  EXPECT_EQ(c.metrics.dogstatsd_port, 8125);
  EXPECT_EQ(c.forward.flush_timeout_s, 30);
  EXPECT_EQ(c.lambda.flush_strategy, FlushStrategy{});
  EXPECT_TRUE(c.metrics.use_v2_series);
  EXPECT_EQ(c.forward.metrics_compressor, Compressor::kZstd);
  EXPECT_EQ(c.init.flush_interval_ms, 10000);
  EXPECT_EQ(c.metrics.histogram_aggregates,
            (std::vector<std::string>{"max", "median", "avg", "count"}));
  ASSERT_EQ(c.metrics.histogram_percentiles.size(), 1u);
  EXPECT_DOUBLE_EQ(c.metrics.histogram_percentiles[0], 0.95);
  EXPECT_EQ(entry(c, "DD_SITE")->source, "default");
}

TEST(Config, PrecedenceDefaultsYamlDatadogDd) {
  const std::string yaml = write_yaml(
      "site: datadoghq.eu\nenv: from-yaml\nservice: yaml-svc\n"
      "tags:\n  - team:a\n  - tier:1\n");
  // YAML beats the default.
  auto c = finalize({}, Mode::kExtension, yaml);
  EXPECT_EQ(c.forward.site, "datadoghq.eu");
  EXPECT_EQ(c.forward.metrics_url, "https://api.datadoghq.eu");
  EXPECT_EQ(entry(c, "DD_SITE")->source, "datadog.yaml:site");
  EXPECT_EQ(c.common.tags, (std::vector<std::string>{"team:a", "tier:1"}));
  // DATADOG_ beats YAML; DD_ beats DATADOG_.
  c = finalize(
      {{"DATADOG_ENV", "from-datadog"}, {"DATADOG_SERVICE", "dsvc"}, {"DD_SERVICE", "ddsvc"}},
      Mode::kExtension, yaml);
  EXPECT_EQ(c.common.env, "from-datadog");
  EXPECT_EQ(entry(c, "DD_ENV")->source, "env DATADOG_ENV");
  EXPECT_EQ(c.common.service, "ddsvc");
  EXPECT_EQ(entry(c, "DD_SERVICE")->source, "env DD_SERVICE");
  std::filesystem::remove(yaml);
}

// An environment in a given order, duplicates allowed (environ can hold both).
class OrderedEnvironment final : public Environment {
 public:
  explicit OrderedEnvironment(std::vector<std::pair<std::string, std::string>> vars)
      : vars_(std::move(vars)) {}
  std::vector<std::pair<std::string, std::string>> all() const override { return vars_; }

 protected:
  std::optional<std::string> lookup(std::string_view name) const override {
    for (const auto& [n, v] : vars_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST(Config, RawSourcesInPrecedenceOrderWhateverTheEnvironmentOrderAndFirstOfTwoWins) {
  const OrderedEnvironment env({{"DD_SITE", "first.example"},
                                {"PATH", "/bin"},
                                {"DATADOG_SITE", "datadog.example"},
                                {"DD_SITE", "second.example"},
                                {"DATADOG_NOT_A_VARIABLE", "x"}});
  const RawConfig raw = load_raw_config(env, std::nullopt);
  const auto layers = raw.layers("DD_SITE");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].source, ConfigSource::kEnvDatadog);
  EXPECT_EQ(layers[0].value, "datadog.example");
  EXPECT_EQ(layers[0].from, "DATADOG_SITE");
  EXPECT_EQ(layers[1].source, ConfigSource::kEnvDd);
  EXPECT_EQ(layers[1].value, "first.example");  // as getenv("DD_SITE") answers
  EXPECT_EQ(raw.values.size(), 1u);             // PATH and DATADOG_NOT_A_VARIABLE are not rows
}

TEST(Config, EnvironmentSeamVisitsWhatAllReturns) {
  const MapEnvironment map(std::map<std::string, std::string>{{"A", "1"}, {"B", ""}});
  const ProcessEnvironment process;
  for (const Environment* env :
       {static_cast<const Environment*>(&map), static_cast<const Environment*>(&process)}) {
    std::vector<std::pair<std::string, std::string>> seen;
    env->for_each([&seen](std::string_view name, std::string_view value) {
      seen.emplace_back(std::string(name), std::string(value));
    });
    EXPECT_EQ(seen, env->all());
  }
}

TEST(Config, FindVariableFindsEveryRowByName) {
  for (const auto& spec : all_variables()) EXPECT_EQ(find_variable(spec.name), &spec);
  EXPECT_EQ(find_variable("DD_NOT_A_VARIABLE"), nullptr);
  EXPECT_EQ(find_variable(""), nullptr);
}

TEST(Config, LoadConfigReadsDatadogYamlInExtensionModeOnly) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("lastcall-task-root-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "datadog.yaml") << "env: from-yaml\n";
  MapEnvironment env(std::map<std::string, std::string>{{"LAMBDA_TASK_ROOT", dir.string()}});
  auto extension = load_config(env, Mode::kExtension);
  ASSERT_TRUE(extension);
  EXPECT_EQ(extension->common.env, "from-yaml");
  auto sidecar = load_config(env, Mode::kSidecar);
  ASSERT_TRUE(sidecar);
  EXPECT_EQ(sidecar->common.env, "");
  std::filesystem::remove_all(dir);
}

TEST(Config, BrokenYamlIsReportedNotFatal) {
  const std::string yaml = write_yaml("site: [unclosed\n");
  auto c = finalize({{"DD_ENV", "x"}}, Mode::kExtension, yaml);
  EXPECT_EQ(c.common.env, "x");
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_NE(c.warnings[0].find("not valid YAML"), std::string::npos);
  EXPECT_TRUE(c.rejected_values);
  std::filesystem::remove(yaml);
}

TEST(Config, BadValueWarnsOnceNamingVariableAndDefault) {
  auto c = finalize({{"DD_DOGSTATSD_PORT", "eighty"},
                     {"DD_FLUSH_TIMEOUT", "-3"},
                     {"DD_USE_V2_API_SERIES", "perhaps"},
                     {"DD_API_KEY", "k"}});
  EXPECT_EQ(c.metrics.dogstatsd_port, 8125);
  EXPECT_EQ(c.forward.flush_timeout_s, 30);
  EXPECT_TRUE(c.metrics.use_v2_series);
  ASSERT_EQ(c.warnings.size(), 3u);
  EXPECT_NE(c.warnings[0].find("DD_USE_V2_API_SERIES=\"perhaps\""), std::string::npos);
  EXPECT_NE(c.warnings[0].find("using default true"), std::string::npos);
  bool port = false;
  for (const auto& w : c.warnings)
    port |= w.find("DD_DOGSTATSD_PORT=\"eighty\"") != std::string::npos;
  EXPECT_TRUE(port);
  EXPECT_NE(entry(c, "DD_DOGSTATSD_PORT")->source.find("rejected"), std::string::npos);
}

// The warnings that mention `needle`.
std::size_t warnings_naming(const FinalConfig& c, std::string_view needle) {
  return static_cast<std::size_t>(
      std::count_if(c.warnings.begin(), c.warnings.end(),
                    [&](const std::string& w) { return w.find(needle) != std::string::npos; }));
}

TEST(Config, MicrovmBadValuesFallBackAloneEachWithOneWarning) {
  // serverless-init.md §11.34: a bad forward timeout keeps the ephemeral lifecycle port and the
  // valid app port; only that variable falls back (Go discards the whole configuration).
  auto c = finalize({{"DD_AWS_MICROVM_FORWARD_TIMEOUT_MS", "abc"},
                     {"DD_AWS_MICROVM_LIFECYCLE_PORT", "0"},
                     {"DD_AWS_MICROVM_USER_APP_PORT", "8080"},
                     {"DD_AWS_MICROVM_ENABLE_RUN", "yes-please"},
                     {"DD_AWS_MICROVM_ENABLE_TERMINATE", "true"},
                     {"DD_API_KEY", "k"}},
                    Mode::kWrapper);
  EXPECT_EQ(c.microvm.forward_timeout_ms, 1000);
  EXPECT_EQ(c.microvm.lifecycle_port, 0);
  EXPECT_EQ(c.microvm.user_app_port, 8080);
  EXPECT_FALSE(c.microvm.forwarded(MicrovmHook::kRun));  // an unparsable toggle is false alone
  EXPECT_TRUE(c.microvm.forwarded(MicrovmHook::kTerminate));
  EXPECT_EQ(warnings_naming(c, "DD_AWS_MICROVM_FORWARD_TIMEOUT_MS=\"abc\""), 1u);
  EXPECT_EQ(warnings_naming(c, "DD_AWS_MICROVM_ENABLE_RUN"), 1u);
  EXPECT_TRUE(c.rejected_values);
}

TEST(Config, MicrovmAppPortEqualToTheLifecyclePortForwardsNothing) {
  auto c = finalize({{"DD_AWS_MICROVM_LIFECYCLE_PORT", "9000"},
                     {"DD_AWS_MICROVM_USER_APP_PORT", "9000"},
                     {"DD_AWS_MICROVM_ENABLE_TERMINATE", "true"},
                     {"DD_API_KEY", "k"}},
                    Mode::kWrapper);
  EXPECT_EQ(c.microvm.user_app_port, 0);
  EXPECT_FALSE(c.microvm.forwarded(MicrovmHook::kTerminate));
  EXPECT_EQ(warnings_naming(c, "equals the lifecycle port"), 1u);
}

TEST(Config, MicrovmDeprecatedServerlessNamesAreReadAndWarnOnce) {
  // §7.3: the earlier DD_SERVERLESS_MICROVM_* prefix is an alias with a deprecation warning; the
  // DD_AWS_MICROVM_* name wins when both are set.
  auto old_only = finalize({{"DD_SERVERLESS_MICROVM_LIFECYCLE_PORT", "9100"},
                            {"DD_SERVERLESS_MICROVM_ENABLE_SUSPEND", "true"},
                            {"DD_SERVERLESS_MICROVM_USER_APP_PORT", "8081"},
                            {"DD_API_KEY", "k"}},
                           Mode::kWrapper);
  EXPECT_EQ(old_only.microvm.lifecycle_port, 9100);
  EXPECT_EQ(old_only.microvm.user_app_port, 8081);
  EXPECT_TRUE(old_only.microvm.forwarded(MicrovmHook::kSuspend));
  EXPECT_EQ(warnings_naming(old_only, "DD_SERVERLESS_MICROVM_LIFECYCLE_PORT is deprecated"), 1u);
  EXPECT_EQ(warnings_naming(old_only, "is deprecated"), 3u);

  auto both = finalize({{"DD_SERVERLESS_MICROVM_LIFECYCLE_PORT", "9100"},
                        {"DD_AWS_MICROVM_LIFECYCLE_PORT", "9200"},
                        {"DD_API_KEY", "k"}},
                       Mode::kWrapper);
  EXPECT_EQ(both.microvm.lifecycle_port, 9200);

  auto defaults = finalize({{"DD_API_KEY", "k"}}, Mode::kWrapper);
  EXPECT_EQ(defaults.microvm.lifecycle_port, 9000);
  EXPECT_EQ(defaults.microvm.user_app_port, 0);
  EXPECT_EQ(defaults.microvm.flush_timeout_ms, 5000);
  EXPECT_EQ(defaults.microvm.heartbeat_ms, 300000);
  EXPECT_TRUE(defaults.warnings.empty());
}

TEST(Config, RejectedValuesAndMissingKeyAreToldApart) {
  auto ok = finalize({{"DD_API_KEY", "k"}, {"DD_SITE", "example.internal"}});
  EXPECT_FALSE(ok.rejected_values);  // an unknown site is used anyway: a warning, not a rejection
  EXPECT_FALSE(ok.warnings.empty());
  EXPECT_TRUE(missing_api_key_message(ok).empty());
  auto bad = finalize({{"DD_DOGSTATSD_PORT", "x"}});
  EXPECT_TRUE(bad.rejected_values);
  EXPECT_NE(missing_api_key_message(bad).find("no API key"), std::string::npos);
  EXPECT_NE(render_check_config(bad).find("no API key"), std::string::npos);
}

TEST(Config, DdTagsAndBaseTags) {
  auto c = finalize({{"DD_TAGS", "team:a tier:1,team:a"},
                     {"DD_ENV", "Prod"},
                     {"DD_SERVICE", "Checkout"},
                     {"DD_VERSION", "1.2"},
                     {"DD_API_KEY", "k"}});
  EXPECT_EQ(c.common.tags, (std::vector<std::string>{"team:a", "tier:1"}));
  EXPECT_EQ(c.common.env, "Prod");  // lower-cased in the tag (core/tag_sets.h), not here
}

TEST(Config, UrlOverrides) {
  auto c = finalize({{"DD_URL", "http://legacy:1"},
                     {"DD_DD_URL", "http://127.0.0.1:8428/datadog/"},
                     {"DD_LOGS_CONFIG_LOGS_DD_URL", "logs.internal:8443"},
                     {"DD_APM_DD_URL", "http://127.0.0.1:9/"}});
  EXPECT_EQ(c.forward.metrics_url, "http://127.0.0.1:8428/datadog");
  EXPECT_EQ(c.forward.logs_url, "https://logs.internal:8443");
  EXPECT_EQ(c.forward.apm_url, "http://127.0.0.1:9");
  c = finalize({{"DD_URL", "http://legacy:1"}});
  EXPECT_EQ(c.forward.metrics_url, "http://legacy:1");
  c = finalize({{"DD_DD_URL", "no-scheme.example"}});
  EXPECT_EQ(c.forward.metrics_url, "https://api.datadoghq.com");
  EXPECT_FALSE(c.warnings.empty());
}

TEST(Config, V1SeriesDefaultsToZlib) {
  auto c = finalize({{"DD_USE_V2_API_SERIES", "false"}});
  EXPECT_FALSE(c.metrics.use_v2_series);
  EXPECT_EQ(c.forward.metrics_compressor, Compressor::kZlib);
}

TEST(Config, ProxyAndNoProxy) {
  auto c = finalize({{"HTTPS_PROXY", "http://user:s3cretpass@proxy.local:3128"},
                     {"NO_PROXY", "localhost,.internal"}});
  EXPECT_EQ(c.forward.proxy.host, "proxy.local");
  EXPECT_EQ(c.forward.proxy.port, 3128);
  EXPECT_EQ(c.forward.proxy.user, "user");
  EXPECT_EQ(c.forward.proxy.password, "s3cretpass");
  EXPECT_EQ(c.forward.proxy.no_proxy, (std::vector<std::string>{"localhost", ".internal"}));
  // DD_PROXY_HTTPS wins over HTTPS_PROXY; DD_PROXY_NO_PROXY over NO_PROXY.
  c = finalize({{"HTTPS_PROXY", "http://a:1"},
                {"DD_PROXY_HTTPS", "http://b:2"},
                {"NO_PROXY", "x"},
                {"DD_PROXY_NO_PROXY", "y"}});
  EXPECT_EQ(c.forward.proxy.host, "b");
  EXPECT_EQ(c.forward.proxy.no_proxy, (std::vector<std::string>{"y"}));
  // --check-config marks the overridden ones as not used.
  EXPECT_EQ(entry(c, "HTTPS_PROXY")->source, "not used (DD_PROXY_HTTPS is)");
  EXPECT_EQ(entry(c, "NO_PROXY")->source, "not used (DD_PROXY_NO_PROXY is)");
  for (const auto& l : entry(c, "NO_PROXY")->layers) EXPECT_FALSE(l.winner);
  EXPECT_EQ(entry(c, "DD_PROXY_NO_PROXY")->source, "env DD_PROXY_NO_PROXY");
  // Another scheme: reported once, traffic goes direct.
  c = finalize({{"DD_PROXY_HTTPS", "socks5://p:1"}});
  EXPECT_TRUE(c.forward.proxy.host.empty());
  EXPECT_FALSE(c.warnings.empty());
}

TEST(Config, CheckConfigMasksSecrets) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  auto c =
      finalize({{"DD_API_KEY", key},
                {"DD_PROXY_HTTPS", "http://u:hunter2pass@p:1"},
                {"DD_ADDITIONAL_ENDPOINTS", R"({"https://app.datadoghq.eu":["extrakey12345"]})"}});
  const std::string text = render_check_config(c);
  EXPECT_EQ(text.find(key), std::string::npos);
  EXPECT_EQ(text.find("hunter2pass"), std::string::npos);
  EXPECT_EQ(text.find("extrakey12345"), std::string::npos);
  EXPECT_NE(text.find("bcdef"), std::string::npos);
  ASSERT_EQ(c.forward.additional_metrics_endpoints.size(), 1u);
  EXPECT_EQ(c.forward.additional_metrics_endpoints[0].url, "https://app.datadoghq.eu");
  EXPECT_EQ(config_secrets(c).size(), 3u);
}

TEST(Config, LogsAdditionalEndpoints) {
  auto c = finalize(
      {{"DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS",
        R"([{"api_key":"logskey12345","Host":"logs.example.com","Port":10516,"is_reliable":true},
            {"api_key":"other67890","Host":"127.0.0.1","Port":9,"is_reliable":false,"use_ssl":false},
            {"api_key":"k3","Host":"http://10.0.0.1:8080"}])"}});
  ASSERT_EQ(c.forward.additional_logs_endpoints.size(), 3u);
  EXPECT_EQ(c.forward.additional_logs_endpoints[0].url, "https://logs.example.com:10516");
  EXPECT_TRUE(c.forward.additional_logs_endpoints[0].reliable);
  EXPECT_EQ(c.forward.additional_logs_endpoints[1].url, "http://127.0.0.1:9");
  EXPECT_FALSE(c.forward.additional_logs_endpoints[1].reliable);
  EXPECT_EQ(c.forward.additional_logs_endpoints[2].url, "http://10.0.0.1:8080");
  const std::string text = render_check_config(c);
  EXPECT_EQ(text.find("logskey12345"), std::string::npos);
  EXPECT_EQ(text.find("other67890"), std::string::npos);

  // NO_SSL turns the default scheme to http://; a value that is not the array is reported.
  auto n = finalize(
      {{"DD_LOGS_CONFIG_LOGS_NO_SSL", "true"},
       {"DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS", R"([{"api_key":"k","Host":"logs.internal"}])"}});
  ASSERT_EQ(n.forward.additional_logs_endpoints.size(), 1u);
  EXPECT_EQ(n.forward.additional_logs_endpoints[0].url, "http://logs.internal");
  auto bad = finalize({{"DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS", R"({"Host":"h"})"}});
  EXPECT_TRUE(bad.forward.additional_logs_endpoints.empty());
  EXPECT_FALSE(bad.warnings.empty());
}

TEST(Config, ProcessingRulesFromEnvironment) {
  const std::string rules =
      R"([{"type":"exclude_at_match","name":"drop_platform","pattern":"^START"}])";
  auto c = finalize({{"DD_LOGS_CONFIG_PROCESSING_RULES", rules}});
  EXPECT_EQ(c.logs.processing_rules_json, rules);
  // datadog.yaml's logs_config.processing_rules is a YAML list of mappings: it reaches the
  // processor as the same JSON array.
  const std::string yaml = write_yaml(
      "logs_config:\n  processing_rules:\n    - type: mask_sequences\n      name: mask_keys\n"
      "      pattern: \"api_key=[A-Za-z0-9]+\"\n      replace_placeholder: "
      "\"api_key=[REDACTED]\"\n");
  auto y = finalize({}, Mode::kExtension, yaml);
  const auto parsed = parse_json(y.logs.processing_rules_json);
  ASSERT_TRUE(parsed && parsed->is_array()) << y.logs.processing_rules_json;
  const auto& rule = parsed->as_array().at(0).as_object();
  EXPECT_EQ(rule.at("type").as_string(), "mask_sequences");
  EXPECT_EQ(rule.at("pattern").as_string(), "api_key=[A-Za-z0-9]+");
  EXPECT_EQ(rule.at("replace_placeholder").as_string(), "api_key=[REDACTED]");
  std::filesystem::remove(yaml);
  auto bad = finalize({{"DD_LOGS_CONFIG_PROCESSING_RULES", "[not json"}});
  EXPECT_TRUE(bad.logs.processing_rules_json.empty());
  EXPECT_FALSE(bad.warnings.empty());
}

TEST(Config, ModeDefaults) {
  auto w = finalize({}, Mode::kWrapper);
  EXPECT_EQ(w.common.log_level, LogLevel::kWarn);
  EXPECT_EQ(w.init.flush_interval_ms, 3000);
  EXPECT_EQ(w.metrics.dogstatsd_host, "127.0.0.1");
  auto s = finalize({}, Mode::kSidecar);
  EXPECT_EQ(s.common.log_level, LogLevel::kInfo);
  EXPECT_EQ(s.metrics.dogstatsd_host, "0.0.0.0");
  auto x = finalize({{"AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"},
                     {"LASTCALL_BIND_HOST", "127.0.0.1"}},
                    Mode::kExtension);
  EXPECT_TRUE(x.lambda.lmi);
  EXPECT_EQ(x.metrics.dogstatsd_host, "127.0.0.1");
}

TEST(Config, EveryRegistryVariableIsListed) {
  auto c = finalize({});
  EXPECT_EQ(c.entries.size(), all_variables().size());
}

TEST(Config, LaterWorkVariableWarns) {
  auto c = finalize({{"DD_KMS_API_KEY", "AQICAHxyz"}});
  bool found = false;
  for (const auto& w : c.warnings)
    found |= w.find("DD_KMS_API_KEY is set but not supported") != std::string::npos;
  EXPECT_TRUE(found);
}

// --- the registry: every default declared once -------------------------------------------------

// Reading through a handle whose type carries the value type; an undeclared name has no handle,
// so `finalizer.get(var::kNotDeclared)` or `env.get(var::kNotDeclared)` cannot compile, and a
// lookup by string does not exist at all.
static_assert(std::is_same_v<decltype(var::kDdDogstatsdPort)::value_type, std::int64_t>);
static_assert(std::is_same_v<decltype(var::kDdSite)::value_type, std::string>);
static_assert(std::is_same_v<decltype(var::kDdLogsEnabled)::value_type, bool>);
static_assert(std::is_same_v<decltype(var::kDdLogLevel)::value_type, LogLevel>);
static_assert(std::is_same_v<decltype(var::kDdFlushInterval)::value_type, double>);
static_assert(var::kDdDogstatsdPort.spec().name == "DD_DOGSTATSD_PORT");
static_assert(var::kDdLogLevel.spec().defaults[Mode::kWrapper] == "warn");
static_assert(static_cast<std::size_t>(VarId::kCount) == std::size(LastcallVars::kRows));
template <class E>
constexpr bool kReadsByName = requires(const E& e) {
  e.get(std::string_view("DD_SITE"));
};
template <class E>
constexpr bool kReadsByHandle = requires(const E& e) {
  e.get(var::kDdSite);
};
static_assert(!kReadsByName<Environment>, "the environment is read through declared handles only");
static_assert(kReadsByHandle<Environment>);

// Parses a row's textual default with the row's own type (what the finalizer does).
bool default_parses(const VarSpec& spec, std::string_view text, std::string& why) {
  switch (spec.type) {
    case VarType::kString:
      return parse_var_value<VarType::kString>(spec, text, &why).has_value();
    case VarType::kBool:
      return parse_var_value<VarType::kBool>(spec, text, &why).has_value();
    case VarType::kInt:
      return parse_var_value<VarType::kInt>(spec, text, &why).has_value();
    case VarType::kDouble:
      return parse_var_value<VarType::kDouble>(spec, text, &why).has_value();
    case VarType::kList:
      return parse_var_value<VarType::kList>(spec, text, &why).has_value();
    case VarType::kJson:
      return parse_var_value<VarType::kJson>(spec, text, &why).has_value();
    case VarType::kUrl:
      return parse_var_value<VarType::kUrl>(spec, text, &why).has_value();
    case VarType::kLevel:
      return parse_var_value<VarType::kLevel>(spec, text, &why).has_value();
    case VarType::kEnum:
      return parse_var_value<VarType::kEnum>(spec, text, &why).has_value();
  }
  return false;
}

// For EVERY row and mode: the row's default parses, it is what --check-config reports (value,
// source, the rendered line) and the finalizer read the row. A new row is covered by this test
// without touching it.
TEST(ConfigRegistry, EveryRowDefaultIsWhatCheckConfigReportsAndTheCodeReads) {
  for (const Mode mode : kAllModes) {
    SCOPED_TRACE(std::string(mode_name(mode)));
    const FinalConfig c = finalize({}, mode);
    const std::string text = render_check_config(c);
    EXPECT_EQ(c.entries.size(), all_variables().size());
    for (const VarSpec& spec : all_variables()) {
      SCOPED_TRACE(std::string(spec.name));
      const auto* e = entry(c, spec.name);
      ASSERT_NE(e, nullptr);
      std::string expected(spec.defaults[mode]);
      if (!spec.default_from.empty()) {
        ASSERT_TRUE(expected.empty()) << "a row has a default or a default_from, not both";
        const auto* from = entry(c, spec.default_from);
        ASSERT_NE(from, nullptr) << "default_from names an undeclared variable";
        expected = from->display;
      }
      if (!expected.empty()) {
        std::string why;
        EXPECT_TRUE(default_parses(spec, expected, why)) << why;
      }
      EXPECT_EQ(e->area, spec.area);
      EXPECT_TRUE(e->read || spec.later_work) << "no finalize_<area>() reads this row";
      if (spec.name == "DD_DOGSTATSD_SO_RCVBUF") {
        // No value but a rule (lambda-agent.md §8.2): shown derived, CheckConfigShowsTheReceive-
        // BufferRule below.
        EXPECT_TRUE(expected.empty());
        EXPECT_EQ(e->display, kSoRcvbufRule);
        EXPECT_FALSE(e->derived.empty());
        continue;
      }
      if (expected.empty()) expected = "(unset)";
      EXPECT_EQ(e->display, expected);
      EXPECT_EQ(e->source, "default");
      ASSERT_EQ(e->layers.size(), 1u);
      EXPECT_TRUE(e->layers[0].winner);
      EXPECT_EQ(e->layers[0].source, ConfigSource::kDefault);
      EXPECT_NE(text.find(std::string(spec.name)), std::string::npos);
      const size_t line = text.find("\n" + std::string(spec.name) + " ");
      ASSERT_NE(line, std::string::npos);
      const std::string rendered = text.substr(line + 1, text.find('\n', line + 1) - line - 1);
      EXPECT_NE(rendered.find("= " + expected + "  [*default"), std::string::npos) << rendered;
    }
  }
}

// The FinalConfig fields hold the rows' defaults (no second literal anywhere): each field of an
// empty environment against default_value(handle, mode), per mode.
TEST(ConfigRegistry, FinalConfigFieldsHoldTheRowDefaults) {
  for (const Mode mode : kAllModes) {
    SCOPED_TRACE(std::string(mode_name(mode)));
    const FinalConfig c = finalize({}, mode);
    const auto d = [mode](auto handle) { return default_value(handle, mode); };
    // forward
    EXPECT_EQ(c.forward.site, d(var::kDdSite));
    EXPECT_EQ(c.forward.metrics_url, "https://api." + d(var::kDdSite));
    EXPECT_EQ(c.forward.logs_url, "https://http-intake.logs." + d(var::kDdSite));
    EXPECT_EQ(c.forward.apm_url, "https://trace.agent." + d(var::kDdSite));
    EXPECT_EQ(c.forward.api_key, d(var::kDdApiKey));
    EXPECT_EQ(std::string(compressor_name(c.forward.metrics_compressor)),
              d(var::kDdSerializerCompressorKind));
    EXPECT_EQ(c.forward.metrics_compression_level, d(var::kDdCompressionLevel));
    EXPECT_EQ(c.forward.logs_compression_level, d(var::kDdCompressionLevel));
    EXPECT_EQ(c.forward.apm_compression_level, d(var::kDdCompressionLevel));
    EXPECT_EQ(c.forward.logs_use_compression, d(var::kDdLogsConfigUseCompression));
    EXPECT_EQ(c.forward.flush_timeout_s, d(var::kDdFlushTimeout));
    EXPECT_EQ(c.forward.retry_queue_bytes, d(var::kLastcallRetryQueueBytes));
    EXPECT_EQ(c.forward.skip_ssl_validation, d(var::kDdSkipSslValidation));
    EXPECT_EQ(c.forward.tls_cert_file, d(var::kDdTlsCertFile));
    EXPECT_TRUE(c.forward.proxy.host.empty());
    // metrics
    EXPECT_EQ(c.metrics.use_v2_series, d(var::kDdUseV2ApiSeries));
    EXPECT_EQ(c.metrics.sketch_fallback_series, d(var::kLastcallSketchFallback) == "series");
    EXPECT_EQ(c.metrics.enhanced_metrics, d(var::kDdEnhancedMetricsEnabled));
    EXPECT_EQ(c.metrics.proc_enhanced_metrics, d(var::kDdLambdaProcEnhancedMetrics));
    EXPECT_EQ(c.metrics.dogstatsd_port, d(var::kDdDogstatsdPort));
    EXPECT_EQ(c.metrics.dogstatsd_buffer_size, d(var::kDdDogstatsdBufferSize));
    EXPECT_EQ(c.metrics.dogstatsd_queue_size, d(var::kDdDogstatsdQueueSize));
    EXPECT_EQ(c.metrics.dogstatsd_so_rcvbuf, d(var::kDdDogstatsdSoRcvbuf));
    EXPECT_EQ(c.metrics.dogstatsd_host,
              d(var::kDdDogstatsdNonLocalTraffic) ? "0.0.0.0" : "127.0.0.1");
    EXPECT_EQ(c.metrics.statsd_namespace_blacklist, d(var::kDdStatsdMetricNamespaceBlacklist));
    EXPECT_EQ(c.metrics.histogram_aggregates, d(var::kDdHistogramAggregates));
    ASSERT_EQ(c.metrics.histogram_percentiles.size(), d(var::kDdHistogramPercentiles).size());
    EXPECT_DOUBLE_EQ(c.metrics.histogram_percentiles[0],
                     *parse_double(d(var::kDdHistogramPercentiles)[0]));
    EXPECT_EQ(c.metrics.histogram_copy_to_distribution, d(var::kDdHistogramCopyToDistribution));
    // common, traces, lambda, logs, init
    EXPECT_EQ(c.common.log_level, d(var::kDdLogLevel));
    EXPECT_EQ(c.common.self_metrics, d(var::kLastcallSelfMetrics));
    EXPECT_EQ(c.common.memory_budget_bytes, d(var::kLastcallMemoryBudgetBytes));
    EXPECT_EQ(c.common.local_api_port, d(var::kLastcallLocalApiPort));
    EXPECT_EQ(c.traces.apm_receiver_port, d(var::kDdApmReceiverPort));
    EXPECT_EQ(c.traces.apm_host, d(var::kDdApmNonLocalTraffic) ? "0.0.0.0" : "127.0.0.1");
    EXPECT_EQ(describe_flush_strategy(c.lambda.flush_strategy), d(var::kDdServerlessFlushStrategy));
    EXPECT_EQ(c.lambda.shutdown_margin_ms, d(var::kLastcallShutdownMarginMs));
    EXPECT_EQ(c.lambda.telemetry_port, d(var::kLastcallTelemetryPort));
    EXPECT_EQ(c.lambda.task_root, d(var::kLambdaTaskRoot));
    EXPECT_EQ(c.logs.enabled, d(var::kDdLogsEnabled));
    EXPECT_EQ(c.init.flush_interval_ms, std::llround(d(var::kDdFlushInterval) * 1000));
  }
}

TEST(ConfigRegistry, ModeDependentDefaultsFollowTheSpec) {
  // serverless-init.md §8 and lambda-agent.md §5.1/§8.2.
  const auto x = finalize({}, Mode::kExtension);
  const auto w = finalize({}, Mode::kWrapper);
  const auto s = finalize({}, Mode::kSidecar);
  EXPECT_EQ(w.common.log_level, LogLevel::kWarn);
  EXPECT_EQ(s.common.log_level, LogLevel::kInfo);
  EXPECT_EQ(x.common.log_level, LogLevel::kInfo);
  EXPECT_EQ(w.init.flush_interval_ms, 3000);
  EXPECT_EQ(s.init.flush_interval_ms, 10000);
  EXPECT_FALSE(w.logs.enabled);
  EXPECT_TRUE(s.logs.enabled);
  EXPECT_TRUE(x.logs.enabled);
  EXPECT_EQ(w.traces.apm_host, "127.0.0.1");
  EXPECT_EQ(s.traces.apm_host, "0.0.0.0");
  EXPECT_EQ(x.metrics.dogstatsd_host, "0.0.0.0");
  // Every per-mode row says so in --check-config's default layer.
  EXPECT_EQ(w.entry("DD_FLUSH_INTERVAL")->display, "3");
  EXPECT_EQ(s.entry("DD_FLUSH_INTERVAL")->display, "10");
}

TEST(ConfigRegistry, LambdaLogsEnablementTable) {
  // lambda-agent.md §5.1: DD_SERVERLESS_LOGS_ENABLED × DD_LOGS_ENABLED.
  struct Row {
    const char* serverless;
    const char* logs;
    bool enabled;
  };
  for (const Row& r :
       {Row{nullptr, nullptr, true}, Row{"false", nullptr, false}, Row{nullptr, "true", true},
        Row{"false", "true", true}, Row{"true", "false", true}, Row{"false", "false", false},
        Row{"true", nullptr, true}}) {
    std::map<std::string, std::string> env;
    if (r.serverless) env["DD_SERVERLESS_LOGS_ENABLED"] = r.serverless;
    if (r.logs) env["DD_LOGS_ENABLED"] = r.logs;
    EXPECT_EQ(finalize(env, Mode::kExtension).logs.enabled, r.enabled)
        << (r.serverless ? r.serverless : "unset") << " / " << (r.logs ? r.logs : "unset");
  }
  EXPECT_TRUE(finalize({{"DD_LOGS_ENABLED", "true"}}, Mode::kWrapper).logs.enabled);
}

// The line --check-config prints for one variable.
std::string check_config_line(const FinalConfig& c, std::string_view name) {
  const std::string text = render_check_config(c);
  const size_t at = text.find("\n" + std::string(name) + " ");
  if (at == std::string::npos) return {};
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

// v1 series with no codec named use zlib: --check-config shows zlib as derived from
// DD_USE_V2_API_SERIES, not as the row default (which is zstd).
TEST(ConfigRegistry, CheckConfigShowsTheV1SeriesCodecAsDerived) {
  for (const Mode mode : kAllModes) {
    SCOPED_TRACE(std::string(mode_name(mode)));
    const FinalConfig c = finalize({{"DD_USE_V2_API_SERIES", "false"}}, mode);
    EXPECT_EQ(c.forward.metrics_compressor, Compressor::kZlib);
    const auto* e = entry(c, "DD_SERIALIZER_COMPRESSOR_KIND");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->display, "zlib");
    EXPECT_EQ(e->derived, "DD_USE_V2_API_SERIES=false and no codec named: v1 series use zlib");
    EXPECT_EQ(e->source, "derived (" + e->derived + ")");
    ASSERT_EQ(e->layers.size(), 1u);
    EXPECT_EQ(e->layers[0].source, ConfigSource::kDefault);
    EXPECT_EQ(e->layers[0].display, "zstd");
    EXPECT_FALSE(e->layers[0].winner);
    EXPECT_EQ(check_config_line(c, "DD_SERIALIZER_COMPRESSOR_KIND")
                  .substr(check_config_line(c, "DD_SERIALIZER_COMPRESSOR_KIND").find("= ")),
              "= zlib  [default zstd; *derived: DD_USE_V2_API_SERIES=false and no codec named: "
              "v1 series use zlib]");
  }
  // A named codec is used as given, from its source.
  const FinalConfig named =
      finalize({{"DD_USE_V2_API_SERIES", "false"}, {"DD_SERIALIZER_COMPRESSOR_KIND", "gzip"}});
  EXPECT_EQ(named.forward.metrics_compressor, Compressor::kGzip);
  const auto* e = entry(named, "DD_SERIALIZER_COMPRESSOR_KIND");
  EXPECT_TRUE(e->derived.empty());
  EXPECT_EQ(e->display, "gzip");
  EXPECT_EQ(e->source, "env DD_SERIALIZER_COMPRESSOR_KIND");
  // v2 series: the row default, as the default.
  const FinalConfig v2 = finalize({});
  EXPECT_TRUE(entry(v2, "DD_SERIALIZER_COMPRESSOR_KIND")->derived.empty());
  EXPECT_EQ(entry(v2, "DD_SERIALIZER_COMPRESSOR_KIND")->display, "zstd");
}

// lambda-agent.md §8.2: DD_DOGSTATSD_SO_RCVBUF unset (or 0) is a rule, not a number: the largest
// receive buffer the kernel allows, at most 8 MiB. --check-config shows the rule, derived (the
// kernel's limit is read when the socket is bound); a size the user set is shown as any value.
TEST(ConfigRegistry, CheckConfigShowsTheReceiveBufferRule) {
  const std::string rule =
      "= net.core.rmem_max, at most 8 MiB  [default (unset); *derived: lambda-agent.md §8.2: "
      "unset or 0: the largest receive buffer the kernel allows; the size granted is in the debug "
      "start line]";
  for (const Mode mode : kAllModes) {
    SCOPED_TRACE(std::string(mode_name(mode)));
    const FinalConfig c = finalize({}, mode);
    EXPECT_EQ(c.metrics.dogstatsd_so_rcvbuf, 0);
    const auto* e = entry(c, "DD_DOGSTATSD_SO_RCVBUF");
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->layers.size(), 1u);
    EXPECT_FALSE(e->layers[0].winner);
    EXPECT_EQ(e->source, "derived (" + e->derived + ")");
    const std::string line = check_config_line(c, "DD_DOGSTATSD_SO_RCVBUF");
    EXPECT_EQ(line.substr(line.find("= ")), rule);
    // DD_DOGSTATSD_QUEUE_SIZE: 8192 datagrams in every mode.
    EXPECT_EQ(c.metrics.dogstatsd_queue_size, 8192);
  }
  // 0 is the rule too; the variable is listed, not marked as used.
  const FinalConfig zero = finalize({{"DD_DOGSTATSD_SO_RCVBUF", "0"}});
  EXPECT_EQ(zero.metrics.dogstatsd_so_rcvbuf, 0);
  const std::string zero_line = check_config_line(zero, "DD_DOGSTATSD_SO_RCVBUF");
  EXPECT_EQ(zero_line.substr(zero_line.find("= ")),
            "= net.core.rmem_max, at most 8 MiB  [default (unset) < DD_DOGSTATSD_SO_RCVBUF 0; "
            "*derived: lambda-agent.md §8.2: unset or 0: the largest receive buffer the kernel "
            "allows; the size granted is in the debug start line]");
  // The user's size is used as given.
  const FinalConfig set = finalize({{"DD_DOGSTATSD_SO_RCVBUF", "33554432"}});
  EXPECT_EQ(set.metrics.dogstatsd_so_rcvbuf, 33554432);
  EXPECT_TRUE(entry(set, "DD_DOGSTATSD_SO_RCVBUF")->derived.empty());
  const std::string set_line = check_config_line(set, "DD_DOGSTATSD_SO_RCVBUF");
  EXPECT_EQ(set_line.substr(set_line.find("= ")),
            "= 33554432  [default (unset) < *DD_DOGSTATSD_SO_RCVBUF]");
}

// Extension mode with DD_SERVERLESS_LOGS_ENABLED set: DD_LOGS_ENABLED's line shows the value
// lambda-agent.md §5.1 gives (the one used), derived, with the two inputs.
TEST(ConfigRegistry, CheckConfigShowsTheLambdaLogsEnablementUsed) {
  struct Row {
    const char* serverless;
    const char* logs;
    const char* shown;
    bool derived;
  };
  for (const Row& r : {Row{nullptr, nullptr, "true", false}, Row{"false", nullptr, "false", true},
                       Row{nullptr, "false", "false", false}, Row{"true", "false", "true", true},
                       Row{"false", "true", "true", true}, Row{"false", "false", "false", true},
                       Row{"true", nullptr, "true", true}}) {
    SCOPED_TRACE(std::string(r.serverless ? r.serverless : "unset") + " / " +
                 (r.logs ? r.logs : "unset"));
    std::map<std::string, std::string> env;
    if (r.serverless) env["DD_SERVERLESS_LOGS_ENABLED"] = r.serverless;
    if (r.logs) env["DD_LOGS_ENABLED"] = r.logs;
    const FinalConfig c = finalize(env, Mode::kExtension);
    const auto* e = entry(c, "DD_LOGS_ENABLED");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->display, r.shown);
    EXPECT_EQ(c.logs.enabled, std::string(r.shown) == "true");
    EXPECT_EQ(!e->derived.empty(), r.derived);
    const std::string line = check_config_line(c, "DD_LOGS_ENABLED");
    EXPECT_NE(line.find(std::string("= ") + r.shown + "  ["), std::string::npos) << line;
    if (r.derived) {
      for (const auto& l : e->layers) EXPECT_FALSE(l.winner);
      EXPECT_NE(line.find("; *derived: lambda-agent.md §5.1: "), std::string::npos) << line;
    }
  }
  // The rule and both inputs, as printed.
  const FinalConfig off = finalize({{"DD_SERVERLESS_LOGS_ENABLED", "false"}}, Mode::kExtension);
  EXPECT_EQ(entry(off, "DD_LOGS_ENABLED")->derived,
            "lambda-agent.md §5.1: DD_SERVERLESS_LOGS_ENABLED=false OR DD_LOGS_ENABLED=unset "
            "(counts as false) = false");
  EXPECT_EQ(check_config_line(off, "DD_LOGS_ENABLED")
                .substr(check_config_line(off, "DD_LOGS_ENABLED").find("= ")),
            "= false  [default true; *derived: lambda-agent.md §5.1: "
            "DD_SERVERLESS_LOGS_ENABLED=false OR DD_LOGS_ENABLED=unset (counts as false) = false]");
  // Outside extension mode the rule does not apply: DD_LOGS_ENABLED alone, from its source.
  const FinalConfig wrapper = finalize(
      {{"DD_SERVERLESS_LOGS_ENABLED", "true"}, {"DD_LOGS_ENABLED", "false"}}, Mode::kWrapper);
  EXPECT_FALSE(wrapper.logs.enabled);
  EXPECT_TRUE(entry(wrapper, "DD_LOGS_ENABLED")->derived.empty());
  EXPECT_EQ(entry(wrapper, "DD_LOGS_ENABLED")->source, "env DD_LOGS_ENABLED");
}

TEST(ConfigRegistry, CheckConfigShowsEverySourceInPrecedenceOrder) {
  const std::string yaml = write_yaml("service: yaml-svc\nsite: datadoghq.eu\n");
  auto c = finalize({{"DATADOG_SERVICE", "dsvc"}, {"DD_SERVICE", "ddsvc"}, {"DATADOG_ENV", "e1"}},
                    Mode::kExtension, yaml);
  const auto* svc = entry(c, "DD_SERVICE");
  ASSERT_NE(svc, nullptr);
  ASSERT_EQ(svc->layers.size(), 4u);
  EXPECT_EQ(svc->layers[0].source, ConfigSource::kDefault);
  EXPECT_EQ(svc->layers[1].source, ConfigSource::kYaml);
  EXPECT_EQ(svc->layers[1].from, "datadog.yaml:service");
  EXPECT_EQ(svc->layers[1].display, "yaml-svc");
  EXPECT_EQ(svc->layers[2].source, ConfigSource::kEnvDatadog);
  EXPECT_EQ(svc->layers[2].display, "dsvc");
  EXPECT_EQ(svc->layers[3].source, ConfigSource::kEnvDd);
  EXPECT_EQ(svc->layers[3].display, "ddsvc");
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(svc->layers[i].winner);
  EXPECT_TRUE(svc->layers[3].winner);
  const std::string text = render_check_config(c);
  EXPECT_NE(text.find(" = ddsvc  [default (unset) < datadog.yaml:service yaml-svc < "
                      "DATADOG_SERVICE dsvc < *DD_SERVICE]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" = datadoghq.eu  [default datadoghq.com < *datadog.yaml:site]\n"),
            std::string::npos);
  // datadog.yaml is read in extension mode only: elsewhere it is not a source.
  MapEnvironment env(std::map<std::string, std::string>{{"DD_ENV", "x"}});
  auto sidecar = load_config(env, Mode::kSidecar);
  ASSERT_TRUE(sidecar);
  EXPECT_EQ(sidecar->entry("DD_SITE")->layers.size(), 1u);
  std::filesystem::remove(yaml);
}

TEST(ConfigRegistry, RejectedValueIsMarkedAndTheDefaultWins) {
  auto c = finalize({{"DD_DOGSTATSD_PORT", "eighty"}, {"DD_API_KEY", "0123456789abcdef"}});
  const auto* e = entry(c, "DD_DOGSTATSD_PORT");
  ASSERT_EQ(e->layers.size(), 2u);
  EXPECT_TRUE(e->layers[0].winner);
  EXPECT_TRUE(e->layers[1].rejected);
  EXPECT_FALSE(e->layers[1].winner);
  EXPECT_EQ(e->display, "8125");
  const std::string text = render_check_config(c);
  EXPECT_NE(text.find(" = 8125  [*default < DD_DOGSTATSD_PORT eighty (rejected)]"),
            std::string::npos);
  // Secrets stay masked in every layer.
  EXPECT_EQ(text.find("0123456789abcdef"), std::string::npos);
}

TEST(ConfigRegistry, UnparsableProxyIsReportedOnceNamingTheVariableAndGoesDirect) {
  for (const char* name : {"DD_PROXY_HTTPS", "HTTPS_PROXY", "https_proxy"}) {
    SCOPED_TRACE(name);
    auto c = finalize({{name, "https://user:hunter2pass@proxy.local:3128"},
                       {"DD_API_KEY", "k"},
                       {"DD_SITE", "datadoghq.com"}});
    EXPECT_TRUE(c.forward.proxy.host.empty());  // intake traffic goes direct
    EXPECT_EQ(c.forward.proxy.port, 0);
    ASSERT_EQ(c.warnings.size(), 1u);
    const std::string& w = c.warnings[0];
    EXPECT_NE(w.find(std::string(name) + "=\"https://***@proxy.local:3128\""), std::string::npos)
        << w;
    EXPECT_NE(w.find("goes direct"), std::string::npos);
    EXPECT_EQ(w.find("hunter2pass"), std::string::npos);
    EXPECT_TRUE(c.rejected_values);
    EXPECT_EQ(entry(c, name)->source, std::string("default (") + name + " rejected)");
    EXPECT_TRUE(config_secrets(c).size() == 1u);  // the API key; no proxy password
    EXPECT_EQ(render_check_config(c).find("hunter2pass"), std::string::npos);
  }
  // A proxy's credentials are masked, the rest of the URL shown, in every layer.
  auto shown = finalize({{"HTTPS_PROXY", "http://user:pw@proxy.local:3128"}});
  EXPECT_EQ(shown.entry("HTTPS_PROXY")->display, "http://***@proxy.local:3128");
  EXPECT_EQ(render_check_config(shown).find("pw@"), std::string::npos);
  // A parsable DD_PROXY_HTTPS wins; an unparsable HTTPS_PROXY below it is not read at all.
  auto c = finalize({{"DD_PROXY_HTTPS", "http://p:1"}, {"HTTPS_PROXY", "nonsense"}});
  EXPECT_EQ(c.forward.proxy.host, "p");
  for (const auto& w : c.warnings) EXPECT_EQ(w.find("HTTPS_PROXY"), std::string::npos) << w;
}

TEST(ConfigRegistry, DefaultFromFollowsTheVariableItNames) {
  auto c = finalize({{"DD_COMPRESSION_LEVEL", "7"}, {"DD_LOGS_CONFIG_COMPRESSION_LEVEL", "9"}});
  EXPECT_EQ(c.forward.metrics_compression_level, 7);
  EXPECT_EQ(c.forward.apm_compression_level, 7);
  EXPECT_EQ(c.forward.logs_compression_level, 9);
  EXPECT_EQ(entry(c, "DD_METRICS_CONFIG_COMPRESSION_LEVEL")->display, "7");
  EXPECT_EQ(entry(c, "DD_METRICS_CONFIG_COMPRESSION_LEVEL")->layers[0].from,
            "default (DD_COMPRESSION_LEVEL)");
  c = finalize({{"DD_ENHANCED_METRICS_ENABLED", "false"}});
  EXPECT_FALSE(c.metrics.enhanced_metrics);
  c = finalize({{"DD_ENHANCED_METRICS_ENABLED", "false"}, {"DD_ENHANCED_METRICS", "true"}});
  EXPECT_TRUE(c.metrics.enhanced_metrics);
}

// lambda-agent.md §6.1: DD_SERVERLESS_FLUSH_STRATEGY parsed into a FlushStrategy.
TEST(ConfigFlushStrategy, ParsesEveryForm) {
  using K = FlushStrategy::Kind;
  struct Row {
    const char* text;
    FlushStrategy want;
  };
  for (const Row& r :
       {Row{"end", {K::kEnd, 0}}, Row{"end,5000", {K::kEndPeriodically, 5000}},
        Row{"periodically,20000", {K::kPeriodically, 20000}},
        Row{"continuously,1", {K::kContinuously, 1}}, Row{"default", {K::kDefault, 0}},
        Row{" END , 250 ", {K::kEndPeriodically, 250}},
        Row{"Continuously,60000", {K::kContinuously, 60000}}}) {
    SCOPED_TRACE(r.text);
    const FinalConfig c = finalize({{"DD_SERVERLESS_FLUSH_STRATEGY", r.text}}, Mode::kExtension);
    EXPECT_EQ(c.lambda.flush_strategy, r.want);
    EXPECT_TRUE(c.warnings.empty());
    EXPECT_FALSE(c.rejected_values);
    const auto* e = entry(c, "DD_SERVERLESS_FLUSH_STRATEGY");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->display, describe_flush_strategy(r.want));
    EXPECT_EQ(e->source, "env DD_SERVERLESS_FLUSH_STRATEGY");
  }
  // Unset: Default, from the row.
  const FinalConfig unset = finalize({}, Mode::kExtension);
  EXPECT_EQ(unset.lambda.flush_strategy, FlushStrategy{});
  EXPECT_EQ(entry(unset, "DD_SERVERLESS_FLUSH_STRATEGY")->display, "default");
  EXPECT_EQ(entry(unset, "DD_SERVERLESS_FLUSH_STRATEGY")->source, "default");
  EXPECT_EQ(flush_strategy_kind_name(K::kEndPeriodically), "end_periodically");
}

TEST(ConfigFlushStrategy, BadValueReportedOnceAndDefaultUsed) {
  for (const char* bad :
       {"end,0", "end,-5", "end,abc", "end,", "periodically", "periodically,0", "continuously",
        "continuously,1.5", "sometimes", "default,10", "end,10,20", ",100"}) {
    SCOPED_TRACE(bad);
    const FinalConfig c = finalize({{"DD_SERVERLESS_FLUSH_STRATEGY", bad}}, Mode::kExtension);
    EXPECT_EQ(c.lambda.flush_strategy, FlushStrategy{});
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("DD_SERVERLESS_FLUSH_STRATEGY=\"" + std::string(bad) + "\""),
              std::string::npos)
        << c.warnings[0];
    EXPECT_NE(c.warnings[0].find("using default \"default\" (adaptive)"), std::string::npos)
        << c.warnings[0];
    EXPECT_TRUE(c.rejected_values);
    const auto* e = entry(c, "DD_SERVERLESS_FLUSH_STRATEGY");
    EXPECT_EQ(e->display, "default");
    EXPECT_EQ(e->source, "default (DD_SERVERLESS_FLUSH_STRATEGY rejected)");
  }
}

// LMI forces Continuous: continuously,N kept; anything else continuously,30000, warned once unless
// it was Default; --check-config shows the rule.
TEST(ConfigFlushStrategy, LmiForcesContinuous) {
  using K = FlushStrategy::Kind;
  const auto lmi = [](std::optional<std::string> value) {
    std::map<std::string, std::string> env{
        {"AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"}};
    if (value) env["DD_SERVERLESS_FLUSH_STRATEGY"] = *value;
    return finalize(env, Mode::kExtension);
  };
  const FlushStrategy forced{K::kContinuously, 30000};
  {
    const FinalConfig c = lmi("continuously,5000");
    ASSERT_TRUE(c.lambda.lmi);
    EXPECT_EQ(c.lambda.flush_strategy, (FlushStrategy{K::kContinuously, 5000}));
    EXPECT_TRUE(c.warnings.empty());
    EXPECT_TRUE(entry(c, "DD_SERVERLESS_FLUSH_STRATEGY")->derived.empty());
  }
  for (const std::optional<std::string>& quiet :
       {std::optional<std::string>{}, std::optional<std::string>{"default"}}) {
    const FinalConfig c = lmi(quiet);
    EXPECT_EQ(c.lambda.flush_strategy, forced);
    EXPECT_TRUE(c.warnings.empty());
    const auto* e = entry(c, "DD_SERVERLESS_FLUSH_STRATEGY");
    EXPECT_EQ(e->display, "continuously,30000");
    EXPECT_NE(e->derived.find("Lambda Managed Instances"), std::string::npos);
    EXPECT_EQ(e->source, "derived (" + e->derived + ")");
  }
  for (const char* other : {"end", "end,1000", "periodically,20000"}) {
    SCOPED_TRACE(other);
    const FinalConfig c = lmi(other);
    EXPECT_EQ(c.lambda.flush_strategy, forced);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("DD_SERVERLESS_FLUSH_STRATEGY=" + std::string(other)),
              std::string::npos)
        << c.warnings[0];
    EXPECT_NE(c.warnings[0].find("using continuously,30000"), std::string::npos);
    const auto* e = entry(c, "DD_SERVERLESS_FLUSH_STRATEGY");
    EXPECT_EQ(e->display, "continuously,30000");
    EXPECT_NE(check_config_line(c, "DD_SERVERLESS_FLUSH_STRATEGY").find("*derived: "),
              std::string::npos)
        << check_config_line(c, "DD_SERVERLESS_FLUSH_STRATEGY");
  }
  // A bad value is reported once (as bad), then forced without a second warning.
  const FinalConfig bad = lmi("end,0");
  EXPECT_EQ(bad.lambda.flush_strategy, forced);
  EXPECT_EQ(bad.warnings.size(), 1u);
  // Not LMI outside extension mode: the value is kept.
  std::map<std::string, std::string> env{
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"},
      {"DD_SERVERLESS_FLUSH_STRATEGY", "end"}};
  EXPECT_EQ(finalize(env, Mode::kSidecar).lambda.flush_strategy, (FlushStrategy{K::kEnd, 0}));
}

}  // namespace
}  // namespace lc
