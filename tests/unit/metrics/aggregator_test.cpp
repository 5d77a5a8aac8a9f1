// MetricAggregator semantics (datadog-wire.md §2): bucketing by arrival time and `T`, flush
// scopes, the no-duplicate-timestamp rule, the context limit, histogram aggregates, copies to
// distributions, host and base tags. Driven by FakeClock; outputs decoded from the real payloads.
#include "metrics/aggregator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/config.h"
#include "core/logger.h"
#include "core/memory_budget.h"
#include "fakes/fake_clock.h"
#include "metrics/dogstatsd_server.h"
#include "metrics_test_util.h"

namespace lc::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace lc::metrics::testing;

constexpr std::int64_t kB = 1700000000;  // the bucket of kT0

std::vector<std::int64_t> timestamps(const DecodedSeries& s) {
  std::vector<std::int64_t> out;
  for (const auto& p : s.points) out.push_back(p.ts);
  return out;
}

TEST(AggregatorTest, PeriodicFlushTakesClosedBucketsOnly) {
  Harness f;
  f.send("c:1|c");
  EXPECT_THAT(f.series(FlushScope::kClosedBuckets), IsEmpty());  // bucket still open
  f.at(kB + 13);
  f.send("c:2|c");
  auto s = f.series(FlushScope::kClosedBuckets);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].points.size(), 1u);
  EXPECT_EQ(s[0].points[0].ts, kB);
  EXPECT_EQ(s[0].points[0].value, 0.1);
  auto rest = f.series(FlushScope::kAll);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].points[0].ts, kB + 10);
  EXPECT_EQ(rest[0].points[0].value, 0.2);
  EXPECT_THAT(f.series(FlushScope::kAll), IsEmpty());  // nothing twice, no zero-filling
}

TEST(AggregatorTest, SeveralBucketsBecomeOneSeriesWithAscendingPoints) {
  Harness f;
  f.send("g:1|g");
  f.at(kB + 15);
  f.send("g:2|g");
  f.at(kB + 27);
  f.send("g:3|g");
  auto s = f.series();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_THAT(timestamps(s[0]), ElementsAre(kB, kB + 10, kB + 20));
  EXPECT_EQ(s[0].points[2].value, 3);
}

TEST(AggregatorTest, NoDuplicateTimestampsAfterForcedFlushes) {
  Harness f;
  std::vector<std::int64_t> seen;
  // Nine forced flushes inside one open window use b, b+1, … b+8.
  for (int i = 0; i < 9; ++i) {
    f.send("c:1|c");
    auto s = f.series();
    ASSERT_EQ(s.size(), 1u) << i;
    seen.push_back(s[0].points.at(0).ts);
  }
  EXPECT_THAT(seen,
              ElementsAre(kB, kB + 1, kB + 2, kB + 3, kB + 4, kB + 5, kB + 6, kB + 7, kB + 8));
  // Only b+9 is left: forced flushes hold the samples while the window is open …
  f.send("c:1|c");
  EXPECT_THAT(f.series(), IsEmpty());
  f.at(kB + 9);
  f.send("c:2|c");
  EXPECT_THAT(f.series(), IsEmpty());
  EXPECT_EQ(f.server.aggregator().live_contexts(), 1u);
  // … and submit them, summed, with b+9 once it has closed.
  f.at(kB + 10);
  auto s = f.series(FlushScope::kClosedBuckets);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].points.size(), 1u);
  EXPECT_EQ(s[0].points[0].ts, kB + 9);
  EXPECT_EQ(s[0].points[0].value, 0.3);
  // The window is now used up: a late sample for it would overwrite a point and is dropped.
  f.send("c:1|c|T1700000004");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "window_full"), 1u);
  EXPECT_THAT(f.series(), IsEmpty());
  EXPECT_EQ(f.server.aggregator().live_contexts(), 0u);
}

TEST(AggregatorTest, LateTimestampedSampleForSentWindowUsesNextSecond) {
  Harness f;
  f.at(kB + 25);
  f.send("x:1|g|T1700000005");
  auto a = f.series(FlushScope::kClosedBuckets);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].points[0].ts, kB);
  f.send("x:2|g|T1700000007");
  auto b = f.series(FlushScope::kClosedBuckets);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].points[0].ts, kB + 1);
  EXPECT_EQ(b[0].points[0].value, 2);
  // Contexts are distinct: another tag set starts at b again.
  f.send("x:3|g|#k:v|T1700000007");
  auto c = f.series(FlushScope::kClosedBuckets);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].points[0].ts, kB);
}

