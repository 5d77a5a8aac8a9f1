#include "metrics/ddsketch.h"

#include <algorithm>
#include <cmath>

namespace lc::metrics {

namespace {
const double kGamma = 1.0 + 2.0 / 128.0;
const double kLnGamma = std::log1p(2.0 / 128.0);
const double kNormMin = std::pow(kGamma, 1.0 - DDSketch::kBias);

struct KeyLess {
  bool operator()(const SketchBin& b, std::int16_t k) const { return b.k < k; }
  bool operator()(std::int16_t k, const SketchBin& b) const { return k < b.k; }
};
}  // namespace

void SketchSummary::merge(const SketchSummary& o) {
  if (o.cnt == 0) return;
  if (cnt == 0) {
    *this = o;
    return;
  }
  max = std::max(max, o.max);
  min = std::min(min, o.min);
  cnt += o.cnt;
  sum += o.sum;
  avg = avg + (o.avg - avg) * static_cast<double>(o.cnt) / static_cast<double>(cnt);
}

double DDSketch::gamma() { return kGamma; }
double DDSketch::ln_gamma() { return kLnGamma; }
double DDSketch::norm_min() { return kNormMin; }

std::int16_t DDSketch::key(double v) {
  if (v < 0) return static_cast<std::int16_t>(-key(-v));
  if (v == 0 || v < kNormMin || std::isnan(v)) return 0;
  // Round half to even under the default rounding mode (Go math.RoundToEven).
  const double r = std::nearbyint(std::log(v) / kLnGamma) + kBias;
  if (!(r < kInfKey)) return kInfKey;  // > maxKey (and +Inf) → the +Inf key
  if (r < 1) return 1;
  return static_cast<std::int16_t>(r);
}

double DDSketch::lower_bound(std::int16_t k) {
  if (k == 0) return 0;
  if (k < 0) return -upper_bound(static_cast<std::int16_t>(-k));
  return std::pow(kGamma, static_cast<double>(k - kBias) - 0.5);
}

double DDSketch::upper_bound(std::int16_t k) {
  if (k == 0) return 0;
  if (k < 0) return -lower_bound(static_cast<std::int16_t>(-k));
  return std::pow(kGamma, static_cast<double>(k - kBias) + 0.5);
}

void append_bins(std::vector<SketchBin>& out, std::int16_t k, std::uint64_t total) {
  const std::uint64_t rem = total % DDSketch::kMaxBinCount;
  if (rem != 0) out.push_back({k, static_cast<std::uint16_t>(rem)});
  for (std::uint64_t i = total / DDSketch::kMaxBinCount; i > 0; --i) {
    out.push_back({k, static_cast<std::uint16_t>(DDSketch::kMaxBinCount)});
  }
}

std::uint64_t DDSketch::bin_total() const {
  flush_pending();
  std::uint64_t t = 0;
  for (const auto& b : bins_) t += b.n;
  return t;
}

void DDSketch::insert(double v) {
  summary_.cnt += 1;
  if (summary_.cnt == 1 || v > summary_.max) summary_.max = v;
  if (summary_.cnt == 1 || v < summary_.min) summary_.min = v;
  summary_.sum += v;
  summary_.avg += (v - summary_.avg) / static_cast<double>(summary_.cnt);
  const std::int32_t k = key(v);
  const auto offset = static_cast<std::uint32_t>(k - dense_lo_);  // wraps when k < dense_lo_
  if (offset < dense_.size()) {
    if (dense_[offset] == 0xffffffffu) flush_pending();  // zeroes the window
    ++dense_[offset];
    dense_dirty_ = true;
    return;
  }
  // Outside the window: widen it while the span stays small, else count straight into the bins.
  const std::int32_t lo = dense_.empty() ? k : std::min(dense_lo_, k);
  const std::int32_t hi =
      dense_.empty() ? k : std::max(dense_lo_ + static_cast<std::int32_t>(dense_.size()) - 1, k);
  if (!dense_.empty() && hi - lo + 1 > kDenseKeys) {
    add_to_key(static_cast<std::int16_t>(k), 1);
    return;
  }
  if (dense_.empty()) {
    dense_lo_ = std::max<std::int32_t>(k - 16, -kInfKey);
    dense_.assign(64, 0);
  } else {
    // Grow with some slack on the side that needed it, never beyond kDenseKeys.
    const std::int32_t new_lo = k < dense_lo_ ? std::max(lo - 16, hi - kDenseKeys + 1) : dense_lo_;
    const std::int32_t new_hi = k < dense_lo_ ? hi : std::min(hi + 16, new_lo + kDenseKeys - 1);
    std::vector<std::uint32_t> grown(static_cast<std::size_t>(new_hi - new_lo + 1), 0);
    for (std::size_t i = 0; i < dense_.size(); ++i) {
      grown[static_cast<std::size_t>(dense_lo_ - new_lo) + i] = dense_[i];
    }
    dense_ = std::move(grown);
    dense_lo_ = new_lo;
  }
  ++dense_[static_cast<std::size_t>(k - dense_lo_)];
  dense_dirty_ = true;
}

void DDSketch::flush_pending() const {
  if (!dense_dirty_) return;
  dense_dirty_ = false;
  std::vector<SketchBin> out;
  out.reserve(bins_.size() + dense_.size());
  std::size_t i = 0;
  const auto n = static_cast<std::int32_t>(dense_.size());
  for (std::int32_t d = 0; d <= n; ++d) {
    // Keys of bins_ below the next dense key (or all remaining at the end) pass through.
    const std::int32_t k = d < n ? dense_lo_ + d : kInfKey + 1;
    if (d < n && dense_[static_cast<std::size_t>(d)] == 0) continue;
    while (i < bins_.size() && bins_[i].k < k) out.push_back(bins_[i++]);
    if (d == n) break;
    std::uint64_t total = dense_[static_cast<std::size_t>(d)];
    dense_[static_cast<std::size_t>(d)] = 0;
    while (i < bins_.size() && bins_[i].k == k) total += bins_[i++].n;
    append_bins(out, static_cast<std::int16_t>(k), total);
  }
  bins_ = std::move(out);
  trim_left();
}

void DDSketch::insert(double v, double n) {
  if (!(n > 1.0)) {
    insert(v);
    return;
  }
  // n ≤ 1/min-rate; a rate parsed from a datagram is > 0, so trunc(n) fits easily.
  const double tn = std::trunc(std::min(n, 1e15));
  SketchSummary s;
  s.cnt = static_cast<std::int64_t>(tn);
  s.sum = n * v;
  s.min = s.max = s.avg = v;
  summary_.merge(s);
  flush_pending();
  add_to_key(key(v), static_cast<std::uint64_t>(tn));
}

void DDSketch::add_to_key(std::int16_t k, std::uint64_t count) const {
  auto [lo, hi] = std::equal_range(bins_.begin(), bins_.end(), k, KeyLess{});
  if (lo != hi && lo->n + count < kMaxBinCount) {
    // lo is the remainder bin (or the only bin) of k: the layout stays the same.
    lo->n = static_cast<std::uint16_t>(lo->n + count);
    return;
  }
  std::uint64_t total = count;
  for (auto it = lo; it != hi; ++it) total += it->n;
  const auto pos = lo - bins_.begin();
  bins_.erase(lo, hi);
  SketchBin tmp[4];
  std::size_t ntmp = 0;
  if (total <= 3ULL * kMaxBinCount) {
    const std::uint64_t rem = total % kMaxBinCount;
    if (rem != 0) tmp[ntmp++] = {k, static_cast<std::uint16_t>(rem)};
    for (std::uint64_t i = total / kMaxBinCount; i > 0; --i) {
      tmp[ntmp++] = {k, static_cast<std::uint16_t>(kMaxBinCount)};
    }
    bins_.insert(bins_.begin() + pos, tmp, tmp + ntmp);
  } else {
    std::vector<SketchBin> more;
    append_bins(more, k, total);
    bins_.insert(bins_.begin() + pos, more.begin(), more.end());
  }
  if (bins_.size() > kBinLimit) trim_left();
}

void DDSketch::trim_left() const {
  if (bins_.size() <= kBinLimit) return;
  const std::size_t m = bins_.size() - kBinLimit;
  std::uint64_t missing = 0;
  for (std::size_t i = 0; i <= m; ++i) missing += bins_[i].n;
  if (missing <= kMaxBinCount) {  // the usual case: one bin, done in place
    bins_[m].n = static_cast<std::uint16_t>(missing);
    bins_.erase(bins_.begin(), bins_.begin() + static_cast<std::ptrdiff_t>(m));
    return;
  }
  std::vector<SketchBin> out;
  out.reserve(bins_.size() - m + missing / kMaxBinCount + 1);
  append_bins(out, bins_[m].k, missing);
  out.insert(out.end(), bins_.begin() + static_cast<std::ptrdiff_t>(m) + 1, bins_.end());
  bins_ = std::move(out);
}

void DDSketch::merge(const DDSketch& other) {
  other.flush_pending();
  flush_pending();
  if (other.summary_.cnt == 0 && other.bins_.empty()) return;
  summary_.merge(other.summary_);
  std::vector<SketchBin> out;
  out.reserve(bins_.size() + other.bins_.size());
  std::size_t i = 0, j = 0;
  while (i < bins_.size() || j < other.bins_.size()) {
    std::int16_t k;
    if (j >= other.bins_.size() || (i < bins_.size() && bins_[i].k < other.bins_[j].k)) {
      k = bins_[i].k;
    } else {
      k = other.bins_[j].k;
    }
    std::uint64_t total = 0;
    while (i < bins_.size() && bins_[i].k == k) total += bins_[i++].n;
    while (j < other.bins_.size() && other.bins_[j].k == k) total += other.bins_[j++].n;
    append_bins(out, k, total);
  }
  bins_ = std::move(out);
  trim_left();
}

double DDSketch::quantile(double q) const {
  flush_pending();
  const std::uint64_t n = bin_total();
  if (n == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = std::nearbyint(q * static_cast<double>(n - 1));
  std::uint64_t cum = 0;
  for (const auto& b : bins_) {
    cum += b.n;
    if (static_cast<double>(cum) > rank) {
      if (b.k == 0) return 0;
      const double lo = std::fabs(lower_bound(b.k));
      const double hi = std::fabs(upper_bound(b.k));
      const double est = 2 * lo * hi / (lo + hi);
      return b.k < 0 ? -est : est;
    }
  }
  return summary_.max;
}

}  // namespace lc::metrics
