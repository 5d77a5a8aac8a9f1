// lastcall-sandbox's command line (lambda-platform.md §7.2).
#include "tools/sandbox/options.h"

#include <gtest/gtest.h>

namespace lc::sandbox {
namespace {

TEST(SandboxOptions, RuntimeTakesTheRestOfTheLine) {
  auto o = parse_options({"run", "--extensions-dir", "/opt/extensions", "--no-freeze",
                          "--function-timeout-ms", "500", "--env", "A=b=c", "--runtime", "node",
                          "--port", "9"});
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->extensions_dir, "/opt/extensions");
  EXPECT_FALSE(o->freeze);
  EXPECT_EQ(o->function_timeout_ms, 500);
  ASSERT_EQ(o->env.size(), 1u);
  EXPECT_EQ(o->env[0].first, "A");
  EXPECT_EQ(o->env[0].second, "b=c");
  EXPECT_EQ(o->runtime_cmd, (std::vector<std::string>{"node", "--port", "9"}));
  EXPECT_EQ(o->api_port, 0);
}

TEST(SandboxOptions, DefaultsFollowTheSpec) {
  auto o = parse_options({"--runtime", "bootstrap"});
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->freeze);
  EXPECT_EQ(o->mode, SandboxMode::kOnDemand);
  EXPECT_EQ(o->function_timeout_ms, 3000);
  EXPECT_EQ(o->init_timeout_ms, 10000);
  EXPECT_EQ(o->shutdown_budget_ms, 2000);
  EXPECT_EQ(o->runtime_share_ms, 300);
  EXPECT_EQ(o->memory_mb, 128);
  EXPECT_EQ(o->function_name, "sandbox-fn");
  EXPECT_EQ(o->concurrency, 1);
}

TEST(SandboxOptions, LmiModeAndKnobs) {
  auto o = parse_options({"--mode", "lmi", "--concurrency", "4", "--faults",
                          R"({"late_report":"at_shutdown"})", "--runtime", "x"});
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_TRUE(o->lmi());
  EXPECT_EQ(o->concurrency, 4);
  EXPECT_EQ(o->runtime_share_ms, 600);
  EXPECT_EQ(o->faults.late_report, LateReport::kAtShutdown);
  EXPECT_EQ(o->function_arn(), "arn:aws:lambda:us-east-1:123456789012:function:sandbox-fn");
}

TEST(SandboxOptions, ClearErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--extensions-dir", "x"},
      {"--runtime"},
      {"--port", "70000", "--runtime", "x"},
      {"--memory-mb", "lots", "--runtime", "x"},
      {"--mode", "snapstart", "--runtime", "x"},
      {"--env", "novalue", "--runtime", "x"},
      {"--faults", "{\"nope\":1}", "--runtime", "x"},
      {"--bogus", "--runtime", "x"},
      {"--freeze", "maybe", "--runtime", "x"},
  };
  for (const auto& args : bad) {
    auto o = parse_options(args);
    EXPECT_FALSE(o.has_value());
    if (!o) {
      EXPECT_FALSE(o.error().message.empty());
    }
  }
}

}  // namespace
}  // namespace lc::sandbox