TEST(AggregatorTest, SubmissionRecordsExpireAfterHistory) {
  Harness f;
  EXPECT_EQ(f.server.aggregator().config().history_s, 300);
  f.send("x:1|g");
  ASSERT_EQ(f.series().size(), 1u);
  EXPECT_EQ(f.server.aggregator().tracked_contexts(), 1u);  // remembers that b was used
  f.at(kB + 200);
  f.send("x:2|g|T1700000001");
  auto s = f.series();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].points[0].ts, kB + 1);
  f.at(kB + 400);
  EXPECT_THAT(f.series(), IsEmpty());
  EXPECT_EQ(f.server.aggregator().tracked_contexts(), 0u);  // memory released
  EXPECT_EQ(f.server.aggregator().live_contexts(), 0u);
}

TEST(AggregatorTest, ContextsForgottenAfterHistoryStartAfresh) {
  Harness f;
  f.send("x:1|c|#a\ny:5|g|#b");
  ASSERT_EQ(f.series().size(), 2u);
  f.at(kB + 400);
  EXPECT_THAT(f.series(), IsEmpty());
  ASSERT_EQ(f.server.aggregator().tracked_contexts(), 0u);  // both erased
  // The same contexts again, and others: each is found or made anew, never a forgotten one.
  f.send("x:2|c|#a\ny:6|g|#b\nz:7|g\nx:3|c|#a");
  std::map<std::string, double> by_name;
  for (const auto& one : f.series()) by_name[one.metric] = one.points.at(0).value;
  EXPECT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name["x"], 0.5);
  EXPECT_EQ(by_name["y"], 6);
  EXPECT_EQ(by_name["z"], 7);
  EXPECT_EQ(f.server.aggregator().tracked_contexts(), 3u);
}

// A later part of a window already sent goes out at the next unused second, sketches too: no
// receiver can replace the first part with it.
TEST(AggregatorTest, SketchesTooNeverRepeatATimestamp) {
  Harness f;
  f.send("d:1|d");
  auto a = f.sketches();
  f.send("d:2|d");
  auto b = f.sketches();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].dogsketches[0].ts, kB);
  EXPECT_EQ(b[0].dogsketches[0].ts, kB + 1);
}

TEST(AggregatorTest, TimestampClampAndAge) {
  Harness f;
  f.send("x:1|g|T1700000900");  // future → now
  f.send("y:1|g|T1699996402");  // 3601 s old → too_old
  f.send("z:1|g|T1699996413");  // 3590 s old → kept, in its own bucket
  auto s = f.series();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].metric, "x");
  EXPECT_EQ(s[0].points[0].ts, kB);
  EXPECT_EQ(s[1].metric, "z");
  EXPECT_EQ(s[1].points[0].ts, 1699996410);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "too_old"), 1u);
}

TEST(AggregatorTest, ContextLimitDropsNewContextsOnly) {
  AggregatorConfig c;
  c.max_contexts = 3;
  Harness f(c);
  f.send("a:1|c\nb:1|c\nc:1|c\nd:1|c\na:1|c\nc:1|c|#t");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "context_limit"), 2u);
  EXPECT_EQ(f.server.aggregator().live_contexts(), 3u);
  auto s = f.series();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].metric, "a");
  EXPECT_EQ(s[0].points[0].value, 0.2);  // existing context kept aggregating
  EXPECT_EQ(f.server.aggregator().live_contexts(), 0u);
  f.send("d:1|c");  // after the flush there is room again
  EXPECT_EQ(f.series().size(), 1u);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "context_limit"), 2u);
}

TEST(AggregatorTest, ContextLimitDefaultIs10240) {
  Harness f;
  EXPECT_EQ(f.server.aggregator().config().max_contexts, 10240u);
  for (int i = 0; i < 10241; ++i) f.send("m" + std::to_string(i) + ":1|g");
  EXPECT_EQ(f.server.aggregator().live_contexts(), 10240u);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "context_limit"), 1u);
}

TEST(AggregatorTest, SameNameDifferentTypesAreDifferentAggregates) {
  Harness f;
  f.send("x:4|c\nx:5|g");
  auto s = f.series();
  ASSERT_EQ(s.size(), 2u);
  std::map<int, double> by_type;
  for (const auto& one : s) by_type[one.type] = one.points[0].value;
  EXPECT_EQ(by_type[2], 0.4);
  EXPECT_EQ(by_type[3], 5);
}

