// The lifecycle server over real sockets: a real HttpServer on 127.0.0.1:0 served by a real
// EventLoop thread, a fake upstream (the user app) and a recording flush hook whose durations the
// test controls. Order is proved by the events recorded on the loop thread.
#include "microvm/lifecycle_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "fakes/fake_metric_sink.h"
#include "unit/net/test_support.h"

namespace lc::microvm {
namespace {

using SteadyClock = std::chrono::steady_clock;
using test::raw_exchange;
using test::request_with_body;

constexpr auto kBound = std::chrono::seconds(10);  // generous bound on waits

// The user app: answers each forwarded hook after `delay` with `response`, on the loop thread.
class FakeHookUpstream final : public HookUpstream {
 public:
  FakeHookUpstream(EventLoop& loop, std::vector<std::string>& events)
      : loop_(loop), events_(events) {}

  void forward(HookRequest request, Millis timeout,
               std::function<void(HookResponse)> done) override {
    events_.push_back(fmt::format("forward:{}", hook_name(request.hook)));
    requests.push_back(std::move(request));
    timeouts.push_back(timeout);
    auto name = std::string(hook_name(requests.back().hook));
    pending_.push_back(loop_.schedule_after(delay, [this, name, done = std::move(done)] {
      events_.push_back("app-answer:" + name);
      done(response);
    }));
  }

  Millis delay{0};
  HookResponse response{200, "", "", false, "mirrored", ""};
  std::vector<HookRequest> requests;
  std::vector<Millis> timeouts;

 private:
  EventLoop& loop_;
  std::vector<std::string>& events_;
  std::vector<Timer> pending_;
};

class LifecycleServerTest : public ::testing::Test {
 protected:
  LifecycleServerTest() : guard_(boost::asio::make_work_guard(loop_.io())) {
    config_.image_arn = "arn:aws:lambda:us-east-1:123456789012:microvm-image/img";
    config_.lifecycle_host = "127.0.0.1";
    config_.forward_timeout_ms = 1000;
    config_.ready_timeout_ms = 30000;
    config_.validate_timeout_ms = 30000;
    config_.flush_timeout_ms = 5000;
    config_.heartbeat_ms = 300000;
  }

  ~LifecycleServerTest() override {
    if (thread_.joinable()) {
      call([&] {
        server_.reset();
        http_->stop();
        upstream_.reset();
        pending_flushes_.clear();
      });
      guard_.reset();
      loop_.stop();
      thread_.join();
    }
  }

  // Builds and starts everything; `forward` makes the fake app the upstream.
  void start(bool forward = false) {
    auto created = net::HttpServer::create(loop_.io(), SystemClock::instance(), loop_,
                                           http_options(config_, &self_));
    ASSERT_TRUE(created) << created.error().message;
    http_ = std::move(created).value();
    if (forward) upstream_ = std::make_unique<FakeHookUpstream>(loop_, events_);
    LifecycleHooks hooks;
    hooks.child_alive = [this] { return child_alive_; };
    hooks.flush = [this](Deadline deadline, const std::function<void()>& done) {
      events_.push_back(fmt::format("flush-start metrics={}", metrics_.size()));
      flush_deadlines_.push_back(deadline);
      pending_flushes_.push_back(loop_.schedule_after(flush_duration_, [this, done] {
        events_.push_back("flush-end");
        done();
      }));
    };
    hooks.signal_run = [this] { events_.push_back("signal"); };
    hooks.snapshot_resumed = [this] { events_.push_back("snapshot-resumed"); };
    server_ = std::make_unique<LifecycleServer>(*http_, loop_, SystemClock::instance(), config_,
                                                upstream_.get(), metrics_, tags_, self_,
                                                std::move(hooks));
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }

  template <typename F>
  auto call(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    loop_.post([&task] { task(); });
    return result.get();
  }

