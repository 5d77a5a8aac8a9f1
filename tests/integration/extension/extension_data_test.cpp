// The real lastcall as a Lambda extension carrying data (lambda-agent.md §1.2, §6.5, §7.1):
// DogStatsD bound before register and announced, a datagram sent to the announced port reaching
// lastcall-fakeintake with its exact value at POST /lambda/flush while the invocation is open,
// closed buckets leaving at INVOKE without holding up /next, and SHUTDOWN sending the rest and
// exiting 0 before deadlineMs, also against an intake that never answers.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "core/mutex.h"
#include "net/http_server.h"
#include "support/fakeintake_client.h"
#include "support/process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kApiKey = "0123456789abcdef0123456789abcdef";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An Extensions API whose events the test pushes while lastcall runs: a parked /next is answered
// by the next push. Counts the /next calls. Its own loop thread on 127.0.0.1:0.
class LiveExtensionsApi {
 public:
  LiveExtensionsApi() {
    auto server = net::HttpServer::create(loop_.io(), SystemClock::instance(), loop_,
                                          net::HttpServerOptions{});
    if (!server) return;
    server_ = std::move(server).value();
    server_->route("POST", "/2020-01-01/extension/register",
                   [](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                     r->respond(net::HttpResponse::json(200, R"({"functionName":"my-fn",)"
                                                             R"("accountId":"123456789012"})")
                                    .with_header("Lambda-Extension-Identifier", "ext-1"));
                   });
    server_->route("PUT", "/2022-07-01/telemetry",
                   [](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                     r->respond(net::HttpResponse::json(200, "\"OK\""));
                   });
    server_->route("GET", "/2020-01-01/extension/event/next",
                   [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                     MutexLock lock(mu_);
                     ++next_calls_;
                     cv_.notify_all();
                     if (events_.empty()) {
                       parked_ = r;
                       return;
                     }
                     answer(r, events_.front());
                     events_.pop_front();
                   });
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~LiveExtensionsApi() {
    if (!server_) return;
    loop_.post([this] {
      server_->stop();
      parked_.reset();
      loop_.stop();
    });
    thread_.join();
  }

  bool started() const { return server_ != nullptr; }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  void push(std::string event) {
    loop_.post([this, event = std::move(event)] {
      MutexLock lock(mu_);
      if (parked_) {
        answer(parked_, event);
        parked_.reset();
      } else {
        events_.push_back(event);
      }
    });
  }

  // Waits until /next has been called at least n times.
  bool wait_for_next_calls(int n, std::chrono::milliseconds timeout) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (bool in_time = true;; in_time = lock.wait_until(cv_, deadline)) {
      if (next_calls_ >= n) return true;
      if (!in_time) return false;
    }
  }
  int next_calls() {
    MutexLock lock(mu_);
    return next_calls_;
  }

 private:
  static void answer(const std::shared_ptr<net::Responder>& r, const std::string& event) {
    r->respond(
        net::HttpResponse::json(200, event).with_header("Lambda-Extension-Event-Identifier", "ev"));
  }

  EventLoop loop_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::string> events_ LC_GUARDED_BY(mu_);
  std::shared_ptr<net::Responder> parked_;  // loop thread only
  int next_calls_ LC_GUARDED_BY(mu_) = 0;
};

std::string invoke_event(std::int64_t deadline_ms) {
  return R"({"eventType":"INVOKE","deadlineMs":)" + std::to_string(deadline_ms) +
         R"(,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn"})";
}

std::string shutdown_event(std::int64_t deadline_ms) {
  return R"({"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":)" +
         std::to_string(deadline_ms) + "}";
}

double number(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* m = o ? o->if_contains(key) : nullptr;
  return m && m->is_number() ? m->to_number<double>() : -1;
}

bool has_points(const json::value& v) {
  const auto* o = v.if_object();
  const auto* p = o ? o->if_contains("points") : nullptr;
  return p && p->is_array() && !p->as_array().empty();
}

std::size_t hung_requests(const FakeIntakeClient& intake) {
  const auto answer = intake.payloads("/api/v2/series");
  const auto* o = answer.if_object();
  const auto* rej = o ? o->if_contains("rejections") : nullptr;
  if (rej == nullptr || !rej->is_array()) return 0;
  std::size_t n = 0;
  for (const auto& r : rej->as_array()) {
    if (r.at("reason").as_string() == "fault: hang") ++n;
  }
  return n;
}

