// FlushScheduler on a FakeClock with fake collect/send/cut callbacks: which buckets each kind
// asks for, start-after vs. join, deadlines, the periodic timer, the final flush cutting a running
// one and starting at once, and every waiter answered exactly once (architecture.md "Layout",
// clarifications.md "flush requests"). The last tests wire it to a real forward::Forwarder whose
// exporter hangs: the final flush holds back what the cut flush had in flight (never sent twice)
// and ends by its own deadline.
#include "app/flush_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.h"
#include "core/self_metrics.h"
#include "fakes/fake_clock.h"
#include "forward/forwarder.h"

namespace lc::app {
namespace {

using fakes::FakeClock;
using metrics::FlushScope;

constexpr Millis kInterval{10000};
constexpr Millis kTimeout{30000};

Payload payload(std::string name) {
  Payload p;
  p.kind = PayloadKind::kSeriesV2;
  p.path = "/api/v2/series";
  p.body = std::move(name);
  p.items = 1;
  return p;
}

class FlushSchedulerTest : public ::testing::Test {
 protected:
  struct Sent {
    FlushStart start;
    std::vector<Payload> payloads;
    FlushScheduler::Done done;
  };

  FlushSchedulerTest()
      : scheduler(
            clock, clock, kInterval, kTimeout,
            [this](const FlushStart& start) {
              collected.push_back(start);
              return std::vector<Payload>{payload("p" + std::to_string(collected.size()))};
            },
            [this](std::vector<Payload> payloads, const FlushStart& start,
                   FlushScheduler::Done done) {
              sends.push_back(Sent{start, std::move(payloads), std::move(done)});
            },
            [this](bool) {
              ++cuts;
              if (cut_completes && !sends.empty()) complete(sends.size() - 1);
            }) {}

  // Completes the i-th send (its done() once; a second call is the test's own fault).
  void complete(std::size_t i) {
    ASSERT_LT(i, sends.size());
    auto done = std::move(sends[i].done);
    sends[i].done = nullptr;
    ASSERT_TRUE(done) << "send " << i << " completed twice by the test";
    done();
  }

  // A waiter that counts its answers.
  FlushScheduler::Done waiter(const std::string& name) {
    return [this, name] { answers.push_back(name); };
  }
  int answered(const std::string& name) const {
    return static_cast<int>(std::count(answers.begin(), answers.end(), name));
  }

  Deadline in(Millis d) const { return Deadline::after(clock, d); }

