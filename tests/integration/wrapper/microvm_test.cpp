// The real lastcall on the Lambda microVM platform (serverless-init.md §7): as `lastcall -- app`
// with a small Python app that implements the hooks (microvm_app.py), driven through the six hooks
// in order, and as a sidecar with the built-in handling; every answer and every piece of telemetry
// is checked at the platform's side and in the real lastcall-fakeintake.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"
#include "support/wrapper_process.h"
#include "test_paths.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kArn = "arn:aws:lambda:us-east-1:123456789012:microvm-image:test";
constexpr const char* kHookPrefix = "/aws/lambda-microvms/runtime/v1/";

Expected<BlockingResponse> hook(int port, const std::string& name, std::string body = {},
                                std::string method = "POST") {
  net::Headers headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return http_request(static_cast<std::uint16_t>(port),
                      {std::move(method), kHookPrefix + name, std::move(headers), std::move(body)},
                      15s);
}

bool any_has(const json::value& answer, std::string_view tag) {
  const auto sets = point_tags(answer);
  return std::any_of(sets.begin(), sets.end(), [&](const std::vector<std::string>& tags) {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
  });
}

// The metric's answer now (no waiting): a flush that must have delivered it already ended.
json::value metric_now(const FakeIntakeClient& client, std::string_view name) {
  return client.metrics(name);
}

bool has_points(const json::value& answer) { return !point_tags(answer).empty(); }

std::string ddtags_of(const json::object& entry) {
  const auto* t = entry.if_contains("ddtags");
  return t != nullptr && t->is_string() ? std::string(t->get_string()) : "";
}

// The captured log entry of the app's line for `hook`, if the intake has it now.
std::optional<json::object> hook_log(const FakeIntakeClient& client, std::string_view hook) {
  const std::string needle = "app: hook " + std::string(hook) + " ";
  for (auto& e : intake_flat_logs(client)) {
    if (message_of(e).starts_with(needle)) return e;
  }
  return std::nullopt;
}

