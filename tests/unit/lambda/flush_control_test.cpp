// lambda/flush_control.h: the decision table of lambda-agent.md §6.3 for every strategy of §6.1,
// the Default (adaptive) table of §6.2 with its example timeline and the sliding 20-INVOKE window,
// LMI, the 10-minute age cap, the race and pre-timeout timers, the in-flight rule at runtimeDone
// and the deadline arithmetic. Time is a FakeClock's wall clock, moved by hand.
#include "lambda/flush_control.h"

#include <gtest/gtest.h>

#include <string>

#include "fakes/fake_clock.h"

namespace lc::lambda {
namespace {

using Kind = FlushStrategy::Kind;
using std::chrono::minutes;
using std::chrono::seconds;

FlushControlOptions options(FlushStrategy strategy, bool lmi = false,
                            Millis flush_timeout = Millis(30000)) {
  return FlushControlOptions{strategy, lmi, flush_timeout, Millis(200)};
}

class FlushControlTest : public ::testing::Test {
 protected:
  std::int64_t now() const { return clock_.wall_ms(); }
  // An INVOKE whose deadline is `timeout` from now.
  InvokeDecision invoke(FlushControl& fc, const std::string& id, Millis timeout = Millis(900000)) {
    return fc.on_invoke(id, now() + timeout.count());
  }

  fakes::FakeClock clock_;
};

// --- End -----------------------------------------------------------------------------------------

TEST_F(FlushControlTest, EndFlushesAtRuntimeDoneOnlyAndHasNoRaceTimer) {
  FlushControl fc(clock_, options({Kind::kEnd, 0}));
  clock_.advance(minutes(5));
  const InvokeDecision d = invoke(fc, "r1", seconds(10));
  EXPECT_EQ(d.mode, FlushMode::kEnd);
  EXPECT_EQ(d.interval, Millis(0));
  EXPECT_FALSE(d.flush);  // INVOKE: no flush, however long since the last one
  EXPECT_FALSE(d.race_timer.has_value());
  ASSERT_TRUE(d.pre_timeout_in.has_value());
  EXPECT_EQ(*d.pre_timeout_in, Millis(9500));
  EXPECT_TRUE(fc.awaiting_runtime_done());
  EXPECT_EQ(fc.on_race_timer().flush, false);

  clock_.advance(Millis(1200));
  const RuntimeDoneDecision r = fc.on_runtime_done("r1", std::nullopt);
  EXPECT_TRUE(r.current);
  EXPECT_TRUE(r.flush);
  EXPECT_FALSE(r.age_cap);
  EXPECT_FALSE(r.wait_in_flight.has_value());
  // min(now + DD_FLUSH_TIMEOUT, deadlineMs − 200 ms) = 10 000 − 1 200 − 200.
  EXPECT_EQ(fc.end_flush_bound(), Millis(8600));
  EXPECT_FALSE(fc.awaiting_runtime_done());

  // A duplicate runtimeDone, or one for another id, decides nothing.
  EXPECT_FALSE(fc.on_runtime_done("r1", std::nullopt).current);
  (void)invoke(fc, "r2");
  const RuntimeDoneDecision other = fc.on_runtime_done("r1", std::nullopt);
  EXPECT_FALSE(other.current);
  EXPECT_FALSE(other.flush);
  EXPECT_TRUE(fc.on_runtime_done("r2", std::nullopt).flush);
}

TEST_F(FlushControlTest, EndPeriodicallyRunsTheRaceTimerWhileWaitingForRuntimeDone) {
  FlushControl fc(clock_, options({Kind::kEndPeriodically, 5000}));
  const InvokeDecision d = invoke(fc, "r1");
  EXPECT_EQ(d.mode, FlushMode::kEnd);
  EXPECT_FALSE(d.flush);
  ASSERT_TRUE(d.race_timer.has_value());
  EXPECT_EQ(*d.race_timer, Millis(5000));

  clock_.advance(Millis(5000));
  TimerDecision t = fc.on_race_timer();
  EXPECT_TRUE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(5000));
  EXPECT_EQ(fc.flush_bound(), Millis(30000));  // the deadline is far: DD_FLUSH_TIMEOUT
  fc.flush_started();

  // Still in flight when the timer fires again: no second flush, try again a period later.
  clock_.advance(Millis(5000));
  t = fc.on_race_timer();
  EXPECT_FALSE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(5000));
  fc.flush_finished();