// lastcall as /opt/extensions/datadog-agent, sending to a fresh lastcall-fakeintake.
struct Extension {
  LiveExtensionsApi api;
  std::unique_ptr<FakeIntakeProcess> intake;
  std::unique_ptr<ChildProcess> agent;
  std::map<std::string, int> ports;

  bool start() {
    std::string error;
    intake = FakeIntakeProcess::start({}, &error);
    EXPECT_NE(intake, nullptr) << error;
    EXPECT_TRUE(api.started());
    if (!intake || !api.started()) return false;
    ProcessOptions o;
    o.argv = {built_binary("lastcall")};
    o.argv0_override = "/opt/extensions/datadog-agent";
    o.env = {{"AWS_LAMBDA_RUNTIME_API", api.address()},
             {"LASTCALL_BIND_HOST", "127.0.0.1"},
             {"LASTCALL_LOCAL_API_PORT", "0"},
             {"LASTCALL_TELEMETRY_PORT", "0"},
             {"DD_DOGSTATSD_PORT", "0"},
             {"DD_APM_RECEIVER_PORT", "0"},
             {"DD_API_KEY", kApiKey},
             {"DD_DD_URL", "http://127.0.0.1:" + std::to_string(intake->port())},
             {"DD_LOG_LEVEL", "debug"},
             {"LAMBDA_TASK_ROOT", "/nonexistent"},
             {"AWS_REGION", "us-east-1"},
             {"AWS_LAMBDA_FUNCTION_NAME", "my-fn"}};
    agent = ChildProcess::start(o, &error);
    EXPECT_NE(agent, nullptr) << error;
    if (!agent) return false;
    auto line = agent->wait_for_line_containing("DD_EXTENSION | INFO | listening:", 10s);
    EXPECT_TRUE(line) << agent->output(ChildProcess::Stream::kStdout);
    if (!line) return false;
    ports = parse_listening_line(*line);
    // §1.2 step 2: every listener is bound and announced before register.
    EXPECT_GT(ports["telemetry"], 0) << *line;
    EXPECT_GT(ports["dogstatsd"], 0) << *line;
    EXPECT_GT(ports["local_api"], 0) << *line;
    return ports["dogstatsd"] > 0 && ports["local_api"] > 0;
  }

  void flush() const {
    auto r = http_request(static_cast<std::uint16_t>(ports.at("local_api")),
                          {"POST", "/lambda/flush", {}, ""});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{}");
  }

  std::string out() const { return agent ? agent->output(ChildProcess::Stream::kStdout) : ""; }
};

TEST(ExtensionData, DogStatsdReachesTheIntakeAtLambdaFlushAndTheRestAtShutdown) {
  Extension x;
  ASSERT_TRUE(x.start());
  x.api.push(invoke_event(wall_ms() + 60000));
  ASSERT_TRUE(x.api.wait_for_next_calls(2, 10s)) << x.out();  // the invocation is open

  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.count:2|c|#team:a\next.count:1|c|#team:a"));
  auto intake = x.intake->client();
  std::optional<json::value> count;
  for (int attempt = 0; attempt < 10 && !count; ++attempt) {
    x.flush();
    count = intake.wait_for_metric(
        "ext.count", [](const json::value& v) { return number(v, "count") >= 3 - 1e-9; }, 200ms);
  }
  ASSERT_TRUE(count) << x.out();
  EXPECT_NEAR(count->at("count").to_number<double>(), 3.0, 1e-9);
  EXPECT_EQ(count->at("duplicates").to_number<int>(), 0);
  EXPECT_EQ(x.api.next_calls(), 2) << "the flush ran while the invocation stayed open";
  // The account arrived with the register reply and tags every point (lambda-agent.md §3.5).
  const std::string tags = json::serialize(count->at("points"));
  EXPECT_NE(tags.find("\"account_id:123456789012\""), std::string::npos) << tags;
  EXPECT_NE(tags.find("\"aws_account:123456789012\""), std::string::npos) << tags;
  EXPECT_NE(tags.find("\"team:a\""), std::string::npos) << tags;

  // SHUTDOWN: what arrived since goes out in the final flush, then exit 0 before deadlineMs.
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.late:5|c"));
  const std::int64_t deadline = wall_ms() + 2000;
  x.api.push(shutdown_event(deadline));
  const auto code = x.agent->wait_exit(10s);
  const std::int64_t exited_at = wall_ms();
  ASSERT_TRUE(code.has_value()) << x.out();
  EXPECT_EQ(*code, 0) << x.out();
  EXPECT_LT(exited_at, deadline) << "exited after the SHUTDOWN deadline";
  auto late = intake.metrics("ext.late");
  ASSERT_TRUE(has_points(late)) << x.out();
  EXPECT_NEAR(late.at("count").to_number<double>(), 5.0, 1e-9);
  EXPECT_EQ(late.at("duplicates").to_number<int>(), 0);
  auto again = intake.metrics("ext.count");
  EXPECT_NEAR(again.at("count").to_number<double>(), 3.0, 1e-9) << "nothing sent twice";
}