TEST(AggregatorTest, ContextIgnoresTagOrderAndDuplicatesButNotPieceBoundaries) {
  Harness f;
  f.send("x:1|c|#b,a\nx:2|c|#a,b,a\nx:4|c|#ab\nx:8|c|#a,b,c\n");
  // The same bytes split differently are different contexts: tags ("ab","c") vs ("a","bc"), and
  // the name against the host.
  f.send("y:16|c|#ab,c\ny:32|c|#a,bc\nya:64|c|#host:b\ny:128|c|#host:ab");
  std::map<std::string, double> by_context;
  for (const auto& one : f.series()) {
    std::string key = one.metric + "|";
    for (const auto& t : one.tags) key += t + ",";
    for (const auto& r : one.resources) {
      if (!r.second.empty()) key += "@" + r.second;
    }
    by_context[key] = one.points[0].value;
  }
  EXPECT_EQ(by_context.size(), 7u);
  EXPECT_EQ(by_context["x|a,b,"], 0.3);
  EXPECT_EQ(by_context["x|ab,"], 0.4);
  EXPECT_EQ(by_context["x|a,b,c,"], 0.8);
  EXPECT_EQ(by_context["y|ab,c,"], 1.6);
  EXPECT_EQ(by_context["y|a,bc,"], 3.2);
  EXPECT_EQ(by_context["ya|@b"], 6.4);
  EXPECT_EQ(by_context["y|@ab"], 12.8);
}

TEST(AggregatorTest, ManyContextsKeepTheirOwnAggregates) {
  Harness f;
  std::string packet;
  // (i mod 7, i mod 500) repeats every 3500 samples: 3500 contexts, each set twice.
  for (int i = 0; i < 7000; ++i) {
    packet = "m" + std::to_string(i % 7) + ":" + std::to_string(i) +
             "|g|#shard:" + std::to_string(i % 500) + ",env:prod";
    f.send(packet);
  }
  const auto s = f.series();
  ASSERT_EQ(s.size(), 3500u);
  std::map<std::string, double> last;
  for (const auto& one : s) last[one.metric + "|" + one.tags.at(1)] = one.points.at(0).value;
  ASSERT_EQ(last.size(), 3500u);
  for (int i = 3500; i < 7000; ++i) {
    const std::string key = "m" + std::to_string(i % 7) + "|shard:" + std::to_string(i % 500);
    EXPECT_EQ(last[key], i) << key;
  }
}

TEST(AggregatorTest, HostTagAndDefaultHost) {
  AggregatorConfig c;
  c.default_host = "box";
  Harness f(c);
  f.send("x:1|g|#host:h1\nx:2|g\ny:1|g|#host:h1,host:h2");
  auto s = f.series();
  ASSERT_EQ(s.size(), 3u);
  std::map<std::string, double> by_host;
  for (const auto& one : s) {
    ASSERT_EQ(one.resources.size(), 1u);
    EXPECT_EQ(one.resources[0].first, "host");
    by_host[one.metric + "@" + one.resources[0].second] = one.points[0].value;
  }
  EXPECT_EQ(by_host["x@h1"], 1);
  EXPECT_EQ(by_host["x@box"], 2);
  EXPECT_EQ(by_host["y@h2"], 1);  // the last host: tag wins
}

TEST(AggregatorTest, BaseTagsAppendedAfterSortedContextTags) {
  TagSets tags;
  tags.set("env", "prod");
  tags.set_user_tags({"a:1"});
  tags.set("service", "api");  // lastcall's own tags come before the user tags
  lc::fakes::FakeClock clock(kT0);
  SelfMetrics self;
  DogStatsdServer f({}, {}, self, clock, tags);
  f.handle_datagram("x:1|g|#z:1,a:1");
  f.handle_datagram("d:1|d|#z:1");
  auto out = f.flush(FlushScope::kAll);
  ASSERT_EQ(out.size(), 2u);
  auto s = decode_series_v2(out[0].body);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_THAT(s[0].tags, ElementsAre("a:1", "z:1", "env:prod", "service:api"));
  auto sk = decode_sketches(out[1].body);
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_THAT(sk[0].tags, ElementsAre("z:1", "env:prod", "service:api", "a:1"));
}

TEST(AggregatorTest, HistogramAlgorithmUnitWeights) {
  Harness f;
  // 1..100 shuffled: median sorted[(N−1)/2] = 50, p95 sorted[floor((95·100−1)/100)] = 95.
  std::string d = "h";
  for (int v : {57, 3, 100, 1, 42, 88}) d += ":" + std::to_string(v);
  for (int v = 1; v <= 100; ++v) {
    if (v == 57 || v == 3 || v == 100 || v == 1 || v == 42 || v == 88) continue;
    d += ":" + std::to_string(v);
  }
  f.send(d + "|h");
  std::map<std::string, double> v;
  for (const auto& s : f.series()) v[s.metric] = s.points[0].value;
  EXPECT_EQ(v["h.max"], 100);
  EXPECT_EQ(v["h.median"], 50);
  EXPECT_EQ(v["h.avg"], 50.5);
  EXPECT_EQ(v["h.count"], 10);
  EXPECT_EQ(v["h.95percentile"], 95);
}