TEST(WrapperMicrovm, SixHooksForwardedToTheAppInOrderWithEveryFlushAtTheIntake) {
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  const int app_port = pick_free_port(SOCK_STREAM);
  ASSERT_GT(app_port, 0);
  WrapperOptions o = wrapped(
      {"python3", std::string(LC_TEST_SOURCE_DIR) + "/tests/integration/wrapper/microvm_app.py",
       std::to_string(app_port)},
      {{"AWS_LAMBDA_MICROVM_IMAGE_ARN", kArn},
       {"DD_AWS_MICROVM_LIFECYCLE_PORT", "0"},
       {"DD_AWS_MICROVM_USER_APP_PORT", std::to_string(app_port)},
       {"DD_AWS_MICROVM_ENABLE_READY", "true"},
       {"DD_AWS_MICROVM_ENABLE_VALIDATE", "true"},
       {"DD_AWS_MICROVM_ENABLE_RUN", "true"},
       {"DD_AWS_MICROVM_ENABLE_RESUME", "true"},
       {"DD_AWS_MICROVM_ENABLE_SUSPEND", "true"},
       {"DD_AWS_MICROVM_ENABLE_TERMINATE", "true"},
       {"DD_SERVICE", "mvm-app"}});
  auto w = WrapperProcess::start("http://127.0.0.1:" + std::to_string(intake->port()), o);
  ASSERT_TRUE(w && w->started());
  ASSERT_GT(w->microvm(), 0) << "no microvm= in the listening line:\n" << w->stderr_bytes();
  ASSERT_TRUE(w->wait_for_stdout("app: listening", 20s)) << w->stderr_bytes();
  const auto client = intake->client();

  const std::vector<std::pair<std::string, std::string>> hooks = {
      {"ready", ""},
      {"validate", ""},
      {"run", R"({"microvmId":"vm-1","meshIpv6Address":"fd00::12"})"},
      {"resume", ""},
      {"suspend", ""},
      {"terminate", ""}};
  for (const auto& [name, body] : hooks) {
    SCOPED_TRACE(name);
    auto r = hook(w->microvm(), name, body);
    ASSERT_TRUE(r.has_value()) << r.error().message << "\n" << w->stderr_bytes();
    // Mirrored: the app's status, Content-Type and body; none of its other headers (§7.5).
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"hook": ")" + name + R"("})");
    EXPECT_EQ(r->header("Content-Type").value_or(""), "application/json");
    EXPECT_FALSE(r->header("X-App").has_value());
    if (name == "ready") {
      // §7.9: /ready flushes before its 200, so build-time logs are not cloned into every VM.
      const auto ready = hook_log(client, "ready");
      ASSERT_TRUE(ready) << "the ready flush did not deliver the app's line";
      EXPECT_EQ(ddtags_of(*ready).find("lambda_microvm_id"), std::string::npos);
    }
  }

  // /terminate is sequential (§7.6): the flush started after the app answered, so the line the app
  // wrote while handling it and the terminate metric (open bucket) are at the intake already.
  const auto terminate = hook_log(client, "terminate");
  ASSERT_TRUE(terminate) << w->stderr_bytes();
  EXPECT_NE(ddtags_of(*terminate).find("lambda_microvm_id:vm-1"), std::string::npos)
      << ddtags_of(*terminate);
  // The platform tags from the image ARN (§5.3).
  for (const char* tag :
       {"origin:lambdamicrovm", "region:us-east-1", "account_id:123456789012", "image_name:test"}) {
    EXPECT_NE(ddtags_of(*terminate).find(tag), std::string::npos) << ddtags_of(*terminate);
  }
  for (const char* name : {"validate", "run", "resume", "suspend"}) {
    EXPECT_TRUE(hook_log(client, name)) << name;
  }
  const auto term_metric = metric_now(client, "aws.lambda.enhanced.microvm.terminate");
  EXPECT_TRUE(any_has(term_metric, "lambda_microvm_id:vm-1")) << json::serialize(term_metric);
  for (const char* name : {"aws.lambda.enhanced.microvm.run", "aws.lambda.enhanced.microvm.resume",
                           "aws.lambda.enhanced.microvm.suspend"}) {
    const auto m = metric_now(client, name);
    EXPECT_TRUE(any_has(m, "lambda_microvm_id:vm-1")) << name << ": " << json::serialize(m);
  }
  // /validate came before /run: no id yet.
  const auto validate = metric_now(client, "aws.lambda.enhanced.microvm.validate");
  EXPECT_TRUE(has_points(validate)) << json::serialize(validate);
  EXPECT_FALSE(any_has(validate, "lambda_microvm_id:vm-1")) << json::serialize(validate);
  // The heartbeat started at /run with the id (§7.10).
  const auto beat = metric_now(client, "aws.lambda.enhanced.microvm.active_instances");
  EXPECT_TRUE(any_has(beat, "microvm_id:vm-1")) << json::serialize(beat);
  EXPECT_TRUE(any_has(beat, std::string("microvm_image_arn:") + kArn)) << json::serialize(beat);

  // The platform owns termination: lastcall sent the app nothing; SIGTERM ends both.
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait_exit(20s), 128 + SIGTERM) << w->stderr_bytes();
}

// The wrapper with the Python app on a free port, /terminate forwarded, and the given extra
// environment; nullptr (and a test failure) when it did not come up.
std::unique_ptr<WrapperProcess> start_with_app(const FakeIntakeProcess& intake,
                                               std::map<std::string, std::string> env,
                                               std::vector<std::string> app_args = {}) {
  const int app_port = pick_free_port(SOCK_STREAM);
  EXPECT_GT(app_port, 0);
  std::vector<std::string> command = {
      "python3", std::string(LC_TEST_SOURCE_DIR) + "/tests/integration/wrapper/microvm_app.py",
      std::to_string(app_port)};
  command.insert(command.end(), app_args.begin(), app_args.end());
  env.emplace("AWS_LAMBDA_MICROVM_IMAGE_ARN", kArn);
  env.emplace("DD_AWS_MICROVM_LIFECYCLE_PORT", "0");
  env.emplace("DD_AWS_MICROVM_USER_APP_PORT", std::to_string(app_port));
  env.emplace("DD_AWS_MICROVM_ENABLE_TERMINATE", "true");
  auto w = WrapperProcess::start("http://127.0.0.1:" + std::to_string(intake.port()),
                                 wrapped(std::move(command), std::move(env)));
  if (!w || !w->started() || w->microvm() <= 0 || !w->wait_for_stdout("app: listening", 20s)) {
    ADD_FAILURE() << "the wrapper or its app did not come up:\n" << (w ? w->stderr_bytes() : "");
    return nullptr;
  }
  return w;
}