  FakeClock clock;
  std::vector<FlushStart> collected;
  std::vector<Sent> sends;
  std::vector<std::string> answers;
  int cuts = 0;
  bool cut_completes = false;
  FlushScheduler scheduler;
};

TEST_F(FlushSchedulerTest, EachKindAsksForItsBucketsAndCarriesTheRequestedDeadline) {
  EXPECT_EQ(flush_scope(FlushKind::kPeriodic), FlushScope::kClosedBuckets);
  const FlushKind kinds[] = {FlushKind::kPeriodic, FlushKind::kForced, FlushKind::kEndOfInvocation,
                             FlushKind::kEarly, FlushKind::kLifecycle};
  for (std::size_t i = 0; i < std::size(kinds); ++i) {
    const Deadline d = in(Millis(1000 + static_cast<int>(i)));
    scheduler.request(kinds[i], d, waiter(std::string(flush_kind_name(kinds[i]))));
    ASSERT_EQ(collected.size(), i + 1);
    EXPECT_EQ(collected[i].kind, kinds[i]);
    EXPECT_EQ(collected[i].scope,
              kinds[i] == FlushKind::kPeriodic ? FlushScope::kClosedBuckets : FlushScope::kAll)
        << flush_kind_name(kinds[i]);
    EXPECT_EQ(collected[i].deadline.at, d.at);
    EXPECT_EQ(sends[i].start.deadline.at, d.at);
    EXPECT_EQ(sends[i].payloads.size(), 1u);
    EXPECT_TRUE(scheduler.flushing());
    EXPECT_EQ(answered(std::string(flush_kind_name(kinds[i]))), 0);
    complete(i);
    EXPECT_EQ(answered(std::string(flush_kind_name(kinds[i]))), 1);
    EXPECT_FALSE(scheduler.flushing());
  }
  scheduler.request_final(in(Millis(500)), waiter("final"));
  ASSERT_EQ(collected.size(), 6u);
  EXPECT_EQ(collected.back().kind, FlushKind::kFinal);
  EXPECT_EQ(collected.back().scope, FlushScope::kAll);
  EXPECT_EQ(cuts, 0) << "nothing was running: nothing to cut";
  complete(5);
  EXPECT_EQ(answered("final"), 1);
}

TEST_F(FlushSchedulerTest, PeriodicTimerSendsClosedBucketsEveryIntervalWithTheFlushTimeout) {
  scheduler.start();
  clock.advance(kInterval - Millis(1));
  EXPECT_TRUE(collected.empty());
  clock.advance(Millis(1));
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].kind, FlushKind::kPeriodic);
  EXPECT_EQ(collected[0].scope, FlushScope::kClosedBuckets);
  EXPECT_EQ(collected[0].deadline.at, clock.steady_now() + kTimeout);
  complete(0);
  clock.advance(kInterval);
  ASSERT_EQ(collected.size(), 2u);
  complete(1);
  scheduler.stop();
  clock.advance(kInterval * 3);
  EXPECT_EQ(collected.size(), 2u);
}

TEST_F(FlushSchedulerTest, TimerFiringDuringAFlushRunsOnePeriodicFlushAfterItWithAFreshDeadline) {
  scheduler.start();
  scheduler.request(FlushKind::kForced, in(Millis(60000)), waiter("forced"));
  clock.advance(kInterval);  // fires while the forced flush runs
  clock.advance(kInterval);  // and again: still one periodic flush owed
  ASSERT_EQ(collected.size(), 1u);
  complete(0);
  ASSERT_EQ(collected.size(), 2u);
  EXPECT_EQ(collected[1].kind, FlushKind::kPeriodic);
  EXPECT_EQ(collected[1].deadline.at, clock.steady_now() + kTimeout)
      << "a periodic flush's deadline counts from its start";
  complete(1);
  EXPECT_EQ(collected.size(), 2u);
}

TEST_F(FlushSchedulerTest, ForcedRequestDuringARunningFlushStartsAfterIt) {
  scheduler.request(FlushKind::kPeriodic, in(kTimeout));
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("forced"));
  ASSERT_EQ(collected.size(), 1u) << "never two flushes at once";
  EXPECT_EQ(answered("forced"), 0);
  complete(0);
  EXPECT_EQ(answered("forced"), 0) << "the running flush does not answer a request made during it";
  ASSERT_EQ(collected.size(), 2u);
  EXPECT_EQ(collected[1].kind, FlushKind::kForced);
  EXPECT_EQ(collected[1].scope, FlushScope::kAll);
  complete(1);
  EXPECT_EQ(answered("forced"), 1);
}

TEST_F(FlushSchedulerTest, CutRunningAfterCutsAStuckFlushAndStartsThePendingOne) {
  scheduler.request(FlushKind::kPeriodic, in(kTimeout), waiter("periodic"));
  scheduler.request(FlushKind::kEndOfInvocation, in(kTimeout), waiter("end"));
  scheduler.cut_running_after(Millis(50));
  clock.advance(Millis(49));
  EXPECT_EQ(cuts, 0);
  ASSERT_EQ(collected.size(), 1u);
  clock.advance(Millis(1));
  EXPECT_EQ(cuts, 1);
  ASSERT_EQ(collected.size(), 2u) << "the pending end-of-invocation flush starts after the cut";
  EXPECT_EQ(collected[1].kind, FlushKind::kEndOfInvocation);
  EXPECT_EQ(collected[1].scope, FlushScope::kAll);
  complete(1);
  EXPECT_EQ(answered("end"), 1);
  complete(0);  // the cut flush's own late completion answers only its own waiter
  EXPECT_EQ(answered("periodic"), 1);
  EXPECT_EQ(collected.size(), 2u);
}