TEST(AggregatorTest, HistogramConfiguredAggregatesAndPercentiles) {
  AggregatorConfig c;
  c.histogram_aggregates = {"min", "sum", "count"};
  c.histogram_percentiles = {0.5, 0.99};
  Harness f(c);
  f.send("h:4:1:3:2|h|@0.5");
  std::map<std::string, std::pair<int, double>> v;
  for (const auto& s : f.series()) v[s.metric] = {s.type, s.points[0].value};
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v["h.min"], std::make_pair(3, 1.0));
  EXPECT_EQ(v["h.sum"], std::make_pair(3, 20.0));
  EXPECT_EQ(v["h.count"], std::make_pair(2, 0.8));
  EXPECT_EQ(v["h.50percentile"].second, 2);  // N=8, t=(50·8−1)/100=3.99 → cumulative 4 at 2
  EXPECT_EQ(v["h.99percentile"].second, 4);
}

TEST(AggregatorTest, HistogramCopyToDistribution) {
  AggregatorConfig c;
  c.histogram_copy_to_distribution = true;
  c.histogram_copy_prefix = "dist.";
  Harness f(c);
  f.send("lat:10:20|h|#a:1\nt:5|ms");
  auto out = f.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(decode_series_v2(out[0].body).size(), 10u);
  auto sk = decode_sketches(out[1].body);
  ASSERT_EQ(sk.size(), 2u);
  EXPECT_EQ(sk[0].metric, "dist.lat");
  EXPECT_THAT(sk[0].tags, ElementsAre("a:1"));
  EXPECT_EQ(sk[0].dogsketches[0].cnt, 2);
  EXPECT_EQ(sk[0].dogsketches[0].sum, 30);
  EXPECT_EQ(sk[1].metric, "dist.t");
}

TEST(AggregatorTest, SetsIgnoreRateAndCountDistinctMembers) {
  Harness f;
  f.send("s:a|s|@0.1\ns:b|s\ns:a|s\ns:a:b|s");
  auto s = f.series();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].points[0].value, 3);
}

TEST(AggregatorTest, TinyRatesAndOverflowingSumsStayBounded) {
  Harness f;
  f.send("d:5|d|@1e-300");         // weight capped at 10^6: 16 bins, not 10^15 / 65535
  f.send("c:1e308|c\nc:1e308|c");  // the sum overflows the double range
  f.send("ok:1|c|@1e-9");
  auto out = f.flush();
  ASSERT_EQ(out.size(), 2u);
  auto series = decode_series_v2(out[0].body);
  ASSERT_EQ(series.size(), 1u);  // c was dropped, not sent as inf
  EXPECT_EQ(series[0].metric, "ok");
  EXPECT_EQ(series[0].points[0].value, 1e6 / 10);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "overflow"), 1u);
  auto sk = decode_sketches(out[1].body);
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_EQ(sk[0].dogsketches[0].cnt, 1000000);
  EXPECT_EQ(sk[0].dogsketches[0].n.size(), 16u);  // 1e6 = 15·65535 + 16975
}

TEST(AggregatorTest, SetCapCountsRefusedMembersAndHistogramCapDropsNothing) {
  AggregatorConfig c;
  c.max_histogram_samples = 3;
  c.max_set_members = 2;
  Harness f(c);
  f.send("h:1:2:3:4|h\ng:1:2:3|h\nk:1|h");             // past 3 samples: a sketch, nothing lost
  f.send("s:a|s\ns:b|s\ns:c|s\ns:a|s\nt:x|s\nt:y|s");  // s keeps a,b; c refused
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "set_full"), 1u);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), 0u);
  std::map<std::string, double> v;
  for (const auto& s : f.series()) v[s.metric] = s.points[0].value;
  EXPECT_EQ(v["h.count"], 0.4);
  EXPECT_EQ(v["h.max"], 4);
  EXPECT_EQ(v["h.avg"], 2.5);
  EXPECT_EQ(v["g.count"], 0.3);
  EXPECT_EQ(v["k.count"], 0.1);
  EXPECT_EQ(v["s"], 2);
  EXPECT_EQ(v["t"], 2);
}

// §2.4 on the exact samples (the reference for the sketched percentiles).
double exact_rank(std::vector<double> sorted, double target) {
  std::sort(sorted.begin(), sorted.end());
  double w = 0;
  for (const double v : sorted) {
    w += 1;
    if (w > target) return v;
  }
  return sorted.back();
}

