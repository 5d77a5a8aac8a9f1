#include "app/invocation_flow.h"

#include <utility>

#include "core/json.h"
#include "core/logger.h"

namespace lc::app {

InvocationFlow::InvocationFlow(lambda::FlushControl& control, FlushScheduler& scheduler,
                               const Clock& clock, TimerService& timers, Millis shutdown_margin,
                               InvocationFlowHooks hooks)
    : control_(control),
      scheduler_(scheduler),
      clock_(clock),
      timers_(timers),
      shutdown_margin_(shutdown_margin),
      hooks_(std::move(hooks)) {}

void InvocationFlow::start() {
  if (const auto period = control_.lmi_timer_period()) arm_lmi_timer(*period);
}

void InvocationFlow::stop() {
  cancel_invocation_timers();
  lmi_timer_.cancel();
  next_deferred_ = false;
}

// lambda-agent.md §6.3 at INVOKE: the strategy's flush (Periodic: before /next; Continuous: in
// the background); End: /next waits for this invocation's runtimeDone and its flush.
void InvocationFlow::on_invoke(const lambda::ExtensionEvent& event, bool telemetry_active) {
  if (!telemetry_active) {
    // No runtimeDone will come: closed buckets go out at each INVOKE, without waiting for them
    // before /next (lambda-agent.md §1.2, no-telemetry mode bound).
    LC_DEBUG("invoke {} (no telemetry)", event.request_id);
    scheduler_.request(FlushKind::kPeriodic,
                       Deadline::after(clock_, control_.flush_bound_for(event.deadline_ms)));
    hooks_.next();
    return;
  }
  cancel_invocation_timers();
  const lambda::InvokeDecision d = control_.on_invoke(event.request_id, event.deadline_ms);
  LC_DEBUG("invoke {}: {}", event.request_id, control_.describe());
  if (d.flush && d.blocking) {
    scheduler_.request(FlushKind::kPeriodic, Deadline::after(clock_, d.flush_bound),
                       [this] { next_frozen_safe(); });
  } else if (d.flush) {
    scheduler_.request(FlushKind::kPeriodic, Deadline::after(clock_, d.flush_bound));
  }
  if (d.mode != lambda::FlushMode::kEnd) {
    if (!(d.flush && d.blocking)) next_frozen_safe();
    return;
  }
  // End: /next after runtimeDone and the end-of-invocation flush.
  next_deferred_ = true;
  if (d.race_timer) arm_race_timer(*d.race_timer);
  if (d.pre_timeout_in) {
    pre_timeout_timer_ = timers_.schedule_after(*d.pre_timeout_in, [this] { on_pre_timeout(); });
  }
  // Never later than deadlineMs − margin: a lost runtimeDone must not turn the invocation into
  // a timeout.
  if (event.deadline_ms > 0) {
    const std::int64_t left = event.deadline_ms - shutdown_margin_.count() - clock_.wall_ms();
    give_up_timer_ = timers_.schedule_after(Millis(left < 0 ? 0 : left), [this] {
      if (!next_deferred_) return;
      LC_DEBUG("no runtimeDone by deadlineMs - margin: calling /next");
      end_of_invocation(true, std::nullopt);
    });
  }
}

void InvocationFlow::arm_race_timer(Millis after) {
  race_timer_ = timers_.schedule_after(after, [this] {
    if (!next_deferred_) return;
    const lambda::TimerDecision t = control_.on_race_timer();
    if (t.flush) {
      scheduler_.request(FlushKind::kPeriodic, Deadline::after(clock_, control_.flush_bound()));
    }
    if (t.rearm_in) arm_race_timer(*t.rearm_in);
  });
}

void InvocationFlow::on_pre_timeout() {
  const lambda::PreTimeoutDecision p = control_.on_pre_timeout();
  if (p.flush) {
    LC_DEBUG("pre-timeout flush: runtimeDone has not arrived");
    scheduler_.request(FlushKind::kEarly, Deadline::after(clock_, p.bound));
  }
}

void InvocationFlow::arm_lmi_timer(Millis after) {
  lmi_timer_ = timers_.schedule_after(after, [this] {
    const lambda::TimerDecision t = control_.on_lmi_timer();
    if (t.flush) {
      scheduler_.request(FlushKind::kPeriodic, Deadline::after(clock_, control_.flush_bound()));
    }
    if (t.rearm_in) arm_lmi_timer(*t.rearm_in);
  });
}

void InvocationFlow::cancel_invocation_timers() {
  race_timer_.cancel();
  pre_timeout_timer_.cancel();
  give_up_timer_.cancel();
}

// Telemetry events that are flush decision points (§6.3): the current invocation's
// runtimeDone; a logsDropped while /next waits for it (the runtimeDone may have been dropped).
void InvocationFlow::on_telemetry(const lambda::TelemetryEvent& event) {
  if (event.type == lambda::TelemetryType::kLogsDropped && next_deferred_) {
    LC_DEBUG("the platform dropped telemetry while /next waits for runtimeDone: flushing now");
    end_of_invocation(true, std::nullopt);
    return;
  }
  if (event.type != lambda::TelemetryType::kRuntimeDone) return;
  const auto* record = event.record_object();
  const auto id = record != nullptr ? json::string_member(*record, "requestId") : std::nullopt;
  if (!id) return;
  const lambda::RuntimeDoneDecision r = control_.on_runtime_done(*id, hooks_.last_full_flush_ms());
  if (!r.current) return;
  if (!r.flush && !next_deferred_) return;
  end_of_invocation(r.flush, r.wait_in_flight);
}

// runtimeDone (or giving up on it): what clients sent before it reaches the aggregators, then
// the end-of-invocation flush (open bucket) bounded as §6.3 says, then /next when it waited.
void InvocationFlow::end_of_invocation(bool flush, std::optional<Millis> wait_in_flight) {
  cancel_invocation_timers();
  const bool call_next = next_deferred_;
  next_deferred_ = false;
  if (!flush) {
    if (call_next) next_frozen_safe();
    return;
  }
  hooks_.drain_receivers();
  scheduler_.request(FlushKind::kEndOfInvocation,
                     Deadline::after(clock_, control_.end_flush_bound()), [this, call_next] {
                       if (call_next) next_frozen_safe();
                     });
  if (wait_in_flight && scheduler_.flushing()) scheduler_.cut_running_after(*wait_in_flight);
}

// /next, with no intake connection left open across it (§6.3 freeze awareness).
void InvocationFlow::next_frozen_safe() {
  hooks_.close_intake_connections();
  hooks_.next();
}

std::string InvocationFlow::describe() const {
  const auto flag = [](bool b) { return b ? std::string("true") : std::string("false"); };
  return "{\"shutdown_margin_ms\":" + std::to_string(shutdown_margin_.count()) + ",\"mode\":\"" +
         std::string(lambda::flush_mode_name(control_.mode())) +
         "\",\"waiting_for_next\":" + flag(next_deferred_) +
         ",\"timers\":{\"race\":" + flag(race_timer_.armed()) +
         ",\"pre_timeout\":" + flag(pre_timeout_timer_.armed()) +
         ",\"give_up\":" + flag(give_up_timer_.armed()) + ",\"lmi\":" + flag(lmi_timer_.armed()) +
         "}}";
}

}  // namespace lc::app