TEST_F(FlushSchedulerTest, CutRunningAfterDoesNothingWhenTheFlushEndsFirst) {
  scheduler.request(FlushKind::kPeriodic, in(kTimeout));
  scheduler.request(FlushKind::kEndOfInvocation, in(kTimeout), waiter("end"));
  scheduler.cut_running_after(Millis(50));
  complete(0);
  ASSERT_EQ(collected.size(), 2u);
  clock.advance(Millis(100));
  EXPECT_EQ(cuts, 0) << "the end-of-invocation flush that followed is not cut";
  complete(1);
  EXPECT_EQ(answered("end"), 1);
  scheduler.cut_running_after(Millis(0));  // nothing running: nothing to cut
  clock.advance(Millis(1));
  EXPECT_EQ(cuts, 0);
}

TEST_F(FlushSchedulerTest, RequestsWhileOneIsPendingJoinItAndTheEarliestDeadlineWins) {
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("running"));
  scheduler.request(FlushKind::kForced, in(Millis(9000)), waiter("a"));
  scheduler.request(FlushKind::kLifecycle, in(Millis(4000)), waiter("b"));
  scheduler.request(FlushKind::kEndOfInvocation, in(Millis(7000)), waiter("c"));
  scheduler.request(FlushKind::kPeriodic, in(Millis(8000)), waiter("p"));
  const SteadyTime earliest = clock.steady_now() + Millis(4000);
  clock.advance(Millis(100));
  complete(0);
  EXPECT_EQ(answers, std::vector<std::string>{"running"});
  ASSERT_EQ(collected.size(), 2u) << "one flush serves every request that joined";
  EXPECT_EQ(collected[1].kind, FlushKind::kForced);
  EXPECT_EQ(collected[1].scope, FlushScope::kAll);
  EXPECT_EQ(collected[1].deadline.at, earliest);
  complete(1);
  EXPECT_EQ(answered("a"), 1);
  EXPECT_EQ(answered("b"), 1);
  EXPECT_EQ(answered("c"), 1);
  EXPECT_EQ(answered("p"), 1) << "a flush with the open bucket serves a periodic request";
  EXPECT_EQ(collected.size(), 2u) << "no periodic flush left over";
}

TEST_F(FlushSchedulerTest, ARequestAfterThePendingFlushStartedGetsAFlushOfItsOwn) {
  scheduler.request(FlushKind::kPeriodic, in(kTimeout));
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("first"));
  complete(0);  // "first" starts now
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("second"));
  complete(1);
  EXPECT_EQ(answered("first"), 1);
  EXPECT_EQ(answered("second"), 0);
  ASSERT_EQ(collected.size(), 3u);
  complete(2);
  EXPECT_EQ(answered("second"), 1);
}

TEST_F(FlushSchedulerTest, PeriodicRequestsDuringAFlushRunOnceAfterIt) {
  scheduler.request(FlushKind::kPeriodic, in(kTimeout));
  scheduler.request(FlushKind::kPeriodic, in(Millis(5000)), waiter("p1"));
  scheduler.request(FlushKind::kPeriodic, in(Millis(3000)), waiter("p2"));
  const SteadyTime earliest = clock.steady_now() + Millis(3000);
  complete(0);
  ASSERT_EQ(collected.size(), 2u);
  EXPECT_EQ(collected[1].kind, FlushKind::kPeriodic);
  EXPECT_EQ(collected[1].scope, FlushScope::kClosedBuckets);
  EXPECT_EQ(collected[1].deadline.at, earliest);
  complete(1);
  EXPECT_EQ(answered("p1"), 1);
  EXPECT_EQ(answered("p2"), 1);
  EXPECT_EQ(collected.size(), 2u);
}