  // A forced flush (/lambda/flush) in between pushes the next race flush back.
  clock_.advance(Millis(2000));  // +12 s
  fc.flush_started();
  fc.flush_finished();
  clock_.advance(Millis(3000));  // +15 s: 3 s after the forced flush
  t = fc.on_race_timer();
  EXPECT_FALSE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(2000));
  clock_.advance(Millis(2000));
  EXPECT_TRUE(fc.on_race_timer().flush);

  // runtimeDone: the end flush still runs (differs from bottlecap), and the timer is done.
  const RuntimeDoneDecision r = fc.on_runtime_done("r1", std::nullopt);
  EXPECT_TRUE(r.flush);
  clock_.advance(Millis(5000));
  t = fc.on_race_timer();
  EXPECT_FALSE(t.flush);
  EXPECT_FALSE(t.rearm_in.has_value());
}

// --- Periodic ------------------------------------------------------------------------------------

TEST_F(FlushControlTest, PeriodicFlushesBlockingAtInvokeWhenMoreThanTheIntervalPassed) {
  FlushControl fc(clock_, options({Kind::kPeriodically, 20000}));
  // The interval counts from start-up.
  clock_.advance(Millis(20000));
  InvokeDecision d = invoke(fc, "r1", seconds(3));
  EXPECT_EQ(d.mode, FlushMode::kPeriodic);
  EXPECT_EQ(d.interval, Millis(20000));
  EXPECT_FALSE(d.flush);  // exactly 20 s: not more than 20 s
  EXPECT_FALSE(d.race_timer.has_value());
  RuntimeDoneDecision r = fc.on_runtime_done("r1", std::nullopt);
  EXPECT_TRUE(r.current);
  EXPECT_FALSE(r.flush);  // /next at once

  clock_.advance(Millis(1));
  d = invoke(fc, "r2", seconds(3));
  EXPECT_TRUE(d.flush);
  EXPECT_TRUE(d.blocking);
  EXPECT_EQ(d.flush_bound, Millis(2800));  // min(30 s, 3 s − 200 ms)
  fc.flush_started();
  fc.flush_finished();
  EXPECT_FALSE(fc.on_runtime_done("r2", std::nullopt).flush);

  clock_.advance(Millis(15000));
  EXPECT_FALSE(invoke(fc, "r3").flush);
  clock_.advance(Millis(5001));
  EXPECT_TRUE(invoke(fc, "r4").flush);
}

TEST_F(FlushControlTest, IntervalsCompareInMilliseconds) {
  // bottlecap truncates to seconds, so 500 behaves like 1000 there; here it is 500 ms.
  FlushControl fc(clock_, options({Kind::kPeriodically, 500}));
  clock_.advance(Millis(501));
  EXPECT_TRUE(invoke(fc, "r1").flush);
  clock_.advance(Millis(400));
  EXPECT_FALSE(invoke(fc, "r2").flush);
  clock_.advance(Millis(101));
  EXPECT_TRUE(invoke(fc, "r3").flush);
}

// --- Continuous ----------------------------------------------------------------------------------

TEST_F(FlushControlTest, ContinuousStartsABackgroundFlushOnlyWhenNoneIsInFlight) {
  FlushControl fc(clock_, options({Kind::kContinuously, 10000}));
  clock_.advance(Millis(10001));
  InvokeDecision d = invoke(fc, "r1");
  EXPECT_EQ(d.mode, FlushMode::kContinuous);
  EXPECT_TRUE(d.flush);
  EXPECT_FALSE(d.blocking);
  fc.flush_started();
  EXPECT_TRUE(fc.in_flight());
  EXPECT_FALSE(fc.on_runtime_done("r1", std::nullopt).flush);

  clock_.advance(seconds(20));  // interval elapsed, but the flush is still in flight
  d = invoke(fc, "r2");
  EXPECT_FALSE(d.flush);
  fc.flush_finished();
  EXPECT_FALSE(fc.in_flight());
  (void)fc.on_runtime_done("r2", std::nullopt);
  clock_.advance(Millis(1));
  EXPECT_TRUE(invoke(fc, "r3").flush);
}

// --- the in-flight rule at runtimeDone -----------------------------------------------------------