TEST(AggregatorTest, HistogramPastItsSampleCapAnswersFromASketch) {
  AggregatorConfig c;
  c.max_histogram_samples = 1000;
  c.histogram_aggregates = {"max", "min", "median", "avg", "sum", "count"};
  c.histogram_percentiles = {0.5, 0.95, 0.99};
  Harness f(c);
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(3.0, 1.2);
  std::vector<double> values;
  std::string datagram;
  double sum = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string text = fmt::format("{:.6g}", dist(rng));
    const double v = std::strtod(text.c_str(), nullptr);
    values.push_back(v);
    sum += v;
    datagram += (i % 2 ? "lat:" : "tim:") + text + (i % 2 ? "|h\n" : "|ms\n");
    if (datagram.size() > 4000) {
      f.send(datagram);
      datagram.clear();
    }
  }
  f.send(datagram);
  std::vector<double> lat, tim;
  double lat_sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % 2) {
      lat.push_back(values[i]);
      lat_sum += values[i];
    } else {
      tim.push_back(values[i]);
    }
  }
  std::map<std::string, double> v;
  for (const auto& s : f.series()) v[s.metric] = s.points.at(0).value;
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), 0u);
  // Exact: count, sum, min, max, avg.
  EXPECT_EQ(v["lat.count"], 30000 / 10.0);
  EXPECT_DOUBLE_EQ(v["lat.sum"], lat_sum);
  EXPECT_DOUBLE_EQ(v["lat.avg"], lat_sum / 30000);
  EXPECT_EQ(v["lat.max"], *std::max_element(lat.begin(), lat.end()));
  EXPECT_EQ(v["lat.min"], *std::min_element(lat.begin(), lat.end()));
  EXPECT_EQ(v["tim.count"], 30000 / 10.0);
  // Within 1 %: median and percentiles against §2.4 on the exact values.
  for (const auto* name : {"lat", "tim"}) {
    const auto& xs = std::string(name) == "lat" ? lat : tim;
    const double n = static_cast<double>(xs.size());
    const std::string m(name);
    EXPECT_NEAR(v[m + ".median"] / exact_rank(xs, (n - 1) / 2), 1.0, 0.01) << m;
    EXPECT_NEAR(v[m + ".50percentile"] / exact_rank(xs, (50 * n - 1) / 100), 1.0, 0.01) << m;
    EXPECT_NEAR(v[m + ".95percentile"] / exact_rank(xs, (95 * n - 1) / 100), 1.0, 0.01) << m;
    EXPECT_NEAR(v[m + ".99percentile"] / exact_rank(xs, (99 * n - 1) / 100), 1.0, 0.01) << m;
  }
  (void)sum;
}

TEST(AggregatorTest, TinySampleRateDistributionStaysSmallAndExact) {
  // The loop-stall input: ten ~4 KB datagrams of packed `@0.000001` distribution samples (weight
  // 10⁶ each). One count per key while building; at most 4096 bins when encoded; the summary
  // exact.
  Harness f;
  std::uint64_t n = 0;
  double sum = 0;
  for (int d = 0; d < 10; ++d) {
    std::string datagram;
    while (datagram.size() < 4000) {
      std::string line = "stall.dist";
      for (int i = 0; i < 40; ++i) {
        const int v = 1 + static_cast<int>((n + d) % 97);
        line += fmt::format(":{}", v);
        sum += 1e6 * v;
        ++n;
      }
      datagram += line + "|d|@0.000001\n";
    }
    f.send(datagram);
  }
  auto sk = f.sketches();
  ASSERT_EQ(sk.size(), 1u);
  ASSERT_EQ(sk[0].dogsketches.size(), 1u);
  const auto& d = sk[0].dogsketches[0];
  EXPECT_EQ(d.cnt, static_cast<std::int64_t>(n) * 1000000);
  EXPECT_DOUBLE_EQ(d.sum, sum);
  EXPECT_EQ(d.min, 1);
  EXPECT_EQ(d.max, 97);
  EXPECT_LE(d.n.size(), DDSketch::kBinLimit);
  EXPECT_EQ(d.k.size(), d.n.size());
  EXPECT_TRUE(std::is_sorted(d.k.begin(), d.k.end()));
  EXPECT_EQ(d.k.back(), DDSketch::key(97));
}

