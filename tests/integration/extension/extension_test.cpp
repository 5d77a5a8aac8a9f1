// The real lastcall binary in Lambda extension mode against an in-test Extensions API:
// register headers and body, telemetry subscription, the /next loop, a clean exit on SHUTDOWN
// before its deadline, and the failure paths of registration (lambda-agent.md §1.2).
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <chrono>

#include "support/extension_process.h"
#include "support/fake_extensions_api.h"
#include "support/process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;

TEST(ExtensionIntegration, RegistersUnderInstalledNameSubscribesAndExitsOnShutdown) {
  FakeExtensionsApi api2;
  const std::int64_t deadline = wall_ms() + 2000 + 3000;
  api2.events = {invoke_event(wall_ms() + 3000), shutdown_event(deadline, "SPINDOWN")};
  auto second = start_extension(api2);
  ASSERT_NE(second, nullptr);
  auto code = second->wait_exit(20s);
  const std::int64_t exited_at = wall_ms();
  ASSERT_TRUE(code.has_value()) << second->output(ChildProcess::Stream::kStdout);
  EXPECT_EQ(*code, 0) << second->output(ChildProcess::Stream::kStdout);
  EXPECT_LT(exited_at, deadline) << "exited after the SHUTDOWN deadline";

  const auto reqs = api2.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/2020-01-01/extension/register");
  EXPECT_EQ(reqs[0].header("Lambda-Extension-Name"), "datadog-agent");
  EXPECT_EQ(reqs[0].header("Lambda-Extension-Accept-Feature"), "accountId");
  EXPECT_EQ(reqs[0].body, R"({"events":["INVOKE","SHUTDOWN"]})");
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/2022-07-01/telemetry");
  for (size_t i = 1; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].header("Lambda-Extension-Identifier"),
              "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  }
  EXPECT_EQ(reqs[2].path, "/2020-01-01/extension/event/next");
  EXPECT_EQ(reqs[3].path, "/2020-01-01/extension/event/next");

  // The subscription points at the telemetry port lastcall announced.
  const std::string out = second->output(ChildProcess::Stream::kStdout);
  auto listening = second->wait_for_line_containing("DD_EXTENSION | INFO | listening:", 1s);
  ASSERT_TRUE(listening) << out;
  const auto ports = parse_listening_line(*listening);
  ASSERT_TRUE(ports.count("telemetry"));
  ASSERT_TRUE(ports.count("local_api"));
  EXPECT_GT(ports.at("telemetry"), 0);
  boost::system::error_code ec;
  const auto sub = boost::json::parse(reqs[1].body, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(sub.at("schemaVersion").as_string(), "2022-12-13");
  EXPECT_EQ(sub.at("destination").at("URI").as_string(),
            "http://sandbox.localdomain:" + std::to_string(ports.at("telemetry")) + "/");
  // Own lines carry the extension prefix and never the API key.
  EXPECT_EQ(out.find(kExtensionApiKey), std::string::npos);
  for (const auto& line : second->lines()) {
    if (line.stream == ChildProcess::Stream::kStdout) {
      EXPECT_EQ(line.text.rfind("DD_EXTENSION | ", 0), 0u) << line.text;
    }
  }
}

TEST(ExtensionIntegration, ExitsBeforeTheShutdownDeadline) {
  FakeExtensionsApi api;
  const std::int64_t deadline = wall_ms() + 2000;
  api.events = {shutdown_event(deadline)};
  auto child = start_extension(api);
  ASSERT_NE(child, nullptr);
  auto code = child->wait_exit(20s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_LT(wall_ms(), deadline) << "exited after the SHUTDOWN deadline";
}

TEST(ExtensionIntegration, LmiRegistersShutdownOnlyWithTheLatestSchema) {
  FakeExtensionsApi api;
  api.events = {shutdown_event(wall_ms() + 2000)};
  auto child =
      start_extension(api, {{"AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"}});
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 0);
  const auto reqs = api.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].body, R"({"events":["SHUTDOWN"]})");
  EXPECT_NE(reqs[1].body.find(R"("schemaVersion":"2025-01-29")"), std::string::npos);
}

TEST(ExtensionIntegration, FailedRegistrationExitsNonZeroNamingTheApiAndErrorType) {
  FakeExtensionsApi api;
  api.register_response =
      net::HttpResponse::error(403, "Extension.InvalidExtensionName", "empty extension name");
  auto child = start_extension(api);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 1);
  auto line = child->wait_for_line_containing("DD_EXTENSION | ERROR |", 1s);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(api.address()), std::string::npos) << *line;
  EXPECT_NE(line->find("Extension.InvalidExtensionName"), std::string::npos) << *line;
  EXPECT_NE(line->find("403"), std::string::npos) << *line;
}

TEST(ExtensionIntegration, UnreachableRuntimeApiExitsNonZero) {
  std::uint16_t closed_port;
  {
    FakeExtensionsApi gone;  // bound then closed: nothing listens there any more
    closed_port = gone.port();
  }
  ProcessOptions o;
  o.argv = {built_binary("lastcall")};
  o.env = {{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(closed_port)},
           {"LASTCALL_BIND_HOST", "127.0.0.1"},
           {"LASTCALL_LOCAL_API_PORT", "0"},
           {"LASTCALL_TELEMETRY_PORT", "0"},
           {"DD_DOGSTATSD_PORT", "0"},
           {"DD_APM_RECEIVER_PORT", "0"},
           {"LAMBDA_TASK_ROOT", "/nonexistent"}};
  auto child = ChildProcess::start(o);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 1);
  EXPECT_TRUE(child->wait_for_line_containing("127.0.0.1:" + std::to_string(closed_port), 1s));
}

TEST(ExtensionIntegration, TelemetryNotSupportedStillServesTheLifecycle) {
  FakeExtensionsApi api;
  api.telemetry_response =
      net::HttpResponse::error(202, "Telemetry.NotSupported", "Telemetry API is not supported");
  api.events = {invoke_event(wall_ms() + 3000), shutdown_event(wall_ms() + 2000)};
  auto child = start_extension(api);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 0);
  EXPECT_EQ(api.requests().size(), 4u);
  EXPECT_TRUE(child->wait_for_line_containing("not supported", 1s));
}

TEST(ExtensionIntegration, MissingApiKeyStillRegisters) {
  FakeExtensionsApi api;
  api.events = {shutdown_event(wall_ms() + 2000)};
  auto child = start_extension(api, {{"DD_API_KEY", ""}});
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 0);
  EXPECT_TRUE(child->wait_for_line_containing("no API key", 1s));
  EXPECT_GE(api.requests().size(), 3u);
}

// lambda-agent.md §1.2: whatever /next answers, lastcall keeps calling it. A 200 whose body is
// not an event is reported as such, and the next event is still handled.
TEST(ExtensionIntegration, MalformedNextBodyIsLoggedAndNextIsCalledAgain) {
  FakeExtensionsApi api;
  api.events = {"<html>upstream error</html>", shutdown_event(wall_ms() + 2000)};
  auto child = start_extension(api);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->wait_exit(20s), 0);
  auto line = child->wait_for_line_containing("malformed event", 1s);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("<html>upstream error</html>"), std::string::npos) << *line;
  EXPECT_NE(line->find("calling /next again"), std::string::npos) << *line;
  std::size_t nexts = 0;
  for (const auto& r : api.requests()) nexts += r.path == "/2020-01-01/extension/event/next";
  EXPECT_EQ(nexts, 2u);
}

}  // namespace
}  // namespace lc::test
