// Issue 19, lambda-platform.md §8 items 17, 33 and 34 (run alone: ctest -R flush_items): the real
// lastcall as the extension in lastcall-sandbox, sending to lastcall-fakeintake.
// - 17: freeze on with a 1.5 s dwell, an intake that closes keep-alive connections idle for
//   200 ms: the first flush after the thaw succeeds (both invocations' points at the intake, no
//   rejection, no failed attempt, nothing dropped) — lambda-agent.md §6.3 "Freeze awareness".
// - 33: LMI never freezes, so the background timer flushes between invocations (a datagram sent
//   after the only invocation ended reaches the intake with no new invocation and no SHUTDOWN);
//   the reports the platform flushes before SHUTDOWN are all processed before exit (§6.5 "LMI").
// - 34: LMI, four overlapping invocations whose tracer calls start-invocation and
//   end-invocation on the local API in interleaved order: each end is attributed to its own
//   request id (lambda-agent.md §7.1 "Pairing"), read back as the per-invocation `errors` points.
// Waits are bounded polls on the intake or the sandbox's timeline, never fixed sleeps.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sandbox::testing::str;

// The total of a counter at the intake (/fakeintake/metrics `count`); 0 when absent.
double count_of(const json::value& answer) {
  const auto* o = answer.if_object();
  const auto* c = o != nullptr ? o->if_contains("count") : nullptr;
  return c != nullptr && c->is_number() ? c->to_number<double>() : 0;
}

// The points of a /fakeintake/metrics answer carrying `tag`.
std::size_t points_tagged(const json::value& answer, std::string_view tag) {
  std::size_t n = 0;
  for (const auto& tags : point_tags(answer)) {
    for (const auto& t : tags) n += t == tag ? 1 : 0;
  }
  return n;
}

// Every rejection the intake recorded (any endpoint), and every accepted payload whose status is
// not 2xx, one a line; empty when the intake saw only clean requests.
std::string intake_trouble(const FakeIntakeClient& intake) {
  std::string out;
  const json::value all = intake.payloads();
  const auto* o = all.if_object();
  if (o == nullptr) return "no answer from /fakeintake/payloads";
  if (const auto* rej = o->if_contains("rejections"); rej != nullptr && rej->is_array()) {
    for (const auto& r : rej->get_array()) out += "rejection " + json::serialize(r) + "\n";
  }
  if (const auto* p = o->if_contains("payloads"); p != nullptr && p->is_array()) {
    for (const auto& payload : p->get_array()) {
      const double status = json_number(payload, "status");
      if (!(status >= 200 && status < 300)) {
        out += "payload status " + json::serialize(payload.at("status")) + " on " +
               json::serialize(payload.at("endpoint")) + "\n";
      }
    }
  }
  return out;
}

