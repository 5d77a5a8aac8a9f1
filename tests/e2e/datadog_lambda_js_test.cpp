// Issue 19, "done when", end to end with software no one here wrote: a Node handler wrapped with
// npm datadog-lambda-js 12 (`datadog()`, `sendDistributionMetric`) runs under npm aws-lambda-ric
// 3.3.0 inside lastcall-sandbox, with the real lastcall as the `datadog-agent` extension sending to
// lastcall-fakeintake (node/datadog_lambda_handler.js).
// - datadog-lambda-js talks to an extension only when /opt/extensions/datadog-agent exists: the
//   runtime runs in a private mount namespace where it does (support/opt_extensions.h).
// - It sends to the fixed ports 8125 (DogStatsD) and 8124 (its /lambda/flush, made only with
//   DD_LOCAL_TESTING=true), so lastcall runs on the default ports and the CTest test holds the
//   RESOURCE_LOCK `lastcall_default_ports`.
// Asserted on decoded intake records: every distribution sample of three invocations (count, sum,
// min, max, per-invocation contexts, lastcall's tags on them), the first invocation's samples at
// the intake before the next INVOKE (the sandbox freezes lastcall between invocations, so only a
// flush during or at the end of the invocation can have sent them), one forced flush per
// invocation in lastcall's log (the library's /lambda/flush; the test never calls it), exactly
// three aws.lambda.enhanced.invocations although the library sends its own (dropped,
// lambda-agent.md §3.1), the report-based enhanced metrics of each invocation, and the handler's
// log lines once each with their request ids. A second test checks the mount-namespace helper on
// its own.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/ci.h"
#include "support/lambda_rig.h"
#include "support/opt_extensions.h"
#include "support/process.h"
#include "test_paths.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kMetric = "lastcall.e2e.checkout.latency";
constexpr int kDogStatsDPort = 8125;  // fixed in datadog-lambda-js (LambdaDogStatsD.PORT)
constexpr int kLocalApiPort = 8124;   // fixed in datadog-lambda-js (EXTENSION_URL)

// True when 127.0.0.1:port of this type can be bound right now (nothing else holds it).
bool port_free(int socket_type, int port) {
  const int fd = ::socket(AF_INET, socket_type, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The merged sketch of a /fakeintake/metrics answer ("sketch": cnt, sum, min, max).
double sketch_field(const json::value& metric, std::string_view field) {
  const auto* o = metric.if_object();
  const auto* s = o != nullptr ? o->if_contains("sketch") : nullptr;
  return s != nullptr ? json_number(*s, field) : std::nan("");
}

bool any_tag_starting(const json::object& context, std::string_view prefix) {
  const auto* tags = context.if_contains("tags");
  if (tags == nullptr || !tags->is_array()) return false;
  return std::any_of(tags->get_array().begin(), tags->get_array().end(), [&](const json::value& t) {
    return t.is_string() && std::string_view(t.get_string()).substr(0, prefix.size()) == prefix;
  });
}

std::size_t lines_containing(const std::vector<std::string>& lines, std::string_view part) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
    return l.find(part) != std::string::npos;
  }));
}

struct Call {
  std::string id;
  std::string probe;
  std::vector<double> values;
};

