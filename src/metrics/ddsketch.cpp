#include "metrics/ddsketch.h"

#include <algorithm>
#include <cmath>

namespace lc::metrics {

namespace {
const double kGamma = 1.0 + 2.0 / 128.0;
const double kLnGamma = std::log1p(2.0 / 128.0);
const double kNormMin = std::pow(kGamma, 1.0 - DDSketch::kBias);

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
  std::uint64_t t = 0;
  for (const auto& b : bins()) t += b.n;
  return t;
}

std::size_t DDSketch::key_count() const {
  flush_pending();
  return keys_.size();
}

bool DDSketch::holds(double v) const {
  const std::int32_t k = key(v);
  if (static_cast<std::uint32_t>(k - dense_lo_) < dense_.size()) return true;
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), k,
                                   [](const KeyCount& e, std::int32_t x) { return e.k < x; });
  return it != keys_.end() && it->k == k;
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
  // Outside the window: widen it while the span stays small, else count straight into the keys.
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
  std::size_t fresh = 0;  // window keys not in keys_ yet (an upper bound: keys_ may hold some)
  for (const std::uint32_t c : dense_) fresh += c != 0 ? 1 : 0;
  std::vector<KeyCount> out;
  out.reserve(std::min(keys_.size() + fresh, kBinLimit + fresh));
  std::size_t i = 0;
  const auto n = static_cast<std::int32_t>(dense_.size());
  for (std::int32_t d = 0; d < n; ++d) {
    const std::uint32_t c = dense_[static_cast<std::size_t>(d)];
    if (c == 0) continue;
    dense_[static_cast<std::size_t>(d)] = 0;
    const std::int32_t k = dense_lo_ + d;
    while (i < keys_.size() && keys_[i].k < k) out.push_back(keys_[i++]);
    if (i < keys_.size() && keys_[i].k == k) {
      out.push_back({keys_[i].k, keys_[i].n + c});
      ++i;
    } else {
      out.push_back({static_cast<std::int16_t>(k), c});
    }
  }
  out.insert(out.end(), keys_.begin() + static_cast<std::ptrdiff_t>(i), keys_.end());
  keys_ = std::move(out);
  limit_keys();
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
  const std::int32_t k = key(v);
  const auto offset = static_cast<std::uint32_t>(k - dense_lo_);
  if (offset < dense_.size() && dense_[offset] <= 0xffffffffu - tn) {
    dense_[offset] += static_cast<std::uint32_t>(tn);
    dense_dirty_ = true;
    return;
  }
  add_to_key(static_cast<std::int16_t>(k), static_cast<std::uint64_t>(tn));
}

void DDSketch::add_to_key(std::int16_t k, std::uint64_t count) const {
  auto it = std::lower_bound(keys_.begin(), keys_.end(), k,
                             [](const KeyCount& e, std::int16_t x) { return e.k < x; });
  if (it != keys_.end() && it->k == k) {
    it->n += count;
    return;
  }
  keys_.insert(it, KeyCount{k, count});
  if (keys_.size() > kBinLimit) limit_keys();
}

void DDSketch::limit_keys() const {
  // The Agent's trim, on keys: the lowest keys collapse into the lowest one kept. Order of inserts
  // does not matter (the kept keys are always the kBinLimit highest seen).
  if (keys_.size() <= kBinLimit) return;
  const std::size_t m = keys_.size() - kBinLimit;
  std::uint64_t missing = 0;
  for (std::size_t i = 0; i < m; ++i) missing += keys_[i].n;
  keys_[m].n += missing;
  keys_.erase(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(m));
}

std::vector<SketchBin> DDSketch::bins() const {
  flush_pending();
  std::vector<SketchBin> out;
  if (keys_.empty()) return out;
  const std::size_t nk = keys_.size();
  std::uint64_t total = 0;
  for (const auto& e : keys_) total += e.n;
  const auto bins_for = [](std::uint64_t c) -> std::uint64_t {
    return (c + DDSketch::kMaxBinCount - 1) / DDSketch::kMaxBinCount;
  };
  // Counts as laid out: scaled down when no kBinLimit u16 bins could carry the total.
  std::vector<std::uint64_t> scaled;
  constexpr std::uint64_t kCapacity = kBinLimit * kMaxBinCount;
  if (total > kCapacity) {
    const double scale = static_cast<double>(kCapacity) / 2.0 / static_cast<double>(total);
    scaled.resize(nk);
    for (std::size_t i = 0; i < nk; ++i) {
      const auto c = static_cast<std::uint64_t>(static_cast<double>(keys_[i].n) * scale);
      scaled[i] = std::max<std::uint64_t>(1, c);
    }
  }
  const auto count = [&](std::size_t i) { return scaled.empty() ? keys_[i].n : scaled[i]; };
  // The lowest floor index f such that keys ≤ f collapsed into key f, with the u16 rule, fit.
  std::uint64_t above = 0;  // bins of keys above f
  for (std::size_t i = 1; i < nk; ++i) above += bins_for(count(i));
  std::size_t f = 0;
  std::uint64_t floor_total = count(0);
  while (f + 1 < nk && bins_for(floor_total) + above > kBinLimit) {
    ++f;
    floor_total += count(f);
    above -= bins_for(count(f));
  }
  out.reserve(
      static_cast<std::size_t>(std::min<std::uint64_t>(bins_for(floor_total) + above, kBinLimit)));
  append_bins(out, keys_[f].k, floor_total);
  for (std::size_t i = f + 1; i < nk; ++i) append_bins(out, keys_[i].k, count(i));
  return out;
}

void DDSketch::merge(const DDSketch& other) {
  other.flush_pending();
  flush_pending();
  if (other.summary_.cnt == 0 && other.keys_.empty()) return;
  summary_.merge(other.summary_);
  std::vector<KeyCount> out;
  out.reserve(keys_.size() + other.keys_.size());
  std::size_t i = 0, j = 0;
  while (i < keys_.size() || j < other.keys_.size()) {
    if (j >= other.keys_.size() || (i < keys_.size() && keys_[i].k < other.keys_[j].k)) {
      out.push_back(keys_[i++]);
    } else if (i >= keys_.size() || other.keys_[j].k < keys_[i].k) {
      out.push_back(other.keys_[j++]);
    } else {
      out.push_back({keys_[i].k, keys_[i].n + other.keys_[j].n});
      ++i;
      ++j;
    }
  }
  keys_ = std::move(out);
  limit_keys();
}

double DDSketch::quantile(double q) const {
  flush_pending();
  std::uint64_t n = 0;
  for (const auto& e : keys_) n += e.n;
  if (n == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = std::nearbyint(q * static_cast<double>(n - 1));
  std::uint64_t cum = 0;
  for (const auto& e : keys_) {
    cum += e.n;
    if (static_cast<double>(cum) > rank) {
      if (e.k == 0) return 0;
      const double lo = std::fabs(lower_bound(e.k));
      const double hi = std::fabs(upper_bound(e.k));
      const double est = 2 * lo * hi / (lo + hi);
      return e.k < 0 ? -est : est;
    }
  }
  return summary_.max;
}

}  // namespace lc::metrics
