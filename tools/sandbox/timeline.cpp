#include "tools/sandbox/timeline.h"

#include <boost/json.hpp>

#include "tools/sandbox/common.h"

namespace lc::sandbox {

Timeline::Timeline(const Clock& clock, TimerService& timers, std::size_t max_entries)
    : clock_(clock), timers_(timers), max_entries_(max_entries) {}

Timeline::~Timeline() = default;  // the waiters' timers cancel themselves

void Timeline::add(std::string_view event, boost::json::object fields) {
  boost::json::object entry;
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.wall_now().time_since_epoch())
          .count();
  entry["t_ms"] = static_cast<double>(us) / 1000.0;
  entry["event"] = event;
  for (auto& kv : fields) {
    if (kv.key() == "t_ms" || kv.key() == "event") continue;
    entry[kv.key()] = std::move(kv.value());
  }
  if (observer_) observer_(entry);
  if (entries_.size() >= max_entries_) {
    ++dropped_;
    return;
  }
  entries_.push_back(std::move(entry));
  const auto& added = entries_.back();
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto cur = it++;
    if (cur->finished || !matches(added, cur->query)) continue;
    if (++cur->matched >= cur->query.count) finish(cur, false);
  }
}

std::string Timeline::dump() const {
  std::string out;
  for (const auto& e : entries_) {
    out += boost::json::serialize(e);
    out += '\n';
  }
  return out;
}

bool Timeline::matches(const boost::json::object& entry, const WaitQuery& query) {
  const auto* ev = entry.if_contains("event");
  if (ev == nullptr || !ev->is_string() || ev->get_string() != query.event) return false;
  for (const auto& [k, want] : query.filters) {
    const auto* v = entry.if_contains(k);
    if (v == nullptr) return false;
    if (v->is_string()) {
      if (v->get_string() != want) return false;
    } else if (boost::json::serialize(*v) != want) {
      return false;
    }
  }
  return true;
}

std::size_t Timeline::count(const WaitQuery& query) const {
  std::size_t n = 0;
  for (const auto& e : entries_) n += matches(e, query) ? 1 : 0;
  return n;
}

void Timeline::wait(WaitQuery query, WaitDone done) {
  const std::size_t now = count(query);
  if (now >= query.count) {
    done(now, false);
    return;
  }
  waiters_.push_back(Waiter{std::move(query), std::move(done), now, Timer(), false});
  auto it = std::prev(waiters_.end());
  it->timer =
      timers_.schedule_after(Millis(it->query.timeout_ms), [this, it] { finish(it, true); });
}

void Timeline::finish(std::list<Waiter>::iterator it, bool timed_out) {
  if (it->finished) return;
  it->finished = true;
  it->timer.cancel();
  auto done = std::move(it->done);
  const std::size_t matched = it->matched;
  waiters_.erase(it);
  done(matched, timed_out);
}

void Timeline::cancel_waiters() {
  while (!waiters_.empty()) finish(waiters_.begin(), true);
}

}  // namespace lc::sandbox
