// tests/fakes/fake_clock.h — a Clock and TimerService driven by hand: advance() moves both clocks
// and fires due timers in order. For unit tests of anything that reads time or schedules work.
#pragma once

#include <map>
#include <utility>

#include "core/clock.h"

namespace lc::fakes {

class FakeClock final : public Clock, public TimerService {
 public:
  explicit FakeClock(std::int64_t wall_epoch_ms = 1700000003000)
      : wall_(WallTime(Millis(wall_epoch_ms))), steady_(SteadyTime(Millis(1000000))) {}

  WallTime wall_now() const override { return wall_; }
  SteadyTime steady_now() const override { return steady_; }

  void set_wall_ms(std::int64_t epoch_ms) { wall_ = WallTime(Millis(epoch_ms)); }

  // Moves both clocks forward, firing every timer that falls due, in due order.
  void advance(Millis d) {
    const SteadyTime target = steady_ + d;
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
      auto it = timers_.begin();
      const Millis step = std::chrono::duration_cast<Millis>(it->first.first - steady_);
      steady_ += step;
      wall_ += step;
      auto cb = std::move(it->second);
      timers_.erase(it);
      cb();
    }
    wall_ += std::chrono::duration_cast<Millis>(target - steady_);
    steady_ = target;
  }

  TimerId schedule_after(Millis delay, std::function<void()> callback) override {
    const TimerId id = next_id_++;
    timers_.emplace(std::make_pair(steady_ + delay, id), std::move(callback));
    return id;
  }
  void cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }
  std::size_t pending_timers() const { return timers_.size(); }

 private:
  WallTime wall_;
  SteadyTime steady_;
  TimerId next_id_ = 1;
  std::map<std::pair<SteadyTime, TimerId>, std::function<void()>> timers_;
};

}  // namespace lc::fakes
