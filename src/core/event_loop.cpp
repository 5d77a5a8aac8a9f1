#include "core/event_loop.h"

namespace lc {

TimerService::TimerId EventLoop::schedule_after(Millis delay, std::function<void()> callback) {
  const TimerId id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id, cb = std::move(callback)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled
    timers_.erase(id);
    cb();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  // The handler still runs with operation_aborted; keep the timer alive until then.
  boost::asio::post(io_, [t = std::move(it->second)] {});
  timers_.erase(it);
}

}  // namespace lc