TEST_F(FlushSchedulerTest, FinalCutsTheRunningFlushAndStartsAtOnceWithItsOwnDeadline) {
  scheduler.start();
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("running"));
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("pending"));
  scheduler.request(FlushKind::kPeriodic, in(kTimeout), waiter("periodic"));
  clock.advance(Millis(200));
  const Deadline final_deadline = in(Millis(1500));
  scheduler.request_final(final_deadline, waiter("final"));
  // A grace for answers already on their way, then the cut.
  EXPECT_EQ(cuts, 0);
  EXPECT_EQ(collected.size(), 1u);
  clock.advance(FlushScheduler::kCutGrace - Millis(1));
  EXPECT_EQ(cuts, 0);
  clock.advance(Millis(1));
  EXPECT_EQ(cuts, 1);
  ASSERT_EQ(collected.size(), 2u) << "the final flush did not wait for the running one";
  EXPECT_EQ(collected[1].kind, FlushKind::kFinal);
  EXPECT_EQ(collected[1].scope, FlushScope::kAll);
  EXPECT_EQ(collected[1].deadline.at, final_deadline.at);
  EXPECT_TRUE(scheduler.final_started());
  // The cut flush completes after the final one started: it answers its own waiter only and
  // starts nothing.
  complete(0);
  EXPECT_EQ(answers, std::vector<std::string>{"running"});
  EXPECT_EQ(collected.size(), 2u);
  EXPECT_TRUE(scheduler.flushing());
  // Requests made during the final flush are served by it.
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("late"));
  EXPECT_EQ(collected.size(), 2u);
  clock.advance(kInterval * 2);  // the timer is off
  EXPECT_EQ(collected.size(), 2u);
  complete(1);
  EXPECT_EQ(answered("running"), 1);
  EXPECT_EQ(answered("pending"), 1);
  EXPECT_EQ(answered("periodic"), 1);
  EXPECT_EQ(answered("final"), 1);
  EXPECT_EQ(answered("late"), 1);
  // After the final flush every request is answered at once and nothing runs again.
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("after"));
  scheduler.request_final(in(kTimeout), waiter("final2"));
  EXPECT_EQ(answered("after"), 1);
  EXPECT_EQ(answered("final2"), 1);
  EXPECT_EQ(collected.size(), 2u);
  EXPECT_EQ(answers.size(), 7u);
}

TEST_F(FlushSchedulerTest, FinalStartsAfterACutThatCompletesTheRunningFlushAtOnce) {
  cut_completes = true;
  scheduler.request(FlushKind::kPeriodic, in(kTimeout), waiter("running"));
  scheduler.request_final(in(Millis(1000)), waiter("final"));
  clock.advance(FlushScheduler::kCutGrace);
  EXPECT_EQ(cuts, 1);
  EXPECT_EQ(answers, std::vector<std::string>{"running"});
  ASSERT_EQ(collected.size(), 2u);
  EXPECT_EQ(collected[1].kind, FlushKind::kFinal);
  complete(1);
  EXPECT_EQ(answers, (std::vector<std::string>{"running", "final"}));
}

// A SHUTDOWN thaws a sandbox whose intake answers already sit in lastcall's sockets: the running
// flush completes within the grace, nothing is cut (so nothing is sent twice), and the final flush
// starts right after it.
TEST_F(FlushSchedulerTest, FinalWaitsAGraceAndDoesNotCutAFlushThatCompletesWithinIt) {
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("running"));
  const Deadline final_deadline = in(Millis(1600));
  scheduler.request_final(final_deadline, waiter("final"));
  EXPECT_EQ(collected.size(), 1u);
  clock.advance(Millis(30));
  complete(0);
  EXPECT_EQ(cuts, 0);
  EXPECT_EQ(answers, std::vector<std::string>{"running"});
  ASSERT_EQ(collected.size(), 2u);
  EXPECT_EQ(collected[1].kind, FlushKind::kFinal);
  EXPECT_EQ(collected[1].deadline.at, final_deadline.at);
  clock.advance(FlushScheduler::kCutGrace);  // the grace timer is gone
  EXPECT_EQ(cuts, 0);
  EXPECT_EQ(collected.size(), 2u);
  complete(1);
  EXPECT_EQ(answers, (std::vector<std::string>{"running", "final"}));
}

