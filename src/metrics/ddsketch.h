// metrics/ddsketch.h — DDSketch exactly as the Datadog Agent builds it (datadog-wire.md §3):
// γ = 1 + 2/128, key = roundHalfEven(ln v / ln γ) + 1338, uint16 bins with the overflow rule, and a
// 4096-bin limit that collapses the lowest bins. Used by MetricAggregator for `d` samples (and for
// histograms past their exact-sample cap) and by the sketch encoder. Owns its counts and summary;
// a plain value type, not thread-safe.
//
// While building, the sketch keeps one 64-bit count per key (at most kBinLimit keys; lower keys
// collapse into the lowest kept one, which is what the Agent's trim converges to). The u16
// overflow rule and the bin limit are applied by bins(), when the sketch is encoded: a weighted
// insert costs O(log keys) whatever its weight, and the encoded bins never exceed kBinLimit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lc::metrics {

struct SketchBin {
  std::int16_t k = 0;
  std::uint16_t n = 0;
  bool operator==(const SketchBin&) const = default;
};

struct SketchSummary {
  std::int64_t cnt = 0;
  double min = 0, max = 0, sum = 0, avg = 0;
  // s ← s ⊕ o (§3.4).
  void merge(const SketchSummary& o);
};

class DDSketch {
 public:
  static constexpr int kBias = 1338;
  static constexpr int kMaxKey = 32766;
  static constexpr int kInfKey = 32767;
  static constexpr std::size_t kBinLimit = 4096;
  static constexpr std::uint32_t kMaxBinCount = 65535;

  static double gamma();     // 1.015625
  static double ln_gamma();  // log1p(2/128)
  static double norm_min();  // γ^(1 − bias), the smallest value with a non-zero key

  // The Agent's key of a value (§3.2).
  static std::int16_t key(double v);
  // Bounds [L, U] of the values that map to key k (k > 0): γ^(k−bias∓0.5).
  static double lower_bound(std::int16_t k);
  static double upper_bound(std::int16_t k);

  void insert(double v);
  // Sample-rate weighted insert, n = 1/rate ≥ 1: the key gets trunc(n), the summary cnt trunc(n)
  // and sum n·v (§3.3 — the mismatch is the Agent's).
  void insert(double v, double n);
  void merge(const DDSketch& other);

  // Estimate of quantile q in [0, 1] from the per-key counts (the §3.1 quantile check); 0 when
  // empty.
  double quantile(double q) const;

  bool empty() const { return summary_.cnt == 0; }
  const SketchSummary& summary() const { return summary_; }
  // The bins as encoded (§3.5): ascending keys, the u16 overflow rule, at most kBinLimit bins
  // (the lowest keys collapse upward until they fit). A total above kBinLimit·65535 is first
  // scaled down proportionally (every key keeps at least 1): no u16 layout can carry it, and
  // the quantiles the intake reads are those of the proportions; cnt/sum/min/max stay exact in
  // the summary.
  std::vector<SketchBin> bins() const;
  std::uint64_t bin_total() const;  // of bins()

  // What a key not yet held costs, amortized (the entry and its share of the vector's growth).
  static constexpr std::size_t kNewKeyBytes = 64;
  // Whether inserting v needs no new memory (its key is already counted or in the dense window).
  bool holds(double v) const;
  std::size_t key_count() const;
  // Heap bytes held (capacities), for the memory budget.
  std::size_t heap_bytes() const {
    return keys_.capacity() * sizeof(KeyCount) + dense_.capacity() * sizeof(std::uint32_t);
  }

 private:
  struct KeyCount {
    std::int16_t k = 0;
    std::uint64_t n = 0;
  };
  // Unit inserts count into a small dense window of keys first (one increment instead of a
  // search); the window is folded into keys_ before any read. At most kDenseKeys counters.
  static constexpr std::int32_t kDenseKeys = 512;
  void flush_pending() const;
  void add_to_key(std::int16_t k, std::uint64_t count) const;
  void limit_keys() const;

  SketchSummary summary_;
  mutable std::vector<KeyCount> keys_;  // ascending, unique, at most kBinLimit
  mutable std::vector<std::uint32_t> dense_;
  mutable std::int32_t dense_lo_ = 0;  // key of dense_[0]
  mutable bool dense_dirty_ = false;
};

// Appends bins for key k holding `total`: the remainder bin first (if non-zero), then full bins.
void append_bins(std::vector<SketchBin>& out, std::int16_t k, std::uint64_t total);

}  // namespace lc::metrics
