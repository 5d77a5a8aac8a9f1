// DDSketch against datadog-wire.md §3: the key table, insertion (unit, weighted, u16 overflow),
// the 4096-bin trim, merge, and the §3.1 quantile guarantee on 1M heavy-tailed samples.
#include "metrics/ddsketch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace lc::metrics {
namespace {

using ::testing::ElementsAre;

std::vector<int> keys_of(const DDSketch& s) {
  std::vector<int> out;
  for (const auto& b : s.bins()) out.push_back(b.k);
  return out;
}
std::vector<unsigned> counts_of(const DDSketch& s) {
  std::vector<unsigned> out;
  for (const auto& b : s.bins()) out.push_back(b.n);
  return out;
}

TEST(DDSketchTest, Parameters) {
  EXPECT_EQ(DDSketch::gamma(), 1.015625);
  EXPECT_DOUBLE_EQ(DDSketch::ln_gamma(), 0.015504186535965254);
  EXPECT_NEAR(DDSketch::norm_min(), 9.94185e-10, 1e-15);
}

TEST(DDSketchTest, KeyTable) {  // §3.2
  EXPECT_EQ(DDSketch::key(1e-10), 0);
  EXPECT_EQ(DDSketch::key(0), 0);
  EXPECT_EQ(DDSketch::key(1e-9), 1);
  EXPECT_EQ(DDSketch::key(0.001), 892);
  EXPECT_EQ(DDSketch::key(0.25), 1249);
  EXPECT_EQ(DDSketch::key(0.5), 1293);
  EXPECT_EQ(DDSketch::key(1), 1338);
  EXPECT_EQ(DDSketch::key(2), 1383);
  EXPECT_EQ(DDSketch::key(3), 1409);
  EXPECT_EQ(DDSketch::key(5), 1442);
  EXPECT_EQ(DDSketch::key(10), 1487);
  EXPECT_EQ(DDSketch::key(12.5), 1501);
  EXPECT_EQ(DDSketch::key(33), 1564);
  EXPECT_EQ(DDSketch::key(100), 1635);
  EXPECT_EQ(DDSketch::key(120), 1647);
  EXPECT_EQ(DDSketch::key(1000), 1784);
  EXPECT_EQ(DDSketch::key(-1), -1338);
  EXPECT_EQ(DDSketch::key(-5), -1442);
  EXPECT_EQ(DDSketch::key(-1e-10), 0);
}

TEST(DDSketchTest, KeyClamps) {
  EXPECT_EQ(DDSketch::key(1e300), 32767);  // beyond the max finite key → +Inf key
  EXPECT_EQ(DDSketch::key(-1e300), -32767);
  EXPECT_EQ(DDSketch::key(std::pow(DDSketch::gamma(), 32766 - 1338)), 32766);
  EXPECT_EQ(DDSketch::key(std::pow(DDSketch::gamma(), 32767 - 1338)), 32767);
  EXPECT_EQ(DDSketch::key(DDSketch::norm_min()), 1);
}

TEST(DDSketchTest, RepresentativeIsNearestOnLogScale) {
  for (int k : {1249, 1338, 1409, 1784}) {
    const double rep = std::pow(DDSketch::gamma(), k - DDSketch::kBias);
    EXPECT_EQ(DDSketch::key(rep), k);
    EXPECT_EQ(DDSketch::key(DDSketch::lower_bound(static_cast<std::int16_t>(k)) * 1.0000001), k);
    EXPECT_EQ(DDSketch::key(DDSketch::upper_bound(static_cast<std::int16_t>(k)) * 0.9999999), k);
  }
}

TEST(DDSketchTest, WorkedExampleG7) {  // 1, 2, 3 then 3 @0.5
  DDSketch s;
  s.insert(1);
  s.insert(2);
  s.insert(3);
  s.insert(3, 2.0);
  EXPECT_EQ(s.summary().cnt, 5);
  EXPECT_EQ(s.summary().min, 1);
  EXPECT_EQ(s.summary().max, 3);
  EXPECT_EQ(s.summary().sum, 12);
  EXPECT_DOUBLE_EQ(s.summary().avg, 2.4);
  EXPECT_THAT(keys_of(s), ElementsAre(1338, 1383, 1409));
  EXPECT_THAT(counts_of(s), ElementsAre(1, 1, 3));
}

TEST(DDSketchTest, WeightedInsertTruncatesBinCountButNotSum) {
  DDSketch s;
  s.insert(2, 1.0 / 0.3);  // n = 3.333…
  EXPECT_EQ(s.summary().cnt, 3);
  EXPECT_DOUBLE_EQ(s.summary().sum, 2.0 / 0.3);
  EXPECT_THAT(counts_of(s), ElementsAre(3));
}

TEST(DDSketchTest, NegativeAndZeroG9) {
  DDSketch s;
  for (double v : {-5.0, 0.0, 5.0}) s.insert(v);
  EXPECT_EQ(s.summary().cnt, 3);
  EXPECT_EQ(s.summary().min, -5);
  EXPECT_EQ(s.summary().max, 5);
  EXPECT_EQ(s.summary().sum, 0);
  EXPECT_EQ(s.summary().avg, 0);
  EXPECT_THAT(keys_of(s), ElementsAre(-1442, 0, 1442));
  EXPECT_THAT(counts_of(s), ElementsAre(1, 1, 1));
}

TEST(DDSketchTest, U16OverflowG11) {
  DDSketch s;
  for (int i = 0; i < 70000; ++i) s.insert(1);
  EXPECT_EQ(s.summary().cnt, 70000);
  EXPECT_EQ(s.summary().sum, 70000);
  EXPECT_EQ(s.summary().avg, 1);
  EXPECT_THAT(keys_of(s), ElementsAre(1338, 1338));
  EXPECT_THAT(counts_of(s), ElementsAre(4465, 65535));
}

TEST(DDSketchTest, U16OverflowExactMultipleAndWeighted) {
  DDSketch s;
  s.insert(1, 65535.0 * 2);
  EXPECT_THAT(counts_of(s), ElementsAre(65535, 65535));
  s.insert(1);
  EXPECT_THAT(counts_of(s), ElementsAre(1, 65535, 65535));
  s.insert(2);
  EXPECT_THAT(keys_of(s), ElementsAre(1338, 1338, 1338, 1383));
}

TEST(DDSketchTest, TrimLeftCollapsesLowestBins) {
  DDSketch s;
  // 4100 distinct keys: values γ^(i) for i in [0, 4100).
  for (int i = 0; i < 4100; ++i) s.insert(std::pow(DDSketch::gamma(), i));
  ASSERT_EQ(s.bins().size(), DDSketch::kBinLimit);
  // The 5 lowest keys (1338..1342) collapse into the lowest remaining one (1342).
  EXPECT_EQ(s.bins().front().k, 1342);
  EXPECT_EQ(s.bins().front().n, 5);
  EXPECT_EQ(s.bins().back().k, 1338 + 4099);
  EXPECT_EQ(s.bin_total(), 4100u);
  EXPECT_EQ(s.summary().cnt, 4100);
  EXPECT_EQ(s.summary().min, 1);
}

TEST(DDSketchTest, MergeSumsBinsAndSummaries) {
  DDSketch a, b;
  a.insert(1);
  a.insert(2);
  b.insert(2);
  b.insert(3, 2.0);
  a.merge(b);
  EXPECT_THAT(keys_of(a), ElementsAre(1338, 1383, 1409));
  EXPECT_THAT(counts_of(a), ElementsAre(1, 2, 2));
  EXPECT_EQ(a.summary().cnt, 5);
  EXPECT_EQ(a.summary().sum, 11);
  EXPECT_EQ(a.summary().min, 1);
  EXPECT_EQ(a.summary().max, 3);
  // avg = 1.5 + (2.666… − 1.5)·3/5
  EXPECT_DOUBLE_EQ(a.summary().avg, 1.5 + (8.0 / 3.0 - 1.5) * 3.0 / 5.0);
  DDSketch empty;
  a.merge(empty);
  EXPECT_EQ(a.summary().cnt, 5);
  empty.merge(a);
  EXPECT_EQ(empty.bins(), a.bins());
}

TEST(DDSketchTest, MergeOverflowAndTrimOf4096Bins) {
  DDSketch a, b;
  for (int i = 0; i < 4096; ++i) {
    a.insert(std::pow(DDSketch::gamma(), i), 40000);
    b.insert(std::pow(DDSketch::gamma(), i + 10), 40000);
  }
  a.merge(b);
  // Keys 1338..5443 after the merge; the 10 lowest collapse into 1348 while building (4096 keys
  // kept). The total 2·4096·40000 exceeds what 4096 u16 bins can carry (4096·65535), so the
  // encoded counts are scaled to half that capacity, then the lowest keys collapse until the
  // u16 layout fits in 4096 bins.
  EXPECT_EQ(a.key_count(), 4096u);
  EXPECT_EQ(a.summary().cnt, 2LL * 4096 * 40000);
  const auto bins = a.bins();
  EXPECT_LE(bins.size(), DDSketch::kBinLimit);
  EXPECT_EQ(bins.back().k, 1338 + 4105);
  EXPECT_TRUE(std::is_sorted(bins.begin(), bins.end(),
                             [](const SketchBin& x, const SketchBin& y) { return x.k < y.k; }));
  const std::uint64_t half = DDSketch::kBinLimit * DDSketch::kMaxBinCount / 2;
  EXPECT_LE(a.bin_total(), half);
  EXPECT_GE(a.bin_total(), half - 4096);
  // The proportions hold: the median stays within the §3.1 bound.
  EXPECT_NEAR(a.quantile(0.5) / std::pow(DDSketch::gamma(), 2053), 1.0, 0.008);
}

TEST(DDSketchTest, EncodedBinsNeverExceedTheLimit) {
  // 3000 keys, each just over one u16 bin: the u16 layout alone would need 6000 bins. The lowest
  // keys collapse (the floor key takes their counts with the u16 rule) until 4096 bins remain:
  // keys ≤ 1338+1904 into one key of 1905·65536 (1906 bins), then 1095 keys of 2 bins each.
  DDSketch s;
  for (int i = 0; i < 3000; ++i) s.insert(std::pow(DDSketch::gamma(), i), 65536);
  const auto bins = s.bins();
  EXPECT_EQ(bins.size(), DDSketch::kBinLimit);
  EXPECT_EQ(s.bin_total(), 3000u * 65536u);
  EXPECT_EQ(bins.front().k, 1338 + 1904);
  EXPECT_EQ(bins[1906].k, 1338 + 1905);
  EXPECT_EQ(bins.back().k, 1338 + 2999);
  EXPECT_EQ(bins.back().n, 65535);
  // The layout above the floor key is untouched: remainder bin then the full one.
  EXPECT_EQ(bins[bins.size() - 2], (SketchBin{1338 + 2999, 1}));
}

TEST(DDSketchTest, TinySampleRateIsOneCountPerKey) {
  // The loop stall input: 10 datagrams × 4 KB of `@0.000001` samples (weight 10⁶ each), packed
  // values over a few keys. One count per key while building; the u16 layout and the limit
  // only when encoding.
  DDSketch s;
  std::uint64_t n = 0;
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double v = 1 + i % 7;
    s.insert(v, 1e6);
    ++n;
    sum += 1e6 * v;
  }
  EXPECT_EQ(s.key_count(), 7u);
  EXPECT_EQ(s.summary().cnt, static_cast<std::int64_t>(n) * 1000000);
  EXPECT_EQ(s.summary().sum, sum);
  EXPECT_EQ(s.summary().min, 1);
  EXPECT_EQ(s.summary().max, 7);
  const auto bins = s.bins();
  EXPECT_LE(bins.size(), DDSketch::kBinLimit);
  EXPECT_GE(bins.size(), 2000u);  // scaled to half the u16 capacity, proportionally
  EXPECT_NEAR(s.quantile(0.5) / 4.0, 1.0, 0.008);
}