TEST_F(FlushControlTest, InFlightFlushAtRuntimeDoneIsWaitedForAtMost50MsBeforeTheDeadline) {
  FlushControl fc(clock_, options({Kind::kContinuously, 1000}));
  clock_.advance(seconds(2));
  ASSERT_TRUE(invoke(fc, "r1", seconds(10)).flush);
  fc.flush_started();
  clock_.advance(seconds(1));
  RuntimeDoneDecision r = fc.on_runtime_done("r1", std::nullopt);
  ASSERT_TRUE(r.wait_in_flight.has_value());
  EXPECT_EQ(*r.wait_in_flight, Millis(50));  // min(now + 50 ms, deadline − 200 ms)
  EXPECT_FALSE(r.flush);
  fc.flush_finished();

  // Close to the deadline: deadline − 200 ms − now = 30 ms.
  clock_.advance(seconds(2));
  ASSERT_TRUE(invoke(fc, "r2", Millis(1000)).flush);
  fc.flush_started();
  clock_.advance(Millis(770));
  r = fc.on_runtime_done("r2", std::nullopt);
  EXPECT_EQ(r.wait_in_flight, Millis(30));
  fc.flush_finished();

  // Deadline already past: zero, never negative.
  clock_.advance(seconds(2));
  ASSERT_TRUE(invoke(fc, "r3", Millis(1000)).flush);
  fc.flush_started();
  clock_.advance(seconds(5));
  r = fc.on_runtime_done("r3", std::nullopt);
  EXPECT_EQ(r.wait_in_flight, Millis(0));

  // No flush in flight: nothing to wait for.
  fc.flush_finished();
  (void)invoke(fc, "r4");
  EXPECT_FALSE(fc.on_runtime_done("r4", std::nullopt).wait_in_flight.has_value());
}

TEST_F(FlushControlTest, EndModeWaitsForAnInFlightRaceFlushBeforeItsEndFlush) {
  FlushControl fc(clock_, options({Kind::kEndPeriodically, 1000}));
  (void)invoke(fc, "r1");
  clock_.advance(Millis(1000));
  ASSERT_TRUE(fc.on_race_timer().flush);
  fc.flush_started();
  const RuntimeDoneDecision r = fc.on_runtime_done("r1", std::nullopt);
  EXPECT_EQ(r.wait_in_flight, Millis(50));
  EXPECT_TRUE(r.flush);
}

// --- age cap -------------------------------------------------------------------------------------

TEST_F(FlushControlTest, AgeCapForcesAnEndFlushWhateverTheStrategy) {
  for (const FlushStrategy s : {FlushStrategy{Kind::kPeriodically, 20000},
                                FlushStrategy{Kind::kContinuously, 20000}, FlushStrategy{}}) {
    SCOPED_TRACE(describe_flush_strategy(s));
    FlushControl fc(clock_, options(s));
    (void)invoke(fc, "r1");
    // Oldest point exactly 10 min old: not older than 10 min.
    const std::int64_t at_cap = now() - 600000;
    RuntimeDoneDecision r = fc.on_runtime_done("r1", at_cap);
    EXPECT_EQ(r.flush, fc.mode() == FlushMode::kEnd);
    EXPECT_FALSE(r.age_cap);
    (void)invoke(fc, "r2");
    r = fc.on_runtime_done("r2", now() - 600001);
    EXPECT_TRUE(r.flush);
    EXPECT_EQ(r.age_cap, fc.mode() != FlushMode::kEnd);
    (void)invoke(fc, "r3");
    r = fc.on_runtime_done("r3", std::nullopt);  // nothing buffered
    EXPECT_EQ(r.flush, fc.mode() == FlushMode::kEnd);
    clock_.advance(minutes(1));
  }
}

// --- pre-timeout ---------------------------------------------------------------------------------

TEST_F(FlushControlTest, PreTimeoutFlushAt500MsBeforeTheDeadlineBoundedTo300Ms) {
  for (const FlushStrategy s :
       {FlushStrategy{Kind::kEnd, 0}, FlushStrategy{Kind::kPeriodically, 20000},
        FlushStrategy{Kind::kContinuously, 20000}, FlushStrategy{}}) {
    SCOPED_TRACE(describe_flush_strategy(s));
    FlushControl fc(clock_, options(s));
    const InvokeDecision d = invoke(fc, "r1", Millis(3000));
    ASSERT_EQ(d.pre_timeout_in, Millis(2500));
    clock_.advance(Millis(2500));
    PreTimeoutDecision p = fc.on_pre_timeout();
    EXPECT_TRUE(p.flush);
    EXPECT_EQ(p.bound, Millis(300));  // min(300 ms, deadline − 200 ms − now = 300 ms)
    // Keep waiting: runtimeDone still decides per mode.
    EXPECT_TRUE(fc.awaiting_runtime_done());
    EXPECT_TRUE(fc.on_runtime_done("r1", std::nullopt).current);
    // After runtimeDone the timer (if it still fires) decides nothing.
    EXPECT_FALSE(fc.on_pre_timeout().flush);
    clock_.advance(seconds(1));
  }
}