  bool wait_until(const std::function<bool()>& cond) {
    const auto end = SteadyClock::now() + kBound;
    while (SteadyClock::now() < end) {
      if (call([&] { return cond(); })) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  // One hook on a fresh connection; "response" is recorded once its answer arrived.
  Expected<sandbox::BlockingResponse> post(std::string_view hook_or_path,
                                           std::string_view body = "",
                                           std::string_view method = "POST",
                                           std::string_view extra_headers = "") {
    const std::string target = hook_or_path.starts_with("/")
                                   ? std::string(hook_or_path)
                                   : std::string(kHookPathPrefix) + std::string(hook_or_path);
    auto r = raw_exchange(http_->port(), request_with_body(method, target, body, extra_headers));
    call([&] { events_.push_back("response"); });
    return r;
  }

  std::vector<std::string> events() {
    return call([&] { return events_; });
  }
  std::size_t metric_count(std::string_view name) {
    return call([&] { return metrics_.count(name); });
  }
  std::optional<fakes::OwnedMetricPoint> last_metric(std::string_view name) {
    return call([&]() -> std::optional<fakes::OwnedMetricPoint> {
      const auto* p = metrics_.last(name);
      if (p == nullptr) return std::nullopt;
      return *p;
    });
  }
  std::uint64_t hook_outcome(std::string_view hook, std::string_view outcome) {
    return self_.get(kHookSelfMetric,
                     {fmt::format("hook:{}", hook), fmt::format("outcome:{}", outcome)});
  }
  std::vector<std::string> tag_set(TagSetId id) {
    return call([&] { return tags_.tags(id); });
  }

  // Index of the first event equal to (or, with prefix, starting with) `what`; -1 when absent.
  static int index_of(const std::vector<std::string>& events, std::string_view what) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (events[i].starts_with(what)) return static_cast<int>(i);
    }
    return -1;
  }
  static std::string joined(const std::vector<std::string>& events) {
    std::string out;
    for (const auto& e : events) out += e + " | ";
    return out;
  }

  EventLoop loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  MicrovmConfig config_;
  fakes::FakeMetricSink metrics_;
  TagSets tags_;
  SelfMetrics self_;
  std::vector<std::string> events_;  // loop thread only
  std::vector<Deadline> flush_deadlines_;
  std::vector<Timer> pending_flushes_;
  Millis flush_duration_{0};
  bool child_alive_ = true;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<FakeHookUpstream> upstream_;
  std::unique_ptr<LifecycleServer> server_;
  std::thread thread_;
};

bool has(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

// --- routing (scenario 25) ---------------------------------------------------------------------

TEST_F(LifecycleServerTest, OtherMethodIs405AndUnknownPathIs404BothClosing) {
  start();
  auto get = post("ready", "", "GET");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->header("Allow").value_or(""), "POST");
  EXPECT_EQ(get->header("Connection").value_or(""), "close");
  auto nope = post("nope");
  ASSERT_TRUE(nope);
  EXPECT_EQ(nope->status, 404);
  EXPECT_EQ(nope->header("Connection").value_or(""), "close");
  EXPECT_EQ(index_of(events(), "flush-start"), -1);
}

TEST_F(LifecycleServerTest, BuiltInReadyIs200AfterAFlushWhileTheChildLivesElse503) {
  flush_duration_ = Millis(50);
  start();
  auto ok = post("ready");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->header("Connection").value_or(""), "close");
  auto ev = events();
  // §7.9: the flush ended before the 200, bounded by 2 s.
  ASSERT_NE(index_of(ev, "flush-end"), -1) << joined(ev);
  EXPECT_LT(index_of(ev, "flush-end"), index_of(ev, "response")) << joined(ev);
  call([&] { events_.clear(); });

  call([&] { child_alive_ = false; });
  auto dead = post("ready");
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->status, 503);
  EXPECT_EQ(index_of(events(), "flush-start"), -1);  // no flush for a 503
  EXPECT_EQ(hook_outcome("ready", "builtin"), 2u);
}

// --- /run (scenario 26) --------------------------------------------------------------------------