// The grace is never more than an eighth of what the final flush has.
TEST_F(FlushSchedulerTest, TheCutGraceShrinksWithAShortFinalBudget) {
  scheduler.request(FlushKind::kForced, in(kTimeout), waiter("running"));
  scheduler.request_final(in(Millis(400)), waiter("final"));
  clock.advance(Millis(49));
  EXPECT_EQ(cuts, 0);
  clock.advance(Millis(1));
  EXPECT_EQ(cuts, 1);
  EXPECT_EQ(collected.size(), 2u);
}

TEST_F(FlushSchedulerTest, ASecondFinalRequestJoinsTheFirst) {
  scheduler.request_final(in(Millis(1000)), waiter("f1"));
  scheduler.request_final(in(Millis(50)), waiter("f2"));
  EXPECT_EQ(collected.size(), 1u);
  EXPECT_EQ(cuts, 0);
  complete(0);
  EXPECT_EQ(answered("f1"), 1);
  EXPECT_EQ(answered("f2"), 1);
}

TEST_F(FlushSchedulerTest, ASenderCallingDoneTwiceAnswersEachWaiterOnce) {
  FlushScheduler::Done kept;
  FlushScheduler twice(
      clock, clock, kInterval, kTimeout, [](const FlushStart&) { return std::vector<Payload>{}; },
      [&](std::vector<Payload>, const FlushStart&, FlushScheduler::Done done) { kept = done; },
      nullptr);
  twice.request(FlushKind::kForced, in(kTimeout), waiter("w"));
  ASSERT_TRUE(kept);
  kept();
  kept();
  EXPECT_EQ(answered("w"), 1);
  EXPECT_FALSE(twice.flushing());
}

// An exporter that keeps every send open until the test answers it.
class HoldingExporter final : public Exporter {
 public:
  void send(std::shared_ptr<const Payload> p, Deadline,
            std::function<void(SendOutcome)> done) override {
    sends.push_back({std::move(p), std::move(done)});
  }
  struct Open {
    std::shared_ptr<const Payload> payload;
    std::function<void(SendOutcome)> done;
  };
  std::vector<Open> sends;
};

// A Forwarder with one metrics route to a HoldingExporter, on a FakeClock (logging off).
struct ForwarderRig {
  explicit ForwarderRig(const forward::ForwarderOptions& options = {})
      : fwd({forward::Route{endpoint(), &exporter, {}}}, options, clock, clock, self,
            [] { return 0.5; }) {
    Logger::instance().set_level(LogLevel::kOff);
  }
  static forward::Endpoint endpoint() {
    return {"metrics",
            "http://intake.test",
            "0123456789abcdef0123456789abcdef",
            {PayloadKind::kSeriesV2},
            false,
            true};
  }

  FakeClock clock;
  SelfMetrics self;
  HoldingExporter exporter;
  forward::Forwarder fwd;
};