TEST(AggregatorTest, OverBudgetRefusesNewMemoryAndUpdatesInPlace) {
  MemoryBudget budget(64 * 1024);
  Harness f({}, {}, kT0, &budget);
  f.send("g:1|g\nc:1|c\ns:a|s\nd:1|d\nh:1|h");
  EXPECT_GT(budget.used(), 0u);
  EXPECT_EQ(budget.used(), f.server.aggregator().charged_bytes());
  // Unique contexts until the budget refuses them.
  int i = 0;
  while (f.self.dropped_count("dogstatsd", "memory_budget") == 0 && i < 100000) {
    f.send(fmt::format("u{}:1|g|#k:v{}", i, i));
    ++i;
  }
  ASSERT_LT(i, 100000);
  // Another owner (say the retry queue) takes what is left.
  const std::size_t other = budget.headroom(ValueClass::kMetrics);
  budget.charge(ValueClass::kMetrics, other);
  EXPECT_FALSE(budget.admits(ValueClass::kMetrics, 256));
  const std::size_t used = budget.used();
  std::uint64_t refused = f.self.dropped_count("dogstatsd", "memory_budget");
  EXPECT_EQ(budget.refusals(ValueClass::kMetrics), refused);
  // In place: accepted, nothing more charged.
  f.send("g:5|g\nc:2|c\ns:a|s\nd:2|d");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), refused);
  // New memory: a context, a set member, a sketch key far from the others, a bucket.
  f.send("new.ctx:1|g");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), ++refused);
  f.send("s:b|s");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), ++refused);
  f.send("d:1000000|d");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), ++refused);
  f.send(fmt::format("g:9|g|T{}", kB - 100));  // an older window: a new bucket
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), ++refused);
  f.send("d:1:2:1000000:2000000|d");  // refusals count values, not lines
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), refused += 2);
  EXPECT_EQ(budget.used(), used);
  // lastcall's own self-metrics are never refused (the drops must reach the intake).
  const double one = 1;
  MetricSample self_sample;
  self_sample.name = "lastcall.dropped";
  self_sample.type = MetricType::kCount;
  self_sample.values = std::span<const double>(&one, 1);
  f.server.aggregator().add_reserved(self_sample, kB + 3);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), refused);
  EXPECT_GT(budget.used(), used);

  std::map<std::string, double> v;
  for (const auto& s : f.series()) v[s.metric] = s.points.at(0).value;
  EXPECT_EQ(v["g"], 5);
  EXPECT_EQ(v["c"], 0.3);
  EXPECT_EQ(v["s"], 1);
  EXPECT_EQ(v["h.count"], 0.1);
  EXPECT_EQ(v.count("new.ctx"), 0u);
  EXPECT_EQ(v["lastcall.dropped"], 0.1);
  budget.release(ValueClass::kMetrics, other);
  // Flushed: the buckets are released; the contexts stay for their submission record ...
  EXPECT_LT(budget.used(), used - other);
  EXPECT_GT(budget.used(), 0u);
  EXPECT_EQ(budget.used(), f.server.aggregator().charged_bytes());
  // ... and there is room again for new contexts.
  f.send("new.ctx:1|g");
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "memory_budget"), refused);
  (void)f.flush();
  // Once the records expire, everything is released.
  f.at(kB + 400);
  (void)f.flush();
  EXPECT_EQ(f.server.aggregator().tracked_contexts(), 0u);
  EXPECT_EQ(f.server.aggregator().charged_bytes(), 0u);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(AggregatorTest, UnderMemoryPressureClosedContextsAreForgottenAsTheyAreFlushed) {
  MemoryBudget budget(64 * 1024);
  Harness f({}, {}, kT0, &budget);
  int i = 0;
  while (f.self.dropped_count("dogstatsd", "memory_budget") == 0 && i < 100000) {
    f.send(fmt::format("u{}:{}|g|#k:v{},long:{:040d}", i, i, i, i));
    f.send(fmt::format("h{}:{}|h|#k:v{}", i, i, i));
    ++i;
  }
  ASSERT_LT(i, 100000);
  f.at(kB + 10);  // every window closed
  const auto series = f.series(FlushScope::kClosedBuckets);
  // Every accepted context is sent with its own tags (moved, not copied), then forgotten.
  std::size_t gauges = 0;
  for (const auto& s : series) {
    if (s.metric[0] == 'u') {
      ++gauges;
      const std::string id = s.metric.substr(1);
      ASSERT_EQ(s.tags.size(), 2u) << s.metric;
      EXPECT_EQ(s.tags[0], "k:v" + id);
      EXPECT_EQ(s.tags[1], fmt::format("long:{:040d}", std::stoi(id)));
      EXPECT_EQ(s.points.at(0).value, std::stoi(id));
    } else if (s.metric.ends_with(".max")) {
      ASSERT_EQ(s.tags.size(), 1u) << s.metric;  // a histogram's series all carry the tags
      EXPECT_EQ(s.tags[0], "k:v" + s.metric.substr(1, s.metric.size() - 5));
    }
  }
  EXPECT_GE(gauges, static_cast<std::size_t>(i - 1));
  EXPECT_EQ(f.server.aggregator().tracked_contexts(), 0u);
  EXPECT_EQ(budget.used(), 0u);
  f.send("u0:7|g|#k:v0");
  EXPECT_EQ(f.series().at(0).points.at(0).value, 7);
}