TEST_F(LifecycleServerTest, RunIdGoesToLogsAndTracesNotToCustomMetrics) {
  config_.send_run_signal = true;
  start();
  const std::int64_t before = SystemClock::instance().wall_s();
  auto r = post("run", R"({"microvmId":"vm-1","meshIpv6Address":"fd00::12"})");
  const std::int64_t after = SystemClock::instance().wall_s();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(has(tag_set(TagSetId::kLogs), "lambda_microvm_id:vm-1"));
  EXPECT_TRUE(has(tag_set(TagSetId::kTraces), "lambda_microvm_id:vm-1"));
  EXPECT_FALSE(has(tag_set(TagSetId::kCustomMetrics), "lambda_microvm_id:vm-1"));
  EXPECT_FALSE(has(tag_set(TagSetId::kEnhancedMetrics), "lambda_microvm_id:vm-1"));

  const auto run = last_metric(kRunMetric);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->type, MetricType::kDistribution);
  EXPECT_EQ(run->value(), 1.0);
  EXPECT_EQ(run->tags, std::vector<std::string>{"lambda_microvm_id:vm-1"});
  EXPECT_GE(run->timestamp, before);
  EXPECT_LE(run->timestamp, after);

  // §7.10: the heartbeat's first point already carries the id, under the key microvm_id.
  const auto beat = last_metric(kHeartbeatMetric);
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->value(), 1.0);
  EXPECT_EQ(beat->type, MetricType::kDistribution);
  EXPECT_TRUE(beat->has_tag("microvm_id:vm-1"));
  EXPECT_TRUE(beat->has_tag("microvm_image_arn:" + config_.image_arn));
  EXPECT_GE(beat->timestamp, before);
  EXPECT_LE(beat->timestamp, after);

  // §7.8: the signal first, then snapshot recovery.
  auto ev = events();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0], "signal");
  EXPECT_EQ(ev[1], "snapshot-resumed");

  // A second /run (a new clone) replaces the id.
  ASSERT_TRUE(post("run", R"({"microvmId":"vm-2"})"));
  const auto logs = tag_set(TagSetId::kLogs);
  EXPECT_TRUE(has(logs, "lambda_microvm_id:vm-2"));
  EXPECT_FALSE(has(logs, "lambda_microvm_id:vm-1"));
  EXPECT_EQ(call([&] { return server_->microvm_id(); }), "vm-2");
}

TEST_F(LifecycleServerTest, RunWithoutATopLevelStringIdIs200WithoutId) {
  start();
  for (const std::string_view body :
       {R"({"microvmId":7})", R"({"payload":{"microvmId":"vm-9"}})", "not json", ""}) {
    auto r = post("run", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << body;
  }
  EXPECT_EQ(call([&] { return tags_.value("lambda_microvm_id"); }), "");
  const auto run = last_metric(kRunMetric);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->tags.empty());
  const auto beat = last_metric(kHeartbeatMetric);
  ASSERT_TRUE(beat);
  EXPECT_TRUE(beat->has_tag("microvm_id:unknown"));
  EXPECT_EQ(index_of(events(), "signal"), -1);  // the run signal is off by default
}

TEST_F(LifecycleServerTest, OversizeRunIs500AndChangesNothing) {
  start();
  ASSERT_TRUE(post("run", R"({"microvmId":"vm-1"})"));
  const std::size_t runs = metric_count(kRunMetric);
  const std::size_t beats = metric_count(kHeartbeatMetric);
  std::string big = R"({"microvmId":"vm-big","pad":")";
  big += std::string(2 * 1024 * 1024, 'x');
  big += "\"}";
  auto r = post("run", big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("Connection").value_or(""), "close");
  EXPECT_EQ(call([&] { return server_->microvm_id(); }), "vm-1");
  EXPECT_TRUE(has(tag_set(TagSetId::kLogs), "lambda_microvm_id:vm-1"));
  EXPECT_EQ(metric_count(kRunMetric), runs);
  EXPECT_EQ(metric_count(kHeartbeatMetric), beats);
  EXPECT_EQ(hook_outcome("run", "500"), 1u);
  // Any hook's body is capped: a 1 MiB + 1 byte /suspend is refused too, with no flush.
  auto s = post("suspend", std::string(kMaxHookBody + 1, 'x'));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 500);
  EXPECT_EQ(index_of(events(), "flush-start"), -1);
}

// --- heartbeat (§7.10) ---------------------------------------------------------------------------

