#include "app/flush_scheduler.h"

#include <algorithm>
#include <memory>

#include "core/logger.h"

namespace lc::app {

std::string_view flush_kind_name(FlushKind kind) {
  switch (kind) {
    case FlushKind::kPeriodic:
      return "periodic";
    case FlushKind::kForced:
      return "forced";
    case FlushKind::kEndOfInvocation:
      return "end_of_invocation";
    case FlushKind::kEarly:
      return "early";
    case FlushKind::kLifecycle:
      return "lifecycle";
    case FlushKind::kFinal:
      return "final";
  }
  return "unknown";
}

metrics::FlushScope flush_scope(FlushKind kind) {
  // clarifications.md "every flush": only interval-driven flushes leave the open bucket.
  return kind == FlushKind::kPeriodic ? metrics::FlushScope::kClosedBuckets
                                      : metrics::FlushScope::kAll;
}

FlushScheduler::FlushScheduler(const Clock& clock, TimerService& timers, Millis interval,
                               Millis request_timeout, Collect collect, Send send, Cut cut)
    : clock_(clock),
      timers_(timers),
      interval_(interval),
      request_timeout_(request_timeout),
      collect_(std::move(collect)),
      send_(std::move(send)),
      cut_(std::move(cut)) {}

void FlushScheduler::start() {
  if (!final_started_) arm();
}

void FlushScheduler::stop() { timer_.cancel(); }

void FlushScheduler::arm() {
  if (interval_ <= Millis(0)) return;
  timer_ = timers_.schedule_after(interval_, [this] {
    if (final_started_) return;
    if (!running_) {
      join(periodic_, FlushKind::kPeriodic, Deadline::after(clock_, request_timeout_), {});
      run_next();
    } else {
      // Its deadline counts from when it starts, not from now (it waits for the running one).
      timer_due_ = true;
    }
    arm();
  });
}

void FlushScheduler::join(Pending& pending, FlushKind kind, Deadline deadline, Done done) {
  if (!pending.wanted) {
    pending.wanted = true;
    pending.kind = kind;
    pending.deadline = deadline;
  } else if (deadline.at < pending.deadline.at) {
    pending.deadline = deadline;
  }
  if (done) pending.waiters.push_back(std::move(done));
}

void FlushScheduler::answer(std::vector<Done>& waiters) {
  auto taken = std::move(waiters);
  waiters.clear();
  for (auto& w : taken) {
    if (w) w();
  }
}

void FlushScheduler::wait_for_final(Done done) {
  if (!done) return;
  if (final_done_) {
    done();
  } else {
    final_waiters_.push_back(std::move(done));
  }
}

void FlushScheduler::request(FlushKind kind, Deadline deadline, Done done) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  if (kind == FlushKind::kFinal) {
    request_final(deadline, std::move(done));
    return;
  }
  if (final_started_) {
    // The final flush sends everything there is: it serves this request too.
    wait_for_final(std::move(done));
    return;
  }
  join(kind == FlushKind::kPeriodic ? periodic_ : after_, kind, deadline, std::move(done));
  run_next();
}

void FlushScheduler::request_final(Deadline deadline, Done done) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  stop();
  if (final_started_) {
    wait_for_final(std::move(done));
    return;
  }
  final_started_ = true;
  std::vector<Done> waiters;
  if (done) waiters.push_back(std::move(done));
  for (Pending* p : {&after_, &periodic_}) {
    for (auto& w : p->waiters) waiters.push_back(std::move(w));
    *p = Pending{};
  }
  timer_due_ = false;
  final_deadline_ = deadline;
  final_first_ = std::move(waiters);
  if (!running_) {
    start_final();
    return;
  }
  final_waiting_ = true;
  const Millis grace = std::min(kCutGrace, deadline.remaining(clock_) / 8);
  cut_timer_ = timers_.schedule_after(grace, [this] { start_final(); });
}

void FlushScheduler::cut_running_after(Millis wait) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  running_cut_timer_.cancel();
  if (!running_ || final_started_) return;
  const std::uint64_t token = current_;
  running_cut_timer_ = timers_.schedule_after(std::max(wait, Millis(0)), [this, token] {
    if (!running_ || current_ != token || final_started_) return;
    LC_DEBUG("cutting the running {} flush", flush_kind_name(running_kind_));
    current_ = 0;
    running_ = false;
    if (cut_) cut_(false);
    run_next();
  });
}

void FlushScheduler::start_final() {
  final_waiting_ = false;
  cut_timer_.cancel();
  running_cut_timer_.cancel();
  if (running_) {
    // Not waited for any longer: its completion now only answers its own waiters.
    LC_DEBUG("final flush: cutting the running {} flush", flush_kind_name(running_kind_));
    current_ = 0;
    running_ = false;
    if (cut_) cut_(true);
  }
  run(FlushKind::kFinal, final_deadline_, std::move(final_first_));
  final_first_.clear();
}

void FlushScheduler::run_next() {
  if (running_ || final_started_) return;
  if (after_.wanted) {
    // The open bucket and everything closed: it serves the periodic request as well.
    Pending p = std::move(after_);
    after_ = Pending{};
    for (auto& w : periodic_.waiters) p.waiters.push_back(std::move(w));
    periodic_ = Pending{};
    timer_due_ = false;
    run(p.kind, p.deadline, std::move(p.waiters));
    return;
  }
  if (periodic_.wanted || timer_due_) {
    Deadline deadline = periodic_.wanted ? periodic_.deadline : Deadline::none();
    if (timer_due_) {
      const Deadline own = Deadline::after(clock_, request_timeout_);
      if (own.at < deadline.at) deadline = own;
    }
    auto waiters = std::move(periodic_.waiters);
    periodic_ = Pending{};
    timer_due_ = false;
    run(FlushKind::kPeriodic, deadline, std::move(waiters));
  }
}

void FlushScheduler::run(FlushKind kind, Deadline deadline, std::vector<Done> waiters) {
  running_ = true;
  running_kind_ = kind;
  const std::uint64_t token = ++started_;
  current_ = token;
  const FlushStart start{kind, flush_scope(kind), deadline};
  std::vector<Payload> payloads = collect_(start);
  LC_DEBUG("flush ({}): {} payloads", flush_kind_name(kind), payloads.size());
  auto answered = std::make_shared<bool>(false);
  send_(std::move(payloads), start,
        [this, token, kind, answered, waiters = std::move(waiters)]() mutable {
          if (*answered) return;  // a second done() from a faulty sender answers nobody twice
          *answered = true;
          const bool current = token == current_;
          if (current) running_ = false;
          if (kind == FlushKind::kFinal) final_done_ = true;
          answer(waiters);
          if (kind == FlushKind::kFinal) answer(final_waiters_);
          if (!current) return;
          if (final_waiting_) {
            start_final();  // the running flush ended within the grace: nothing to cut
          } else {
            run_next();
          }
        });
}

}  // namespace lc::app
