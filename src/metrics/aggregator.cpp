#include "metrics/aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <unordered_set>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <fmt/format.h>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::metrics {

AggregatorConfig AggregatorConfig::from(const MetricsConfig& metrics, const CommonConfig& common,
                                        Mode mode) {
  AggregatorConfig c;
  c.default_host = mode == Mode::kExtension ? std::string() : common.hostname;
  c.histogram_aggregates = metrics.histogram_aggregates;
  c.histogram_percentiles = metrics.histogram_percentiles;
  c.histogram_copy_to_distribution = metrics.histogram_copy_to_distribution;
  c.histogram_copy_prefix = metrics.histogram_copy_to_distribution_prefix;
  c.series_format = metrics.use_v2_series ? SeriesFormat::kV2Protobuf : SeriesFormat::kV1Json;
  if (metrics.use_v2_series) {
    c.sketch_output = SketchOutput::kSketchPayload;
  } else {
    c.sketch_output =
        metrics.sketch_fallback_series ? SketchOutput::kV1SeriesFallback : SketchOutput::kDrop;
  }
  return c;
}

namespace {

struct MemberHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using MemberSet = std::unordered_set<std::string, MemberHash, std::equal_to<>>;

// A 64-bit hash fed piece by piece (§2.2: any 64-bit hash will do; equality always compares the
// full strings). Each piece is hashed on its own from at most two loads for the usual short
// strings (so pieces hash in parallel) and folded in with one multiply; its length is mixed in,
// so ("ab","c") and ("a","bc") differ.
class KeyHasher {
 public:
  void add(std::uint64_t v) { fold(v * kM1); }
  void add(std::string_view s) {
    const char* p = s.data();
    const std::size_t n = s.size();
    std::uint64_t a = 0, b = 0;
    if (n > 16) {
      std::uint64_t h = kM2;
      std::size_t i = 0;
      for (; i + 8 < n; i += 8) h = (h ^ load64(p + i)) * kM1;
      a = h ^ (h >> 29);
      b = load64(p + n - 8);
    } else if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      const auto* u = reinterpret_cast<const unsigned char*>(p);
      a = (static_cast<std::uint64_t>(u[0]) << 16) | (static_cast<std::uint64_t>(u[n >> 1]) << 8) |
          u[n - 1];
    }
    const std::uint64_t x = (a ^ kM3) * kM1;
    const std::uint64_t y = (b ^ (static_cast<std::uint64_t>(n) * kM3)) * kM2;
    fold(x ^ ((y >> 32) | (y << 32)));
  }
  std::uint64_t finish() const {
    std::uint64_t h = h_;  // murmur3 fmix64
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  static constexpr std::uint64_t kM1 = 0x9E3779B97F4A7C15ULL;
  static constexpr std::uint64_t kM2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr std::uint64_t kM3 = 0x165667B19E3779F9ULL;
  static std::uint64_t load64(const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  static std::uint64_t load32(const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  }
  void fold(std::uint64_t piece) {
    h_ = (h_ ^ piece) * kM2;
    h_ ^= h_ >> 31;
  }
  std::uint64_t h_ = 0x243F6A8885A308D3ULL;
};

}  // namespace

// A histogram bucket past its exact-sample cap: exact count, sum, min and max, quantiles from
// the sketch.
struct MetricAggregator::HistogramSketch {
  DDSketch sketch;
  double n = 0, sum = 0, min = 0, max = 0;
  void add(double v, double w) {
    if (n == 0 || v < min) min = v;
    if (n == 0 || v > max) max = v;
    n += w;
    sum += v * w;
    if (w > 1.0) {
      sketch.insert(v, w);
    } else {
      sketch.insert(v);
    }
  }
};

struct MetricAggregator::Aggregate {
  double value = 0;                                // count sum, gauge last
  std::unique_ptr<MemberSet> members;              // set
  std::vector<std::pair<double, double>> samples;  // histogram (value, weight), exact
  std::unique_ptr<DDSketch> sketch;                // distribution
  std::unique_ptr<HistogramSketch> hsketch;        // histogram past max_histogram_samples
  std::size_t charged = 0;                         // bytes charged for this bucket
};

namespace {

// Estimates of what the containers hold (lambda-agent.md §6.4), allocation overhead included.
constexpr std::size_t kAlloc = MemoryBudget::kAllocOverhead;
// An unordered_set<std::string> node (next pointer, string, cached hash) and its share of the
// bucket array (load factor ≤ 1, array up to twice the element count).
constexpr std::size_t kMemberNodeBytes = 8 + sizeof(std::string) + 8 + kAlloc + 16;
constexpr std::size_t kSampleBytes = sizeof(std::pair<double, double>);

std::size_t member_bytes(std::string_view m) {
  return kMemberNodeBytes + MemoryBudget::heap_bytes(m.size());
}

}  // namespace

struct MetricAggregator::Context {
  std::uint64_t hash = 0;        // ContextKey::hash of this context
  std::size_t charged = 0;       // bytes charged for the context itself (not its buckets)
  std::size_t used_charged = 0;  // part of `charged`: the capacity of `used`
  // Set by collect(): forgotten after this flush; its tags were moved into out.series[i].
  bool forget = false;
  std::size_t tags_moved_to = SIZE_MAX;
  Kind kind = Kind::kGauge;
  std::string name, host;
  std::vector<std::string> tags;
  std::map<std::int64_t, Aggregate> buckets;  // unflushed, by bucket start
  // Submissions already made per window (datadog-wire.md §2.1 "No duplicate timestamps").
  // Compact (window, submissions) pairs, ascending, kept for `history_s` (bounded memory).
  std::vector<std::pair<std::int64_t, std::uint8_t>> used;