TEST(WrapperMicrovm, ABigAppAnswerIsMirroredWholeWhileASlowerFlushRuns) {
  // §7.6: the app's body is read completely before the sequential flush starts, so a flush that
  // outlasts the forward timeout (1 s; the intake answers after 1.5 s) cannot cut it.
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto w = start_with_app(*intake,
                          {{"DD_AWS_MICROVM_FORWARD_TIMEOUT_MS", "1000"},
                           {"LASTCALL_MICROVM_FLUSH_TIMEOUT_MS", "4000"}},
                          {"262144"});
  ASSERT_TRUE(w);
  ASSERT_TRUE(intake->client().set_fault(R"({"endpoint":"*","delay_ms":1500})"));
  const auto t = std::chrono::steady_clock::now();
  auto r = hook(w->microvm(), "terminate");
  const auto took = std::chrono::steady_clock::now() - t;
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 262144u);
  EXPECT_EQ(r->body.find_first_not_of('t'), std::string::npos);
  EXPECT_EQ(r->header("Content-Type").value_or(""), "application/octet-stream");
  // The answer waited for the flush, whose requests each took 1.5 s.
  EXPECT_GE(took, 1500ms) << w->stderr_bytes();
  ASSERT_TRUE(intake->client().clear_faults());
  EXPECT_TRUE(hook_log(intake->client(), "terminate")) << w->stderr_bytes();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait_exit(20s), 128 + SIGTERM) << w->stderr_bytes();
}

TEST(WrapperMicrovm, SuspendFlushesDuringTheForwardTerminateOnlyAfterTheAppAnswered) {
  // §7.6 from the app's side (§11.27, §11.29): the intake answers each request after 0.5 s. The
  // app answers /suspend after 1 s and, right before, finds the suspend metric at the intake: the
  // flush ran in parallel with the forward. Right before answering /terminate it does not find
  // the terminate metric: that flush starts only after the app answered, and the platform's
  // answer waits for it.
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto w = start_with_app(*intake, {{"DD_AWS_MICROVM_ENABLE_SUSPEND", "true"},
                                    {"DD_AWS_MICROVM_FORWARD_TIMEOUT_MS", "4000"},
                                    {"APP_SUSPEND_DELAY_MS", "1000"},
                                    {"APP_INTAKE_PORT", std::to_string(intake->port())}});
  ASSERT_TRUE(w);
  ASSERT_TRUE(intake->client().set_fault(R"({"endpoint":"*","delay_ms":500})"));
  const auto t = std::chrono::steady_clock::now();
  auto suspend = hook(w->microvm(), "suspend");
  ASSERT_TRUE(suspend.has_value()) << suspend.error().message;
  EXPECT_EQ(suspend->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t, 1000ms);
  EXPECT_TRUE(w->wait_for_stdout("before answering suspend the intake had its metric: yes", 5s))
      << w->stdout_bytes();

  auto terminate = hook(w->microvm(), "terminate");
  ASSERT_TRUE(terminate.has_value()) << terminate.error().message;
  EXPECT_EQ(terminate->status, 200);
  EXPECT_TRUE(w->wait_for_stdout("before answering terminate the intake had its metric: no", 5s))
      << w->stdout_bytes();
  // ... and the platform's answer came after the flush that delivered it.
  EXPECT_TRUE(any_has(metric_now(intake->client(), "aws.lambda.enhanced.microvm.terminate"),
                      "origin:lambdamicrovm"));
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait_exit(20s), 128 + SIGTERM) << w->stderr_bytes();
}

TEST(WrapperMicrovm, AStuckIntakeBoundsTheTerminateAtItsFlushDeadline) {
  // §7.6/§7.7: the intake never answers; /terminate's flush ends at
  // LASTCALL_MICROVM_FLUSH_TIMEOUT_MS (1 s here, 5 s by default) and the platform still gets the
  // app's answer.
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto w = start_with_app(*intake, {{"LASTCALL_MICROVM_FLUSH_TIMEOUT_MS", "1000"}});
  ASSERT_TRUE(w);
  ASSERT_TRUE(intake->client().set_fault(R"({"endpoint":"*","hang":true})"));
  const auto t = std::chrono::steady_clock::now();
  auto r = hook(w->microvm(), "terminate");
  const auto took = std::chrono::steady_clock::now() - t;
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hook": "terminate"})");
  EXPECT_GE(took, 1000ms) << w->stderr_bytes();
  EXPECT_LT(took, 5000ms) << w->stderr_bytes();
  w->signal(SIGTERM);
  EXPECT_TRUE(w->wait_exit(30s).has_value()) << w->stderr_bytes();
}

