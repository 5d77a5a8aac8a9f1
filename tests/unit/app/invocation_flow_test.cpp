// InvocationFlow on a FakeClock with a real FlushControl and a real FlushScheduler whose
// collect/send/cut are test lambdas wired as Pipeline wires them (flush_started at collect,
// flush_finished when the send is done): when /next is called relative to runtimeDone and the
// flushes of each strategy, the end-of-invocation flush's bound, the cut of a flush still running
// at runtimeDone, the give-up timer, logsDropped, the race / pre-timeout / LMI timers, and stop()
// (lambda-agent.md §6.1–§6.3).
#include "app/invocation_flow.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "app/flush_scheduler.h"
#include "core/json.h"
#include "fakes/fake_clock.h"
#include "lambda/flush_control.h"

namespace lc::app {
namespace {

using fakes::FakeClock;
using Kind = FlushStrategy::Kind;
using lambda::ExtensionEvent;
using lambda::FlushControl;
using lambda::TelemetryEvent;
using lambda::TelemetryType;
using metrics::FlushScope;

constexpr Millis kMargin{200};
constexpr Millis kFlushTimeout{30000};

class InvocationFlowTest : public ::testing::Test {
 protected:
  struct Sent {
    FlushStart start;
    FlushScheduler::Done done;
  };

  void make(FlushStrategy strategy, bool lmi = false, Millis flush_timeout = kFlushTimeout) {
    lambda::FlushControlOptions options;
    options.strategy = strategy;
    options.lmi = lmi;
    options.flush_timeout = flush_timeout;
    options.shutdown_margin = kMargin;
    control = std::make_unique<FlushControl>(clock, options);
    scheduler = std::make_unique<FlushScheduler>(
        clock, clock, Millis(10000), flush_timeout,
        [this](const FlushStart& start) {
          events.push_back("collect:" + std::string(flush_kind_name(start.kind)));
          collected.push_back(start);
          control->flush_started();
          return std::vector<Payload>{};
        },
        [this](std::vector<Payload>, const FlushStart& start, FlushScheduler::Done done) {
          sends.push_back(Sent{start, [this, start, done = std::move(done)] {
                                 events.push_back("done:" +
                                                  std::string(flush_kind_name(start.kind)));
                                 control->flush_finished();
                                 if (start.scope == FlushScope::kAll) {
                                   last_full_flush_ms = clock.wall_ms();
                                 }
                                 done();
                               }});
        },
        [this](bool) {
          events.emplace_back("cut");
          complete_last();  // the cut send's done() follows at once
        });
    InvocationFlowHooks hooks;
    hooks.next = [this] {
      events.emplace_back("next");
      ++nexts;
    };
    hooks.drain_receivers = [this] { events.emplace_back("drain"); };
    hooks.close_intake_connections = [this] { events.emplace_back("close"); };
    hooks.last_full_flush_ms = [this] { return last_full_flush_ms; };
    flow = std::make_unique<InvocationFlow>(*control, *scheduler, clock, clock, kMargin,
                                            std::move(hooks));
    last_full_flush_ms = clock.wall_ms();
  }

  // Completes the most recent send that has not completed yet.
  void complete_last() {
    for (auto it = sends.rbegin(); it != sends.rend(); ++it) {
      if (it->done) {
        auto done = std::move(it->done);
        it->done = nullptr;
        done();
        return;
      }
    }
    FAIL() << "no send to complete";
  }

  ExtensionEvent invoke(const std::string& id, std::int64_t deadline_in_ms) const {
    ExtensionEvent e;
    e.type = ExtensionEvent::Type::kInvoke;
    e.event_type = "INVOKE";
    e.request_id = id;
    e.deadline_ms = deadline_in_ms > 0 ? clock.wall_ms() + deadline_in_ms : 0;
    return e;
  }

  void telemetry(TelemetryType type, const boost::json::value& record) {
    const TelemetryEvent event{type, "", "", std::nullopt, record, false};
    flow->on_telemetry(event);
  }
  void runtime_done(const std::string& id) {
    telemetry(TelemetryType::kRuntimeDone, boost::json::object{{"requestId", id}});
  }
  void logs_dropped() {
    telemetry(TelemetryType::kLogsDropped, boost::json::object{{"reason", "buffer full"}});
  }

