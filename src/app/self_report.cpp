#include "app/self_report.h"

#include <string_view>
#include <vector>

#include "core/assert.h"
#include "core/logger.h"

namespace lc::app {

SelfReport::SelfReport(SelfMetrics& self, bool send, MemoryBudget* budget)
    : self_(self),
      send_(send),
      budget_(budget),
      flush_ms_(self.gauge(kFlushDurationMs)),
      queue_payloads_(self.gauge(kRetryQueuePayloads)),
      queue_bytes_(self.gauge(kRetryQueueBytes)) {
  if (budget_ != nullptr) budget_used_ = self.gauge(kMemoryBudgetUsed);
}

void SelfReport::absorb_bugs() {
  for (const auto& [where, count] : bug_counts()) {
    std::uint64_t& seen = bugs_seen_[where];
    if (count > seen) {
      self_.increment(kBug, {"where:" + where}, count - seen);
      seen = count;
    }
  }
}

std::size_t SelfReport::feed(metrics::MetricAggregator& aggregator, std::int64_t now_s) {
  absorb_bugs();
  if (!send_) return 0;
  std::size_t added = 0;
  std::vector<std::string_view> tags;
  for (const auto& e : self_.take_delta(fed_)) {
    const double value = static_cast<double>(e.value);
    tags.assign(e.key.tags.begin(), e.key.tags.end());  // sorted, as the aggregator expects
    metrics::MetricSample s;
    s.name = e.key.name;
    s.type = e.type == SelfMetrics::Type::kGauge ? metrics::MetricType::kGauge
                                                 : metrics::MetricType::kCount;
    s.values = std::span<const double>(&value, 1);
    s.tags = tags;
    aggregator.add_reserved(s, now_s);
    ++added;
  }
  return added;
}

std::string SelfReport::flush_done(const forward::FlushSummary& summary, Millis took) {
  absorb_bugs();
  flush_ms_.set(static_cast<std::uint64_t>(took.count() < 0 ? 0 : took.count()));
  queue_payloads_.set(summary.retry_queue_payloads);
  queue_bytes_.set(summary.retry_queue_bytes);
  const std::size_t budget_peak = budget_ != nullptr ? budget_->take_peak() : 0;
  if (budget_ != nullptr) budget_used_.set(budget_->used());
  const auto delta = self_.take_delta(logged_);
  std::uint64_t total = 0;
  std::string drops = SelfMetrics::drops_text(delta, &total);
  if (!drops.empty()) {
    drops = fmt::format("dropped since the last flush: {} ({} in total)", drops, total);
    if (budget_ != nullptr && drops.find(MemoryBudget::kDropReason) != std::string::npos) {
      drops +=
          fmt::format("; memory budget: peak {:.1f} MiB since the last flush, now {}",
                      static_cast<double>(budget_peak) / (1024.0 * 1024.0), budget_->describe());
    }
    LC_WARN("{}", drops);
  }
  if (Logger::instance().enabled(LogLevel::kDebug)) {
    std::string rest;
    for (const auto& e : delta) {
      if (e.key.name == SelfMetrics::kDropped) continue;
      if (!rest.empty()) rest.push_back(' ');
      rest += e.key.name;
      for (std::size_t i = 0; i < e.key.tags.size(); ++i) {
        rest += (i == 0 ? "{" : ",") + e.key.tags[i];
      }
      if (!e.key.tags.empty()) rest.push_back('}');
      rest += "=" + std::to_string(e.value);
    }
    LC_DEBUG("self-metrics since the last flush: {}", rest);
  }
  return drops;
}

}  // namespace lc::app
