// tools/sandbox/timeline.h — the sandbox's record of everything that happened (API calls, telemetry
// batches and listener answers, signals, process exits, freeze/thaw), one JSON object per entry,
// and the waiters of `GET /wait`. Owned by the Sandbox; every part appends on the loop thread.
// Tests assert on it (lambda-platform.md §7.3); entries beyond the cap are counted, not kept.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "tools/sandbox/requests.h"

namespace lc::sandbox {

class Timeline {
 public:
  // done(matched, timed_out) is called exactly once, on the loop thread.
  using WaitDone = std::function<void(std::size_t matched, bool timed_out)>;

  Timeline(const Clock& clock, TimerService& timers, std::size_t max_entries = 500000);
  ~Timeline();

  // Appends {"t_ms":<epoch ms>,"event":event, ...fields}.
  void add(std::string_view event, boost::json::object fields = {});

  std::size_t size() const { return entries_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  const boost::json::object& at(std::size_t i) const { return entries_[i]; }

  // JSON lines, one entry per line.
  std::string dump() const;
  std::size_t count(const WaitQuery& query) const;
  static bool matches(const boost::json::object& entry, const WaitQuery& query);

  // Calls done once `query.count` entries match, or with timed_out after query.timeout_ms.
  void wait(WaitQuery query, WaitDone done);
  // Answers every waiter now with its current count (used at exit).
  void cancel_waiters();

  // Every entry is also passed to this observer (e.g. --timeline-file, stderr echo).
  void set_observer(std::function<void(const boost::json::object&)> observer) {
    observer_ = std::move(observer);
  }

 private:
  struct Waiter {
    WaitQuery query;
    WaitDone done;
    std::size_t matched = 0;
    Timer timer;
    bool finished = false;
  };

  void finish(std::list<Waiter>::iterator it, bool timed_out);

  const Clock& clock_;
  TimerService& timers_;
  std::size_t max_entries_;
  std::vector<boost::json::object> entries_;
  std::uint64_t dropped_ = 0;
  std::list<Waiter> waiters_;
  std::function<void(const boost::json::object&)> observer_;
};

}  // namespace lc::sandbox
