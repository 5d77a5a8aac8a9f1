// app/flush_scheduler.h — WHEN to flush outside Lambda (serverless-init.md §6.1): a periodic timer
// that sends closed buckets only, forced flushes (/lambda/flush) and the final flush that include
// the open bucket. Flushes never overlap: a trigger during a flush runs once the current one ends;
// a forced request always gets a forced flush of its own that starts after the running one, and
// requests arriving while it is pending join it. Used by the sidecar (and later wrapper) root.
#pragma once

#include <functional>
#include <vector>

#include "core/clock.h"
#include "core/pipeline.h"
#include "core/thread_owner.h"

namespace lc::app {

enum class FlushKind { kPeriodic, kForced, kFinal };

class FlushScheduler {
 public:
  // collect(include_open_bucket) → payloads; send(payloads, deadline, done) forwards them.
  using Collect = std::function<std::vector<Payload>(bool include_open_bucket)>;
  using Send = std::function<void(std::vector<Payload>, Deadline, std::function<void()> done)>;

  FlushScheduler(const Clock& clock, TimerService& timers, Millis interval, Millis request_timeout,
                 Collect collect, Send send);

  void start();  // arms the periodic timer
  void stop();   // cancels it

  // A forced flush (open bucket included); done() once it completed.
  void request_forced(std::function<void()> done);
  // The final flush: waits for a running flush, then sends everything by `deadline`.
  void request_final(Deadline deadline, std::function<void()> done);

  bool flushing() const { return running_; }

 private:
  void arm();
  void run_next();
  void run(FlushKind kind, Deadline deadline, std::vector<std::function<void()>> waiters);

  const Clock& clock_;
  TimerService& timers_;
  Millis interval_;
  Millis request_timeout_;
  Collect collect_;
  Send send_;
  Timer timer_;
  bool running_ = false;
  bool periodic_pending_ = false;
  bool forced_pending_ = false;
  std::vector<std::function<void()>> forced_waiters_;
  bool final_pending_ = false;
  Deadline final_deadline_;
  std::vector<std::function<void()>> final_waiters_;
  ThreadOwner loop_thread_;
};

}  // namespace lc::app
