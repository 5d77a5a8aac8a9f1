// libFuzzer target for the DogStatsD path: one datagram through DogStatsdParser and
// MetricAggregator, then a forced flush through every encoder (datadog-wire.md §1.9: no crash,
// no unbounded allocation, no stall on any input). The first byte picks the mode and options.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "metrics/dogstatsd_server.h"

namespace {

class FixedClock final : public lc::Clock {
 public:
  lc::WallTime wall_now() const override { return lc::WallTime(std::chrono::seconds(1700000003)); }
  lc::SteadyTime steady_now() const override { return {}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view packet(reinterpret_cast<const char*>(data + 1), size - 1);

  static FixedClock clock;
  static const bool quiet = [] {
    lc::Logger::instance().set_level(lc::LogLevel::kOff);
    return true;
  }();
  (void)quiet;
  lc::SelfMetrics self;
  lc::metrics::ParserOptions po;
  po.lambda_mode = (flags & 1) != 0;
  if (flags & 2) {
    po.namespace_prefix = "ns.";
    po.namespace_blacklist = {"jvm", "datadog.tracer"};
  }
  lc::metrics::AggregatorConfig ac;
  ac.max_contexts = 64;
  ac.max_histogram_samples = 4096;
  ac.max_set_members = 256;
  ac.histogram_copy_to_distribution = (flags & 4) != 0;
  if (flags & 8) {
    ac.series_format = lc::metrics::SeriesFormat::kV1Json;
    ac.sketch_output = (flags & 16) ? lc::metrics::SketchOutput::kDrop
                                    : lc::metrics::SketchOutput::kV1SeriesFallback;
  }
  ac.limits.series_v2_bytes = 4096;
  ac.limits.series_v1_bytes = 4096;
  ac.limits.sketch_bytes = 4096;
  static lc::TagSets* const tags = [] {
    auto* t = new lc::TagSets();  // NOLINT(cppcoreguidelines-owning-memory): lives for the run
    t->set("env", "fuzz");
    return t;
  }();
  lc::metrics::DogStatsdServer server(po, ac, self, clock, *tags);
  server.handle_datagram(packet, (flags & 32) != 0);
  // Twice: the second flush exercises the no-duplicate-timestamp bookkeeping.
  server.handle_datagram(packet, false);
  (void)server.flush(lc::metrics::FlushScope::kAll);
  server.handle_datagram(packet, false);
  (void)server.flush(lc::metrics::FlushScope::kClosedBuckets);
  (void)server.flush(lc::metrics::FlushScope::kAll);
  return 0;
}