TEST(AggregatorTest, AFlushLargerThanOnePayloadIsEncodedInSlicesWithNothingLost) {
  AggregatorConfig c;
  c.limits.series_v2_bytes = 4000;
  c.limits.sketch_bytes = 4000;
  Harness f(c);
  std::string d;
  for (int i = 0; i < 300; ++i) {
    d += fmt::format("g{}:{}|g|#tag:{:060d}\nd{}:{}|d|#tag:{:060d}\n", i, i, i, i, i, i);
    if (d.size() > 3000) {
      f.send(d);
      d.clear();
    }
  }
  f.send(d);
  const auto payloads = f.flush();
  std::map<std::string, double> gauges;
  std::map<std::string, double> sketches;
  std::size_t series_payloads = 0;
  for (const auto& p : payloads) {
    if (p.kind == PayloadKind::kSeriesV2) {
      ++series_payloads;
      EXPECT_LE(p.body.size(), 4000u);
      for (const auto& s : decode_series_v2(p.body)) {
        EXPECT_TRUE(gauges.emplace(s.metric, s.points.at(0).value).second) << s.metric;
      }
    } else if (p.kind == PayloadKind::kSketches) {
      for (const auto& s : decode_sketches(p.body)) {
        EXPECT_TRUE(sketches.emplace(s.metric, s.dogsketches.at(0).sum).second) << s.metric;
      }
    }
  }
  EXPECT_GT(series_payloads, 5u);
  ASSERT_EQ(gauges.size(), 300u);
  ASSERT_EQ(sketches.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(gauges[fmt::format("g{}", i)], i);
    EXPECT_EQ(sketches[fmt::format("d{}", i)], i);
  }
}

TEST(AggregatorTest, AccountingReturnsToZeroAfterEverythingIsFlushed) {
  MemoryBudget budget(64u << 20);
  {
    AggregatorConfig c;
    c.max_histogram_samples = 50;
    Harness f(c, {}, kT0, &budget);
    for (int r = 0; r < 3; ++r) {
      std::string d;
      for (int i = 0; i < 200; ++i) {
        d += fmt::format(
            "c{}:1|c|#a:{}\nh:{}|h\nd:{}|d|@0.25\ns:member-{}-long-enough-to-allocate|s\n", i % 20,
            i, i, i * 1.5, i);
      }
      f.send(d);
      f.send(fmt::format("g:1|g|T{}", kB - 600 - 10 * r));
      f.at(kB + 10 * r);
    }
    EXPECT_GT(budget.used(), 0u);
    (void)f.flush();
    f.at(kB + 1000);
    (void)f.flush();
    EXPECT_EQ(budget.used(), 0u);
    f.send("x:1|g");
    EXPECT_GT(budget.used(), 0u);
  }
  EXPECT_EQ(budget.used(), 0u);  // the aggregator releases what it holds when destroyed
}

TEST(AggregatorTest, CountRateIsNotTruncated) {
  Harness f;
  f.send("x:1|c|@0.3");
  auto s = f.series();
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].points.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].points[0].value, (1 / 0.3) / 10);
}

TEST(AggregatorTest, V1FallbackAppliesTimestampRuleToDistributions) {
  AggregatorConfig c;
  c.series_format = SeriesFormat::kV1Json;
  c.sketch_output = SketchOutput::kV1SeriesFallback;
  Harness f(c);
  f.send("d:1|d");
  auto first = f.flush();
  f.send("d:3|d");
  auto second = f.flush();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first[0].body.find("[[1700000000,0.1]]"), std::string::npos) << first[0].body;
  EXPECT_NE(second[0].body.find("\"d.max\",\"points\":[[1700000001,3]]"), std::string::npos)
      << second[0].body;
}

TEST(AggregatorTest, SketchDropModeCountsNoSketchEndpoint) {
  AggregatorConfig c;
  c.series_format = SeriesFormat::kV1Json;
  c.sketch_output = SketchOutput::kDrop;
  Harness f(c);
  f.send("d:1|d\nd:2|d|#x\ng:1|g");
  auto out = f.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, PayloadKind::kSeriesV1);
  EXPECT_EQ(out[0].body.find("\"d"), std::string::npos);
  EXPECT_EQ(f.self.dropped_count("metrics", "no_sketch_endpoint"), 2u);
}

