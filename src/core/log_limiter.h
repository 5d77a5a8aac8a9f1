// core/log_limiter.h — at most one log line per key per period, with the count of the ones held
// back. For lines a peer can trigger at any rate (bad input, refused connections): the first
// occurrence of a key is written at once; later ones within `period` are only counted, and the next
// line written for that key says how many were held back. Time comes from the injected Clock
// (steady time). Keys are a small, fixed vocabulary chosen by the caller (reasons, listener names),
// never peer-chosen text; past `max_keys` distinct keys the rest share one slot. Not thread-safe:
// one owner thread, like the state it reports on. allow() allocates only when it meets a new key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace lc {

class LogLimiter {
 public:
  struct Decision {
    bool write = false;            // write a line now
    std::uint64_t suppressed = 0;  // lines of this key held back since the last one written
    explicit operator bool() const { return write; }
  };

  LogLimiter(const Clock& clock, Millis period, std::size_t max_keys = 32);

  // Call once per occurrence. When the result says write, the caller writes its line (mentioning
  // `suppressed` when it is not 0); otherwise the occurrence is counted for the next line.
  Decision allow(std::string_view key);

  // Held-back occurrences of `key` not yet reported by a written line.
  std::uint64_t pending(std::string_view key) const;

 private:
  struct Slot {
    std::string key;
    SteadyTime last_written{};
    std::uint64_t suppressed = 0;
  };
  Slot* find(std::string_view key);

  const Clock& clock_;
  Millis period_;
  std::size_t max_keys_;
  std::vector<Slot> slots_;  // linear search: a handful of keys
  Slot overflow_;
  bool overflow_used_ = false;
};

}  // namespace lc
