// The real lastcall, installed as /opt/extensions/datadog-agent would be, inside the real
// lastcall-sandbox with freeze on: cold start, three invocations, SHUTDOWN. Asserted from the
// sandbox's timeline: registered under its file name, subscribed to telemetry (and answered the
// deliveries 200), received every event, exited before the deadline (issue: lastcall-sandbox).
#include <gtest/gtest.h>

#include "../sandbox/sandbox_harness.h"
#include "support/process.h"

namespace lc::sandbox::testing {
namespace {

namespace json = boost::json;

// lastcall installed in the extensions dir as datadog-agent, ports ephemeral on loopback.
SandboxSetup with_lastcall(std::vector<std::string> sandbox_args = {}) {
  SandboxSetup setup;
  setup.binaries["datadog-agent"] = lc::test::built_binary("lastcall");
  for (const char* env :
       {"LASTCALL_BIND_HOST=127.0.0.1", "LASTCALL_LOCAL_API_PORT=0", "LASTCALL_TELEMETRY_PORT=0",
        "DD_DOGSTATSD_PORT=0", "DD_APM_RECEIVER_PORT=0", "DD_API_KEY=sandbox-test-key-0123456789",
        "DD_LOG_LEVEL=debug"}) {
    setup.args.push_back("--env");
    setup.args.push_back(env);
  }
  setup.args.insert(setup.args.end(), sandbox_args.begin(), sandbox_args.end());
  return setup;
}

TEST(ExtensionInSandbox, ColdStartThreeInvokesShutdownWithFreeze) {
  SandboxHarness sb(with_lastcall());
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("frozen", 1)) << sb.output();  // init done: everyone parked in next
  const std::vector<std::string> ids = {"req-1", "req-2", "req-3"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = sb.invoke(R"({"respond":{"n":)" + std::to_string(i) + "}}", ids[i]);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(sb.wait("frozen", static_cast<int>(i) + 2)) << sb.output();
  }
  auto down = sb.control("POST", "/shutdown");
  ASSERT_EQ(down.status, 200) << down.body;
  bool saw = false;
  const json::value summary = json::parse(down.body);
  for (const auto& p : summary.at("processes").as_array()) {
    if (str(p.at("name")) != "datadog-agent") continue;
    saw = true;
    EXPECT_EQ(p.at("exit_code").to_number<int>(), 0) << sb.output();
    EXPECT_FALSE(p.at("sigkilled").as_bool());
    EXPECT_TRUE(p.at("exited_before_deadline").as_bool());
  }
  EXPECT_TRUE(saw) << down.body;

  const auto tl = sb.timeline();
  const int reg =
      find_entry(tl, "extension.register", {{"name", "datadog-agent"}, {"status", "200"}});
  ASSERT_GE(reg, 0) << sb.output();
  EXPECT_TRUE(tl[reg].at("account_id_feature").as_bool());
  EXPECT_FALSE(tl[reg].at("internal").as_bool());
  const int sub = find_entry(tl, "telemetry.subscribe", {{"status", "200"}});
  ASSERT_TRUE(in_order({reg, sub}));
  // The platform's batches reached lastcall's listener and were answered 200.
  const int delivered = find_entry(tl, "telemetry.delivered", {{"status", "200"}});
  EXPECT_TRUE(in_order({sub, delivered}));
  for (const auto& id : ids) {
    EXPECT_GE(find_entry(tl, "extension.event", {{"event_type", "INVOKE"}, {"request_id", id}}), 0)
        << id;
  }
  const int shutdown = find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}});
  ASSERT_GE(shutdown, 0);
  const int exited = find_entry(tl, "exit", {{"name", "datadog-agent"}}, shutdown);
  ASSERT_TRUE(in_order({shutdown, exited}));
  EXPECT_LT(tl[exited].at("t_ms").to_number<double>(),
            tl[shutdown].at("deadline_ms").to_number<double>());
  // Every /next after the first was answered: lastcall called next once per event, plus the last.
  EXPECT_GE(count_entries(tl, "extension.next", {{"name", "datadog-agent"}}), 4);
}

TEST(ExtensionInSandbox, LmiRegistersShutdownOnly) {
  SandboxHarness sb(with_lastcall({"--mode", "lmi"}));
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done", 1)) << sb.output();
  EXPECT_EQ(sb.invoke(R"({"respond":{"ok":true}})", "lmi-1").status, 200);
  EXPECT_EQ(sb.control("POST", "/shutdown").status, 200);
  const auto tl = sb.timeline();
  const int reg =
      find_entry(tl, "extension.register", {{"name", "datadog-agent"}, {"status", "200"}});
  ASSERT_GE(reg, 0) << sb.output();
  EXPECT_GE(find_entry(tl, "telemetry.subscribe", {{"status", "200"}}), 0);
  EXPECT_LT(find_entry(tl, "extension.event", {{"event_type", "INVOKE"}}), 0);
  const int shutdown = find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}});
  ASSERT_GE(shutdown, 0);
  EXPECT_TRUE(in_order({shutdown, find_entry(tl, "exit", {{"name", "datadog-agent"}}, shutdown)}));
}

}  // namespace
}  // namespace lc::sandbox::testing
