#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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
  EXPECT_EQ(c.site, "datadoghq.com");
  EXPECT_EQ(c.metrics_url, "https://api.datadoghq.com");
  EXPECT_EQ(c.logs_url, "https://http-intake.logs.datadoghq.com");
  EXPECT_EQ(c.apm_url, "https://trace.agent.datadoghq.com");
  EXPECT_EQ(c.dogstatsd_port, 8125);
  EXPECT_EQ(c.flush_timeout_s, 30);
  EXPECT_EQ(c.flush_strategy, "default");
  EXPECT_TRUE(c.use_v2_series);
  EXPECT_EQ(c.metrics_compressor, Compressor::kZstd);
  EXPECT_EQ(c.flush_interval_ms, 10000);
  EXPECT_EQ(c.histogram_aggregates, (std::vector<std::string>{"max", "median", "avg", "count"}));
  ASSERT_EQ(c.histogram_percentiles.size(), 1u);
  EXPECT_DOUBLE_EQ(c.histogram_percentiles[0], 0.95);
  EXPECT_EQ(entry(c, "DD_SITE")->source, "default");
}

TEST(Config, PrecedenceDefaultsYamlDatadogDd) {
  const std::string yaml = write_yaml(
      "site: datadoghq.eu\nenv: from-yaml\nservice: yaml-svc\n"
      "tags:\n  - team:a\n  - tier:1\n");
  // YAML beats the default.
  auto c = finalize({}, Mode::kExtension, yaml);
  EXPECT_EQ(c.site, "datadoghq.eu");
  EXPECT_EQ(c.metrics_url, "https://api.datadoghq.eu");
  EXPECT_EQ(entry(c, "DD_SITE")->source, "datadog.yaml:site");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"team:a", "tier:1"}));
  // DATADOG_ beats YAML; DD_ beats DATADOG_.
  c = finalize(
      {{"DATADOG_ENV", "from-datadog"}, {"DATADOG_SERVICE", "dsvc"}, {"DD_SERVICE", "ddsvc"}},
      Mode::kExtension, yaml);
  EXPECT_EQ(c.env, "from-datadog");
  EXPECT_EQ(entry(c, "DD_ENV")->source, "env DATADOG_ENV");
  EXPECT_EQ(c.service, "ddsvc");
  EXPECT_EQ(entry(c, "DD_SERVICE")->source, "env DD_SERVICE");
  std::filesystem::remove(yaml);
}

TEST(Config, LoadConfigReadsDatadogYamlInExtensionModeOnly) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("lastcall-task-root-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "datadog.yaml") << "env: from-yaml\n";
  MapEnvironment env(std::map<std::string, std::string>{{"LAMBDA_TASK_ROOT", dir.string()}});
  auto extension = load_config(env, Mode::kExtension);
  ASSERT_TRUE(extension);
  EXPECT_EQ(extension->env, "from-yaml");
  auto sidecar = load_config(env, Mode::kSidecar);
  ASSERT_TRUE(sidecar);
  EXPECT_EQ(sidecar->env, "");
  std::filesystem::remove_all(dir);
}

TEST(Config, BrokenYamlIsReportedNotFatal) {
  const std::string yaml = write_yaml("site: [unclosed\n");
  auto c = finalize({{"DD_ENV", "x"}}, Mode::kExtension, yaml);
  EXPECT_EQ(c.env, "x");
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
  EXPECT_EQ(c.dogstatsd_port, 8125);
  EXPECT_EQ(c.flush_timeout_s, 30);
  EXPECT_TRUE(c.use_v2_series);
  ASSERT_EQ(c.warnings.size(), 3u);
  EXPECT_NE(c.warnings[0].find("DD_USE_V2_API_SERIES=\"perhaps\""), std::string::npos);
  EXPECT_NE(c.warnings[0].find("using default true"), std::string::npos);
  bool port = false;
  for (const auto& w : c.warnings)
    port |= w.find("DD_DOGSTATSD_PORT=\"eighty\"") != std::string::npos;
  EXPECT_TRUE(port);
  EXPECT_NE(entry(c, "DD_DOGSTATSD_PORT")->source.find("rejected"), std::string::npos);
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
  EXPECT_EQ(c.tags, (std::vector<std::string>{"team:a", "tier:1"}));
  EXPECT_EQ(c.base_tags, (std::vector<std::string>{"env:prod", "service:checkout", "version:1.2",
                                                   "team:a", "tier:1"}));
}

