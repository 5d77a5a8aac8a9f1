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

class TimerService;

// A pending one-shot timer, owned by whoever scheduled it: destroying the handle or calling
// cancel() cancels it (idempotent; a no-op once it fired). Move-only. The TimerService must
// outlive every Timer it handed out. Use it on the loop thread only.
class [[nodiscard]] Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  Timer(Timer&& other) noexcept : service_(other.service_), id_(other.id_) {
    other.service_ = nullptr;
    other.id_ = 0;
  }
  Timer& operator=(Timer&& other) noexcept {
    if (this != &other) {
      cancel();
      service_ = other.service_;
      id_ = other.id_;
      other.service_ = nullptr;
      other.id_ = 0;
    }
    return *this;
  }
  ~Timer() { cancel(); }

  void cancel();
  // True while the callback is still to run.
  bool armed() const;

 private:
  friend class TimerService;
  Timer(TimerService* service, std::uint64_t id) : service_(service), id_(id) {}

  TimerService* service_ = nullptr;
  std::uint64_t id_ = 0;
};

// One-shot timers on the event loop. Callbacks run on the loop thread.
class TimerService {
 public:
  virtual ~TimerService() = default;
  Timer schedule_after(Millis delay, std::function<void()> callback) {
    return Timer(this, arm(delay, std::move(callback)));
  }

 protected:
  using TimerId = std::uint64_t;
  friend class Timer;
  // Ids are never 0 and never reused. disarm/pending accept ids that already fired.
  virtual TimerId arm(Millis delay, std::function<void()> callback) = 0;
  virtual void disarm(TimerId id) = 0;
  virtual bool pending(TimerId id) const = 0;
};

inline void Timer::cancel() {
  if (service_ == nullptr) return;
  // Clear first: disarming destroys the callback, which may own this handle.
  TimerService* service = service_;
  const std::uint64_t id = id_;
  service_ = nullptr;
  id_ = 0;
  service->disarm(id);
}

inline bool Timer::armed() const { return service_ != nullptr && service_->pending(id_); }

}  // namespace lc