TEST_F(FlushControlTest, PreTimeoutBoundShrinksWithTheMarginAndNeverGoesNegative) {
  FlushControl fc(clock_, FlushControlOptions{{Kind::kEnd, 0}, false, Millis(30000), Millis(400)});
  (void)invoke(fc, "r1", Millis(3000));
  clock_.advance(Millis(2500));
  EXPECT_EQ(fc.on_pre_timeout().bound, Millis(100));  // deadline − 400 ms − now

  // A deadline already behind us: the point is now, the bound zero.
  const InvokeDecision d = fc.on_invoke("r2", now() - 1000);
  EXPECT_EQ(d.pre_timeout_in, Millis(0));
  const PreTimeoutDecision p = fc.on_pre_timeout();
  EXPECT_TRUE(p.flush);
  EXPECT_EQ(p.bound, Millis(0));
  EXPECT_EQ(fc.flush_bound(), Millis(0));
  EXPECT_EQ(fc.end_flush_bound(), Millis(0));

  // No deadline known: no pre-timeout point, and DD_FLUSH_TIMEOUT alone bounds a flush.
  const InvokeDecision none = fc.on_invoke("r3", 0);
  EXPECT_FALSE(none.pre_timeout_in.has_value());
  EXPECT_FALSE(fc.on_pre_timeout().flush);
  EXPECT_EQ(fc.flush_bound(), Millis(30000));
}

TEST_F(FlushControlTest, FlushBoundIsTheSoonerOfFlushTimeoutAndDeadlineMinusMargin) {
  FlushControl fc(clock_, options({Kind::kEnd, 0}, false, Millis(5000)));
  (void)invoke(fc, "r1", seconds(60));
  EXPECT_EQ(fc.flush_bound(), Millis(5000));  // now + DD_FLUSH_TIMEOUT is sooner
  clock_.advance(Millis(56000));
  EXPECT_EQ(fc.flush_bound(), Millis(3800));  // deadline − 200 ms is sooner
  clock_.advance(Millis(3800));
  EXPECT_EQ(fc.flush_bound(), Millis(0));
  clock_.advance(Millis(10000));
  EXPECT_EQ(fc.end_flush_bound(), Millis(0));  // past: zero, never negative
}

// --- Default (adaptive), §6.2 --------------------------------------------------------------------

// The spec's example timeline: invocations 1–19 always flush at the end; invocation 20 arrives
// 9.5 min after invocation 1 (mean gap 30 s, span 570 s ≥ 30 s) → Periodic(20 s).
TEST_F(FlushControlTest, DefaultExampleTimeline) {
  FlushControl fc(clock_, options({}));
  const std::int64_t first = now();
  for (int i = 1; i <= 19; ++i) {
    clock_.set_wall_ms(first + (i - 1) * 30000);
    const InvokeDecision d = invoke(fc, "r" + std::to_string(i));
    EXPECT_EQ(d.mode, FlushMode::kEnd) << i;
    EXPECT_FALSE(d.flush) << i;
    EXPECT_EQ(d.race_timer, Millis(60000)) << i;  // Default's race timer
    clock_.set_wall_ms(now() + 100);
    const RuntimeDoneDecision r = fc.on_runtime_done("r" + std::to_string(i), std::nullopt);
    EXPECT_TRUE(r.flush) << i;
    fc.flush_started();
    fc.flush_finished();
  }
  clock_.set_wall_ms(first + 570000);
  const InvokeDecision d20 = invoke(fc, "r20");
  EXPECT_EQ(d20.mode, FlushMode::kPeriodic);
  EXPECT_EQ(d20.interval, Millis(20000));
  EXPECT_FALSE(d20.race_timer.has_value());
  EXPECT_TRUE(d20.flush);  // 29.9 s since the end flush of invocation 19
  EXPECT_TRUE(d20.blocking);
  fc.flush_started();
  fc.flush_finished();
  EXPECT_FALSE(fc.on_runtime_done("r20", std::nullopt).flush);  // no end-of-invocation flush

  // Invocation 21, 10 s later: still Periodic (window 2..21, span 550 s), interval not elapsed.
  clock_.set_wall_ms(first + 580000);
  const InvokeDecision d21 = invoke(fc, "r21");
  EXPECT_EQ(d21.mode, FlushMode::kPeriodic);
  EXPECT_FALSE(d21.flush);
  EXPECT_NE(fc.describe().find("window 20/20, span 550 s"), std::string::npos) << fc.describe();
  (void)fc.on_runtime_done("r21", std::nullopt);
  // Invocation 22, 21 s after the flush at invocation 20: flush.
  clock_.set_wall_ms(first + 591000);
  EXPECT_TRUE(invoke(fc, "r22").flush);
}

