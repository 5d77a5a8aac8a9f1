// lambda/flush_control.h — WHEN the extension flushes under DD_SERVERLESS_FLUSH_STRATEGY
// (lambda-agent.md §6.1–§6.3): a pure decision class. It starts, arms and sends nothing: the
// extension composition root (app/extension_app.cpp) asks it at each decision point and executes
// the answer through app::FlushScheduler. Every time it reads is the injected Clock's WALL clock
// (ms), read when the event arrives: "interval elapsed" is never a timer trusted across a freeze.
//
// Who calls what, when (all on the loop thread; the class is not thread-safe):
//
//   at INVOKE (on-demand)        d = on_invoke(request_id, deadline_ms)
//       d.mode is the mode this invocation runs under (Default resolved from the last 20 INVOKEs,
//       §6.2). d.flush: request FlushKind::kPeriodic (closed buckets) by now + d.flush_bound;
//       d.blocking tells Periodic (blocking: runs while the function runs) from Continuous
//       (background: only proposed when no flush is in flight). d.race_timer: while this End
//       invocation waits for runtimeDone, arm a one-shot timer after that delay and call
//       on_race_timer() when it fires. d.pre_timeout_in: arm a one-shot timer; when it fires call
//       on_pre_timeout(). Cancel both timers at runtimeDone (or the next INVOKE / SHUTDOWN).
//   race timer fired             t = on_race_timer(); if (t.flush) request FlushKind::kPeriodic
//                                by now + flush_bound(); if (t.rearm_in) arm it again after that
//   pre-timeout timer fired      p = on_pre_timeout(); if (p.flush) request FlushKind::kEarly
//                                (open bucket) by now + p.bound, then keep waiting for runtimeDone
//   runtimeDone (any id)         r = on_runtime_done(request_id, oldest_point_ms)
//       r.current false: not the current invocation's first runtimeDone; nothing to do here.
//       r.wait_in_flight: a flush is running; wait for it at most that long, then cut it (its
//       unsent payloads go back to the retry queue; its connections close).
//       r.flush: then a blocking FlushKind::kEndOfInvocation flush (open bucket) before /next,
//       bounded by now + end_flush_bound() (read it when the flush starts, after any wait).
//       Then /next.
//   LMI                          arm a one-shot timer after lmi_timer_period() (set only in
//                                LMI); when it fires t = on_lmi_timer(): if (t.flush) request
//                                FlushKind::kPeriodic by now + flush_bound(); re-arm after
//                                *t.rearm_in (always set in LMI)
//   every flush, of any kind     flush_started() when it starts (FlushScheduler's collect) and
//   (/lambda/flush, SHUTDOWN…)   flush_finished() when it completes or is cut, so "interval
//                                elapsed" and "in flight" are known. A decision that says
//                                "flush" also counts as the start of the interval, so a late
//                                flush_started() never lets two interval flushes through.
//
// /lambda/flush and SHUTDOWN are not decided here (§7.1, §6.5): the app runs them as always and
// only notes them with flush_started()/flush_finished().
//
// Bounds are durations from now (never negative: a deadline already past gives 0), to be turned
// into a Deadline with Deadline::after(clock, bound). deadline_ms is INVOKE's absolute epoch ms
// (ExtensionEvent::deadline_ms); 0 = unknown (then only DD_FLUSH_TIMEOUT bounds a flush and no
// pre-timeout point exists).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/lambda_config.h"