TEST(Config, UrlOverrides) {
  auto c = finalize({{"DD_URL", "http://legacy:1"},
                     {"DD_DD_URL", "http://127.0.0.1:8428/datadog/"},
                     {"DD_LOGS_CONFIG_LOGS_DD_URL", "logs.internal:8443"},
                     {"DD_APM_DD_URL", "http://127.0.0.1:9/"}});
  EXPECT_EQ(c.metrics_url, "http://127.0.0.1:8428/datadog");
  EXPECT_EQ(c.logs_url, "https://logs.internal:8443");
  EXPECT_EQ(c.apm_url, "http://127.0.0.1:9");
  c = finalize({{"DD_URL", "http://legacy:1"}});
  EXPECT_EQ(c.metrics_url, "http://legacy:1");
  c = finalize({{"DD_DD_URL", "no-scheme.example"}});
  EXPECT_EQ(c.metrics_url, "https://api.datadoghq.com");
  EXPECT_FALSE(c.warnings.empty());
}

TEST(Config, V1SeriesDefaultsToZlib) {
  auto c = finalize({{"DD_USE_V2_API_SERIES", "false"}});
  EXPECT_FALSE(c.use_v2_series);
  EXPECT_EQ(c.metrics_compressor, Compressor::kZlib);
}

TEST(Config, ProxyAndNoProxy) {
  auto c = finalize({{"HTTPS_PROXY", "http://user:s3cretpass@proxy.local:3128"},
                     {"NO_PROXY", "localhost,.internal"}});
  EXPECT_EQ(c.proxy.host, "proxy.local");
  EXPECT_EQ(c.proxy.port, 3128);
  EXPECT_EQ(c.proxy.user, "user");
  EXPECT_EQ(c.proxy.password, "s3cretpass");
  EXPECT_EQ(c.proxy.no_proxy, (std::vector<std::string>{"localhost", ".internal"}));
  // DD_PROXY_HTTPS wins over HTTPS_PROXY; DD_PROXY_NO_PROXY over NO_PROXY.
  c = finalize({{"HTTPS_PROXY", "http://a:1"},
                {"DD_PROXY_HTTPS", "http://b:2"},
                {"NO_PROXY", "x"},
                {"DD_PROXY_NO_PROXY", "y"}});
  EXPECT_EQ(c.proxy.host, "b");
  EXPECT_EQ(c.proxy.no_proxy, (std::vector<std::string>{"y"}));
  // Another scheme: reported once, traffic goes direct.
  c = finalize({{"DD_PROXY_HTTPS", "socks5://p:1"}});
  EXPECT_TRUE(c.proxy.host.empty());
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
  ASSERT_EQ(c.additional_metrics_endpoints.size(), 1u);
  EXPECT_EQ(c.additional_metrics_endpoints[0].url, "https://app.datadoghq.eu");
  EXPECT_EQ(config_secrets(c).size(), 3u);
}

TEST(Config, ModeDefaults) {
  auto w = finalize({}, Mode::kWrapper);
  EXPECT_EQ(w.log_level, LogLevel::kWarn);
  EXPECT_EQ(w.flush_interval_ms, 3000);
  EXPECT_EQ(w.dogstatsd_host, "127.0.0.1");
  auto s = finalize({}, Mode::kSidecar);
  EXPECT_EQ(s.log_level, LogLevel::kInfo);
  EXPECT_EQ(s.dogstatsd_host, "0.0.0.0");
  auto x = finalize({{"AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"},
                     {"LASTCALL_BIND_HOST", "127.0.0.1"}},
                    Mode::kExtension);
  EXPECT_TRUE(x.lmi);
  EXPECT_EQ(x.dogstatsd_host, "127.0.0.1");
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

}  // namespace
}  // namespace lc
