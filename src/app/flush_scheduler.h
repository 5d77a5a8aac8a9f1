// app/flush_scheduler.h — WHEN a flush runs, in every mode (architecture.md "Layout",
// clarifications.md "every flush" and "flush requests"): flushes of a FlushKind under a Deadline,
// never two at once. A periodic flush (the timer, or a caller's interval-driven request) sends
// closed buckets only; every other kind includes the open bucket. A forced, lifecycle,
// end-of-invocation or early request that arrives during a running flush starts after it, and
// requests arriving while that one is pending join it (earliest deadline wins; every waiter is
// answered once, when it completes). The final flush does not wait: it cuts a running flush (its
// unsent payloads go back to the retry queue, which the final flush redrives) and starts at once
// with its own deadline. Built by app/pipeline; used on the loop thread by the composition roots.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/pipeline.h"
#include "core/thread_owner.h"
#include "metrics/aggregator.h"

namespace lc::app {

enum class FlushKind { kPeriodic, kForced, kEndOfInvocation, kEarly, kLifecycle, kFinal };

std::string_view flush_kind_name(FlushKind kind);  // "periodic", "forced", "end_of_invocation", …
// Which buckets a flush of `kind` takes: closed ones for periodic flushes, all for the others.
metrics::FlushScope flush_scope(FlushKind kind);

// What a starting flush is: its kind, the buckets it takes and when it must be done.
struct FlushStart {
  FlushKind kind = FlushKind::kPeriodic;
  metrics::FlushScope scope = metrics::FlushScope::kClosedBuckets;
  Deadline deadline;
};

class FlushScheduler {
 public:
  using Done = std::function<void()>;
  // collect(start) → the payloads of this flush (the aggregators' buckets of start.scope).
  using Collect = std::function<std::vector<Payload>(const FlushStart& start)>;
  // send(payloads, start, done): forwards them and the retry queue by start.deadline; done() once.
  using Send = std::function<void(std::vector<Payload>, const FlushStart& start, Done done)>;
  // cut(for_final): ends the running send now (its done() follows, at once or soon); what it had
  // not delivered goes back to the retry queue for the next send. for_final: the final flush
  // takes over (its exchanges may keep running so a late answer is not sent twice).
  using Cut = std::function<void(bool for_final)>;

  // interval: the periodic timer (start()); request_timeout: the deadline of a periodic flush
  // the timer starts (DD_FLUSH_TIMEOUT).
  FlushScheduler(const Clock& clock, TimerService& timers, Millis interval, Millis request_timeout,
                 Collect collect, Send send, Cut cut);

  void start();  // arms the periodic timer
  void stop();   // cancels it

  // A flush of `kind` by `deadline`; done() (may be empty) once the flush that served the request
  // completed. kPeriodic runs now, or once after the running flush when one is running (a
  // forced-kind flush pending or starting first serves it). kFinal is request_final().
  void request(FlushKind kind, Deadline deadline, Done done = {});
  // The final flush: stops the timer and starts now, or, when a flush is running, as soon as that
  // one completes but no later than a short grace (kCutGrace, at most an eighth of the final
  // budget), when the running flush is cut. The grace lets answers that already arrived — a
  // sandbox thawed for SHUTDOWN finds the intake's replies in its sockets — complete their
  // requests instead of sending them again. Requests pending join the final flush, and requests
  // made after it are answered when it completes (at once once it completed).
  void request_final(Deadline deadline, Done done);

  static constexpr Millis kCutGrace{100};

  // lambda-agent.md §6.3 "in-flight flush at runtimeDone": a running flush still running `wait`
  // from now is cut (its unsent payloads go back to the retry queue) and what is pending starts.
  // Nothing happens when no flush is running, when it ends first, or once the final flush
  // started. A later call replaces an earlier one.
  void cut_running_after(Millis wait);

  bool flushing() const { return running_; }
  bool final_started() const { return final_started_; }
  std::uint64_t flushes_started() const { return started_; }

 private:
  struct Pending {
    bool wanted = false;
    FlushKind kind = FlushKind::kForced;
    Deadline deadline;
    std::vector<Done> waiters;
  };

  void arm();
  void run_next();
  void run(FlushKind kind, Deadline deadline, std::vector<Done> waiters);
  void start_final();
  // A request once the final flush has started: done runs when it ends (at once if it has).
  void wait_for_final(Done done);
  static void join(Pending& pending, FlushKind kind, Deadline deadline, Done done);
  static void answer(std::vector<Done>& waiters);

  const Clock& clock_;
  TimerService& timers_;
  Millis interval_;
  Millis request_timeout_;
  Collect collect_;
  Send send_;
  Cut cut_;
  Timer timer_;
  bool running_ = false;
  FlushKind running_kind_ = FlushKind::kPeriodic;
  std::uint64_t current_ = 0;  // the token of the running flush
  std::uint64_t started_ = 0;
  Pending periodic_;        // closed buckets, after the running flush
  Pending after_;           // open bucket included, after the running flush
  bool timer_due_ = false;  // the timer fired during a flush: one periodic flush after it
  bool final_started_ = false;
  bool final_done_ = false;
  std::vector<Done> final_waiters_;  // requests made while the final flush runs
  bool final_waiting_ = false;       // requested, waiting for the running flush (or the grace)
  Deadline final_deadline_;
  std::vector<Done> final_first_;  // the waiters the final flush answers when it completes
  Timer cut_timer_;
  Timer running_cut_timer_;  // cut_running_after()
  ThreadOwner loop_thread_;
};

}  // namespace lc::app