  // How far a flush's deadline is from now.
  Millis bound_of(const FlushStart& start) const { return start.deadline.remaining(clock); }

  FakeClock clock;
  std::unique_ptr<FlushControl> control;
  std::unique_ptr<FlushScheduler> scheduler;
  std::unique_ptr<InvocationFlow> flow;
  std::vector<std::string> events;
  std::vector<FlushStart> collected;
  std::vector<Sent> sends;
  std::int64_t last_full_flush_ms = 0;
  int nexts = 0;
};

using Events = std::vector<std::string>;

TEST_F(InvocationFlowTest, EndWaitsForItsOwnRuntimeDoneThenDrainsFlushesClosesAndCallsNext) {
  make({Kind::kEnd, 0});
  flow->on_invoke(invoke("a", 10000), true);
  EXPECT_TRUE(flow->waiting_for_next());
  clock.advance(Millis(1000));
  EXPECT_TRUE(events.empty()) << "no flush and no /next before runtimeDone";

  runtime_done("b");  // another invocation's runtimeDone
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(flow->waiting_for_next());

  runtime_done("a");
  ASSERT_EQ(events, (Events{"drain", "collect:end_of_invocation"}));
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].scope, FlushScope::kAll);
  // min(now + 30 s, deadlineMs − 200 ms): deadlineMs is 9000 ms away now.
  EXPECT_EQ(bound_of(collected[0]), Millis(8800));
  EXPECT_EQ(nexts, 0) << "/next waits for the end-of-invocation flush";
  EXPECT_FALSE(flow->waiting_for_next());

  clock.advance(Millis(300));
  complete_last();
  EXPECT_EQ(events, (Events{"drain", "collect:end_of_invocation", "done:end_of_invocation", "close",
                            "next"}));
  runtime_done("a");  // a duplicate changes nothing
  EXPECT_EQ(nexts, 1);
  EXPECT_EQ(collected.size(), 1u);
  EXPECT_EQ(clock.pending_timers(), 0u) << "the give-up and pre-timeout timers were cancelled";
}

