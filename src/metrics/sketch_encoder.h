// metrics/sketch_encoder.h — sketch series → uncompressed SketchPayload protobuf bodies
// (datadog-wire.md §4.4), split at the §4.0 limit; or, when only v1 series are available, the
// v1 series fallback of §4.3 (`.count` rate cnt/10, `.sum .min .max .avg` gauges).
// Called on the flush path by MetricAggregator::flush(); drops are counted under kind "metrics".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "metrics/metric_series.h"
#include "metrics/series_encoder.h"

namespace lc::metrics {

// The v1 fallback series of one sketch series (points keep their timestamps).
std::vector<Series> sketch_fallback_series(const SketchSeries& sketch);

class SketchEncoder {
 public:
  // Tags as SeriesEncoder: the `tag_set` of `tags` when encode() runs.
  SketchEncoder(EncoderLimits limits, const TagSets& tags, TagSetId tag_set, SelfMetrics& self);

  std::vector<Payload> encode(const std::vector<SketchSeries>& sketches, std::int64_t now_s);
  // One SketchPayload.Sketch message (without the outer field tag).
  void encode_sketch(const SketchSeries& s, const std::vector<const SketchPoint*>& points,
                     std::string& out) const;

 private:
  EncoderLimits limits_;
  const TagSets& tags_;
  TagSetId tag_set_;
  SelfMetrics& self_;
};

}  // namespace lc::metrics