  std::uint8_t* find_used(std::int64_t window) {
    auto it = std::lower_bound(used.begin(), used.end(), window,
                               [](const auto& e, std::int64_t w) { return e.first < w; });
    return it != used.end() && it->first == window ? &it->second : nullptr;
  }
  std::uint8_t& used_slot(std::int64_t window) {
    auto it = std::lower_bound(used.begin(), used.end(), window,
                               [](const auto& e, std::int64_t w) { return e.first < w; });
    if (it == used.end() || it->first != window) it = used.insert(it, {window, 0});
    return it->second;
  }
};

std::size_t MetricAggregator::ContextHash::operator()(const std::unique_ptr<Context>& c) const {
  return c->hash;
}

namespace {

// Byte equality for the short strings of a context, inline (word loads, no memcmp call).
bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    std::uint64_t x, y;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&x, p + i, 8);
      std::memcpy(&y, q + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, p + n - 8, 8);
    std::memcpy(&y, q + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    std::uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

}  // namespace

bool MetricAggregator::ContextEq::operator()(const ContextKey& k,
                                             const std::unique_ptr<Context>& c) const {
  return (*this)(k, *c);
}

bool MetricAggregator::ContextEq::operator()(const ContextKey& k, const Context& ctx) const {
  const Context* c = &ctx;
  if (c->hash != k.hash || c->kind != k.kind || c->tags.size() != k.tags.size() ||
      !same(c->name, k.name) || !same(c->host, k.host)) {
    return false;
  }
  for (std::size_t i = 0; i < k.tags.size(); ++i) {
    if (!same(c->tags[i], k.tags[i])) return false;
  }
  return true;
}

bool MetricAggregator::ContextEq::operator()(const std::unique_ptr<Context>& a,
                                             const std::unique_ptr<Context>& b) const {
  return a->hash == b->hash && a->kind == b->kind && a->name == b->name && a->host == b->host &&
         a->tags == b->tags;
}

MetricAggregator::MetricAggregator(AggregatorConfig config, SelfMetrics& self, const Clock& clock,
                                   const TagSets& tags, MemoryBudget* budget)
    : config_(std::move(config)),
      self_(self),
      clock_(clock),
      tags_(tags),
      series_encoder_(config_.limits, tags, config_.tag_set, self),
      sketch_encoder_(config_.limits, tags, config_.tag_set, self),
      drop_log_(clock, std::chrono::seconds(10)),
      budget_(budget != nullptr ? *budget : MemoryBudget::unlimited()) {}

MetricAggregator::~MetricAggregator() {
  // Everything held goes with the aggregator.
  budget_.release(ValueClass::kMetrics, charged_);
}

void MetricAggregator::drop(std::string_view reason, std::string_view name, std::uint64_t values) {
  if (reason == MemoryBudget::kDropReason) {
    budget_.note_refused(ValueClass::kMetrics, values);
  }
  self_.dropped(config_.drop_kind, reason, values);
  drops_ += values;
  // A client with a skewed clock or a replayed buffer can send nothing but too-old points: one line
  // per reason per interval, saying how many were not logged.
  if (const auto d = drop_log_.allow(reason)) {
    LC_DEBUG(
        "dogstatsd: sample of {} dropped ({}); {} more of this reason since the last such line, {} "
        "aggregation drops so far",
        escape_for_log(name, 100), reason, d.suppressed, drops_);
  }
}

bool MetricAggregator::uses_timestamp_rule(Kind /*kind*/) const {
  // Every kind, sketches included. datadog-wire.md §2.1 says the sketch intake merges two sketches
  // of one (context, timestamp), but a receiver that replaces them instead (lastcall-fakeintake
  // does, clarifications.md "fakeintake") would lose the first; a later second of the same window
  // is read the same by both.
  return true;
}

void MetricAggregator::add(const MetricSample& sample) { add(sample, clock_.wall_s()); }

void MetricAggregator::add(const MetricSample& sample, std::int64_t now_s) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  std::int64_t ts = now_s;
  if (sample.timestamp > 0) {
    ts = std::min(sample.timestamp, now_s);  // a future T is clamped to now (§2.1)
    if (ts < now_s - config_.max_sample_age_s) {
      drop("too_old", sample.name);
      return;
    }
  }
  const std::int64_t bucket = ts - ts % kBucketSeconds;
  const std::string_view host =
      sample.has_host ? sample.host : std::string_view(config_.default_host);
  Kind kind = Kind::kGauge;
  switch (sample.type) {
    case MetricType::kCount:
      kind = Kind::kCount;
      break;
    case MetricType::kGauge:
      kind = Kind::kGauge;
      break;
    case MetricType::kSet:
      kind = Kind::kSet;
      break;
    case MetricType::kHistogram:
    case MetricType::kTimer:
      kind = Kind::kHistogram;
      break;
    case MetricType::kDistribution:
      kind = Kind::kDistribution;
      break;
  }
  add_to(kind, sample.name, sample, host, bucket);
  if (kind == Kind::kHistogram && config_.histogram_copy_to_distribution) {
    name_buf_.assign(config_.histogram_copy_prefix);
    name_buf_.append(sample.name);
    add_to(Kind::kDistribution, name_buf_, sample, host, bucket);
  }
}

