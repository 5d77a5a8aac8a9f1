#include "metrics/sketch_encoder.h"

#include <protozero/pbf_writer.hpp>

#include "core/logger.h"
#include "metrics/payload_packer.h"

namespace lc::metrics {

std::vector<Series> sketch_fallback_series(const SketchSeries& sketch) {
  struct Part {
    const char* suffix;
    SeriesType type;
  };
  static constexpr Part kParts[] = {{".count", SeriesType::kRate},
                                    {".sum", SeriesType::kGauge},
                                    {".min", SeriesType::kGauge},
                                    {".max", SeriesType::kGauge},
                                    {".avg", SeriesType::kGauge}};
  std::vector<Series> out;
  out.reserve(std::size(kParts));
  for (std::size_t i = 0; i < std::size(kParts); ++i) {
    Series s;
    s.name = sketch.name + kParts[i].suffix;
    s.tags = sketch.tags;
    s.host = sketch.host;
    s.type = kParts[i].type;
    s.interval = 10;
    for (const auto& p : sketch.points) {
      const auto& sum = p.sketch.summary();
      if (sum.cnt == 0) continue;
      double v = 0;
      switch (i) {
        case 0:
          v = static_cast<double>(sum.cnt) / 10.0;
          break;
        case 1:
          v = sum.sum;
          break;
        case 2:
          v = sum.min;
          break;
        case 3:
          v = sum.max;
          break;
        default:
          v = sum.avg;
          break;
      }
      s.points.push_back({p.ts, v});
    }
    if (!s.points.empty()) out.push_back(std::move(s));
  }
  return out;
}

SketchEncoder::SketchEncoder(EncoderLimits limits, const TagSets& tags, TagSetId tag_set,
                             SelfMetrics& self)
    : limits_(limits), tags_(tags), tag_set_(tag_set), self_(self) {}

void SketchEncoder::encode_sketch(const SketchSeries& s,
                                  const std::vector<const SketchPoint*>& points,
                                  std::string& out) const {
  out.clear();
  protozero::pbf_writer w{out};
  w.add_string(1, s.name);
  if (!s.host.empty()) w.add_string(2, s.host);
  for (const auto& t : merge_tags(s.tags, tags_.tags(tag_set_))) w.add_string(4, t);
  for (const SketchPoint* p : points) {
    const auto& sum = p->sketch.summary();
    protozero::pbf_writer d{w, 7};
    if (p->ts != 0) d.add_int64(1, p->ts);
    if (sum.cnt != 0) d.add_int64(2, sum.cnt);
    if (sum.min != 0) d.add_double(3, sum.min);
    if (sum.max != 0) d.add_double(4, sum.max);
    if (sum.avg != 0) d.add_double(5, sum.avg);
    if (sum.sum != 0) d.add_double(6, sum.sum);
    const auto& bins = p->sketch.bins();
    if (!bins.empty()) {
      {
        protozero::packed_field_sint32 k{d, 7};
        for (const auto& b : bins) k.add_element(b.k);
      }
      {
        protozero::packed_field_uint32 n{d, 8};
        for (const auto& b : bins) n.add_element(b.n);
      }
    }
  }
}

std::vector<Payload> SketchEncoder::encode(const std::vector<SketchSeries>& sketches,
                                           std::int64_t now_s) {
  PayloadPacker packer(
      {PayloadKind::kSketches, "/api/beta/sketches", "application/x-protobuf", "", "", "", true},
      limits_.sketch_bytes, SIZE_MAX);
  std::vector<const SketchPoint*> points;
  std::string item;
  for (const auto& s : sketches) {
    points.clear();
    for (const auto& p : s.points) {
      if (p.sketch.empty()) continue;  // §3.5: an empty sketch is never sent
      if (p.ts < now_s - limits_.max_age_s || p.ts > now_s + limits_.max_future_s) {
        self_.dropped(SeriesEncoder::kDropKind, "too_old");
        LC_DEBUG("metrics: sketch point of {} at {} outside the intake window (now {}), dropped",
                 s.name, p.ts, now_s);
        continue;
      }
      points.push_back(&p);
    }
    if (points.empty()) continue;
    encode_sketch(s, points, item);
    if (!packer.add(item, points.size())) {
      self_.dropped(SeriesEncoder::kDropKind, "item_too_big");
      LC_WARN("metrics: sketch {} ({} bytes) exceeds the payload limit, dropped", s.name,
              item.size());
    }
  }
  return packer.take();
}

}  // namespace lc::metrics