TEST(ExtensionData, ClosedBucketsLeaveAtInvoke) {
  Extension x;
  ASSERT_TRUE(x.start());
  // Stamped into a closed bucket: the INVOKE flush (closed buckets only) takes it.
  const std::int64_t ts = wall_ms() / 1000 - 30;
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.closed:4|c|T" + std::to_string(ts)));
  ASSERT_TRUE(x.api.wait_for_next_calls(1, 10s)) << x.out();
  // The datagram is handled before the event on lastcall's loop only if it was received first:
  // repeat the invocation until the flush at its top carried it (no /lambda/flush here).
  std::optional<json::value> closed;
  for (int i = 0; i < 10 && !closed; ++i) {
    x.api.push(invoke_event(wall_ms() + 60000));
    ASSERT_TRUE(x.api.wait_for_next_calls(i + 2, 10s)) << x.out();
    closed = x.intake->client().wait_for_metric(
        "ext.closed", [](const json::value& v) { return has_points(v); }, 500ms);
  }
  ASSERT_TRUE(closed) << x.out();
  EXPECT_NEAR(closed->at("count").to_number<double>(), 4.0, 1e-9);
}

// An intake that never answers holds up neither /next nor the exit: the INVOKE flush runs while
// lastcall is already waiting on /next, and SHUTDOWN cuts it, resends its payload and exits 0
// before deadlineMs.
TEST(ExtensionData, HungIntakeHoldsUpNeitherNextNorTheExit) {
  Extension x;
  ASSERT_TRUE(x.start());
  auto intake = x.intake->client();
  ASSERT_TRUE(intake.set_fault(R"({"endpoint":"/api/v2/series","hang":true})"));
  const std::int64_t ts = wall_ms() / 1000 - 30;
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.stuck:1|c|T" + std::to_string(ts)));
  ASSERT_TRUE(x.api.wait_for_next_calls(1, 10s)) << x.out();
  bool hung = false;
  for (int i = 0; i < 10 && !hung; ++i) {
    x.api.push(invoke_event(wall_ms() + 60000));
    // Order of events: /next is called again whether or not the intake ever answers.
    ASSERT_TRUE(x.api.wait_for_next_calls(i + 2, 10s)) << x.out();
    for (int poll = 0; poll < 20 && !hung; ++poll) hung = hung_requests(intake) >= 1;
  }
  ASSERT_TRUE(hung) << x.out();
  const std::size_t before = hung_requests(intake);

  const std::int64_t deadline = wall_ms() + 1500;
  x.api.push(shutdown_event(deadline));
  const auto code = x.agent->wait_exit(10s);
  const std::int64_t exited_at = wall_ms();
  ASSERT_TRUE(code.has_value()) << x.out();
  EXPECT_EQ(*code, 0) << x.out();
  EXPECT_LT(exited_at, deadline) << "exited after the SHUTDOWN deadline\n" << x.out();
  EXPECT_GT(hung_requests(intake), before) << "the final flush sent the cut payload again";
  auto warn = x.agent->wait_for_line_containing("final flush ended with data not sent", 1s);
  ASSERT_TRUE(warn) << x.out();
  EXPECT_NE(warn->find("metrics 1 payload"), std::string::npos) << *warn;
  EXPECT_EQ(warn->rfind("DD_EXTENSION | WARN |", 0), 0u) << *warn;
}

}  // namespace
}  // namespace lc::test
