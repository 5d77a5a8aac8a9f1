// tests/fakes/fake_clock.h — a Clock and TimerService driven by hand: advance() moves both clocks
// and fires due timers in order. For unit tests of anything that reads time or schedules work.
//
// Two ways to fire timers:
//  - synchronous (default): advance() runs due callbacks itself, on the calling thread, stepping
//    time to each one's due point (so timers armed by a callback inside the window fire too);
//  - on a real loop (run_timers_on(io)): advance() moves time to the target and posts every due
//    callback to the io_context, where it runs on the loop thread unless cancelled first. A timer
//    armed already due fires at once (posted). Safe to call advance() from a test thread while the
//    loop thread runs: the clock and timer table are guarded by a mutex. wait_for_timers() lets the
//    test wait until the code under test has armed the timer it means to expire.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/mutex.h"

namespace lc::fakes {

class FakeClock final : public Clock, public TimerService {
 public:
  explicit FakeClock(std::int64_t wall_epoch_ms = 1700000003000)
      : wall_(WallTime(Millis(wall_epoch_ms))), steady_(SteadyTime(Millis(1000000))) {}
  ~FakeClock() override {
    // Callbacks may own Timer handles that disarm on destruction: empty the tables first.
    std::map<std::pair<SteadyTime, TimerId>, std::function<void()>> doomed;
    {
      MutexLock lock(mu_);
      doomed.swap(timers_);
      index_.clear();
    }
  }
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  WallTime wall_now() const override {
    MutexLock lock(mu_);
    return wall_;
  }
  SteadyTime steady_now() const override {
    MutexLock lock(mu_);
    return steady_;
  }

  void set_wall_ms(std::int64_t epoch_ms) {
    MutexLock lock(mu_);
    wall_ = WallTime(Millis(epoch_ms));
  }

  // From now on due callbacks run on `io`'s loop thread (posted), not inside advance().
  void run_timers_on(boost::asio::io_context& io) {
    MutexLock lock(mu_);
    io_ = &io;
  }

  // Moves both clocks forward, firing every timer that falls due, in due order.
  void advance(Millis d) {
    {
      MutexLock lock(mu_);
      if (io_ != nullptr) {
        const SteadyTime target = steady_ + d;
        wall_ += std::chrono::duration_cast<Millis>(target - steady_);
        steady_ = target;
        std::vector<TimerId> due;
        for (const auto& [key, cb] : timers_) {
          if (key.first > target) break;
          due.push_back(key.second);
        }
        for (const TimerId id : due) post_fire(id);
        return;
      }
    }
    advance_firing(d);
  }

  std::size_t pending_timers() const {
    MutexLock lock(mu_);
    return timers_.size();
  }

  // Blocks until a pending timer falls due within `d` of the current fake time, or `limit` of real
  // time passed (then false): the test knows the code under test armed the timer it means to
  // expire.
  bool wait_for_timer_due_within(Millis d, Millis limit = Millis(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    MutexLock lock(mu_);
    for (bool in_time = true;; in_time = lock.wait_until(armed_cv_, deadline)) {
      if (!timers_.empty() && timers_.begin()->first.first <= steady_ + d) return true;
      if (!in_time) return false;
    }
  }

  // Blocks until at least `n` timers are pending (armed and not yet fired), or `limit` of real
  // time passed (then false). For tests whose loop thread arms the timer they want to expire.
  bool wait_for_timers(std::size_t n, Millis limit = Millis(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    MutexLock lock(mu_);
    for (bool in_time = true;; in_time = lock.wait_until(armed_cv_, deadline)) {
      if (timers_.size() >= n) return true;
      if (!in_time) return false;
    }
  }

 protected:
  TimerId arm(Millis delay, std::function<void()> callback) override {
    MutexLock lock(mu_);
    const TimerId id = next_id_++;
    const SteadyTime at = steady_ + std::max(delay, Millis(0));
    timers_.emplace(std::make_pair(at, id), std::move(callback));
    index_.emplace(id, at);
    if (io_ != nullptr && at <= steady_) post_fire(id);
    armed_cv_.notify_all();
    return id;
  }
  void disarm(TimerId id) override {
    std::function<void()> doomed;  // destroyed outside the lock: it may own other handles
    {
      MutexLock lock(mu_);
      auto it = index_.find(id);
      if (it == index_.end()) return;
      auto node = timers_.extract(std::make_pair(it->second, id));
      index_.erase(it);
      doomed = std::move(node.mapped());
    }
  }
  bool pending(TimerId id) const override {
    MutexLock lock(mu_);
    return index_.count(id) != 0;
  }

 private:
  // Synchronous mode: steps time to each due timer and runs it on this thread, without the lock
  // (a callback may arm or cancel timers).
  void advance_firing(Millis d) {
    SteadyTime target;
    {
      MutexLock lock(mu_);
      target = steady_ + d;
    }
    for (;;) {
      std::function<void()> cb;
      {
        MutexLock lock(mu_);
        if (timers_.empty() || timers_.begin()->first.first > target) {
          wall_ += std::chrono::duration_cast<Millis>(target - steady_);
          steady_ = target;
          return;
        }
        auto it = timers_.begin();
        const Millis step = std::chrono::duration_cast<Millis>(it->first.first - steady_);
        steady_ += step;
        wall_ += step;
        cb = std::move(it->second);
        index_.erase(it->first.second);
        timers_.erase(it);
      }
      cb();
    }
  }

  // The posted handler fires the timer unless it was cancelled meanwhile.
  void post_fire(TimerId id) LC_REQUIRES(mu_) {
    boost::asio::post(*io_, [this, id] {
      std::function<void()> cb;
      {
        MutexLock lock(mu_);
        auto it = index_.find(id);
        if (it == index_.end()) return;
        auto node = timers_.extract(std::make_pair(it->second, id));
        index_.erase(it);
        cb = std::move(node.mapped());
      }
      if (cb) cb();
    });
  }

  mutable Mutex mu_;
  CondVar armed_cv_;
  WallTime wall_ LC_GUARDED_BY(mu_);
  SteadyTime steady_ LC_GUARDED_BY(mu_);
  boost::asio::io_context* io_ LC_GUARDED_BY(mu_) = nullptr;
  TimerId next_id_ LC_GUARDED_BY(mu_) = 1;
  std::map<std::pair<SteadyTime, TimerId>, std::function<void()>> timers_ LC_GUARDED_BY(mu_);
  std::unordered_map<TimerId, SteadyTime> index_ LC_GUARDED_BY(mu_);
};

}  // namespace lc::fakes