TEST_F(InvocationFlowTest, EndOfInvocationFlushIsBoundedByTheFlushTimeoutWhenTheDeadlineIsFar) {
  make({Kind::kEnd, 0}, false, Millis(2000));
  flow->on_invoke(invoke("a", 60000), true);
  runtime_done("a");
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].kind, FlushKind::kEndOfInvocation);
  EXPECT_EQ(bound_of(collected[0]), Millis(2000));
  complete_last();
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, AFlushRunningAtRuntimeDoneIsCutAfterTheInFlightWait) {
  make({Kind::kEndPeriodically, 1000});
  flow->on_invoke(invoke("a", 10000), true);
  clock.advance(Millis(1000));  // the race timer starts a periodic flush that hangs
  ASSERT_EQ(events, (Events{"collect:periodic"}));

  runtime_done("a");
  EXPECT_EQ(events, (Events{"collect:periodic", "drain"}))
      << "the end-of-invocation flush waits for the running one";
  clock.advance(FlushControl::kInFlightWait - Millis(1));
  EXPECT_EQ(events.size(), 2u) << "not cut before the wait ends";
  clock.advance(Millis(1));
  ASSERT_EQ(events, (Events{"collect:periodic", "drain", "cut", "done:periodic",
                            "collect:end_of_invocation"}));
  EXPECT_EQ(nexts, 0);
  complete_last();
  EXPECT_EQ(events.back(), "next");
  EXPECT_EQ(events[events.size() - 2], "close");
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, NoRuntimeDoneGivesUpAtDeadlineMinusMarginExactlyOnce) {
  make({Kind::kEnd, 0});
  flow->on_invoke(invoke("a", 3000), true);
  clock.advance(Millis(2500));  // deadlineMs − 500 ms: the pre-timeout flush
  ASSERT_EQ(events, (Events{"collect:early"}));
  complete_last();
  EXPECT_EQ(nexts, 0) << "the pre-timeout flush keeps waiting for runtimeDone";

  clock.advance(Millis(299));
  EXPECT_EQ(nexts, 0);
  EXPECT_EQ(collected.size(), 1u);
  clock.advance(Millis(1));  // deadlineMs − 200 ms
  ASSERT_EQ(events, (Events{"collect:early", "done:early", "drain", "collect:end_of_invocation"}));
  EXPECT_EQ(bound_of(collected.back()), Millis(0)) << "nothing left before deadlineMs − margin";
  complete_last();
  EXPECT_EQ(nexts, 1);
  EXPECT_EQ(events.back(), "next");
  EXPECT_EQ(events[events.size() - 2], "close");

  // The runtimeDone that arrives late does not call /next a second time (whether it flushes
  // once more is FlushControl's call).
  runtime_done("a");
  if (scheduler->flushing()) complete_last();
  clock.advance(Millis(10000));
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, LogsDroppedWhileWaitingFlushesAndCallsNextOtherwiseNothing) {
  make({Kind::kEnd, 0});
  logs_dropped();  // before any INVOKE
  EXPECT_TRUE(events.empty());

  flow->on_invoke(invoke("a", 10000), true);
  logs_dropped();
  ASSERT_EQ(events, (Events{"drain", "collect:end_of_invocation"}));
  complete_last();
  EXPECT_EQ(nexts, 1);
  EXPECT_FALSE(flow->waiting_for_next());

  logs_dropped();  // /next no longer waits
  EXPECT_EQ(collected.size(), 1u);
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, RaceTimerAndPreTimeoutFlushFireAsDecidedAndRuntimeDoneCancelsThem) {
  make({Kind::kEndPeriodically, 1000});
  flow->on_invoke(invoke("a", 5000), true);
  clock.advance(Millis(1000));
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].kind, FlushKind::kPeriodic);
  EXPECT_EQ(collected[0].scope, FlushScope::kClosedBuckets);
  EXPECT_EQ(bound_of(collected[0]), Millis(3800));  // min(30 s, deadlineMs − 200 ms − now)
  complete_last();
  for (std::size_t n = 2; n <= 4; ++n) {  // 2000, 3000, 4000 ms: the race timer re-arms
    clock.advance(Millis(1000));
    ASSERT_EQ(collected.size(), n);
    EXPECT_EQ(collected.back().kind, FlushKind::kPeriodic);
    complete_last();
  }

  clock.advance(Millis(500));  // deadlineMs − 500 ms: the pre-timeout flush
  ASSERT_EQ(collected.size(), 5u);
  EXPECT_EQ(collected[4].kind, FlushKind::kEarly);
  EXPECT_EQ(collected[4].scope, FlushScope::kAll);
  EXPECT_EQ(bound_of(collected[4]), Millis(300));
  EXPECT_EQ(nexts, 0);
  complete_last();

  runtime_done("a");
  ASSERT_EQ(collected.size(), 6u);
  EXPECT_EQ(collected[5].kind, FlushKind::kEndOfInvocation);
  complete_last();
  EXPECT_EQ(nexts, 1);
  EXPECT_EQ(clock.pending_timers(), 0u);
  clock.advance(Millis(60000));
  EXPECT_EQ(collected.size(), 6u) << "no race timer after runtimeDone";
}

TEST_F(InvocationFlowTest, PreTimeoutTimerIsCancelledByRuntimeDone) {
  make({Kind::kEnd, 0});
  flow->on_invoke(invoke("a", 5000), true);
  clock.advance(Millis(1000));
  runtime_done("a");
  complete_last();
  clock.advance(Millis(10000));
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].kind, FlushKind::kEndOfInvocation);
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, StopCancelsEveryTimerAndForgetsTheDeferredNext) {
  make({Kind::kEndPeriodically, 1000});
  flow->on_invoke(invoke("a", 5000), true);
  EXPECT_GT(clock.pending_timers(), 0u);
  flow->stop();
  EXPECT_FALSE(flow->waiting_for_next());
  EXPECT_EQ(clock.pending_timers(), 0u);
  clock.advance(Millis(10000));  // past the race, pre-timeout and give-up points
  logs_dropped();
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(nexts, 0);
}

