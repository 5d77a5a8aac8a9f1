#include "forward/forward_stage.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "fakes/fake_http_client.h"
#include "unit/forward/test_payloads.h"

namespace lc::forward {
namespace {

using fakes::FakeClock;
using fakes::FakeHttpClient;

// datadog-wire.md §5.2 example: DD_DD_URL=http://127.0.0.1:8428/datadog DD_USE_V2_API_SERIES=false
// → v1 series with deflate at <url>/api/v1/series, plus every additional endpoint.
TEST(ForwardStage, WiresEndpointsCodecsAndRetryBudgetFromConfig) {
  FinalConfig c = default_config();
  c.forward.api_key = "primary-key-0123456789";
  c.forward.metrics_url = "http://vm.test/datadog";
  c.forward.logs_url = "http://logs.test";
  c.forward.apm_url = "http://apm.test";
  c.metrics.use_v2_series = false;
  c.forward.metrics_compressor = Compressor::kZlib;
  c.forward.additional_metrics_endpoints = {{"http://extra.test/", "extra-key-0123456789"}};
  c.forward.retry_queue_bytes = 4096;

  FakeClock clock;
  FakeHttpClient http(clock);
  SelfMetrics self;
  ForwardStage stage =
      make_forward_stage(c.forward, c.common, http, clock, clock, self, [] { return 0.0; });
  ASSERT_EQ(stage.exporters.size(), 4u);

  const Payload p = test::series_v1({"page.views"});
  bool done = false;
  stage.forwarder->flush({p}, Deadline::after(clock, Millis(1000)), [&](const FlushSummary& s) {
    done = true;
    EXPECT_EQ(s.sent.payloads, 2u);
  });
  clock.advance(Millis(1000));
  ASSERT_TRUE(done);
  const auto vm = http.requests_to("vm.test");
  ASSERT_EQ(vm.size(), 1u);
  EXPECT_EQ(vm[0]->request.url, "http://vm.test/datadog/api/v1/series");
  EXPECT_EQ(vm[0]->header("Content-Encoding"), "deflate");
  EXPECT_EQ(vm[0]->header("DD-API-KEY"), c.forward.api_key);
  EXPECT_EQ(test::zlib_open(vm[0]->body(), 15), p.body);
  const auto extra = http.requests_to("extra.test");
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_EQ(extra[0]->request.url, "http://extra.test/api/v1/series");
  EXPECT_EQ(extra[0]->header("DD-API-KEY"), "extra-key-0123456789");
  EXPECT_EQ(http.close_idle_calls(), 1);

  const std::string d = stage.describe();
  EXPECT_NE(d.find("\"retry_queue_budget\":4096"), std::string::npos);
  EXPECT_NE(d.find("\"metrics_codec\":\"zlib\""), std::string::npos);
  EXPECT_EQ(d.find("primary-key"), std::string::npos);
  EXPECT_EQ(d.find("extra-key"), std::string::npos);
}

}  // namespace
}  // namespace lc::forward
