// metrics/aggregator.h — folds DogStatsD samples into 10 s buckets per context
// (datadog-wire.md §2) and turns them into series and sketches at flush. Called on the loop
// thread by DogStatsdServer (add) and by the flush path (flush/collect). Owns its buckets and the
// per-window submission record that keeps two points of one context from sharing a timestamp;
// never sends anything.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/common_config.h"
#include "core/log_limiter.h"
#include "core/memory_budget.h"
#include "core/metric_sink.h"
#include "core/metrics_config.h"
#include "core/mode.h"
#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "core/thread_owner.h"
#include "metrics/ddsketch.h"
#include "metrics/dogstatsd_parser.h"
#include "metrics/metric_series.h"
#include "metrics/series_encoder.h"
#include "metrics/sketch_encoder.h"

namespace lc::metrics {

enum class FlushScope {
  kClosedBuckets,  // periodic flush: buckets with b + 10 ≤ now
  kAll,            // forced, lifecycle and final flushes: the open bucket too
};

enum class SeriesFormat { kV2Protobuf, kV1Json };
enum class SketchOutput { kSketchPayload, kV1SeriesFallback, kDrop };

struct AggregatorConfig {
  std::string default_host;  // series host when a sample has no host: tag ("" in Lambda)
  std::vector<std::string> histogram_aggregates{"max", "median", "avg", "count"};
  std::vector<double> histogram_percentiles{0.95};
  bool histogram_copy_to_distribution = false;
  std::string histogram_copy_prefix;
  std::size_t max_contexts = 10240;
  // The `kind` of lastcall.dropped for what this aggregator refuses: "dogstatsd" for the DogStatsD
  // aggregator, "enhanced" for lastcall's enhanced metrics.
  std::string drop_kind = "dogstatsd";
  // Exact histogram samples kept per context and bucket (16 B each). Beyond, the bucket keeps
  // exact count, sum, min and max and answers the median and percentiles from a DDSketch
  // (≤ 1 % relative error): no value is dropped for this cap.
  std::size_t max_histogram_samples = 8192;
  // Set members per context and bucket; beyond, members are refused (set_full, one per member).
  // Memory across all contexts is bounded by the MemoryBudget.
  std::size_t max_set_members = 1u << 16;
  std::int64_t max_sample_age_s = 3600;  // older `T` → too_old
  // How long a context remembers which seconds of a sent window it used (§2.1). A `T` sample for
  // a window sent longer ago than this starts again at the window's first second.
  std::int64_t history_s = 300;

  SeriesFormat series_format = SeriesFormat::kV2Protobuf;
  SketchOutput sketch_output = SketchOutput::kSketchPayload;
  // The tags every series and sketch gets, read from the TagSets at each flush: the custom-metrics
  // set for DogStatsD, the enhanced-metrics set for lastcall's own enhanced metrics.
  TagSetId tag_set = TagSetId::kCustomMetrics;
  EncoderLimits limits;

  // The Lambda rules (no default host) apply in extension mode.
  static AggregatorConfig from(const MetricsConfig& metrics, const CommonConfig& common, Mode mode);
};

class MetricAggregator final : public MetricSink {
 public:
  static constexpr std::int64_t kBucketSeconds = 10;

  // `tags` outlives the aggregator; its config.tag_set is read at every flush (no tags by default).
  // Charges its state to `budget` (class metrics) and refuses samples that need new memory when
  // over it (reason memory_budget); null: MemoryBudget::unlimited(). `budget` outlives this.
  MetricAggregator(AggregatorConfig config, SelfMetrics& self, const Clock& clock,
                   const TagSets& tags = TagSets::none(), MemoryBudget* budget = nullptr);
  ~MetricAggregator() override;
  MetricAggregator(const MetricAggregator&) = delete;
  MetricAggregator& operator=(const MetricAggregator&) = delete;

  // One parsed line; never throws, never blocks. Time is the clock's wall time at the call.
  void add(const MetricPoint& sample) override;
  void add(const MetricSample& sample, std::int64_t now_s);
  // For lastcall's own bounded set of self-metrics: charged like any sample but never refused by
  // the memory budget (the drops it reports must reach the intake when the budget is full).
  void add_reserved(const MetricSample& sample, std::int64_t now_s);