TEST_F(LifecycleServerTest, HeartbeatRepeatsStopsOnSuspendAndRestartsOnResume) {
  config_.heartbeat_ms = 20;
  start();
  ASSERT_TRUE(post("run", R"({"microvmId":"vm-1"})"));
  ASSERT_TRUE(wait_until([&] { return metrics_.count(kHeartbeatMetric) >= 3; }));
  ASSERT_TRUE(post("suspend"));
  EXPECT_FALSE(call([&] { return server_->heartbeat_running(); }));
  const std::size_t stopped_at = metric_count(kHeartbeatMetric);
  // /resume starts it again with an immediate point.
  ASSERT_TRUE(post("resume"));
  EXPECT_TRUE(call([&] { return server_->heartbeat_running(); }));
  EXPECT_GE(metric_count(kHeartbeatMetric), stopped_at + 1);
  ASSERT_TRUE(wait_until([&] { return metrics_.count(kHeartbeatMetric) >= stopped_at + 3; }));
  ASSERT_TRUE(post("terminate"));
  EXPECT_FALSE(call([&] { return server_->heartbeat_running(); }));
}

TEST_F(LifecycleServerTest, StartingTheHeartbeatTwiceEmitsOnePoint) {
  start();  // heartbeat every 300 s: only start-up points are seen
  ASSERT_TRUE(post("resume"));
  EXPECT_EQ(metric_count(kHeartbeatMetric), 1u);
  ASSERT_TRUE(post("resume"));
  EXPECT_EQ(metric_count(kHeartbeatMetric), 1u);
  EXPECT_EQ(metric_count(kResumeMetric), 2u);
  EXPECT_EQ(index_of(events(), "snapshot-resumed"), 0);
}

// --- flush modes (§7.6, scenarios 27, 29, 30) ----------------------------------------------------

TEST_F(LifecycleServerTest, ForwardedTerminateIsAppAnswerThenFlushThenResponse) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kTerminate)] = true;
  flush_duration_ = Millis(150);
  start(/*forward=*/true);
  call([&] {
    upstream_->delay = Millis(100);
    upstream_->response = {200, "application/json", R"({"ok":true})", false, "mirrored", ""};
  });
  auto r =
      post("terminate", R"({"reason":"scale-in"})", "POST", "Content-Type: application/json\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r->header("Connection").value_or(""), "close");
  const auto ev = events();
  const int app = index_of(ev, "app-answer:terminate");
  const int flush_start = index_of(ev, "flush-start");
  const int flush_end = index_of(ev, "flush-end");
  const int response = index_of(ev, "response");
  ASSERT_NE(app, -1) << joined(ev);
  ASSERT_NE(flush_start, -1) << joined(ev);
  EXPECT_LT(index_of(ev, "forward:terminate"), app) << joined(ev);
  EXPECT_LT(app, flush_start) << joined(ev);
  EXPECT_LT(flush_end, response) << joined(ev);
  // The terminate metric entered the sink before the flush took its snapshot.
  EXPECT_EQ(ev[flush_start], "flush-start metrics=1") << joined(ev);
  EXPECT_EQ(metric_count(kTerminateMetric), 1u);
  const auto forwarded = call([&] { return upstream_->requests; });
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].body, R"({"reason":"scale-in"})");
  EXPECT_EQ(forwarded[0].content_type, "application/json");
  EXPECT_EQ(call([&] { return upstream_->timeouts; }), std::vector<Millis>{Millis(1000)});
  EXPECT_EQ(hook_outcome("terminate", "mirrored"), 1u);
}