TEST_F(FlushControlTest, DefaultTable) {
  struct Row {
    const char* name;
    std::int64_t gap_ms;  // between consecutive INVOKEs
    int count;
    Millis flush_timeout;
    FlushMode want;
  };
  for (const Row& r : {
           Row{"19 invocations, 1 s apart", 1000, 19, Millis(30000), FlushMode::kEnd},
           Row{"20 within 19 s < T", 1000, 20, Millis(30000), FlushMode::kContinuous},
           Row{"20 within 29.99 s < T", 1578, 20, Millis(30000), FlushMode::kContinuous},
           Row{"span exactly T", 30000 / 19 + 1, 20, Millis(30000), FlushMode::kPeriodic},
           Row{"span ≥ T of 10 s", 1000, 20, Millis(10000), FlushMode::kPeriodic},
           Row{"mean gap 119 s", 119000, 20, Millis(30000), FlushMode::kPeriodic},
           Row{"mean gap exactly 120 s", 120000, 20, Millis(30000), FlushMode::kEnd},
           Row{"mean gap 5 min", 300000, 25, Millis(30000), FlushMode::kEnd},
       }) {
    SCOPED_TRACE(r.name);
    fakes::FakeClock clock(1700000000000);  // whole seconds: wall_s() spans are exact
    FlushControl fc(clock, options({}, false, r.flush_timeout));
    InvokeDecision d;
    for (int i = 0; i < r.count; ++i) {
      if (i > 0) clock.set_wall_ms(clock.wall_ms() + r.gap_ms);
      d = fc.on_invoke("r" + std::to_string(i), 0);
      (void)fc.on_runtime_done("r" + std::to_string(i), std::nullopt);
    }
    EXPECT_EQ(d.mode, r.want) << flush_mode_name(d.mode) << "; " << fc.describe();
    if (r.want == FlushMode::kEnd) {
      EXPECT_EQ(d.race_timer, Millis(60000));
      EXPECT_EQ(d.interval, Millis(0));
    } else {
      EXPECT_FALSE(d.race_timer.has_value());
      EXPECT_EQ(d.interval, Millis(20000));
    }
  }
}

TEST_F(FlushControlTest, DefaultWindowSlidesOverTheLast20Invokes) {
  clock_.set_wall_ms(1700000000000);
  FlushControl fc(clock_, options({}));
  const auto step = [&](std::int64_t gap_ms, const std::string& id) {
    clock_.set_wall_ms(now() + gap_ms);
    const InvokeDecision d = fc.on_invoke(id, 0);
    (void)fc.on_runtime_done(id, std::nullopt);
    return d.mode;
  };
  // A burst: 20 INVOKEs 1 s apart → Continuous.
  FlushMode m = FlushMode::kEnd;
  for (int i = 0; i < 20; ++i) m = step(i == 0 ? 0 : 1000, "a" + std::to_string(i));
  EXPECT_EQ(m, FlushMode::kContinuous);
  // One INVOKE 100 s later: the window (a1..a19, b0) spans 118 s ≥ 30 s → Periodic.
  EXPECT_EQ(step(100000, "b0"), FlushMode::kPeriodic);
  // INVOKEs every 200 s: the span grows past 19 × 120 s = 2280 s once enough slow gaps are in.
  // After k slow INVOKEs (b0 + k − 1 more) the window holds 20 − k burst INVOKEs: span =
  // (19 − k) × 1 + 100 + (k − 1) × 200 s; ≥ 2280 s from k = 12 on.
  for (int k = 2; k <= 20; ++k) {
    const FlushMode want = k >= 12 ? FlushMode::kEnd : FlushMode::kPeriodic;
    EXPECT_EQ(step(200000, "b" + std::to_string(k - 1)), want) << k;
  }
  // A new burst: the window still holds slow INVOKEs until 19 fast ones follow the last slow one.
  for (int i = 1; i <= 19; ++i) {
    const FlushMode got = step(1000, "c" + std::to_string(i));
    // Window: the last 20 − i slow INVOKEs and i fast ones.
    const std::int64_t span_s = i + (i < 19 ? static_cast<std::int64_t>(19 - i) * 200 : 0);
    const FlushMode want = span_s >= 2280 ? FlushMode::kEnd
                           : span_s < 30  ? FlushMode::kContinuous
                                          : FlushMode::kPeriodic;
    EXPECT_EQ(got, want) << i << " span " << span_s;
  }
}

