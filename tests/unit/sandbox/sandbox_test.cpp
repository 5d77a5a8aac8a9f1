// The Sandbox class on simulated time: a FakeClock runs its timers on the sandbox's real loop, so
// a lifecycle timeout happens when the test advances the clock, not after waiting for it.
#include "tools/sandbox/sandbox.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "fakes/fake_clock.h"
#include "support/process.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::sandbox {
namespace {

class SandboxOnFakeClock : public ::testing::Test {
 protected:
  SandboxOnFakeClock() { clock_.run_timers_on(loop_.io()); }
  ~SandboxOnFakeClock() override {
    if (sandbox_) on_loop([&] { sandbox_->stop(); });
    loop_.stop();
    if (thread_.joinable()) thread_.join();
    sandbox_.reset();
  }

  void start(SandboxOptions options) {
    auto created = Sandbox::create(loop_, clock_, clock_, std::move(options));
    ASSERT_TRUE(created) << created.error().message;
    sandbox_ = std::move(*created);
    thread_ = std::thread([this] { loop_.run(); });
    on_loop([&] { sandbox_->start(); });
  }

  template <typename F>
  auto on_loop(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    loop_.post([&task] { task(); });
    return result.get();
  }

  std::size_t count(const std::string& event) {
    return on_loop([&] {
      WaitQuery q;
      q.event = event;
      return sandbox_->timeline().count(q);
    });
  }

  // Resolves once `event` is on the timeline (the wait's own timer is on the fake clock too, so
  // it cannot time out by itself).
  std::future<std::size_t> when(const std::string& event) {
    auto p = std::make_shared<std::promise<std::size_t>>();
    auto f = p->get_future();
    on_loop([&] {
      WaitQuery q;
      q.event = event;
      q.timeout_ms = 24 * 3600 * 1000;
      sandbox_->timeline().wait(q, [p](std::size_t n, bool) { p->set_value(n); });
    });
    return f;
  }

  fakes::FakeClock clock_;  // outlives the loop and the sandbox's timers
  EventLoop loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(loop_.io());
  std::unique_ptr<Sandbox> sandbox_;
  std::thread thread_;
};

TEST_F(SandboxOnFakeClock, InitTimesOutWhenTheFakeClockPassesTheInitTimeout) {
  SandboxOptions o;
  o.runtime_cmd = {"/bin/sleep", "600"};  // never asks for an invocation: init never completes
  o.init_timeout_ms = 10000;
  o.freeze = false;
  const auto wall_start = std::chrono::steady_clock::now();
  start(o);
  auto timed_out = when("init.timeout");
  ASSERT_TRUE(clock_.wait_for_timer_due_within(std::chrono::milliseconds(10000)));
  clock_.advance(std::chrono::milliseconds(9999));
  EXPECT_EQ(count("init.timeout"), 0u);
  clock_.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(timed_out.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(timed_out.get(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, std::chrono::seconds(5));
}

// The function timeout (lambda-platform.md §4) on the fake clock: a scripted runtime that sleeps
// far longer than the timeout is cut at exactly function_timeout_ms of simulated time, and the
// caller gets its answer without the test waiting for the timeout.
TEST_F(SandboxOnFakeClock, InvokeTimesOutWhenTheFakeClockPassesTheFunctionTimeout) {
  SandboxOptions o;
  o.runtime_cmd = {test::built_binary("lastcall-sandbox"), "fake-runtime"};
  o.function_timeout_ms = 30000;
  o.freeze = false;
  const auto wall_start = std::chrono::steady_clock::now();
  start(o);
  ASSERT_EQ(when("init.done").wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto event = when("runtime.event");
  auto timed_out = when("invoke.timeout");
  const std::uint16_t port = on_loop([&] { return sandbox_->control_port(); });
  auto answer = std::async(std::launch::async, [port] {
    return http_call("127.0.0.1", port,
                     BlockingRequest("POST", "/invoke", {}, R"({"sleep_ms":600000})"));
  });
  ASSERT_EQ(event.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  ASSERT_TRUE(clock_.wait_for_timer_due_within(std::chrono::milliseconds(30000)));
  clock_.advance(std::chrono::milliseconds(29999));
  EXPECT_EQ(count("invoke.timeout"), 0u);
  clock_.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(timed_out.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(timed_out.get(), 1u);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = answer.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->body.find("Task timed out"), std::string::npos) << r->body;
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, std::chrono::seconds(20));
}

// The freeze dwell (tools/sandbox/README.md): once the runtime waits in /next the sandbox freezes
// its processes, and an invoke thaws them only when freeze_dwell_ms of simulated time have passed
// since the freeze.
TEST_F(SandboxOnFakeClock, InvokeThawsTheSandboxOnlyAfterTheFreezeDwell) {
  SandboxOptions o;
  o.runtime_cmd = {test::built_binary("lastcall-sandbox"), "fake-runtime"};
  o.freeze = true;
  o.freeze_dwell_ms = 60000;
  start(o);
  ASSERT_EQ(when("frozen").wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto thawed = when("thawed");
  const std::uint16_t port = on_loop([&] { return sandbox_->control_port(); });
  auto answer = std::async(std::launch::async, [port] {
    BlockingRequest req("POST", "/invoke", {}, "{}");
    req.timeout_ms = 20000;
    return http_call("127.0.0.1", port, req);
  });
  // The thaw timer is armed once the request is read: the earliest timer is then the 60 s dwell,
  // with no request-read timer (10 s) or first-byte timer (2 s) before it.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(clock_.wait_for_timer_due_within(std::chrono::milliseconds(60000),
                                            std::chrono::milliseconds(20)) &&
           !clock_.wait_for_timer_due_within(std::chrono::milliseconds(10000),
                                             std::chrono::milliseconds(0)))) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the thaw timer was never armed";
  }
  clock_.advance(std::chrono::milliseconds(59999));
  EXPECT_EQ(count("thawed"), 0u);
  clock_.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(thawed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto r = answer.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  const double frozen_ms = on_loop([&] {
    const Timeline& t = sandbox_->timeline();
    for (std::size_t i = t.size(); i-- > 0;) {
      const auto& e = t.at(i);
      if (e.at("event") == "thawed") return e.at("frozen_ms").to_number<double>();
    }
    return -1.0;
  });
  EXPECT_EQ(frozen_ms, 60000.0);
}

}  // namespace
}  // namespace lc::sandbox