TEST_F(LifecycleServerTest, ForwardedSuspendFlushesInParallelAndAnswersAfterBoth) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kSuspend)] = true;
  flush_duration_ = Millis(50);
  start(/*forward=*/true);
  // The app is slower than the flush: the flush starts before the forward and ends before the
  // app's answer; the response waits for the app.
  call([&] { upstream_->delay = Millis(250); });
  auto slow_app = post("suspend");
  ASSERT_TRUE(slow_app);
  EXPECT_EQ(slow_app->status, 200);
  auto ev = events();
  EXPECT_LT(index_of(ev, "flush-start"), index_of(ev, "forward:suspend")) << joined(ev);
  EXPECT_LT(index_of(ev, "flush-end"), index_of(ev, "app-answer:suspend")) << joined(ev);
  EXPECT_LT(index_of(ev, "app-answer:suspend"), index_of(ev, "response")) << joined(ev);
  EXPECT_EQ(index_of(ev, "flush-start metrics=1"), index_of(ev, "flush-start")) << joined(ev);

  // The flush is slower than the app: the response waits for the flush.
  call([&] {
    events_.clear();
    upstream_->delay = Millis(0);
    flush_duration_ = Millis(250);
  });
  const SteadyTime before = SystemClock::instance().steady_now();
  auto slow_flush = post("suspend");
  const SteadyTime after = SystemClock::instance().steady_now();
  ASSERT_TRUE(slow_flush);
  EXPECT_EQ(slow_flush->status, 200);
  ev = events();
  EXPECT_LT(index_of(ev, "app-answer:suspend"), index_of(ev, "flush-end")) << joined(ev);
  EXPECT_LT(index_of(ev, "flush-end"), index_of(ev, "response")) << joined(ev);
  // The flush deadline is its own: now + T_F at the hook.
  const auto deadlines = call([&] { return flush_deadlines_; });
  ASSERT_EQ(deadlines.size(), 2u);
  EXPECT_GE(deadlines[1].at, before + Millis(5000));
  EXPECT_LE(deadlines[1].at, after + Millis(5000));
  const std::string described = call([&] { return server_->describe(); });
  EXPECT_NE(described.find(R"("forwarded":["suspend"])"), std::string::npos) << described;
  EXPECT_NE(described.find(R"("flush_timeout_ms":5000)"), std::string::npos) << described;
}

TEST_F(LifecycleServerTest, ForwardedSuspendToAnAbsentAppIs503AfterTheFlush) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kSuspend)] = true;
  flush_duration_ = Millis(100);
  start(/*forward=*/true);
  call([&] { upstream_->response = {503, "", "", false, "503", ""}; });
  auto r = post("suspend");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(r->body.empty());
  EXPECT_FALSE(r->header("Content-Type").has_value());
  const auto ev = events();
  EXPECT_LT(index_of(ev, "flush-end"), index_of(ev, "response")) << joined(ev);
  EXPECT_EQ(hook_outcome("suspend", "503"), 1u);
}

TEST_F(LifecycleServerTest, BuiltInSuspendAnswers200WhenTheFlushHitsItsDeadline) {
  config_.flush_timeout_ms = 200;
  flush_duration_ = std::chrono::hours(1);  // the flush never reports back
  start();
  const auto t0 = SteadyClock::now();
  auto r = post("suspend");
  const auto took = SteadyClock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GE(took, Millis(200));
  EXPECT_LT(took, Millis(5000));
  const auto ev = events();
  EXPECT_NE(index_of(ev, "flush-start"), -1);
  EXPECT_EQ(index_of(ev, "flush-end"), -1);
  EXPECT_EQ(metric_count(kSuspendMetric), 1u);
  EXPECT_EQ(hook_outcome("suspend", "builtin"), 1u);
}

// --- duplicates (§7.4, scenario 35) --------------------------------------------------------------

TEST_F(LifecycleServerTest, RepeatedTerminateIsForwardedAndFlushedTwiceButCountedOnce) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kTerminate)] = true;
  start(/*forward=*/true);
  ASSERT_EQ(post("terminate")->status, 200);
  ASSERT_EQ(post("terminate")->status, 200);
  const auto ev = events();
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "forward:terminate"), 2) << joined(ev);
  EXPECT_EQ(std::count_if(ev.begin(), ev.end(),
                          [](const std::string& e) { return e.starts_with("flush-start"); }),
            2)
      << joined(ev);
  EXPECT_EQ(metric_count(kTerminateMetric), 1u);
  EXPECT_EQ(self_.get(kDuplicateSelfMetric, {"hook:terminate"}), 1u);
  // A /resume in between makes the next /terminate a new transition.
  ASSERT_TRUE(post("resume"));
  ASSERT_TRUE(post("terminate"));
  EXPECT_EQ(metric_count(kTerminateMetric), 2u);
  EXPECT_EQ(self_.get(kDuplicateSelfMetric, {"hook:terminate"}), 1u);
}

// --- forwarding choices --------------------------------------------------------------------------