namespace lc::lambda {

// The mode an invocation runs under (§6.3 columns).
enum class FlushMode : std::uint8_t { kEnd, kPeriodic, kContinuous };
std::string_view flush_mode_name(FlushMode mode);  // "end", "periodic", "continuous"

struct FlushControlOptions {
  FlushStrategy strategy;       // LambdaConfig::flush_strategy (already LMI-forced)
  bool lmi = false;             // LambdaConfig::lmi
  Millis flush_timeout{30000};  // DD_FLUSH_TIMEOUT; also threshold T of §6.2
  Millis shutdown_margin{200};  // LASTCALL_SHUTDOWN_MARGIN_MS
};

struct InvokeDecision {
  FlushMode mode = FlushMode::kEnd;
  Millis interval{0};     // Periodic / Continuous: the interval; End: 0
  bool flush = false;     // start a flush now (FlushKind::kPeriodic)
  bool blocking = false;  // with flush: true for Periodic, false for Continuous (background)
  Millis flush_bound{0};  // with flush: min(DD_FLUSH_TIMEOUT, deadlineMs − margin − now), ≥ 0
  std::optional<Millis> race_timer;      // End: first race-timer delay (its period); nullopt = none
  std::optional<Millis> pre_timeout_in;  // from now to deadlineMs − 500 ms (≥ 0); nullopt = none
};

struct RuntimeDoneDecision {
  bool current = false;  // the current invocation's first runtimeDone (else: ignore)
  std::optional<Millis> wait_in_flight;  // a flush in flight: wait at most this, then cut it
  bool flush = false;    // an end-of-invocation flush before /next (FlushKind::kEndOfInvocation)
  bool age_cap = false;  // that flush is forced by the 10-minute age cap, not by End mode
};

// A timer fired (race timer, LMI timer): flush now or not, and when to fire next (nullopt: the
// timer is done — the invocation it served is over). The next firing is one period after the last
// flush started, so forced flushes in between push it back and a late timer never doubles up.
struct TimerDecision {
  bool flush = false;  // FlushKind::kPeriodic, by now + flush_bound()
  std::optional<Millis> rearm_in;
};

struct PreTimeoutDecision {
  bool flush = false;  // runtimeDone has not arrived: flush now (FlushKind::kEarly)
  Millis bound{0};     // min(300 ms, deadlineMs − margin − now), ≥ 0
};

class FlushControl {
 public:
  static constexpr std::size_t kWindow = 20;         // §6.2: the last 20 INVOKEs
  static constexpr std::int64_t kMeanGapEndS = 120;  // §6.2: mean gap ≥ 120 s → End
  static constexpr Millis kDefaultInterval{20000};   // §6.2: Continuous/Periodic(20 s)
  static constexpr Millis kDefaultRaceTimer{60000};  // §6.2: Default's race timer
  static constexpr Millis kAgeCap{600000};           // §6.3: 10 minutes
  static constexpr Millis kPreTimeoutLead{500};      // §6.3: deadlineMs − 500 ms
  static constexpr Millis kPreTimeoutBudget{300};    // §6.3: bounded to 300 ms
  static constexpr Millis kInFlightWait{50};         // §6.3: in-flight flush at runtimeDone

  // The interval starts at construction (no flush has run yet; nothing older is buffered).
  FlushControl(const Clock& clock, FlushControlOptions options);

  InvokeDecision on_invoke(std::string_view request_id, std::int64_t deadline_ms);
  // oldest_point_ms: epoch ms of the oldest point still buffered (nullopt: nothing buffered).
  RuntimeDoneDecision on_runtime_done(std::string_view request_id,
                                      std::optional<std::int64_t> oldest_point_ms);
  // The race timer fired: flush if this End invocation still waits for runtimeDone, no flush is
  // in flight and the race period passed since the last flush started (wall clock).
  TimerDecision on_race_timer();
  PreTimeoutDecision on_pre_timeout();
  // LMI: the background timer period (Continuous N); nullopt outside LMI.
  std::optional<Millis> lmi_timer_period() const;
  // LMI timer fired: flush when the interval passed since the last flush started and none is in
  // flight.
  TimerDecision on_lmi_timer();

  void flush_started();
  void flush_finished();

  // min(DD_FLUSH_TIMEOUT, deadlineMs − margin − now) for the current invocation, ≥ 0 (only
  // DD_FLUSH_TIMEOUT when its deadline is unknown or there is none).
  Millis flush_bound() const;
  // The same bound for an invocation whose deadlineMs is `deadline_ms` (0 = unknown), whatever
  // the current one is: the no-telemetry INVOKE flush uses it.
  Millis flush_bound_for(std::int64_t deadline_ms) const;
  // The bound of the blocking end-of-invocation flush (same arithmetic as flush_bound()).
  Millis end_flush_bound() const { return flush_bound(); }

  bool in_flight() const { return in_flight_ > 0; }
  bool awaiting_runtime_done() const { return awaiting_runtime_done_; }
  FlushMode mode() const { return mode_; }  // the current (last INVOKE's) mode
  const FlushControlOptions& options() const { return options_; }
  // One line for the debug log, e.g. "strategy default; invocation end (window 7/20); last flush
  // 3200 ms ago; in flight no".
  std::string describe() const;

 private:
  // The mode and interval for an INVOKE at now_s (Default: from the window, which includes it).
  void resolve(std::int64_t now_s);
  bool elapsed(Millis interval, std::int64_t now_ms) const;  // strictly more than interval
  // The timers' rule (at least `period` since the last flush started, none in flight).
  TimerDecision timer(Millis period, std::int64_t now_ms);
  Millis until_deadline(std::int64_t now_ms) const;  // deadlineMs − margin − now, ≥ 0

  const Clock& clock_;
  FlushControlOptions options_;
  std::deque<std::int64_t> invokes_s_;  // epoch seconds of the last kWindow INVOKEs
  FlushMode mode_ = FlushMode::kEnd;
  Millis interval_{0};
  std::optional<Millis> race_timer_;
  std::string request_id_;
  std::int64_t deadline_ms_ = 0;
  bool awaiting_runtime_done_ = false;
  std::int64_t last_flush_ms_;
  int in_flight_ = 0;
};

}  // namespace lc::lambda