TEST(DDSketchTest, BinsMatchAKeyCountReferenceUnderAnyInsertOrder) {
  // Values over 26 decades (wider than the internal counting window), negatives and zeros,
  // with reads interleaved: the bins must equal the per-key totals laid out by the u16 rule.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> exp10(-9, 17);
  std::uniform_int_distribution<int> pick(0, 99);
  DDSketch s;
  std::map<int, std::uint64_t> expected;
  for (int i = 0; i < 200000; ++i) {
    double v = std::pow(10.0, exp10(rng));
    const int p = pick(rng);
    if (p < 10) v = -v;
    if (p == 10) v = 0;
    if (p < 50) v = std::pow(10.0, 2 + exp10(rng) / 100);  // a hot, narrow range
    s.insert(v);
    expected[DDSketch::key(v)] += 1;
    if (i % 50000 == 0) (void)s.bins();
  }
  std::vector<SketchBin> want;
  for (const auto& [k, n] : expected) append_bins(want, static_cast<std::int16_t>(k), n);
  ASSERT_LE(want.size(), DDSketch::kBinLimit);
  EXPECT_EQ(s.bins(), want);
  EXPECT_EQ(s.bin_total(), 200000u);
}

// §3.1 quantile check over 1M samples of heavy-tailed distributions.
void check_quantiles(std::vector<double> values) {
  DDSketch s;
  for (double v : values) s.insert(v);
  std::sort(values.begin(), values.end());
  const double bound = (DDSketch::gamma() - 1) / (DDSketch::gamma() + 1);
  const double n = static_cast<double>(values.size());
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const auto rank = static_cast<std::size_t>(std::nearbyint(q * (n - 1)));
    const double exact = values[rank];
    const double est = s.quantile(q);
    EXPECT_LE(std::fabs(est - exact) / exact, bound * (1 + 1e-9)) << "q=" << q;
  }
}

TEST(DDSketchTest, QuantileGuaranteeParetoOneMillion) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> values(1000000);
  for (auto& v : values) v = 1.0 / std::pow(1.0 - u(rng), 1.0 / 1.16);  // Pareto α = 1.16 (80/20)
  check_quantiles(std::move(values));
}

TEST(DDSketchTest, QuantileGuaranteeLognormalOneMillion) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(0.0, 3.0);
  std::vector<double> values(1000000);
  for (auto& v : values) v = std::max(d(rng), 1e-9);
  check_quantiles(std::move(values));
}

}  // namespace
}  // namespace lc::metrics