// lastcall's lines saying a request to the intake failed, was retried, kept for later or dropped,
// or anything at warn/error level.
std::vector<std::string> forward_trouble(LambdaRig& rig) {
  std::vector<std::string> out;
  for (const auto& line : rig.lastcall_output()) {
    const bool bad =
        line.find("| WARN |") != std::string::npos || line.find("| ERROR |") != std::string::npos ||
        (line.find("forward:") != std::string::npos &&
         (line.find("failed") != std::string::npos || line.find("retrying") != std::string::npos ||
          line.find("kept for the next flush") != std::string::npos ||
          line.find("dropped") != std::string::npos));
    if (bad) out.push_back(line);
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// --- item 17 --------------------------------------------------------------------------------

constexpr int kIdleTimeoutMs = 200;
constexpr int kDwellMs = 1500;

// The intake really closes a keep-alive connection left idle (the condition of item 17): one
// HTTP/1.1 query without `Connection: close`, then the server's EOF well before the 10 s limit.
void expect_intake_closes_idle_connections(std::uint16_t port) {
  auto c = sandbox::BlockingConnection::open("127.0.0.1", port, 10s);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->send("GET /fakeintake/faults HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const auto answer = c->read_response();
  ASSERT_TRUE(answer) << answer.error().message;
  ASSERT_EQ(answer->status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->wait_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(FlushItems, Item17FirstFlushAfterAThawSucceedsWhenTheIntakeClosedIdleConnections) {
  LambdaRigOptions o;
  // End: each invocation's points are flushed before lastcall calls /next, i.e. right before the
  // freeze and right after the thaw.
  o.env = {{"DD_SERVERLESS_FLUSH_STRATEGY", "end"}, {"LASTCALL_SELF_METRICS", "true"}};
  o.sandbox_args = {"--freeze-dwell-ms", std::to_string(kDwellMs)};
  o.intake_args = {"--idle-timeout-ms", std::to_string(kIdleTimeoutMs)};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  expect_intake_closes_idle_connections(rig.intake_process().port());
  if (HasFatalFailure()) return;
  const auto intake = rig.intake();

  for (int i = 1; i <= 2; ++i) {
    const std::string tag = "inv:" + std::to_string(i);
    json::object payload;
    payload["statsd"] = json::array{"freeze.item17:1|c|#" + tag};
    rig.invoke(json::serialize(payload), "req-17-" + std::to_string(i));
    ASSERT_TRUE(rig.wait("invoke.end", i)) << rig.diagnostics();
    // The End flush ran before /next: this invocation's point is there already.
    const json::value m = intake.metrics("freeze.item17");
    EXPECT_EQ(points_tagged(m, tag), 1u) << json::serialize(m) << "\n" << rig.diagnostics();
    EXPECT_NEAR(count_of(m), i, 1e-9) << json::serialize(m);
  }

  // The second invocation really came after a freeze longer than the dwell, itself far longer than
  // the intake's idle timeout: every connection open before the freeze was closed by the intake.
  const auto tl = rig.timeline();
  const int end1 = sandbox::testing::find_entry(tl, "invoke.end", {});
  const int frozen = sandbox::testing::find_entry(tl, "frozen", {}, end1 + 1);
  const int thawed = sandbox::testing::find_entry(tl, "thawed", {}, frozen + 1);
  const int invoke2 =
      sandbox::testing::find_entry(tl, "event.invoke", {{"request_id", "req-17-2"}}, 0);
  ASSERT_GE(end1, 0) << rig.diagnostics();
  ASSERT_GT(frozen, end1) << rig.diagnostics();
  ASSERT_GT(thawed, frozen) << rig.diagnostics();
  EXPECT_GT(invoke2, thawed) << rig.diagnostics();
  EXPECT_GE(json_number(tl[static_cast<std::size_t>(thawed)], "frozen_ms"), kDwellMs);

  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  const json::value m = intake.metrics("freeze.item17");
  EXPECT_NEAR(count_of(m), 2, 1e-9) << json::serialize(m);
  EXPECT_EQ(json_number(m, "duplicates"), 0) << json::serialize(m);
  // Nothing failed on either side: no rejection or error status at the intake, no failed attempt,
  // retry or drop in lastcall's output, no lastcall.dropped point among its self-metrics.
  EXPECT_EQ(intake_trouble(intake), "");
  const auto trouble = forward_trouble(rig);
  EXPECT_TRUE(trouble.empty()) << joined(trouble);
  const json::value dropped = intake.metrics("lastcall.dropped");
  EXPECT_NEAR(count_of(dropped), 0, 1e-9) << json::serialize(dropped);
  const json::value retries = intake.metrics("lastcall.forward.retries");
  EXPECT_NEAR(count_of(retries), 0, 1e-9) << json::serialize(retries);
  // The self-metrics did arrive (so the zeros above mean something).
  EXPECT_FALSE(point_tags(intake.metrics("lastcall.forward.payloads_sent")).empty())
      << json::serialize(intake.metrics(""));
}

// --- item 33 --------------------------------------------------------------------------------

// LMI spends up to 600 ms of the shutdown budget on the runtime's SIGTERM before the telemetry
// flush and SHUTDOWN (lambda-platform.md §3.4), which leaves lastcall well under a second of the
// default 2 s. These items are about what is processed, not about that budget (items 14 and 15
// are), so the budget is 5 s: a sanitizer build on a busy machine still finishes its final flush.
LambdaRigOptions lmi_rig(int concurrency, const std::string& strategy = "") {
  LambdaRigOptions o;
  o.sandbox_args = {"--mode",
                    "lmi",
                    "--concurrency",
                    std::to_string(concurrency),
                    "--function-timeout-ms",
                    "10000",
                    "--shutdown-budget-ms",
                    "5000"};
  if (!strategy.empty()) o.env["DD_SERVERLESS_FLUSH_STRATEGY"] = strategy;
  return o;
}

std::size_t timeline_count(LambdaRig& rig, std::string_view event) {
  std::size_t n = 0;
  for (const auto& e : rig.timeline()) n += str(e.at("event")) == event ? 1 : 0;
  return n;
}

TEST(FlushItems, Item33LmiFlushesBetweenInvocationsWithoutANewOne) {
  // Continuous at 1 s: the LMI timer flushes closed 10 s buckets every second (§6.1, §6.3).
  LambdaRig rig(lmi_rig(2, "continuously,1000"));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "req-33-only").status, 200)
      << rig.diagnostics();
  // After the only invocation ended: a custom metric from the test.
  ASSERT_TRUE(rig.send_statsd("lmi.between:1|c|#item:33"));

  const auto intake = rig.intake();
  // Its bucket closes within 10 s, the next timer flush sends it; 30 s is generous.
  const auto between = intake.wait_for_metric(
      "lmi.between", [](const json::value& m) { return count_of(m) >= 1; }, 30s);
  ASSERT_TRUE(between.has_value()) << json::serialize(intake.metrics("lmi.between")) << "\n"
                                   << rig.diagnostics();
  // The invocation's own enhanced metrics (from its report) went out the same way.
  const auto duration = intake.wait_for_metric(
      std::string(kEnhancedPrefix) + "duration",
      [](const json::value& m) { return sketch_count(m) >= 1; }, 30s);
  EXPECT_TRUE(duration.has_value()) << rig.diagnostics();
  // …with no new invocation and before any SHUTDOWN.
  EXPECT_EQ(timeline_count(rig, "event.invoke"), 1u) << rig.diagnostics();
  EXPECT_EQ(timeline_count(rig, "shutdown.start"), 0u) << rig.diagnostics();
  EXPECT_EQ(timeline_count(rig, "frozen"), 0u) << rig.diagnostics();

  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  const json::value m = intake.metrics("lmi.between");
  EXPECT_NEAR(count_of(m), 1, 1e-9) << json::serialize(m);
  EXPECT_EQ(json_number(m, "duplicates"), 0) << json::serialize(m);
  EXPECT_NEAR(sketch_count(enhanced_metric(intake, "duration")), 1, 1e-9);
}

TEST(FlushItems, Item33LmiReportsFlushedBeforeShutdownAreAllProcessedBeforeExit) {
  // The forced LMI default (continuously,30000): no timer flush within this test, so every
  // enhanced point below comes from the final flush.
  LambdaRig rig(lmi_rig(4));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  constexpr int kN = 4;
  std::vector<std::future<int>> calls;
  calls.reserve(kN);
  for (int i = 0; i < kN; ++i) {
    calls.push_back(std::async(std::launch::async, [&rig, i] {
      return rig.invoke(R"({"sleep_ms":200,"respond":{"ok":true}})", "req-33-" + std::to_string(i))
          .status;
    }));
  }
  for (auto& c : calls) ASSERT_EQ(c.get(), 200) << rig.diagnostics();
  // SHUTDOWN right away: the platform flushes the reports to lastcall first (§6.5 "LMI").
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();
  // Read once lastcall has exited: every report became its points.
  const auto intake = rig.intake();
  EXPECT_NEAR(sketch_count(enhanced_metric(intake, "invocations")), kN, 1e-9) << rig.diagnostics();
  EXPECT_NEAR(sketch_count(enhanced_metric(intake, "duration")), kN, 1e-9) << rig.diagnostics();
  EXPECT_NEAR(sketch_count(enhanced_metric(intake, "runtime_duration")), kN, 1e-9)
      << rig.diagnostics();
  EXPECT_EQ(json_number(enhanced_metric(intake, "duration"), "duplicates"), 0);
}

// --- item 34 --------------------------------------------------------------------------------

// One tracer call on lastcall's local API, as a Datadog library makes it.
sandbox::BlockingResponse tracer_call(LambdaRig& rig, std::string_view path,
                                      const std::string& request_id, bool error) {
  net::Headers headers = {{"lambda-runtime-aws-request-id", request_id},
                          {"Content-Type", "application/json"}};
  if (error) headers.emplace_back("x-datadog-invocation-error", "true");
  auto r = http_request(rig.local_api_port(), {"POST", std::string(path), headers, "{}"});
  EXPECT_TRUE(r) << path << " " << request_id << ": " << r.error().message;
  return r ? *r : sandbox::BlockingResponse{};
}

// lastcall's debug lines for one tracer call, e.g.
// "local api: end-invocation (header id 'req-34-b', paired 'req-34-b')".
std::size_t pairing_lines(LambdaRig& rig, std::string_view call, const std::string& header_id,
                          const std::string& paired) {
  const std::string want = "local api: " + std::string(call) + " (header id '" + header_id +
                           "', paired '" + paired + "')";
  std::size_t n = 0;
  for (const auto& line : rig.lastcall_output()) n += line.find(want) != std::string::npos;
  return n;
}

TEST(FlushItems, Item34LmiStartAndEndInvocationPairByRequestIdUnderConcurrency) {
  LambdaRig rig(lmi_rig(4));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();

  // a and c fail in the runtime (an `errors` point from their reports); b and d succeed, and only
  // their tracer's end-invocation says error. `errors` counts once per invocation (§3.2), so the
  // total is 4 only when b's and d's ends reach b and d: an end landing on a or c would be
  // absorbed by that invocation's own error.
  const std::vector<std::string> ids = {"req-34-a", "req-34-b", "req-34-c", "req-34-d"};
  const std::string fails = R"({"sleep_ms":3000,"error":"Function.Error"})";
  const std::string succeeds = R"({"sleep_ms":3000,"respond":{"ok":true}})";
  std::vector<std::future<int>> calls;
  calls.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string payload = i % 2 == 0 ? fails : succeeds;
    calls.push_back(std::async(std::launch::async, [&rig, payload, id = ids[i]] {
      return rig.invoke(payload, id).status;
    }));
  }
  // Every worker holds its event (the handlers sleep 3 s): the tracer calls below all happen while
  // the four invocations overlap.
  ASSERT_TRUE(rig.wait("runtime.event", 4)) << rig.diagnostics();
  for (const auto& id : ids) {
    EXPECT_EQ(tracer_call(rig, "/lambda/start-invocation", id, false).status, 200) << id;
  }
  // Ends in another order than the starts, alternating with the error flag.
  for (const std::string id : {"req-34-d", "req-34-a", "req-34-b", "req-34-c"}) {
    const bool error = id == "req-34-b" || id == "req-34-d";
    EXPECT_EQ(tracer_call(rig, "/lambda/end-invocation", id, error).status, 200) << id;
  }
  // The tracer calls were made while all four were still running.
  EXPECT_EQ(timeline_count(rig, "invoke.end"), 0u) << rig.diagnostics();
  for (auto& c : calls) ASSERT_EQ(c.get(), 200) << rig.diagnostics();

  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  const auto intake = rig.intake();
  EXPECT_NEAR(sketch_count(enhanced_metric(intake, "invocations")), 4, 1e-9) << rig.diagnostics();
  const json::value errors = enhanced_metric(intake, "errors");
  EXPECT_NEAR(sketch_count(errors), 4, 1e-9) << json::serialize(errors) << "\n"
                                             << rig.diagnostics();
  // lastcall says which invocation each call was paired with: its own, once.
  for (const auto& id : ids) {
    EXPECT_EQ(pairing_lines(rig, "start-invocation", id, id), 1u) << id << "\n"
                                                                  << rig.diagnostics();
    EXPECT_EQ(pairing_lines(rig, "end-invocation", id, id), 1u) << id << "\n" << rig.diagnostics();
  }
  for (const auto& line : rig.lastcall_output()) {
    EXPECT_EQ(line.find("cannot pair under concurrency"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace lc::test
