// tests/support/extension_process.h — the real lastcall as a Lambda extension
// (/opt/extensions/datadog-agent) against a FakeExtensionsApi: the environment it runs with (a test
// API key, every listener on port 0 of 127.0.0.1), starting it, and the INVOKE / SHUTDOWN events
// the tests serve it. Header-only; used by the extension integration tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "support/fake_extensions_api.h"
#include "support/process.h"

namespace lc::test {

inline constexpr const char* kExtensionApiKey = "0123456789abcdef0123456789abcdef";

// What lastcall runs with as an extension of function my-fn against `api`.
inline std::map<std::string, std::string> extension_env(const FakeExtensionsApi& api) {
  return {{"AWS_LAMBDA_RUNTIME_API", api.address()},
          {"LASTCALL_BIND_HOST", "127.0.0.1"},
          {"LASTCALL_LOCAL_API_PORT", "0"},
          {"LASTCALL_TELEMETRY_PORT", "0"},
          {"DD_DOGSTATSD_PORT", "0"},
          {"DD_APM_RECEIVER_PORT", "0"},
          {"DD_API_KEY", kExtensionApiKey},
          {"DD_LOG_LEVEL", "debug"},
          {"LAMBDA_TASK_ROOT", "/nonexistent"},
          {"AWS_REGION", "us-east-1"},
          {"AWS_LAMBDA_FUNCTION_NAME", "my-fn"}};
}

// lastcall under its installed name with extension_env(api) plus `extra` (which overrides);
// nullptr when it could not be started (reported through gtest).
inline std::unique_ptr<ChildProcess> start_extension(
    const FakeExtensionsApi& api, const std::map<std::string, std::string>& extra = {}) {
  EXPECT_TRUE(api.started()) << api.error();
  ProcessOptions o;
  o.argv = {built_binary("lastcall")};
  o.argv0_override = "/opt/extensions/datadog-agent";
  o.env = extension_env(api);
  for (const auto& [k, v] : extra) o.env[k] = v;
  std::string error;
  auto child = ChildProcess::start(o, &error);
  EXPECT_NE(child, nullptr) << error;
  return child;
}

inline std::string invoke_event(std::int64_t deadline_ms) {
  return R"({"eventType":"INVOKE","deadlineMs":)" + std::to_string(deadline_ms) +
         R"(,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn"})";
}

inline std::string shutdown_event(std::int64_t deadline_ms, std::string_view reason = "spindown") {
  return R"({"eventType":"SHUTDOWN","shutdownReason":")" + std::string(reason) +
         R"(","deadlineMs":)" + std::to_string(deadline_ms) + "}";
}

}  // namespace lc::test
