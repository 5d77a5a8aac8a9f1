// core/event_loop.h — the one event-loop thread (Boost.Asio io_context) that owns pipeline state,
// and the real TimerService on it. Owned by the composition root; other threads hand work back
// with post(). See architecture.md "Threads and time".
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

#include "core/clock.h"

namespace lc {

// Timers are kept in one ordered map, woken by a single steady_timer armed for the earliest one;
// callbacks live in the map (not in Asio handlers), so cancelling destroys them at once.
class EventLoop final : public TimerService {
 public:
  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& io() { return *io_; }

  template <typename F>
  void post(F&& f) {
    boost::asio::post(*io_, std::forward<F>(f));
  }

  void run() { io_->run(); }
  void stop() { io_->stop(); }

 protected:
  TimerId arm(Millis delay, std::function<void()> callback) override;
  void disarm(TimerId id) override;
  bool pending(TimerId id) const override;

 private:
  using Key = std::pair<SteadyTime, TimerId>;
  void rearm_wake();
  void on_wake();

  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::steady_timer> wake_;
  std::map<Key, std::function<void()>> timers_;
  std::unordered_map<TimerId, SteadyTime> due_;
  SteadyTime wake_at_ = SteadyTime::max();
  TimerId next_id_ = 1;
  bool closing_ = false;
};

}  // namespace lc
