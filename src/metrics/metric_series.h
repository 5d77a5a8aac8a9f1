// metrics/metric_series.h — what an aggregator flush produces before encoding: series with their
// points and sketch series with one DDSketch per bucket. Produced by MetricAggregator::collect(),
// consumed by SeriesEncoder / SketchEncoder. Plain values; tags here are the context tags (sorted);
// base tags are appended by the encoders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/ddsketch.h"

namespace lc::metrics {

enum class SeriesType { kGauge, kRate };

struct SeriesPoint {
  std::int64_t ts = 0;  // epoch s
  double value = 0;
  bool operator==(const SeriesPoint&) const = default;
};

struct Series {
  std::string name;
  std::vector<std::string> tags;  // context tags, sorted
  std::string host;
  SeriesType type = SeriesType::kGauge;
  std::int64_t interval = 10;
  std::vector<SeriesPoint> points;  // ascending ts
};

struct SketchPoint {
  std::int64_t ts = 0;
  DDSketch sketch;
};

struct SketchSeries {
  std::string name;
  std::vector<std::string> tags;  // context tags, sorted
  std::string host;
  std::vector<SketchPoint> points;  // ascending ts
};

struct FlushBatch {
  std::vector<Series> series;
  std::vector<SketchSeries> sketches;
};

}  // namespace lc::metrics