TEST(AggregatorConfigTest, FromFinalConfigPerMode) {
  FinalConfig cfg = default_config();
  cfg.mode = Mode::kSidecar;
  cfg.common.hostname = "box-1";
  cfg.metrics.use_v2_series = true;
  cfg.metrics.histogram_aggregates = {"max", "count"};
  cfg.metrics.histogram_percentiles = {0.5};
  cfg.metrics.histogram_copy_to_distribution = true;
  cfg.metrics.histogram_copy_to_distribution_prefix = "c.";
  auto c = AggregatorConfig::from(cfg.metrics, cfg.common, cfg.mode);
  EXPECT_EQ(c.default_host, "box-1");
  EXPECT_EQ(c.series_format, SeriesFormat::kV2Protobuf);
  EXPECT_EQ(c.sketch_output, SketchOutput::kSketchPayload);
  EXPECT_EQ(c.tag_set, TagSetId::kCustomMetrics);
  EXPECT_EQ(c.histogram_aggregates, (std::vector<std::string>{"max", "count"}));
  EXPECT_EQ(c.histogram_percentiles, std::vector<double>{0.5});
  EXPECT_TRUE(c.histogram_copy_to_distribution);
  EXPECT_EQ(c.histogram_copy_prefix, "c.");
  EXPECT_EQ(c.max_contexts, 10240u);

  cfg.mode = Mode::kExtension;  // Lambda: series carry an empty host
  cfg.metrics.use_v2_series = false;
  cfg.metrics.sketch_fallback_series = false;
  c = AggregatorConfig::from(cfg.metrics, cfg.common, cfg.mode);
  EXPECT_EQ(c.default_host, "");
  EXPECT_EQ(c.series_format, SeriesFormat::kV1Json);
  EXPECT_EQ(c.sketch_output, SketchOutput::kDrop);
  cfg.metrics.sketch_fallback_series = true;
  EXPECT_EQ(AggregatorConfig::from(cfg.metrics, cfg.common, cfg.mode).sketch_output,
            SketchOutput::kV1SeriesFallback);

  const auto p = DogStatsdServer::parser_options(cfg.metrics, cfg.mode);
  EXPECT_TRUE(p.lambda_mode);
  cfg.mode = Mode::kWrapper;
  EXPECT_FALSE(DogStatsdServer::parser_options(cfg.metrics, cfg.mode).lambda_mode);
}

TEST(AggregatorConfigTest, DefaultHostAppearsInResources) {
  AggregatorConfig c;
  c.default_host = "box-1";
  Harness h(c);
  h.send("x:1|g\nd:1|d");
  auto out = h.flush();
  ASSERT_EQ(out.size(), 2u);
  auto s = testing::decode_series_v2(out[0].body);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].resources.at(0).second, "box-1");
  auto sk = testing::decode_sketches(out[1].body);
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_EQ(sk[0].host, "box-1");
}

// A client replaying old points must not produce one log line per point: one line per interval,
// carrying the number held back since the previous one; every point is still counted.
TEST(AggregatorTest, TooOldPointsAreLoggedOncePerInterval) {
  std::vector<std::string> lines;
  const LogLevel level = Logger::instance().level();
  Logger::instance().set_level(LogLevel::kDebug);
  Logger::instance().set_sink([&](std::string_view line) {
    if (line.find("too_old") != std::string_view::npos) lines.emplace_back(line);
  });
  Harness f;
  for (int i = 0; i < 1000; ++i) f.send("old:1|g|T1699990000");
  EXPECT_EQ(lines.size(), 1u);
  f.clock.advance(std::chrono::seconds(5));
  f.send("old:1|g|T1699990000");
  EXPECT_EQ(lines.size(), 1u);
  f.clock.advance(std::chrono::seconds(5));
  f.send("old:1|g|T1699990000");
  Logger::instance().set_sink(nullptr);
  Logger::instance().set_level(level);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("1000 more"), std::string::npos) << lines[1];
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "too_old"), 1002u);
}

}  // namespace
}  // namespace lc::metrics

namespace lc::metrics {
namespace {

// An aggregator counts its refusals under its own drop kind (the enhanced metrics' aggregator is
// not the app's DogStatsD traffic).
TEST(AggregatorTest, RefusalsAreCountedUnderTheConfiguredDropKind) {
  AggregatorConfig c;
  c.max_contexts = 1;
  c.drop_kind = "enhanced";
  Harness f(c);
  f.send("a:1|c\nb:1|c");
  EXPECT_EQ(f.self.dropped_count("enhanced", "context_limit"), 1u);
  EXPECT_EQ(f.self.dropped_count("dogstatsd", "context_limit"), 0u);
}

}  // namespace
}  // namespace lc::metrics