// --- LMI -----------------------------------------------------------------------------------------

TEST_F(FlushControlTest, LmiIsContinuousWithABackgroundTimer) {
  FlushControl fc(clock_, options({Kind::kContinuously, 30000}, true));
  EXPECT_EQ(fc.mode(), FlushMode::kContinuous);
  ASSERT_EQ(fc.lmi_timer_period(), Millis(30000));
  clock_.advance(Millis(30000));
  TimerDecision t = fc.on_lmi_timer();
  EXPECT_TRUE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(30000));
  fc.flush_started();
  clock_.advance(Millis(30000));
  t = fc.on_lmi_timer();  // still in flight
  EXPECT_FALSE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(30000));
  fc.flush_finished();
  // A forced flush 10 s before the timer fires: the next timer flush comes 30 s after it.
  clock_.advance(Millis(20000));
  fc.flush_started();
  fc.flush_finished();
  clock_.advance(Millis(10000));
  t = fc.on_lmi_timer();
  EXPECT_FALSE(t.flush);
  EXPECT_EQ(t.rearm_in, Millis(20000));
  clock_.advance(Millis(20000));
  EXPECT_TRUE(fc.on_lmi_timer().flush);
  EXPECT_NE(fc.describe().find("(lmi)"), std::string::npos);

  // Whatever the strategy handed in, LMI runs Continuous (config forces continuously,30000).
  FlushControl end(clock_, options({Kind::kEnd, 0}, true));
  EXPECT_EQ(end.mode(), FlushMode::kContinuous);
  EXPECT_EQ(end.lmi_timer_period(), Millis(30000));
  const InvokeDecision d = end.on_invoke("r1", 0);
  EXPECT_EQ(d.mode, FlushMode::kContinuous);
  EXPECT_FALSE(end.on_runtime_done("r1", std::nullopt).flush);

  // Outside LMI there is no background timer.
  FlushControl on_demand(clock_, options({Kind::kContinuously, 30000}));
  EXPECT_FALSE(on_demand.lmi_timer_period().has_value());
  clock_.advance(minutes(1));
  EXPECT_FALSE(on_demand.on_lmi_timer().flush);
}

// --- bookkeeping ---------------------------------------------------------------------------------

TEST_F(FlushControlTest, FlushNotesAndDescribe) {
  FlushControl fc(clock_, options({}));
  fc.flush_finished();  // a stray end never underflows
  EXPECT_FALSE(fc.in_flight());
  fc.flush_started();
  fc.flush_started();
  fc.flush_finished();
  EXPECT_TRUE(fc.in_flight());
  fc.flush_finished();
  EXPECT_FALSE(fc.in_flight());
  (void)invoke(fc, "r1");
  clock_.advance(Millis(3200));
  const std::string text = fc.describe();
  EXPECT_NE(text.find("strategy default"), std::string::npos) << text;
  EXPECT_NE(text.find("mode end"), std::string::npos) << text;
  EXPECT_NE(text.find("window 1/20"), std::string::npos) << text;
  EXPECT_NE(text.find("race timer 60000 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("last flush 3200 ms ago"), std::string::npos) << text;
  EXPECT_NE(text.find("awaiting runtimeDone r1"), std::string::npos) << text;
  EXPECT_EQ(flush_mode_name(FlushMode::kContinuous), "continuous");
}

}  // namespace
}  // namespace lc::lambda