// The wiring app/pipeline uses, against an intake that never answers: a SIGTERM during a forced
// flush must not wait for that flush's 30 s deadline. The final flush cuts it, sends the open
// bucket's payload, holds the cut one back while its request may still succeed, and ends by its
// own deadline with both accounted.
TEST(FlushSchedulerWithForwarder, FinalCutsAHungFlushHoldsItsPayloadAndEndsByItsDeadline) {
  ForwarderRig rig;
  FakeClock& clock = rig.clock;
  HoldingExporter& exporter = rig.exporter;
  forward::Forwarder& fwd = rig.fwd;
  int batch = 0;
  std::vector<forward::FlushSummary> summaries;
  FlushScheduler scheduler(
      clock, clock, kInterval, kTimeout,
      [&](const FlushStart&) {
        return std::vector<Payload>{payload("b" + std::to_string(++batch))};
      },
      [&](std::vector<Payload> payloads, const FlushStart& start, FlushScheduler::Done done) {
        fwd.flush(
            std::move(payloads), start.deadline,
            [&, done = std::move(done)](const forward::FlushSummary& s) {
              summaries.push_back(s);
              done();
            },
            start.kind == FlushKind::kFinal ? forward::FlushOrder::kFreshFirst
                                            : forward::FlushOrder::kRetryFirst);
      },
      [&](bool) { fwd.abort(); });

  bool forced_done = false;
  scheduler.request(FlushKind::kForced, Deadline::after(clock, kTimeout),
                    [&] { forced_done = true; });
  clock.advance(Millis(0));
  ASSERT_EQ(exporter.sends.size(), 1u);
  EXPECT_EQ(exporter.sends[0].payload->body, "b1");
  clock.advance(Millis(1000));  // hung

  bool final_done = false;
  const SteadyTime final_at = clock.steady_now() + Millis(1500);
  scheduler.request_final(Deadline{final_at}, [&] { final_done = true; });
  EXPECT_FALSE(forced_done) << "a grace for an answer already on its way";
  clock.advance(FlushScheduler::kCutGrace);
  EXPECT_TRUE(forced_done) << "the cut flush answered its waiter at once";
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_TRUE(summaries[0].aborted);
  EXPECT_EQ(summaries[0].abandoned_in_flight, 1u);
  clock.advance(Millis(0));
  // Fresh data; the cut flush's payload is held back while its request may still succeed.
  ASSERT_EQ(exporter.sends.size(), 2u);
  EXPECT_EQ(exporter.sends[1].payload->body, "b2");
  clock.advance(Millis(1499) - FlushScheduler::kCutGrace);
  EXPECT_FALSE(final_done);
  clock.advance(Millis(1));
  EXPECT_TRUE(final_done) << "the final flush ends by its own deadline, not the cut one's";
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[1].queued.payloads, 2u) << "nothing lost silently: both are accounted";
}

// A late acknowledgement of the request the cut abandoned unschedules the copy still waiting in
// the final flush, so the intake does not get it twice.
TEST(FlushSchedulerWithForwarder, LateAckOfTheCutRequestUnschedulesItsWaitingCopy) {
  forward::ForwarderOptions options;
  options.max_in_flight = 1;
  ForwarderRig rig(options);
  FakeClock& clock = rig.clock;
  HoldingExporter& exporter = rig.exporter;
  forward::Forwarder& fwd = rig.fwd;
  fwd.flush({payload("old")}, Deadline::after(clock, kTimeout),
            [](const forward::FlushSummary&) {});
  clock.advance(Millis(0));
  ASSERT_EQ(exporter.sends.size(), 1u);
  fwd.abort();
  forward::FlushSummary final_summary;
  fwd.flush(
      {payload("fresh")}, Deadline::after(clock, Millis(1000)),
      [&](const forward::FlushSummary& s) { final_summary = s; }, forward::FlushOrder::kFreshFirst);
  clock.advance(Millis(0));
  ASSERT_EQ(exporter.sends.size(), 2u);
  EXPECT_EQ(exporter.sends[1].payload->body, "fresh");
  exporter.sends[0].done(SendOutcome{});  // the abandoned "old" request: 2xx after all
  exporter.sends[1].done(SendOutcome{});
  clock.advance(Millis(0));
  EXPECT_EQ(exporter.sends.size(), 2u) << "the queued copy of \"old\" was not sent again";
  EXPECT_EQ(final_summary.sent.payloads, 2u);
  EXPECT_EQ(fwd.retry_queue_size(), 0u);
}

}  // namespace
}  // namespace lc::app