  // Takes the buckets the scope selects and returns them as series and sketches (context tags
  // only; base tags are the encoders' job). Buckets held back by the b+9 rule stay.
  FlushBatch collect(FlushScope scope);
  FlushBatch collect(FlushScope scope, std::int64_t now_s);
  // collect() + encode: uncompressed series and sketch payloads for the forward stage.
  std::vector<Payload> flush(FlushScope scope);

  std::size_t live_contexts() const { return live_contexts_; }
  // Live contexts plus those kept only for their submission record.
  std::size_t tracked_contexts() const { return contexts_.size(); }
  const AggregatorConfig& config() const { return config_; }
  const std::vector<std::string>& base_tags() const { return tags_.tags(config_.tag_set); }
  // Bytes this aggregator has charged to its budget (what it holds, estimated).
  std::size_t charged_bytes() const { return charged_; }

 private:
  enum class Kind : std::uint8_t { kCount, kGauge, kSet, kHistogram, kDistribution };
  struct Aggregate;
  struct Context;
  struct HistogramSketch;
  // A context as looked up on the hot path: views into the sample plus a hash computed once over
  // them (no key string is built for a context that already exists).
  struct ContextKey {
    std::uint64_t hash = 0;
    Kind kind = Kind::kGauge;
    std::string_view name, host;
    std::span<const std::string_view> tags;
  };
  struct ContextHash {
    using is_transparent = void;
    std::size_t operator()(const std::unique_ptr<Context>& c) const;
    std::size_t operator()(const ContextKey& k) const { return k.hash; }
  };
  struct ContextEq {
    using is_transparent = void;
    bool operator()(const std::unique_ptr<Context>& a, const std::unique_ptr<Context>& b) const;
    bool operator()(const ContextKey& k, const std::unique_ptr<Context>& c) const;
    bool operator()(const ContextKey& k, const Context& c) const;
    bool operator()(const std::unique_ptr<Context>& c, const ContextKey& k) const {
      return (*this)(k, c);
    }
  };

  // nullptr when refused; `reason` says why (context_limit or memory_budget).
  Context* find_or_create(Kind kind, std::string_view name, const MetricSample& sample,
                          std::string_view host, std::string_view& reason);
  void add_to(Kind kind, std::string_view name, const MetricSample& sample, std::string_view host,
              std::int64_t bucket);
  bool uses_timestamp_rule(Kind kind) const;
  void drop(std::string_view reason, std::string_view name, std::uint64_t values = 1);
  void charge(std::size_t bytes) {
    budget_.charge(ValueClass::kMetrics, bytes);
    charged_ += bytes;
  }
  void release(std::size_t bytes) {
    budget_.release(ValueClass::kMetrics, bytes);
    charged_ -= bytes;
  }
  bool admits(std::size_t bytes) const {
    return reserved_ || budget_.admits(ValueClass::kMetrics, bytes);
  }
  void to_sketch(Aggregate& agg);
  void release_context(Context& ctx);
  template <typename AddPoint>
  void emit_sketched_histogram(const HistogramSketch& h, AddPoint& add_point) const;
  void emit(Context& ctx, std::int64_t ts, Aggregate& agg, FlushBatch& out,
            std::vector<std::size_t>& series_index, std::size_t& sketch_index);
  void prune_history(std::int64_t now_s);

  AggregatorConfig config_;
  SelfMetrics& self_;
  const Clock& clock_;
  const TagSets& tags_;
  SeriesEncoder series_encoder_;
  SketchEncoder sketch_encoder_;
  std::unordered_set<std::unique_ptr<Context>, ContextHash, ContextEq> contexts_;
  // Direct-mapped by the low bits of the hash: a hit skips the set's bucket division and chain.
  // Cleared whenever a context is erased.
  std::array<Context*, 256> recent_{};
  std::size_t live_contexts_ = 0;  // contexts with at least one unflushed bucket
  std::string name_buf_;
  bool no_sketch_logged_ = false;
  std::uint64_t drops_ = 0;
  LogLimiter drop_log_;  // one debug line per reason per 10 s, with the count held back
  MemoryBudget& budget_;
  std::size_t charged_ = 0;
  bool reserved_ = false;  // inside add_reserved()
  ThreadOwner loop_thread_;
};

}  // namespace lc::metrics
