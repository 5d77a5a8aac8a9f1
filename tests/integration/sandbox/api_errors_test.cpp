// Bad requests to every API get the documented status and errorType, and the sandbox keeps going.
#include <gtest/gtest.h>

#include "support/sandbox_harness.h"

namespace lc::sandbox::testing {
namespace {

using boost::json::object;

void expect_error(const BlockingResponse& r, int status, std::string_view type) {
  EXPECT_EQ(r.status, status) << r.body;
  if (type.empty()) return;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  EXPECT_EQ(str(v.at("errorType")), type) << r.body;
  EXPECT_FALSE(str(v.at("errorMessage")).empty());
}

TEST(SandboxApiErrors, EveryDocumentedRejection) {
  SandboxHarness sb({{{"ext", object{}}}, {"--no-freeze"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  const std::string reg = "/2020-01-01/extension/register";
  const std::string next = "/2020-01-01/extension/event/next";
  const std::string unknown_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

  expect_error(sb.api("POST", reg, R"({"events":[]})"), 403, "Extension.InvalidExtensionName");
  expect_error(sb.api("POST", reg, R"({"events":[],"configurationKeys":["x"]})",
                      {{"Lambda-Extension-Name", "late"}}),
               403, "InvalidRequestFormat");
  expect_error(sb.api("POST", reg, "{not json", {{"Lambda-Extension-Name", "late"}}), 403,
               "InvalidRequestFormat");
  expect_error(sb.api("POST", reg, R"({"events":["BOGUS"]})", {{"Lambda-Extension-Name", "late"}}),
               403, "Extension.InvalidEventType");
  expect_error(sb.api("POST", reg, R"({"events":["INVOKE"]})", {{"Lambda-Extension-Name", "late"}}),
               403, "Extension.RegistrationClosed");
  expect_error(sb.api("GET", next), 403, "Extension.MissingExtensionIdentifier");
  expect_error(sb.api("GET", next, "", {{"Lambda-Extension-Identifier", "nope"}}), 403,
               "Extension.InvalidExtensionIdentifier");
  expect_error(sb.api("GET", next, "", {{"Lambda-Extension-Identifier", unknown_id}}), 403,
               "Extension.UnknownExtensionIdentifier");
  expect_error(sb.api("POST", "/2020-01-01/extension/init/error", "", {}), 403,
               "Extension.MissingExtensionIdentifier");
  expect_error(
      sb.api("PUT", "/2022-07-01/telemetry", "{}", {{"Lambda-Extension-Identifier", unknown_id}}),
      403, "Extension.UnknownExtensionIdentifier");
  expect_error(sb.api("PUT", "/2020-08-15/logs", "{}"), 202, "Logs.NotSupported");
  expect_error(sb.api("POST", "/2018-06-01/runtime/invocation/no-such-id/response", "x"), 400,
               "InvalidRequestID");
  expect_error(sb.api("POST", "/2018-06-01/runtime/invocation/no-such-id/error", "x"), 400,
               "InvalidRequestID");
  expect_error(sb.api("POST", "/2018-06-01/runtime/init/error", ""), 403, "InvalidStateTransition");
  expect_error(sb.api("GET", "/2099-01-01/nothing"), 404, "NotFound");
  EXPECT_EQ(sb.api("GET", "/ping").status, 200);

  // control interface
  EXPECT_EQ(sb.control("GET", "/wait?count=1").status, 400);
  EXPECT_EQ(sb.control("GET", "/wait?event=nothing&timeout_ms=1").status, 408);
  EXPECT_EQ(sb.control("POST", "/shutdown?reason=reboot").status, 400);
  EXPECT_EQ(sb.control("PUT", "/faults", "[]").status, 400);
  EXPECT_EQ(sb.control("POST", "/invoke", "{}", {{"X-Deadline-Ms", "soon"}}).status, 400);
  expect_error(sb.control("POST", "/invoke", "{}", {{"X-Request-Id", "a/b\"c"}}), 400,
               "InvalidRequestID");

  // and it still works
  auto r =
      sb.control("POST", "/2015-03-31/functions/function/invocations", R"({"respond":"alive"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "alive");
}

TEST(SandboxApiErrors, FunctionErrorThenAStaleAnswer) {
  // No extension: the invocation ends as soon as the scripted runtime posts its error.
  SandboxHarness sb({{}, {"--no-freeze"}, {}});
  ASSERT_TRUE(sb.started());
  auto r = sb.invoke(R"({"error":{"errorType":"Function.Boom","errorMessage":"bad"}})", "err-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Amz-Function-Error").value_or(""), "Unhandled");
  EXPECT_NE(r.body.find("Function.Boom"), std::string::npos);
  // the invocation is over: answering it again is a stale request id
  expect_error(sb.api("POST", "/2018-06-01/runtime/invocation/err-1/response", "late"), 400,
               "InvalidRequestID");
  const auto tl = sb.timeline();
  EXPECT_GE(
      find_entry(tl, "runtime.error", {{"request_id", "err-1"}, {"error_type", "Function.Boom"}}),
      0);
  EXPECT_GE(
      find_entry(tl, "telemetry.emit", {{"type", "platform.runtimeDone"}, {"status", "error"}}), 0);
}

}  // namespace
}  // namespace lc::sandbox::testing
