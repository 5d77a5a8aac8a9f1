// core/memory_budget.h — the one memory budget (LASTCALL_MEMORY_BUDGET_BYTES, lambda-agent.md
// §6.4): an accountant that everything lastcall holds is charged to — the retry queue, the
// aggregators' state (contexts, tag strings, buckets, histogram samples, sketch bins, set
// members) and, later, the log and trace buffers. It holds no memory itself: owners charge what
// they allocate (honest estimates, container overhead included) and release it when they free it.
//
// Refusal: an owner that needs NEW memory asks admits() first; over the limit of its value class
// the data is refused and counted with refused() as lastcall.dropped{kind,reason:memory_budget}.
// Updates in place are never asked about. Lower-value classes hit their limit first: traces may
// use the budget up to 3/4, logs up to 7/8, metrics all of it (the same order as the retry queue's
// eviction: traces, then logs, then metrics).
//
// Hot path: charge/release/admits are one relaxed atomic operation each (owners run on the loop
// thread; the atomics only let a future receive thread charge too). Created by the composition
// root (app/) and passed by reference or pointer to the owners; it must outlive them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/pipeline.h"
#include "core/self_metrics.h"

namespace lc {

enum class ValueClass : std::uint8_t { kMetrics = 0, kLogs = 1, kTraces = 2 };
inline constexpr std::size_t kValueClasses = 3;
ValueClass value_class_of(PayloadKind kind);
std::string_view value_class_name(ValueClass c);

class MemoryBudget {
 public:
  static constexpr std::string_view kDropReason = "memory_budget";
  // Typical malloc overhead per allocation (header and rounding), added to every estimate.
  static constexpr std::size_t kAllocOverhead = 16;

  // `self` (optional) counts refusals.
  explicit MemoryBudget(std::size_t total_bytes, SelfMetrics* self = nullptr);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // A budget that never refuses (tests and tools that construct an owner without one).
  static MemoryBudget& unlimited();

  void charge(ValueClass c, std::size_t bytes) {
    used_[index(c)].fetch_add(bytes, std::memory_order_relaxed);
    const std::size_t now = used();
    if (now > peak_.load(std::memory_order_relaxed)) peak_.store(now, std::memory_order_relaxed);
  }
  void release(ValueClass c, std::size_t bytes) {
    used_[index(c)].fetch_sub(bytes, std::memory_order_relaxed);
  }
  // Whether `bytes` more may be taken for class c: used() + bytes ≤ limit(c).
  bool admits(ValueClass c, std::size_t bytes = 0) const { return used() + bytes <= limit(c); }
  // Bytes class c may still take (0 when at or over its limit).
  std::size_t headroom(ValueClass c) const {
    const std::size_t u = used();
    const std::size_t l = limit(c);
    return u >= l ? 0 : l - u;
  }
  // Counts `n` refused samples/items: lastcall.dropped{kind,reason:memory_budget}.
  void refused(ValueClass c, std::string_view kind, std::uint64_t n = 1);
  // The per-class tally only, for an owner that counts the drop in its own SelfMetrics.
  void note_refused(ValueClass c, std::uint64_t n = 1) {
    refusals_[index(c)].fetch_add(n, std::memory_order_relaxed);
  }

  std::size_t total() const { return total_; }
  std::size_t limit(ValueClass c) const { return limits_[index(c)]; }
  std::size_t used() const {
    return used_[0].load(std::memory_order_relaxed) + used_[1].load(std::memory_order_relaxed) +
           used_[2].load(std::memory_order_relaxed);
  }
  std::size_t used(ValueClass c) const { return used_[index(c)].load(std::memory_order_relaxed); }
  std::uint64_t refusals(ValueClass c) const {
    return refusals_[index(c)].load(std::memory_order_relaxed);
  }
  std::uint64_t refusals() const {
    return refusals(ValueClass::kMetrics) + refusals(ValueClass::kLogs) +
           refusals(ValueClass::kTraces);
  }
  // Highest used() since construction or the last take_peak(); take_peak() restarts it at used().
  std::size_t peak() const { return peak_.load(std::memory_order_relaxed); }
  std::size_t take_peak() { return peak_.exchange(used(), std::memory_order_relaxed); }
  // "12.0 MiB of 24.0 MiB (metrics 11.5 MiB, logs 0.0 MiB, traces 0.5 MiB)"
  std::string describe() const;

  // Heap bytes of a string beyond its inline buffer (0 for short strings).
  static std::size_t heap_bytes(const std::string& s) {
    return s.capacity() > kInlineString ? s.capacity() + 1 + kAllocOverhead : 0;
  }
  static std::size_t heap_bytes(std::size_t string_size) {
    return string_size > kInlineString ? string_size + 1 + kAllocOverhead : 0;
  }

 private:
  static constexpr std::size_t kInlineString = 15;  // libstdc++ SSO capacity
  static std::size_t index(ValueClass c) { return static_cast<std::size_t>(c); }

  std::size_t total_;
  std::array<std::size_t, kValueClasses> limits_{};
  std::array<std::atomic<std::size_t>, kValueClasses> used_{};
  std::array<std::atomic<std::uint64_t>, kValueClasses> refusals_{};
  std::atomic<std::size_t> peak_{0};
  SelfMetrics* self_;
};

}  // namespace lc
