// metrics/series_encoder.h — series → uncompressed intake payloads: v2 protobuf MetricPayload
// (datadog-wire.md §4.1) or v1 JSON (§4.3), split to the §4.0 size/point limits. Called on the
// flush path by MetricAggregator::flush(); the forward stage compresses and sends. Owns nothing
// but its configuration; drops (too_old, item_too_big) are counted under kind "metrics".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "metrics/metric_series.h"

namespace lc::metrics {

struct EncoderLimits {
  std::size_t series_v2_bytes = 5242880;
  std::size_t series_v2_points = 10000;
  std::size_t series_v1_bytes = 4194304;
  std::size_t sketch_bytes = 4194304;
  std::int64_t max_age_s = 3600;    // points older than now − max_age are dropped (too_old)
  std::int64_t max_future_s = 600;  // and points later than now + max_future
};

// Context tags (sorted) followed by base tags in configuration order, without duplicates (§4.1).
std::vector<std::string> merge_tags(const std::vector<std::string>& context_tags,
                                    const std::vector<std::string>& base_tags);

// Shortest round-trip text of a double, integral values without ".0" (§4.3).
void append_json_number(std::string& out, double v);

class SeriesEncoder {
 public:
  static constexpr std::string_view kDropKind = "metrics";

  // Every series carries the `tag_set` of `tags` as it is when encode_*() runs (tags set after
  // construction included); `tags` outlives the encoder.
  SeriesEncoder(EncoderLimits limits, const TagSets& tags, TagSetId tag_set, SelfMetrics& self);

  std::vector<Payload> encode_v2(const std::vector<Series>& series, std::int64_t now_s);
  std::vector<Payload> encode_v1(const std::vector<Series>& series, std::int64_t now_s);

  // One MetricSeries message (without the outer field tag), points already filtered.
  void encode_v2_series(const Series& s, const std::vector<SeriesPoint>& points,
                        std::string& out) const;
  void encode_v1_series(const Series& s, const std::vector<SeriesPoint>& points,
                        std::string& out) const;

 private:
  // Points inside the acceptance window; counts the others as too_old.
  void filter_points(const Series& s, std::int64_t now_s, std::vector<SeriesPoint>& out);

  const std::vector<std::string>& base_tags() const { return tags_.tags(tag_set_); }

  EncoderLimits limits_;
  const TagSets& tags_;
  TagSetId tag_set_;
  SelfMetrics& self_;
};

}  // namespace lc::metrics
