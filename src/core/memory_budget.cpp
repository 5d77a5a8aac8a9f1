#include "core/memory_budget.h"

#include <fmt/format.h>

#include <limits>

namespace lc {

namespace {
std::string mib(std::size_t b) {
  return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0));
}
}  // namespace

ValueClass value_class_of(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kLogs:
      return ValueClass::kLogs;
    case PayloadKind::kTraces:
    case PayloadKind::kTraceStats:
      return ValueClass::kTraces;
    default:
      return ValueClass::kMetrics;
  }
}

std::string_view value_class_name(ValueClass c) {
  switch (c) {
    case ValueClass::kLogs:
      return "logs";
    case ValueClass::kTraces:
      return "traces";
    case ValueClass::kMetrics:
      break;
  }
  return "metrics";
}

MemoryBudget::MemoryBudget(std::size_t total_bytes, SelfMetrics* self)
    : total_(total_bytes), self_(self) {
  limits_[index(ValueClass::kMetrics)] = total_bytes;
  limits_[index(ValueClass::kLogs)] = total_bytes - total_bytes / 8;
  limits_[index(ValueClass::kTraces)] = total_bytes - total_bytes / 4;
}

MemoryBudget& MemoryBudget::unlimited() {
  // Shared by owners built without a budget; only counters move in it, so sharing is harmless.
  static MemoryBudget budget(std::numeric_limits<std::size_t>::max() / 2);
  return budget;
}

void MemoryBudget::refused(ValueClass c, std::string_view kind, std::uint64_t n) {
  refusals_[index(c)].fetch_add(n, std::memory_order_relaxed);
  if (self_ != nullptr) self_->dropped(kind, kDropReason, n);
}

std::string MemoryBudget::describe() const {
  return fmt::format("{} of {} (metrics {}, logs {}, traces {})", mib(used()), mib(total_),
                     mib(used(ValueClass::kMetrics)), mib(used(ValueClass::kLogs)),
                     mib(used(ValueClass::kTraces)));
}

}  // namespace lc