void MetricAggregator::add_reserved(const MetricSample& sample, std::int64_t now_s) {
  reserved_ = true;
  add(sample, now_s);
  reserved_ = false;
}

MetricAggregator::Context* MetricAggregator::find_or_create(Kind kind, std::string_view name,
                                                            const MetricSample& sample,
                                                            std::string_view host,
                                                            std::string_view& reason) {
  ContextKey key;
  key.kind = kind;
  key.name = name;
  key.host = host;
  key.tags = sample.tags;
  KeyHasher h;
  h.add(static_cast<std::uint64_t>(kind));
  h.add(name);
  h.add(host);
  for (const auto& t : sample.tags) h.add(t);
  key.hash = h.finish();
  Context*& recent = recent_[key.hash & (recent_.size() - 1)];
  Context* ctx = nullptr;
  if (recent != nullptr && ContextEq{}(key, *recent)) {
    ctx = recent;
  } else if (auto it = contexts_.find(key); it != contexts_.end()) {
    ctx = it->get();
    recent = ctx;
  }
  if (ctx != nullptr) {
    if (ctx->buckets.empty()) {
      if (live_contexts_ >= config_.max_contexts) {
        reason = "context_limit";
        return nullptr;
      }
      ++live_contexts_;
    }
    return ctx;
  }
  if (live_contexts_ >= config_.max_contexts) {
    reason = "context_limit";
    return nullptr;
  }
  // The context object, its set node and bucket-array share, its strings and tag vector.
  std::size_t bytes = sizeof(Context) + kAlloc + 8 + 8 + 8 + kAlloc + 8 +
                      MemoryBudget::heap_bytes(name.size()) +
                      MemoryBudget::heap_bytes(host.size()) +
                      (sample.tags.empty() ? 0 : sample.tags.size() * sizeof(std::string) + kAlloc);
  for (const auto& t : sample.tags) bytes += MemoryBudget::heap_bytes(t.size());
  if (!admits(bytes)) {
    reason = MemoryBudget::kDropReason;
    return nullptr;
  }
  auto created = std::make_unique<Context>();
  created->hash = key.hash;
  created->kind = kind;
  created->name.assign(name);
  created->host.assign(host);
  created->tags.assign(sample.tags.begin(), sample.tags.end());
  created->charged = bytes;
  charge(bytes);
  Context* raw = created.get();
  contexts_.insert(std::move(created));
  recent = raw;
  ++live_contexts_;
  return raw;
}