TEST(DatadogLambdaJsE2E, DistributionsEnhancedMetricsAndLogsReachTheIntake) {
  const std::string node_dir = std::string(LC_TEST_SOURCE_DIR) + "/tests/e2e/node";
  for (const char* file : {"datadog-lambda-js/dist/index.js", "aws-lambda-ric/bin/index.mjs",
                           "aws-lambda-ric/dist/rapid-client.node"}) {
    if (!std::filesystem::exists(node_dir + "/node_modules/" + file)) {
      LC_SKIP_UNLESS_CI() << "npm packages datadog-lambda-js and aws-lambda-ric are not installed ("
                          << file << " is missing; scripts/setup installs them)";
    }
  }
  const std::string node = find_executable("node");
  if (node.empty()) LC_SKIP_UNLESS_CI() << "node is not installed (scripts/setup installs it)";
  // What the library tests for; a symlink to the lastcall the sandbox runs as that extension.
  OptExtensions opt({.name = "datadog-agent", .target = built_binary("lastcall")});
  if (!opt.available()) LC_SKIP_UNLESS_CI() << opt.missing();
  ASSERT_TRUE(port_free(SOCK_DGRAM, kDogStatsDPort))
      << "UDP 127.0.0.1:8125 is taken by another process; datadog-lambda-js only sends there";
  ASSERT_TRUE(port_free(SOCK_STREAM, kLocalApiPort))
      << "TCP 127.0.0.1:8124 is taken by another process; datadog-lambda-js only flushes there";

  LambdaRigOptions o;
  o.env = {{"DD_DOGSTATSD_PORT", std::to_string(kDogStatsDPort)},
           {"LASTCALL_LOCAL_API_PORT", std::to_string(kLocalApiPort)},
           {"DD_LOCAL_TESTING", "true"},
           {"DD_ENV", "e2e"},
           {"DD_SERVICE", "checkout"}};
  o.sandbox_args = {"--memory-mb", "512", "--function-timeout-ms", "10000"};
  o.runtime = opt.wrap({node, node_dir + "/node_modules/aws-lambda-ric/bin/index.mjs",
                        "datadog_lambda_handler.handler"},
                       node_dir);
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  const auto intake = rig.intake();

  const std::vector<Call> calls = {
      {"e2e-req-1", "p1", {12.5, 30}}, {"e2e-req-2", "p2", {7}}, {"e2e-req-3", "p3", {1, 2, 3}}};
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Call& c = calls[i];
    json::object event;
    event["probe"] = c.probe;
    event["values"] = json::value_from(c.values);
    const auto answer = rig.invoke(json::serialize(event), c.id);
    ASSERT_EQ(answer.status, 200) << c.id << " " << answer.body << "\n" << rig.diagnostics();
    boost::system::error_code ec;
    const json::value body = json::parse(answer.body, ec);
    ASSERT_FALSE(ec) << answer.body;
    EXPECT_EQ(body.at("ok"), json::value(true)) << answer.body;
    EXPECT_EQ(body.at("request_id"), json::value(c.id)) << answer.body;
    if (i == 0) {
      // Delivered during the invocation (the library's flush, or lastcall's own at its end): the
      // sandbox freezes lastcall once it calls /next, and the test sends the next INVOKE only
      // after the samples are at the intake.
      const auto first = intake.wait_for_metric(
          kMetric, [](const json::value& m) { return sketch_field(m, "cnt") >= 2; }, 10s);
      ASSERT_TRUE(first) << json::serialize(intake.metrics(kMetric)) << "\n" << rig.diagnostics();
    }
  }
  ASSERT_TRUE(rig.wait("invoke.end", static_cast<int>(calls.size()))) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();

  // The library really talked to lastcall: one forced flush per invocation (its POST
  // /lambda/flush; the test never calls it), and none of its flushes failed.
  const auto lastcall_lines = rig.lastcall_output();
  EXPECT_GE(lines_containing(lastcall_lines, "flush (forced)"), calls.size()) << rig.diagnostics();
  for (const char* stream : {"stdout", "stderr"}) {
    EXPECT_EQ(lines_containing(rig.runtime_output(stream), "Failed to flush extension"), 0u)
        << rig.diagnostics();
  }

  // The handler's distribution: every sample once, one context per invocation (its probe tag),
  // with the library's tags and lastcall's base tags.
  const json::value dist = intake.metrics(kMetric);
  EXPECT_EQ(sketch_field(dist, "cnt"), 6) << json::serialize(dist);
  EXPECT_EQ(sketch_field(dist, "sum"), 55.5) << json::serialize(dist);
  EXPECT_EQ(sketch_field(dist, "min"), 1) << json::serialize(dist);
  EXPECT_EQ(sketch_field(dist, "max"), 30) << json::serialize(dist);
  EXPECT_EQ(json_number(dist, "duplicates"), 0) << json::serialize(dist);
  for (const Call& c : calls) {
    EXPECT_EQ(sketch_count(dist, "probe:" + c.probe), static_cast<double>(c.values.size()))
        << c.probe << ": " << json::serialize(dist);
  }
  const auto* contexts = dist.is_object() ? dist.as_object().if_contains("contexts") : nullptr;
  ASSERT_TRUE(contexts != nullptr && contexts->is_array() && !contexts->get_array().empty())
      << json::serialize(dist);
  for (const auto& ctx : contexts->get_array()) {
    const auto& c = ctx.as_object();
    for (const char* tag : {"route:/checkout", "functionname:sandbox-fn", "env:e2e",
                            "service:checkout", "region:us-east-1"}) {
      EXPECT_TRUE(context_has_tag(c, tag)) << tag << ": " << json::serialize(c);
    }
    EXPECT_TRUE(any_tag_starting(c, "dd_lambda_layer:datadog-node")) << json::serialize(c);
    EXPECT_FALSE(any_tag_starting(c, "cold_start:")) << json::serialize(c);  // enhanced only
  }

  // lastcall's enhanced metrics: exactly one invocations point per invocation although the
  // library sends its own aws.lambda.enhanced.invocations to 8125 (dropped as a reserved name),
  // and the report-based ones for each invocation.
  const auto invocations = enhanced_metric(intake, "invocations");
  EXPECT_EQ(sketch_count(invocations), 3) << json::serialize(invocations) << "\n"
                                          << rig.diagnostics();
  EXPECT_EQ(sketch_count(invocations, "cold_start:true"), 1) << json::serialize(invocations);
  for (const char* name :
       {"duration", "billed_duration", "runtime_duration", "max_memory_used", "memorysize"}) {
    const auto m = enhanced_metric(intake, name);
    EXPECT_EQ(sketch_count(m), 3) << name << ": " << json::serialize(m);
  }
  const auto memory = enhanced_metric(intake, "memorysize");
  EXPECT_EQ(sketch_field(memory, "min"), 512) << json::serialize(memory);
  // A real Node process: its peak RSS is tens of MB.
  const auto used = enhanced_metric(intake, "max_memory_used");
  EXPECT_GE(sketch_field(used, "min"), 10) << json::serialize(used);
  EXPECT_EQ(sketch_count(enhanced_metric(intake, "init_duration")), 1);
  EXPECT_EQ(sketch_count(enhanced_metric(intake, "shutdowns")), 1);
  for (const char* absent : {"errors", "timeouts", "out_of_memory", "unused_init"}) {
    const auto m = enhanced_metric(intake, absent);
    EXPECT_EQ(sketch_count(m), 0) << absent << ": " << json::serialize(m);
  }

  // The function's logs: each handler line once, with its invocation's request id; and the
  // library's own debug line saying it found the extension (what the mount namespace provides).
  const auto logs = intake_log_entries(intake);
  for (const Call& c : calls) {
    const std::string line = "e2e-handler " + c.probe + " sent " + std::to_string(c.values.size()) +
                             " samples in " + c.id;
    const auto found = entries_containing(logs, line);
    ASSERT_EQ(found.size(), 1u) << line << "\n"
                                << json::serialize(intake.logs()) << "\n"
                                << rig.diagnostics();
    EXPECT_EQ(found[0]->request_id(), c.id) << line;
    EXPECT_EQ(found[0]->status(), "info") << line;
  }
  EXPECT_FALSE(entries_containing(logs, "Extension present: true").empty())
      << json::serialize(intake.logs());
}

