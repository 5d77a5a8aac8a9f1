#include "app/flush_scheduler.h"

#include "core/logger.h"

namespace lc::app {

FlushScheduler::FlushScheduler(const Clock& clock, TimerService& timers, Millis interval,
                               Millis request_timeout, Collect collect, Send send)
    : clock_(clock),
      timers_(timers),
      interval_(interval),
      request_timeout_(request_timeout),
      collect_(std::move(collect)),
      send_(std::move(send)) {}

void FlushScheduler::start() { arm(); }

void FlushScheduler::stop() { timer_.cancel(); }

void FlushScheduler::arm() {
  timer_ = timers_.schedule_after(interval_, [this] {
    periodic_pending_ = true;
    run_next();
    arm();
  });
}

void FlushScheduler::request_forced(std::function<void()> done) {
  forced_pending_ = true;
  forced_waiters_.push_back(std::move(done));
  run_next();
}

void FlushScheduler::request_final(Deadline deadline, std::function<void()> done) {
  stop();
  final_pending_ = true;
  final_deadline_ = deadline;
  final_waiters_.push_back(std::move(done));
  run_next();
}

void FlushScheduler::run_next() {
  LC_ASSERT_ON_LOOP(loop_thread_);
  if (running_) return;
  // The final flush sends everything, so it also answers pending forced requests.
  if (final_pending_) {
    final_pending_ = forced_pending_ = periodic_pending_ = false;
    auto waiters = std::move(final_waiters_);
    for (auto& w : forced_waiters_) waiters.push_back(std::move(w));
    forced_waiters_.clear();
    final_waiters_.clear();
    run(FlushKind::kFinal, final_deadline_, std::move(waiters));
    return;
  }
  if (forced_pending_) {
    forced_pending_ = periodic_pending_ = false;
    auto waiters = std::move(forced_waiters_);
    forced_waiters_.clear();
    run(FlushKind::kForced, Deadline::after(clock_, request_timeout_), std::move(waiters));
    return;
  }
  if (periodic_pending_) {
    periodic_pending_ = false;
    run(FlushKind::kPeriodic, Deadline::after(clock_, request_timeout_), {});
  }
}

void FlushScheduler::run(FlushKind kind, Deadline deadline,
                         std::vector<std::function<void()>> waiters) {
  running_ = true;
  std::vector<Payload> payloads = collect_(kind != FlushKind::kPeriodic);
  LC_DEBUG("flush ({}): {} payloads",
           kind == FlushKind::kPeriodic ? "periodic"
           : kind == FlushKind::kForced ? "forced"
                                        : "final",
           payloads.size());
  send_(std::move(payloads), deadline, [this, waiters = std::move(waiters)] {
    running_ = false;
    for (const auto& w : waiters) {
      if (w) w();
    }
    run_next();
  });
}

}  // namespace lc::app