TEST_F(InvocationFlowTest, PeriodicFlushesBeforeNextWhenTheIntervalElapsed) {
  make({Kind::kPeriodically, 1000});
  flow->on_invoke(invoke("a", 10000), true);
  EXPECT_EQ(events, (Events{"close", "next"})) << "interval not elapsed: /next at once";
  runtime_done("a");
  EXPECT_EQ(events.size(), 2u) << "runtimeDone flushes nothing in Periodic";

  events.clear();
  clock.advance(Millis(1001));
  flow->on_invoke(invoke("b", 10000), true);
  ASSERT_EQ(events, (Events{"collect:periodic"})) << "blocking: /next after the flush";
  EXPECT_EQ(collected[0].scope, FlushScope::kClosedBuckets);
  EXPECT_EQ(bound_of(collected[0]), Millis(9800));
  complete_last();
  EXPECT_EQ(events, (Events{"collect:periodic", "done:periodic", "close", "next"}));
  EXPECT_FALSE(flow->waiting_for_next());
}

TEST_F(InvocationFlowTest, ContinuousCallsNextAtOnceAndFlushesInTheBackground) {
  make({Kind::kContinuously, 1000});
  clock.advance(Millis(1001));
  flow->on_invoke(invoke("a", 10000), true);
  ASSERT_EQ(events, (Events{"collect:periodic", "close", "next"}));
  EXPECT_EQ(collected[0].scope, FlushScope::kClosedBuckets);

  clock.advance(Millis(1001));
  flow->on_invoke(invoke("b", 10000), true);
  EXPECT_EQ(collected.size(), 1u) << "a flush still in flight: no second one";
  EXPECT_EQ(nexts, 2);
  complete_last();
  EXPECT_EQ(nexts, 2);
}

TEST_F(InvocationFlowTest, WithoutTelemetryEachInvokeFlushesClosedBucketsAndCallsNextAtOnce) {
  make({Kind::kEnd, 0});
  flow->on_invoke(invoke("a", 5000), false);
  ASSERT_EQ(events, (Events{"collect:periodic", "next"}));
  EXPECT_EQ(collected[0].scope, FlushScope::kClosedBuckets);
  EXPECT_EQ(bound_of(collected[0]), control->flush_bound_for(clock.wall_ms() + 5000));
  EXPECT_EQ(bound_of(collected[0]), Millis(4800));
  EXPECT_FALSE(flow->waiting_for_next());
  EXPECT_EQ(clock.pending_timers(), 0u) << "no give-up timer: no runtimeDone is awaited";
  complete_last();
  EXPECT_EQ(nexts, 1);
}

TEST_F(InvocationFlowTest, LmiTimerFlushesAndRearmsUntilStopped) {
  make({Kind::kContinuously, 1000}, true);
  flow->start();
  clock.advance(Millis(1000));
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].kind, FlushKind::kPeriodic);
  complete_last();
  clock.advance(Millis(1000));
  ASSERT_EQ(collected.size(), 2u) << "re-armed";
  // In flight at the next firing: no flush, but the timer keeps going.
  clock.advance(Millis(1000));
  EXPECT_EQ(collected.size(), 2u);
  complete_last();
  clock.advance(Millis(1000));
  EXPECT_EQ(collected.size(), 3u);
  complete_last();

  flow->stop();
  EXPECT_EQ(clock.pending_timers(), 0u);
  clock.advance(Millis(10000));
  EXPECT_EQ(collected.size(), 3u);
}

TEST_F(InvocationFlowTest, OutsideLmiStartArmsNothing) {
  make({Kind::kEnd, 0});
  flow->start();
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST_F(InvocationFlowTest, DescribesItselfAsJson) {
  make({Kind::kEnd, 0});
  flow->on_invoke(invoke("a", 5000), true);
  const auto parsed = parse_json(flow->describe());
  ASSERT_TRUE(parsed) << flow->describe();
  const auto* o = parsed->if_object();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(json::int64_member(*o, "shutdown_margin_ms"), 200);
  EXPECT_EQ(json::string_member(*o, "mode"), "end");
  EXPECT_EQ(json::bool_member(*o, "waiting_for_next"), true);
  const auto* timers = json::object_member(*o, "timers");
  ASSERT_NE(timers, nullptr);
  EXPECT_EQ(json::bool_member(*timers, "give_up"), true);
  EXPECT_EQ(json::bool_member(*timers, "pre_timeout"), true);
  EXPECT_EQ(json::bool_member(*timers, "race"), false);
  EXPECT_EQ(json::bool_member(*timers, "lmi"), false);
}

}  // namespace
}  // namespace lc::app