TEST(WrapperMicrovm, ReadyIsBuiltInWhenNotForwardedAndOtherMethodsAndPathsAreRefused) {
  // §11.25: built-in /ready with the child alive; 405 with Allow: POST; 404 elsewhere. The ARN is
  // present but empty: still the microVM platform (§5.1).
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto w = WrapperProcess::start(
      "http://127.0.0.1:" + std::to_string(intake->port()),
      wrapped({"sleep", "60"},
              {{"AWS_LAMBDA_MICROVM_IMAGE_ARN", ""}, {"DD_AWS_MICROVM_LIFECYCLE_PORT", "0"}}));
  ASSERT_TRUE(w && w->started());
  ASSERT_GT(w->microvm(), 0) << w->stderr_bytes();
  auto ready = hook(w->microvm(), "ready");
  ASSERT_TRUE(ready.has_value()) << ready.error().message;
  EXPECT_EQ(ready->status, 200);
  auto get = hook(w->microvm(), "ready", "", "GET");
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->header("Allow").value_or(""), "POST");
  auto nope = hook(w->microvm(), "nope");
  ASSERT_TRUE(nope.has_value());
  EXPECT_EQ(nope->status, 404);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait_exit(20s), 128 + SIGTERM) << w->stderr_bytes();
}

TEST(WrapperMicrovm, NotAMicrovmWithoutTheImageArn) {
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto w =
      WrapperProcess::start("http://127.0.0.1:" + std::to_string(intake->port()),
                            wrapped({"sleep", "60"}, {{"DD_AWS_MICROVM_LIFECYCLE_PORT", "0"}}));
  ASSERT_TRUE(w && w->started());
  EXPECT_EQ(w->microvm(), 0) << w->stderr_bytes();
  w->signal(SIGTERM);
  EXPECT_TRUE(w->wait_exit(20s).has_value());
}

TEST(SidecarMicrovm, BuiltInHooksTagTheRunAndFlushTheTerminateMetric) {
  // Sidecar mode on a microVM: /ready 200 once the receivers are bound; /run's id tags the
  // lifecycle metrics; the built-in /terminate flushes (open bucket) before its 200.
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto s = SidecarProcess::start(
      "http://127.0.0.1:" + std::to_string(intake->port()),
      {{"AWS_LAMBDA_MICROVM_IMAGE_ARN", kArn}, {"DD_AWS_MICROVM_LIFECYCLE_PORT", "0"}});
  ASSERT_TRUE(s.started());
  ASSERT_GT(s.microvm, 0) << s.listening_line;
  auto ready = hook(s.microvm, "ready");
  ASSERT_TRUE(ready.has_value()) << ready.error().message;
  EXPECT_EQ(ready->status, 200);
  auto run = hook(s.microvm, "run", R"({"microvmId":"vm-2"})");
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->status, 200);
  // A custom metric sent before /terminate is in its flush too (open bucket), without the id.
  ASSERT_TRUE(send_udp(s.dogstatsd, "app.jobs:1|c|#q:a"));
  auto terminate = hook(s.microvm, "terminate");
  ASSERT_TRUE(terminate.has_value());
  EXPECT_EQ(terminate->status, 200);
  const auto client = intake->client();
  const auto m = metric_now(client, "aws.lambda.enhanced.microvm.terminate");
  EXPECT_TRUE(any_has(m, "lambda_microvm_id:vm-2")) << json::serialize(m);
  const auto jobs = metric_now(client, "app.jobs");
  EXPECT_TRUE(any_has(jobs, "q:a")) << json::serialize(jobs);
  EXPECT_FALSE(any_has(jobs, "lambda_microvm_id:vm-2")) << json::serialize(jobs);
  s.process->signal(SIGTERM);
  EXPECT_TRUE(s.process->wait_exit(20s).has_value());
}

}  // namespace
}  // namespace lc::test
