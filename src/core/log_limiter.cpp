#include "core/log_limiter.h"

namespace lc {

LogLimiter::LogLimiter(const Clock& clock, Millis period, std::size_t max_keys)
    : clock_(clock), period_(period), max_keys_(max_keys) {}

LogLimiter::Slot* LogLimiter::find(std::string_view key) {
  for (auto& slot : slots_) {
    if (slot.key == key) return &slot;
  }
  return nullptr;
}

LogLimiter::Decision LogLimiter::allow(std::string_view key) {
  const SteadyTime now = clock_.steady_now();
  Slot* slot = find(key);
  if (slot == nullptr) {
    if (slots_.size() < max_keys_) {
      slots_.push_back(Slot{std::string(key), now, 0});
      return {true, 0};
    }
    slot = &overflow_;
    if (!overflow_used_) {
      overflow_used_ = true;
      overflow_.last_written = now;
      return {true, 0};
    }
  }
  if (now - slot->last_written >= period_) {
    const Decision d{true, slot->suppressed};
    slot->last_written = now;
    slot->suppressed = 0;
    return d;
  }
  ++slot->suppressed;
  return {false, slot->suppressed};
}

std::uint64_t LogLimiter::pending(std::string_view key) const {
  for (const auto& slot : slots_) {
    if (slot.key == key) return slot.suppressed;
  }
  return 0;
}

}  // namespace lc