void MetricAggregator::add_to(Kind kind, std::string_view name, const MetricSample& sample,
                              std::string_view host, std::int64_t bucket) {
  const std::uint64_t nvalues =
      kind == Kind::kSet ? 1 : std::max<std::size_t>(1, sample.values.size());
  std::string_view reason;
  Context* ctx = find_or_create(kind, name, sample, host, reason);
  if (ctx == nullptr) {
    drop(reason, name, nvalues);
    return;
  }
  if (uses_timestamp_rule(kind)) {
    const std::uint8_t* u = ctx->find_used(bucket);
    if (u != nullptr && *u >= kBucketSeconds) {
      // All ten seconds of this window were already submitted; another point would overwrite one.
      drop("window_full", name, nvalues);
      if (ctx->buckets.empty()) --live_contexts_;
      return;
    }
  }
  auto it = ctx->buckets.lower_bound(bucket);
  if (it == ctx->buckets.end() || it->first != bucket) {
    // A new bucket is new memory: refused over the budget (an existing one is updated in place).
    constexpr std::size_t kBucketBytes =
        sizeof(std::pair<const std::int64_t, Aggregate>) + 32 + kAlloc;
    if (!admits(kBucketBytes)) {
      drop(MemoryBudget::kDropReason, name, nvalues);
      if (ctx->buckets.empty()) --live_contexts_;
      return;
    }
    it = ctx->buckets.emplace_hint(it, bucket, Aggregate{});
    it->second.charged = kBucketBytes;
    charge(kBucketBytes);
  }
  Aggregate& agg = it->second;
  const double weight = 1.0 / sample.rate;
  switch (kind) {
    case Kind::kCount:
      for (const double v : sample.values) agg.value += v * weight;
      break;
    case Kind::kGauge:
      if (!sample.values.empty()) agg.value = sample.values.back();
      break;
    case Kind::kSet: {
      if (agg.members && agg.members->find(sample.set_member) != agg.members->end()) break;
      if (agg.members && agg.members->size() >= config_.max_set_members) {
        drop("set_full", name);
        break;
      }
      const std::size_t bytes =
          member_bytes(sample.set_member) + (agg.members ? 0 : sizeof(MemberSet) + kAlloc);
      if (!admits(bytes)) {
        drop(MemoryBudget::kDropReason, name);
        break;
      }
      if (!agg.members) agg.members = std::make_unique<MemberSet>();
      agg.members->emplace(sample.set_member);
      agg.charged += bytes;
      charge(bytes);
      break;
    }
    case Kind::kHistogram:
      for (const double v : sample.values) {
        if (agg.hsketch) {
          if (!admits(DDSketch::kNewKeyBytes) && !agg.hsketch->sketch.holds(v)) {
            drop(MemoryBudget::kDropReason, name);
            continue;
          }
          const std::size_t before = agg.hsketch->sketch.heap_bytes();
          agg.hsketch->add(v, weight);
          const std::size_t after = agg.hsketch->sketch.heap_bytes();
          if (after != before) {
            agg.charged += after - before;
            charge(after - before);
          }
          continue;
        }
        if (agg.samples.size() == agg.samples.capacity()) {
          if (agg.samples.size() >= config_.max_histogram_samples) {
            to_sketch(agg);  // frees the samples; the values go on in the sketch
            agg.hsketch->add(v, weight);
            continue;
          }
          const std::size_t grow = std::max<std::size_t>(agg.samples.capacity(), 4) * kSampleBytes;
          if (!admits(grow)) {
            drop(MemoryBudget::kDropReason, name);
            continue;
          }
          const std::size_t before = agg.samples.capacity();
          agg.samples.emplace_back(v, weight);
          const std::size_t added =
              (agg.samples.capacity() - before) * kSampleBytes + (before == 0 ? kAlloc : 0);
          agg.charged += added;
          charge(added);
          continue;
        }
        agg.samples.emplace_back(v, weight);
      }
      break;
    case Kind::kDistribution:
      if (!agg.sketch) {
        agg.sketch = std::make_unique<DDSketch>();
        agg.charged += sizeof(DDSketch) + kAlloc;
        charge(sizeof(DDSketch) + kAlloc);
      }
      for (const double v : sample.values) {
        // A value of a key the sketch already counts updates in place; a new key is new memory.
        if (!admits(DDSketch::kNewKeyBytes) && !agg.sketch->holds(v)) {
          drop(MemoryBudget::kDropReason, name);
          continue;
        }
        const std::size_t before = agg.sketch->heap_bytes();
        if (sample.rate < 1.0) {
          agg.sketch->insert(v, weight);
        } else {
          agg.sketch->insert(v);
        }
        const std::size_t after = agg.sketch->heap_bytes();
        if (after != before) {  // capacities only grow while a bucket is open
          agg.charged += after - before;
          charge(after - before);
        }
      }
      break;
  }
}