// The helper itself: the path exists for the wrapped command (as an executable file, or a symlink
// to the target), the command runs in the directory asked for, and nothing of it is visible
// outside, during or after.
TEST(OptExtensions, PathExistsOnlyForTheWrappedCommandAndNothingIsLeftBehind) {
  const std::string name = "lastcall-opt-test-" + std::to_string(::getpid());
  const std::string outside = "/opt/extensions/" + name;
  std::filesystem::path scratch;
  {
    OptExtensions empty({.name = name});
    if (!empty.available()) LC_SKIP_UNLESS_CI() << empty.missing();
    scratch = empty.scratch_dir();
    ProcessOptions p;
    p.argv =
        empty.wrap({"sh", "-c", R"(test -f "$0" && test -x "$0" && pwd)", empty.path()}, "/tmp");
    std::string error;
    auto child = ChildProcess::start(p, &error);
    ASSERT_NE(child, nullptr) << error;
    ASSERT_EQ(child->wait_exit(10s), 0) << child->output(ChildProcess::Stream::kStderr);
    EXPECT_EQ(child->output(ChildProcess::Stream::kStdout), "/tmp");
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(outside)));
    EXPECT_TRUE(std::filesystem::is_empty(scratch));

    OptExtensions linked({.name = name, .target = "/bin/sh"});
    ASSERT_TRUE(linked.available()) << linked.missing();
    p.argv = linked.wrap({"readlink", linked.path()});
    child = ChildProcess::start(p, &error);
    ASSERT_NE(child, nullptr) << error;
    ASSERT_EQ(child->wait_exit(10s), 0) << child->output(ChildProcess::Stream::kStderr);
    EXPECT_EQ(child->output(ChildProcess::Stream::kStdout), "/bin/sh");
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(outside)));
  EXPECT_FALSE(std::filesystem::exists(scratch)) << scratch;
}

}  // namespace
}  // namespace lc::test
