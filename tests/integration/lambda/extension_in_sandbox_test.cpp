// The real lastcall, installed as /opt/extensions/datadog-agent would be, inside the real
// lastcall-sandbox with freeze on: cold start, three invocations, SHUTDOWN. Asserted from the
// sandbox's timeline: registered under its file name, subscribed to telemetry (and answered the
// deliveries 200), received every event, exited before the deadline (issue: lastcall-sandbox).
#include <gtest/gtest.h>

#include <algorithm>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using sandbox::testing::count_entries;
using sandbox::testing::find_entry;
using sandbox::testing::in_order;
using sandbox::testing::str;

TEST(ExtensionInSandbox, ColdStartThreeInvokesShutdownWithFreeze) {
  LambdaRig rig;
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  auto& sb = rig.sandbox();
  ASSERT_TRUE(sb.wait("frozen", 1)) << sb.output();  // init done: everyone parked in next
  const std::vector<std::string> ids = {"req-1", "req-2", "req-3"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = sb.invoke(R"({"respond":{"n":)" + std::to_string(i) + "}}", ids[i]);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(sb.wait("frozen", static_cast<int>(i) + 2)) << sb.output();
  }
  const LastcallExit down = rig.shutdown();
  ASSERT_EQ(down.status, 200) << down.summary;
  EXPECT_TRUE(down.seen) << down.summary;
  EXPECT_EQ(down.exit_code, 0) << rig.diagnostics();
  EXPECT_FALSE(down.sigkilled);
  EXPECT_TRUE(down.exited_before_deadline);
  ASSERT_TRUE(down.ms_before_deadline) << down.summary;
  EXPECT_GT(*down.ms_before_deadline, 0.0);
  // Its own lines on stdout, with the extension-mode prefix (conventions.md §21).
  const auto out = rig.lastcall_output();
  ASSERT_FALSE(out.empty());
  for (const auto& line : out) EXPECT_EQ(line.rfind("DD_EXTENSION | ", 0), 0u) << line;
  EXPECT_EQ(rig.listening().at("local_api"), rig.local_api_port()) << rig.listening_line();

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
  LambdaRig rig({.sandbox_args = {"--mode", "lmi"}});
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  auto& sb = rig.sandbox();
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

// The rig gives lastcall and the function the same local API port: the function's `flush`
// instruction reaches lastcall's /lambda/flush (answered 200) and the invocation goes on. Without
// freeze, lastcall also answers the test between invocations.
TEST(ExtensionInSandbox, FunctionFlushReachesLastcallsLocalApi) {
  LambdaRig rig({.sandbox_args = {"--no-freeze"}});
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  const auto r = rig.invoke(R"({"flush":true,"respond":"flushed"})", "flush-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "flushed");
  const auto lines = rig.runtime_output("stderr");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "fake-runtime: flush -> 200"), lines.end())
      << rig.diagnostics();
  // The test reaches it too.
  const auto direct = rig.flush();
  ASSERT_TRUE(direct) << direct.error().message;
  EXPECT_EQ(direct->status, 200);
  EXPECT_EQ(rig.shutdown().exit_code, 0) << rig.diagnostics();
}

}  // namespace
}  // namespace lc::test
