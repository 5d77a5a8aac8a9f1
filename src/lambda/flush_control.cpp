#include "lambda/flush_control.h"

#include <algorithm>

#include <fmt/format.h>

namespace lc::lambda {
namespace {

using Kind = FlushStrategy::Kind;

Millis non_negative(std::int64_t ms) { return Millis(std::max<std::int64_t>(ms, 0)); }

}  // namespace

std::string_view flush_mode_name(FlushMode mode) {
  switch (mode) {
    case FlushMode::kEnd:
      return "end";
    case FlushMode::kPeriodic:
      return "periodic";
    case FlushMode::kContinuous:
      return "continuous";
  }
  return "end";
}

FlushControl::FlushControl(const Clock& clock, FlushControlOptions options)
    : clock_(clock), options_(options), last_flush_ms_(clock.wall_ms()) {
  if (options_.lmi) {
    // Config already forces continuously,N in LMI; keep the rule here too.
    mode_ = FlushMode::kContinuous;
    interval_ = options_.strategy.kind == Kind::kContinuously
                    ? Millis(options_.strategy.interval_ms)
                    : Millis(30000);
    return;
  }
  resolve(clock.wall_s());
}

void FlushControl::resolve(std::int64_t now_s) {
  race_timer_.reset();
  if (options_.lmi) return;  // fixed at construction
  const FlushStrategy& s = options_.strategy;
  switch (s.kind) {
    case Kind::kEnd:
      mode_ = FlushMode::kEnd;
      interval_ = Millis(0);
      return;
    case Kind::kEndPeriodically:
      mode_ = FlushMode::kEnd;
      interval_ = Millis(0);
      race_timer_ = Millis(s.interval_ms);
      return;
    case Kind::kPeriodically:
      mode_ = FlushMode::kPeriodic;
      interval_ = Millis(s.interval_ms);
      return;
    case Kind::kContinuously:
      mode_ = FlushMode::kContinuous;
      interval_ = Millis(s.interval_ms);
      return;
    case Kind::kDefault:
      break;
  }
  // §6.2: End until 20 INVOKEs were seen or while their mean gap is at least 120 s; then
  // Continuous(20 s) when the 20 fit within DD_FLUSH_TIMEOUT, else Periodic(20 s).
  mode_ = FlushMode::kEnd;
  interval_ = Millis(0);
  race_timer_ = kDefaultRaceTimer;
  if (invokes_s_.size() < kWindow) return;
  const std::int64_t span_s = now_s - invokes_s_.front();
  if (span_s >= kMeanGapEndS * static_cast<std::int64_t>(kWindow - 1)) return;
  race_timer_.reset();
  interval_ = kDefaultInterval;
  mode_ = span_s * 1000 < options_.flush_timeout.count() ? FlushMode::kContinuous
                                                         : FlushMode::kPeriodic;
}

InvokeDecision FlushControl::on_invoke(std::string_view request_id, std::int64_t deadline_ms) {
  const std::int64_t now_ms = clock_.wall_ms();
  invokes_s_.push_back(clock_.wall_s());
  while (invokes_s_.size() > kWindow) invokes_s_.pop_front();
  resolve(invokes_s_.back());
  request_id_ = std::string(request_id);
  deadline_ms_ = deadline_ms;
  awaiting_runtime_done_ = true;

  InvokeDecision d;
  d.mode = mode_;
  d.interval = interval_;
  if (mode_ == FlushMode::kPeriodic) {
    d.flush = elapsed(interval_, now_ms);
    d.blocking = true;
  } else if (mode_ == FlushMode::kContinuous) {
    d.flush = elapsed(interval_, now_ms) && !in_flight();
  }
  if (d.flush) {
    d.flush_bound = flush_bound();
    last_flush_ms_ = now_ms;
  }
  if (mode_ == FlushMode::kEnd) d.race_timer = race_timer_;
  if (deadline_ms_ > 0)
    d.pre_timeout_in = non_negative(deadline_ms_ - kPreTimeoutLead.count() - now_ms);
  return d;
}

RuntimeDoneDecision FlushControl::on_runtime_done(std::string_view request_id,
                                                  std::optional<std::int64_t> oldest_point_ms) {
  RuntimeDoneDecision r;
  if (!awaiting_runtime_done_ || request_id != request_id_) return r;
  awaiting_runtime_done_ = false;
  r.current = true;
  const std::int64_t now_ms = clock_.wall_ms();
  if (in_flight()) {
    r.wait_in_flight =
        deadline_ms_ > 0 ? std::min(kInFlightWait, until_deadline(now_ms)) : kInFlightWait;
  }
  r.flush = mode_ == FlushMode::kEnd;
  if (!r.flush && oldest_point_ms && now_ms - *oldest_point_ms > kAgeCap.count()) {
    r.flush = true;
    r.age_cap = true;
  }
  if (r.flush) last_flush_ms_ = now_ms;
  return r;
}

TimerDecision FlushControl::timer(Millis period, std::int64_t now_ms) {
  TimerDecision t;
  const std::int64_t since = now_ms - last_flush_ms_;
  if (!in_flight() && since >= period.count()) {
    t.flush = true;
    last_flush_ms_ = now_ms;
    t.rearm_in = period;
  } else if (in_flight()) {
    t.rearm_in = period;
  } else {
    t.rearm_in = Millis(std::max<std::int64_t>(period.count() - since, 1));
  }
  return t;
}

TimerDecision FlushControl::on_race_timer() {
  if (!awaiting_runtime_done_ || mode_ != FlushMode::kEnd || !race_timer_) return {};
  return timer(*race_timer_, clock_.wall_ms());
}

PreTimeoutDecision FlushControl::on_pre_timeout() {
  PreTimeoutDecision p;
  if (!awaiting_runtime_done_ || deadline_ms_ <= 0) return p;
  const std::int64_t now_ms = clock_.wall_ms();
  p.flush = true;
  p.bound = std::min(kPreTimeoutBudget, until_deadline(now_ms));
  last_flush_ms_ = now_ms;
  return p;
}

std::optional<Millis> FlushControl::lmi_timer_period() const {
  if (!options_.lmi) return std::nullopt;
  return interval_;
}

TimerDecision FlushControl::on_lmi_timer() {
  if (!options_.lmi) return {};
  return timer(interval_, clock_.wall_ms());
}

void FlushControl::flush_started() {
  ++in_flight_;
  last_flush_ms_ = clock_.wall_ms();
}

void FlushControl::flush_finished() {
  if (in_flight_ > 0) --in_flight_;
}

Millis FlushControl::flush_bound() const { return flush_bound_for(deadline_ms_); }

Millis FlushControl::flush_bound_for(std::int64_t deadline_ms) const {
  if (deadline_ms <= 0) return options_.flush_timeout;
  return std::min(options_.flush_timeout,
                  non_negative(deadline_ms - options_.shutdown_margin.count() - clock_.wall_ms()));
}

bool FlushControl::elapsed(Millis interval, std::int64_t now_ms) const {
  return now_ms - last_flush_ms_ > interval.count();
}

Millis FlushControl::until_deadline(std::int64_t now_ms) const {
  return non_negative(deadline_ms_ - options_.shutdown_margin.count() - now_ms);
}

std::string FlushControl::describe() const {
  std::string window;
  if (options_.strategy.kind == Kind::kDefault && !options_.lmi) {
    window = fmt::format(" (window {}/{}", invokes_s_.size(), kWindow);
    if (!invokes_s_.empty()) {
      window += fmt::format(", span {} s", invokes_s_.back() - invokes_s_.front());
    }
    window += ")";
  }
  std::string interval;
  if (mode_ != FlushMode::kEnd) interval = fmt::format(" every {} ms", interval_.count());
  std::string race;
  if (mode_ == FlushMode::kEnd) {
    race = race_timer_ ? fmt::format("; race timer {} ms", race_timer_->count())
                       : std::string("; no race timer");
  }
  return fmt::format(
      "strategy {}{}; mode {}{}{}{}; last flush {} ms ago; in flight {}; awaiting runtimeDone {}",
      describe_flush_strategy(options_.strategy), options_.lmi ? " (lmi)" : "",
      flush_mode_name(mode_), interval, window, race, clock_.wall_ms() - last_flush_ms_,
      in_flight() ? "yes" : "no", awaiting_runtime_done_ ? request_id_ : std::string("no"));
}

}  // namespace lc::lambda
