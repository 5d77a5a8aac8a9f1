// core/clock.h — the time seam: wall clock, monotonic clock and one-shot timers.
// Everything that reads time or waits takes a Clock& / TimerService& from the composition root;
// tests substitute FakeClock / FakeTimerService (tests/fakes/) and drive time by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace lc {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime wall_now() const = 0;
  virtual SteadyTime steady_now() const = 0;

  std::int64_t wall_ms() const {
    return std::chrono::duration_cast<Millis>(wall_now().time_since_epoch()).count();
  }
  std::int64_t wall_s() const {
    return std::chrono::duration_cast<std::chrono::seconds>(wall_now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  static SystemClock& instance();
};

// A deadline on the monotonic clock; "none" never expires.
struct Deadline {
  SteadyTime at = SteadyTime::max();
  static Deadline none() { return {}; }
  static Deadline after(const Clock& clock, Millis d) { return {clock.steady_now() + d}; }
  bool expired(const Clock& clock) const { return clock.steady_now() >= at; }
  Millis remaining(const Clock& clock) const {
    if (at == SteadyTime::max()) return Millis::max();
    const auto now = clock.steady_now();
    return now >= at ? Millis(0) : std::chrono::duration_cast<Millis>(at - now);
  }
};

// One-shot timers on the event loop. Callbacks run on the loop thread; cancel() is idempotent.
class TimerService {
 public:
  using TimerId = std::uint64_t;
  virtual ~TimerService() = default;
  virtual TimerId schedule_after(Millis delay, std::function<void()> callback) = 0;
  virtual void cancel(TimerId id) = 0;
};

}  // namespace lc
