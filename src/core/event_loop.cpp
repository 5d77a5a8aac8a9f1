#include "core/event_loop.h"

#include <algorithm>
#include <vector>

namespace lc {

EventLoop::EventLoop()
    : io_(std::make_unique<boost::asio::io_context>(1)),
      wake_(std::make_unique<boost::asio::steady_timer>(*io_)) {}

EventLoop::~EventLoop() {
  // Destroying callbacks or pending handlers may destroy Timer handles: they find closing_ set.
  closing_ = true;
  auto timers = std::move(timers_);
  timers_.clear();
  due_.clear();
  timers.clear();
  wake_.reset();
  io_.reset();
}

TimerService::TimerId EventLoop::arm(Millis delay, std::function<void()> callback) {
  const TimerId id = next_id_++;
  if (closing_) return id;
  const SteadyTime at = SystemClock::instance().steady_now() + std::max(delay, Millis(0));
  timers_.emplace(Key{at, id}, std::move(callback));
  due_.emplace(id, at);
  if (at < wake_at_) rearm_wake();
  return id;
}

void EventLoop::disarm(TimerId id) {
  if (closing_) return;
  auto it = due_.find(id);
  if (it == due_.end()) return;
  auto node = timers_.extract(Key{it->second, id});
  due_.erase(it);
  // The wake timer stays armed; on_wake finds nothing due and re-arms for the next one.
  // node (and the callback) is destroyed here, after the maps are consistent.
}

bool EventLoop::pending(TimerId id) const { return due_.count(id) != 0; }

void EventLoop::rearm_wake() {
  if (timers_.empty()) {
    wake_at_ = SteadyTime::max();
    return;
  }
  wake_at_ = timers_.begin()->first.first;
  wake_->expires_at(wake_at_);
  wake_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or shutting down
    on_wake();
  });
}

void EventLoop::on_wake() {
  wake_at_ = SteadyTime::max();
  const SteadyTime now = SystemClock::instance().steady_now();
  // Fire what is due now; timers armed by callbacks wait for the next wake (even zero delays,
  // so a callback cannot starve the loop).
  std::vector<TimerId> due;
  for (const auto& [key, cb] : timers_) {
    if (key.first > now) break;
    due.push_back(key.second);
  }
  for (const TimerId id : due) {
    auto it = due_.find(id);
    if (it == due_.end()) continue;  // cancelled by an earlier callback
    auto node = timers_.extract(Key{it->second, id});
    due_.erase(it);
    auto cb = std::move(node.mapped());
    if (cb) cb();
    if (closing_) return;
  }
  if (wake_at_ == SteadyTime::max()) rearm_wake();
}

}  // namespace lc
