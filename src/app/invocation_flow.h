// app/invocation_flow.h — the extension's per-invocation flush sequencing (lambda-agent.md
// §6.1–§6.3): executes lambda::FlushControl's decisions through the FlushScheduler and owns the
// timers they ask for (race timer, pre-timeout flush, the give-up timer at deadlineMs − margin,
// the LMI timer), and decides when /next is called:
//
//   INVOKE, no telemetry      a kPeriodic flush bounded by flush_bound_for(deadlineMs); /next now
//   INVOKE, Periodic          a blocking kPeriodic flush when the interval elapsed, then /next
//   INVOKE, Continuous        a background kPeriodic flush when it elapsed; /next now
//   INVOKE, End               /next waits for this request id's runtimeDone (or a logsDropped, or
//                             deadlineMs − margin): drain the receivers, a kEndOfInvocation flush
//                             bounded by end_flush_bound() (a flush still running is cut after
//                             FlushControl's wait), then /next
//
// Every /next it calls after an INVOKE with telemetry first closes the intake connections (§6.3
// freeze awareness). ExtensionApp keeps registration, subscription, the /next request itself and
// SHUTDOWN; it tells FlushControl about every flush (flush_started/flush_finished) as before.
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "app/flush_scheduler.h"
#include "core/clock.h"
#include "lambda/extension_events.h"
#include "lambda/flush_control.h"
#include "lambda/telemetry.h"

namespace lc::app {

// What the app does for the flow.
struct InvocationFlowHooks {
  std::function<void()> next;                      // call /next (the request itself)
  std::function<void()> drain_receivers;           // what clients sent reaches the aggregators
  std::function<void()> close_intake_connections;  // before /next (§6.3 freeze awareness)
  // Wall ms of the last flush that took every bucket: the §6.3 age cap counts from it.
  std::function<std::int64_t()> last_full_flush_ms;
};

class InvocationFlow {
 public:
  // shutdown_margin: LASTCALL_SHUTDOWN_MARGIN_MS, the give-up timer's distance to deadlineMs.
  InvocationFlow(lambda::FlushControl& control, FlushScheduler& scheduler, const Clock& clock,
                 TimerService& timers, Millis shutdown_margin, InvocationFlowHooks hooks);
  InvocationFlow(const InvocationFlow&) = delete;
  InvocationFlow& operator=(const InvocationFlow&) = delete;

  // Once registered and subscribed, before the first /next: arms the LMI timer (LMI only).
  void start();
  // SHUTDOWN: cancels every timer and forgets a deferred /next.
  void stop();

  // An INVOKE; telemetry_active: subscribed to the Telemetry API (else no runtimeDone comes).
  void on_invoke(const lambda::ExtensionEvent& event, bool telemetry_active);
  // Every telemetry event; only the flush points matter (the current id's runtimeDone, a
  // logsDropped while /next waits).
  void on_telemetry(const lambda::TelemetryEvent& event);

  // End: /next waits for runtimeDone and the end-of-invocation flush.
  bool waiting_for_next() const { return next_deferred_; }
  // {"shutdown_margin_ms":200,"mode":"end","waiting_for_next":false,"timers":{"race":false,…}}
  std::string describe() const;

 private:
  void arm_race_timer(Millis after);
  void on_pre_timeout();
  void arm_lmi_timer(Millis after);
  void cancel_invocation_timers();
  void end_of_invocation(bool flush, std::optional<Millis> wait_in_flight);
  void next_frozen_safe();

  lambda::FlushControl& control_;
  FlushScheduler& scheduler_;
  const Clock& clock_;
  TimerService& timers_;
  Millis shutdown_margin_;
  InvocationFlowHooks hooks_;
  bool next_deferred_ = false;
  Timer race_timer_;
  Timer pre_timeout_timer_;
  Timer give_up_timer_;
  Timer lmi_timer_;
};

}  // namespace lc::app
