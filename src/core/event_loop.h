// core/event_loop.h — the one event-loop thread (Boost.Asio io_context) that owns pipeline state,
// and the real TimerService on it. Owned by the composition root; other threads hand work back
// with post(). See architecture.md "Threads and time".
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <unordered_map>

#include "core/clock.h"

namespace lc {

class EventLoop final : public TimerService {
 public:
  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& io() { return io_; }

  template <typename F>
  void post(F&& f) {
    boost::asio::post(io_, std::forward<F>(f));
  }

  TimerId schedule_after(Millis delay, std::function<void()> callback) override;
  void cancel(TimerId id) override;

  void run() { io_.run(); }
  void stop() { io_.stop(); }

 private:
  boost::asio::io_context io_{1};
  TimerId next_id_ = 1;
  std::unordered_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace lc