void MetricAggregator::to_sketch(Aggregate& agg) {
  auto h = std::make_unique<HistogramSketch>();
  for (const auto& [v, w] : agg.samples) h->add(v, w);
  const std::size_t freed =
      agg.samples.capacity() * kSampleBytes + (agg.samples.capacity() > 0 ? kAlloc : 0);
  std::vector<std::pair<double, double>>().swap(agg.samples);
  const std::size_t taken = sizeof(HistogramSketch) + kAlloc + h->sketch.heap_bytes();
  agg.hsketch = std::move(h);
  agg.charged = agg.charged - freed + taken;
  release(freed);
  charge(taken);
}

namespace {

// §2.4: first sample (sorted by value) whose cumulative weight exceeds the target.
double weighted_rank(const std::vector<std::pair<double, double>>& sorted, double target) {
  double w = 0;
  for (const auto& [v, wi] : sorted) {
    w += wi;
    if (w > target) return v;
  }
  return sorted.back().first;
}

std::string percentile_suffix(double p) {
  return fmt::format(".{}percentile", static_cast<long long>(std::llround(p * 100)));
}

}  // namespace

template <typename AddPoint>
void MetricAggregator::emit_sketched_histogram(const HistogramSketch& h,
                                               AddPoint& add_point) const {
  // Past the exact-sample cap: count, sum, min, max and avg are exact; the median and the
  // percentiles come from the sketch (§3.1 bound), clamped to the exact min and max.
  if (h.n <= 0) return;
  const auto q = [&](double p) { return std::clamp(h.sketch.quantile(p), h.min, h.max); };
  std::size_t slot = 0;
  for (const auto& a : config_.histogram_aggregates) {
    if (a == "max")
      add_point(slot, ".max", SeriesType::kGauge, h.max);
    else if (a == "min")
      add_point(slot, ".min", SeriesType::kGauge, h.min);
    else if (a == "median")
      add_point(slot, ".median", SeriesType::kGauge, q(0.5));
    else if (a == "avg")
      add_point(slot, ".avg", SeriesType::kGauge, h.sum / h.n);
    else if (a == "sum")
      add_point(slot, ".sum", SeriesType::kGauge, h.sum);
    else if (a == "count")
      add_point(slot, ".count", SeriesType::kRate, h.n / static_cast<double>(kBucketSeconds));
    ++slot;
  }
  for (const double p : config_.histogram_percentiles) {
    add_point(slot++, percentile_suffix(p), SeriesType::kGauge, q(std::round(p * 100) / 100));
  }
}