TEST_F(LifecycleServerTest, OnlyToggledHooksAreForwardedAndAForwardedRunSendsNoSignal) {
  config_.user_app_port = 8080;
  config_.send_run_signal = true;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kRun)] = true;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kReady)] = true;
  start(/*forward=*/true);
  call([&] { upstream_->response = {418, "text/plain", "teapot", false, "mirrored", ""}; });
  auto run = post("run", R"({"microvmId":"vm-1"})");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status, 418);
  EXPECT_EQ(run->body, "teapot");
  auto resume = post("resume");  // not toggled: built-in
  ASSERT_TRUE(resume);
  EXPECT_EQ(resume->status, 200);
  // A forwarded /ready answered non-200 is mirrored without a flush.
  auto ready = post("ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 418);
  const auto ev = events();
  EXPECT_EQ(index_of(ev, "signal"), -1) << joined(ev);
  EXPECT_EQ(index_of(ev, "forward:resume"), -1) << joined(ev);
  EXPECT_EQ(index_of(ev, "flush-start"), -1) << joined(ev);
  EXPECT_EQ(call([&] { return upstream_->timeouts; }),
            (std::vector<Millis>{Millis(1000), Millis(30000)}));
  // The id is still taken from a forwarded /run.
  EXPECT_TRUE(has(tag_set(TagSetId::kLogs), "lambda_microvm_id:vm-1"));
}

TEST_F(LifecycleServerTest, NothingIsForwardedWithoutAnUpstream) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kValidate)] = true;
  start(/*forward=*/false);
  auto r = post("validate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(metric_count(kValidateMetric), 1u);
  EXPECT_EQ(hook_outcome("validate", "builtin"), 1u);
}

TEST_F(LifecycleServerTest, AnUpstreamThatNeverAnswersIsCutByTheBackstop) {
  config_.user_app_port = 8080;
  config_.enable[static_cast<std::size_t>(MicrovmHook::kRun)] = true;
  config_.ready_timeout_ms = 1;
  config_.validate_timeout_ms = 1;
  config_.forward_timeout_ms = 1;
  config_.flush_timeout_ms = 1;
  start(/*forward=*/true);
  call([&] { upstream_->delay = std::chrono::hours(1); });
  const Millis backstop = handler_backstop(config_);
  const auto t0 = SteadyClock::now();
  auto r = post("run");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_GE(SteadyClock::now() - t0, backstop);
  EXPECT_EQ(hook_outcome("run", "504"), 1u);
}

// --- pure functions ------------------------------------------------------------------------------

TEST(LifecycleConfigTest, StartupWarnings) {
  MicrovmConfig c;
  c.forward_timeout_ms = 1000;
  c.flush_timeout_ms = 5000;
  EXPECT_TRUE(startup_warnings(c).empty());

  c.user_app_port = 8080;  // app port, no toggle
  auto lines = startup_warnings(c);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("built-in handling"), std::string::npos);

  c.user_app_port = 0;  // toggles, no app port
  c.enable[static_cast<std::size_t>(MicrovmHook::kRun)] = true;
  c.enable[static_cast<std::size_t>(MicrovmHook::kTerminate)] = true;
  lines = startup_warnings(c);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("hook(s) run, terminate enabled but DD_AWS_MICROVM_USER_APP_PORT"),
            std::string::npos);

  c.user_app_port = 8080;  // terminate forwarded: 1 s + 5 s > 5 s
  lines = startup_warnings(c);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("LASTCALL_MICROVM_FLUSH_TIMEOUT_MS"), std::string::npos);
  c.flush_timeout_ms = 4000;  // exactly 5 s is fine
  EXPECT_TRUE(startup_warnings(c).empty());
}

TEST(LifecycleConfigTest, ListenerOptionsAndBackstop) {
  MicrovmConfig c;
  c.lifecycle_port = 9000;
  c.forward_timeout_ms = 1000;
  c.ready_timeout_ms = 30000;
  c.validate_timeout_ms = 30000;
  c.flush_timeout_ms = 5000;
  const auto o = http_options(c, nullptr);
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 9000);
  EXPECT_EQ(o.default_max_body, 1024u * 1024u);
  EXPECT_EQ(o.read_timeout, Millis(30000));
  EXPECT_EQ(o.write_timeout, Millis(5000));
  // §7.7: ready's 0.2 s dial + 30 s + 2 s flush, + 1 s.
  EXPECT_EQ(handler_backstop(c), Millis(33200));
  EXPECT_EQ(hook_path(MicrovmHook::kTerminate), "/aws/lambda-microvms/runtime/v1/terminate");
}

}  // namespace
}  // namespace lc::microvm
