// core/metric_sink.h — the seam every metric producer emits through (architecture.md "Layout"):
// the DogStatsD parser, lambda/ enhanced metrics, init/ cloud metrics and microvm/ lifecycle
// metrics hand one MetricPoint at a time to a MetricSink; a metrics::MetricAggregator implements
// it. Called on the loop thread only. Producers never name the aggregator's concrete class.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lc {

enum class MetricType : std::uint8_t { kCount, kGauge, kSet, kHistogram, kTimer, kDistribution };
std::string_view metric_type_symbol(MetricType type);  // "c", "g", "s", "h", "ms", "d"

// One point. Every view is valid only during MetricSink::add; the sink copies what it keeps.
struct MetricPoint {
  std::string_view name;
  MetricType type = MetricType::kGauge;
  std::span<const double> values;  // one or more values (DogStatsD packs several); empty for sets
  std::string_view set_member;     // only for sets, verbatim
  double rate = 1.0;               // sample rate in (0, 1]; each value weighs 1/rate
  std::int64_t timestamp = 0;      // epoch seconds; 0 = "now" (the sink's clock)
  std::span<const std::string_view> tags;  // sorted and deduplicated (sort_unique_tags)
  std::string_view host;                   // only when has_host
  bool has_host = false;
};

class MetricSink {
 public:
  virtual ~MetricSink() = default;
  // Never throws, never blocks; a point the sink refuses is counted by the sink.
  virtual void add(const MetricPoint& point) = 0;
};

// Keeps nothing: where a producer emits while its metrics are turned off (DD_ENHANCED_METRICS=false
// for the microVM lifecycle metrics), so it needs no switch of its own.
class DiscardMetricSink final : public MetricSink {
 public:
  void add(const MetricPoint&) override {}
};

}  // namespace lc