void MetricAggregator::emit(Context& ctx, std::int64_t ts, Aggregate& agg, FlushBatch& out,
                            std::vector<std::size_t>& series_index, std::size_t& sketch_index) {
  // series_index holds, per output slot of this context, the index in out.series (or SIZE_MAX).
  auto add_point = [&](std::size_t slot, std::string_view suffix, SeriesType type, double value) {
    if (!std::isfinite(value)) {  // e.g. a count summed past the double range
      drop("overflow", ctx.name);
      return;
    }
    if (series_index.size() <= slot) series_index.resize(slot + 1, SIZE_MAX);
    if (series_index[slot] == SIZE_MAX) {
      Series s;
      s.name = ctx.name;
      s.name.append(suffix);
      if (ctx.tags_moved_to != SIZE_MAX) {
        s.tags = out.series[ctx.tags_moved_to].tags;
      } else if (ctx.forget) {
        s.tags = std::move(ctx.tags);
        ctx.tags_moved_to = out.series.size();
      } else {
        s.tags = ctx.tags;
      }
      s.host = ctx.host;
      s.type = type;
      s.interval = kBucketSeconds;
      series_index[slot] = out.series.size();
      out.series.push_back(std::move(s));
    }
    out.series[series_index[slot]].points.push_back({ts, value});
  };

  switch (ctx.kind) {
    case Kind::kCount:
      add_point(0, "", SeriesType::kRate, agg.value / static_cast<double>(kBucketSeconds));
      break;
    case Kind::kGauge:
      add_point(0, "", SeriesType::kGauge, agg.value);
      break;
    case Kind::kSet:
      add_point(0, "", SeriesType::kGauge,
                agg.members ? static_cast<double>(agg.members->size()) : 0.0);
      break;
    case Kind::kHistogram: {
      if (agg.hsketch) {
        emit_sketched_histogram(*agg.hsketch, add_point);
        break;
      }
      auto& s = agg.samples;
      if (s.empty()) break;
      std::stable_sort(s.begin(), s.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      double n = 0, sum = 0;
      for (const auto& [v, w] : s) {
        n += w;
        sum += v * w;
      }
      std::size_t slot = 0;
      for (const auto& a : config_.histogram_aggregates) {
        if (a == "max")
          add_point(slot, ".max", SeriesType::kGauge, s.back().first);
        else if (a == "min")
          add_point(slot, ".min", SeriesType::kGauge, s.front().first);
        else if (a == "median")
          add_point(slot, ".median", SeriesType::kGauge, weighted_rank(s, (n - 1) / 2));
        else if (a == "avg")
          add_point(slot, ".avg", SeriesType::kGauge, sum / n);
        else if (a == "sum")
          add_point(slot, ".sum", SeriesType::kGauge, sum);
        else if (a == "count")
          add_point(slot, ".count", SeriesType::kRate, n / static_cast<double>(kBucketSeconds));
        ++slot;
      }
      for (const double p : config_.histogram_percentiles) {
        const double pct = std::round(p * 100);
        add_point(slot++, percentile_suffix(p), SeriesType::kGauge,
                  weighted_rank(s, (pct * n - 1) / 100));
      }
      break;
    }
    case Kind::kDistribution: {
      if (!agg.sketch || agg.sketch->empty()) break;
      if (!std::isfinite(agg.sketch->summary().sum) || !std::isfinite(agg.sketch->summary().avg)) {
        drop("overflow", ctx.name);
        break;
      }
      if (sketch_index == SIZE_MAX) {
        SketchSeries ss;
        ss.name = ctx.name;
        ss.tags = ctx.forget ? std::move(ctx.tags) : ctx.tags;  // one sketch series per context
        ss.host = ctx.host;
        sketch_index = out.sketches.size();
        out.sketches.push_back(std::move(ss));
      }
      out.sketches[sketch_index].points.push_back({ts, std::move(*agg.sketch)});
      break;
    }
  }
}

FlushBatch MetricAggregator::collect(FlushScope scope) { return collect(scope, clock_.wall_s()); }

FlushBatch MetricAggregator::collect(FlushScope scope, std::int64_t now_s) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  FlushBatch out;
  std::vector<std::size_t> series_index;
  // Under memory pressure (a quarter of the budget left), a context whose every window is closed
  // is forgotten as it is flushed, its tag strings moved into the output instead of copied: the
  // flush does not double the largest part of what it holds. (As with prune_history, a late `T`
  // sample for such a window then starts again at its first second.)
  const bool pressure = !admits(budget_.total() / 4);
  for (auto cit = contexts_.begin(); cit != contexts_.end();) {
    Context& ctx = **cit;
    if (ctx.buckets.empty()) {
      ++cit;
      continue;
    }
    series_index.clear();
    std::size_t sketch_index = SIZE_MAX;
    const bool rule = uses_timestamp_rule(ctx.kind);
    ctx.forget = pressure && ctx.buckets.rbegin()->first + kBucketSeconds <= now_s;
    for (auto it = ctx.buckets.begin(); it != ctx.buckets.end();) {
      const std::int64_t b = it->first;
      const bool closed = b + kBucketSeconds <= now_s;
      if (scope == FlushScope::kClosedBuckets && !closed) {
        ++it;
        continue;
      }
      std::int64_t ts = b;
      if (rule) {
        std::uint8_t& used = ctx.used_slot(b);
        if (used >= kBucketSeconds - 1 && !closed) {
          ++it;  // only b+9 is left: hold the samples until the window closes (§2.1)
          continue;
        }
        ts = b + used;
        ++used;
      }
      emit(ctx, ts, it->second, out, series_index, sketch_index);
      release(it->second.charged);
      it = ctx.buckets.erase(it);
    }
    if (ctx.buckets.empty()) --live_contexts_;
    if (ctx.forget) {
      recent_.fill(nullptr);
      release(ctx.charged);
      cit = contexts_.erase(cit);
      continue;
    }
    // The submission record grows by a window now and then: its capacity is the context's.
    const std::size_t used_bytes =
        ctx.used.capacity() * sizeof(ctx.used[0]) + (ctx.used.capacity() > 0 ? kAlloc : 0);
    if (used_bytes > ctx.used_charged) {
      charge(used_bytes - ctx.used_charged);
      ctx.charged += used_bytes - ctx.used_charged;
      ctx.used_charged = used_bytes;
    }
    ++cit;
  }
  prune_history(now_s);

  const auto by_context = [](const auto& a, const auto& b) {
    return std::tie(a.name, a.tags, a.host) < std::tie(b.name, b.tags, b.host);
  };
  std::sort(out.series.begin(), out.series.end(), [&](const Series& a, const Series& b) {
    if (by_context(a, b)) return true;
    if (by_context(b, a)) return false;
    return a.type < b.type;
  });
  std::sort(out.sketches.begin(), out.sketches.end(), by_context);
  return out;
}

