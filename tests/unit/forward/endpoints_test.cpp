#include "forward/endpoints.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace lc::forward {
namespace {

TEST(Endpoints, PrimaryIntakesAndAdditionalMetricsEndpoints) {
  FinalConfig c = default_config();
  c.forward.api_key = "primary-key";
  c.forward.metrics_url = "http://127.0.0.1:8428/datadog/";
  c.forward.logs_url = "https://http-intake.logs.datadoghq.com";
  c.forward.apm_url = "https://trace.agent.datadoghq.com";
  c.forward.additional_metrics_endpoints = {{"https://app.datadoghq.eu", "key2"},
                                            {"https://app.datadoghq.eu", "key3"}};
  const auto eps = resolve_endpoints(c.forward);
  ASSERT_EQ(eps.size(), 5u);
  EXPECT_EQ(eps[0].name, "metrics");
  EXPECT_EQ(eps[0].base_url, "http://127.0.0.1:8428/datadog");
  EXPECT_EQ(eps[0].api_key, "primary-key");
  EXPECT_TRUE(eps[0].accepts(PayloadKind::kSeriesV1));
  EXPECT_TRUE(eps[0].accepts(PayloadKind::kSketches));
  EXPECT_FALSE(eps[0].accepts(PayloadKind::kLogs));
  EXPECT_EQ(eps[1].name, "logs");
  EXPECT_TRUE(eps[1].accepts(PayloadKind::kLogs));
  EXPECT_EQ(eps[2].name, "apm");
  EXPECT_TRUE(eps[2].accepts(PayloadKind::kTraces));
  EXPECT_TRUE(eps[2].accepts(PayloadKind::kTraceStats));
  EXPECT_EQ(eps[3].name, "metrics+1");
  EXPECT_EQ(eps[3].api_key, "key2");
  EXPECT_EQ(eps[4].api_key, "key3");
  EXPECT_TRUE(eps[3].additional);
  EXPECT_TRUE(eps[4].accepts(PayloadKind::kSeriesV2));
  EXPECT_TRUE(eps[4].accepts(PayloadKind::kSketches));
  EXPECT_FALSE(eps[4].accepts(PayloadKind::kEvents));
  EXPECT_FALSE(eps[4].accepts(PayloadKind::kLogs));
}

TEST(Endpoints, AdditionalLogsEndpointsReceiveLogsOnly) {
  ForwardConfig forward;
  forward.metrics_url = "https://api.datadoghq.com";
  forward.logs_url = "https://http-intake.logs.datadoghq.com";
  forward.apm_url = "https://trace.agent.datadoghq.com";
  forward.additional_logs_endpoints = {{"https://logs.example.com:10516/", "lk1", true},
                                       {"http://127.0.0.1:9", "lk2", false}};
  const auto eps = resolve_endpoints(forward);
  ASSERT_EQ(eps.size(), 5u);
  EXPECT_EQ(eps[3].name, "logs+1");
  EXPECT_EQ(eps[3].base_url, "https://logs.example.com:10516");
  EXPECT_EQ(eps[3].api_key, "lk1");
  EXPECT_TRUE(eps[3].additional);
  EXPECT_TRUE(eps[3].reliable);
  EXPECT_TRUE(eps[3].accepts(PayloadKind::kLogs));
  EXPECT_FALSE(eps[3].accepts(PayloadKind::kSeriesV2));
  EXPECT_EQ(eps[4].name, "logs+2");
  EXPECT_FALSE(eps[4].reliable);
}

TEST(Endpoints, NormalizeDropsTrailingSlashes) {
  EXPECT_EQ(normalize_base_url("https://a.b//"), "https://a.b");
  EXPECT_EQ(normalize_base_url("https://a.b/x"), "https://a.b/x");
}

}  // namespace
}  // namespace lc::forward