void MetricAggregator::prune_history(std::int64_t now_s) {
  // Submission records are kept for history_s: enough for forced flushes inside a window and for
  // `T` samples that arrive late by up to that much (datadog-wire.md §2.1), with bounded memory.
  const std::int64_t horizon = now_s - config_.history_s - kBucketSeconds;
  for (auto it = contexts_.begin(); it != contexts_.end();) {
    Context& ctx = **it;
    std::size_t old = 0;
    while (old < ctx.used.size() && ctx.used[old].first < horizon) ++old;
    if (old > 0)
      ctx.used.erase(ctx.used.begin(), ctx.used.begin() + static_cast<std::ptrdiff_t>(old));
    if (ctx.buckets.empty() && ctx.used.empty()) {
      recent_.fill(nullptr);
      release(ctx.charged);
      it = contexts_.erase(it);
    } else {
      ++it;
    }
  }
  // Bound the memory of contexts kept only for their submission record: beyond four times the
  // live limit, forget the records of closed windows (late `T` samples for them then start at b).
  // The same when a quarter of the memory budget is all that is left: live data comes first.
  if (contexts_.size() > 4 * config_.max_contexts || !admits(budget_.total() / 4)) {
    for (auto it = contexts_.begin(); it != contexts_.end();) {
      Context& ctx = **it;
      if (ctx.buckets.empty() && !ctx.used.empty() &&
          ctx.used.back().first + kBucketSeconds <= now_s) {
        recent_.fill(nullptr);
        release(ctx.charged);
        it = contexts_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

namespace {

// What a series holds in strings and points (the bulk of a large flush), for slicing.
std::size_t held_bytes(const Series& s) {
  std::size_t n = sizeof(Series) + s.name.size() + s.host.size() + s.points.size() * 16;
  for (const auto& t : s.tags) n += sizeof(std::string) + t.size();
  return n;
}
std::size_t held_bytes(const SketchSeries& s) {
  std::size_t n = sizeof(SketchSeries) + s.name.size() + s.host.size();
  for (const auto& t : s.tags) n += sizeof(std::string) + t.size();
  for (const auto& p : s.points) n += sizeof(SketchPoint) + p.sketch.heap_bytes();
  return n;
}

// Encodes `items` in slices of about `slice_bytes`, each slice freed (and its pages handed back)
// once encoded: a flush larger than one payload does not hold all of its input and all of its
// output at once (lambda-agent.md §6.4). A flush within one slice is encoded in one call, as
// before; a larger one may take one more payload per slice.
template <typename Item, typename Encode>
void encode_in_slices(std::vector<Item>& items, std::size_t slice_bytes, Encode encode,
                      std::vector<Payload>& out) {
  std::size_t start = 0;
  while (start < items.size()) {
    std::size_t end = start, bytes = 0;
    while (end < items.size() && (end == start || bytes + held_bytes(items[end]) <= slice_bytes)) {
      bytes += held_bytes(items[end++]);
    }
    if (start == 0 && end == items.size()) {
      for (auto& p : encode(items)) out.push_back(std::move(p));
      return;
    }
    {
      const std::vector<Item> slice(
          std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(start)),
          std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
      for (auto& p : encode(slice)) out.push_back(std::move(p));
    }
#if defined(__GLIBC__)
    malloc_trim(0);  // the slice's strings were many small blocks: return their pages now
#endif
    start = end;
  }
}

}  // namespace

std::vector<Payload> MetricAggregator::flush(FlushScope scope) {
  const std::int64_t now_s = clock_.wall_s();
  FlushBatch batch = collect(scope, now_s);
  std::vector<Payload> out;
  if (config_.series_format == SeriesFormat::kV2Protobuf) {
    encode_in_slices(
        batch.series, config_.limits.series_v2_bytes,
        [&](const std::vector<Series>& s) { return series_encoder_.encode_v2(s, now_s); }, out);
  } else {
    if (config_.sketch_output == SketchOutput::kV1SeriesFallback) {
      for (const auto& sk : batch.sketches) {
        for (auto& s : sketch_fallback_series(sk)) batch.series.push_back(std::move(s));
      }
      batch.sketches.clear();
    }
    encode_in_slices(
        batch.series, config_.limits.series_v1_bytes,
        [&](const std::vector<Series>& s) { return series_encoder_.encode_v1(s, now_s); }, out);
  }
  if (!batch.sketches.empty()) {
    if (config_.sketch_output == SketchOutput::kDrop) {
      if (!no_sketch_logged_) {
        no_sketch_logged_ = true;
        LC_WARN(
            "metrics: distributions are dropped: v1 series selected and "
            "LASTCALL_SKETCH_FALLBACK=drop");
      }
      std::uint64_t n = 0;
      for (const auto& sk : batch.sketches) n += sk.points.size();
      self_.dropped(SeriesEncoder::kDropKind, "no_sketch_endpoint", n);
    } else {
      encode_in_slices(
          batch.sketches, config_.limits.sketch_bytes,
          [&](const std::vector<SketchSeries>& s) { return sketch_encoder_.encode(s, now_s); },
          out);
    }
  }
  return out;
}

}  // namespace lc::metrics
