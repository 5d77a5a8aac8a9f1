// Micro-benchmarks of the metrics stage, each next to a floor measured in the same run
// (conventions.md §16): DogStatsD parsing of ~100 B single-metric and 8 KiB packed datagrams vs a
// loop that only splits lines and reads the first value; DDSketch insert vs summing (and taking
// the log of) the same values; a 4096-bin merge vs a plain merge-join of two sorted bin arrays.
// Report ratios with: metrics_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "metrics/ddsketch.h"
#include "metrics/dogstatsd_parser.h"
#include "metrics/dogstatsd_server.h"

namespace {

using namespace lc::metrics;

class FixedClock final : public lc::Clock {
 public:
  lc::WallTime wall_now() const override { return lc::WallTime(std::chrono::seconds(1700000003)); }
  lc::SteadyTime steady_now() const override { return {}; }
};

class CountingVisitor final : public DogStatsdVisitor {
 public:
  void on_metric(const MetricSample& s) override {
    ++samples;
    sum += s.values.empty() ? 0.0 : s.values[0];
  }
  std::uint64_t samples = 0;
  double sum = 0;
};

// ~100 bytes, shaped like hot-shots output (datadog-wire.md §1.7).
std::string single_line(int i) {
  return "app.request.duration.ms:" + std::to_string(100 + i % 900) +
         "|h|#env:prod,service:checkout,route:/api/v1/cart,code:200,region:us-east-1";
}

std::vector<std::string> single_datagrams() {
  std::vector<std::string> out;
  for (int i = 0; i < 256; ++i) out.push_back(single_line(i));
  return out;
}

std::string packed_datagram() {
  std::string out;
  for (int i = 0;; ++i) {
    std::string line = single_line(i);
    line[4] = static_cast<char>('a' + i % 26);  // a few distinct contexts
    if (out.size() + line.size() + 1 > 8192) break;
    if (!out.empty()) out.push_back('\n');
    out += line;
  }
  return out;
}

// Floor: what any parser must do at least — find the lines and read one number from each.
double floor_split_and_value(std::string_view packet) {
  double sum = 0;
  while (!packet.empty()) {
    const size_t nl = packet.find('\n');
    std::string_view line = packet.substr(0, nl);
    packet = nl == std::string_view::npos ? std::string_view{} : packet.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    double v = 0;
    std::from_chars(line.data() + colon + 1, line.data() + line.size(), v);
    sum += v;
  }
  return sum;
}

void set_bytes(benchmark::State& state, std::size_t bytes_per_iter, std::size_t lines_per_iter) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes_per_iter));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines_per_iter));
}

void BM_Single_Floor(benchmark::State& state) {
  const auto d = single_datagrams();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(floor_split_and_value(d[i++ & 255]));
  }
  set_bytes(state, d[0].size(), 1);
}
BENCHMARK(BM_Single_Floor);

void BM_Single_Parse(benchmark::State& state) {
  const auto d = single_datagrams();
  lc::SelfMetrics self;
  DogStatsdParser parser({}, self);
  CountingVisitor v;
  std::size_t i = 0;
  for (auto _ : state) parser.parse_packet(d[i++ & 255], false, v);
  benchmark::DoNotOptimize(v.sum);
  set_bytes(state, d[0].size(), 1);
}
BENCHMARK(BM_Single_Parse);

void BM_Single_ParseAggregate(benchmark::State& state) {
  const auto d = single_datagrams();
  lc::SelfMetrics self;
  FixedClock clock;
  AggregatorConfig config;
  config.max_histogram_samples = 1u << 30;
  DogStatsdServer server({}, config, self, clock);
  std::size_t i = 0;
  for (auto _ : state) {
    server.handle_datagram(d[i++ & 255]);
    if ((i & 0xffff) == 0) {  // keep the histogram bounded, as periodic flushes would
      state.PauseTiming();
      (void)server.aggregator().collect(FlushScope::kAll);
      state.ResumeTiming();
    }
  }
  set_bytes(state, d[0].size(), 1);
}
BENCHMARK(BM_Single_ParseAggregate);

void BM_Packed_Floor(benchmark::State& state) {
  const std::string d = packed_datagram();
  const auto lines = static_cast<std::size_t>(std::count(d.begin(), d.end(), '\n') + 1);
  for (auto _ : state) benchmark::DoNotOptimize(floor_split_and_value(d));
  set_bytes(state, d.size(), lines);
}
BENCHMARK(BM_Packed_Floor);

void BM_Packed_Parse(benchmark::State& state) {
  const std::string d = packed_datagram();
  const auto lines = static_cast<std::size_t>(std::count(d.begin(), d.end(), '\n') + 1);
  lc::SelfMetrics self;
  DogStatsdParser parser({}, self);
  CountingVisitor v;
  for (auto _ : state) parser.parse_packet(d, false, v);
  benchmark::DoNotOptimize(v.sum);
  set_bytes(state, d.size(), lines);
}
BENCHMARK(BM_Packed_Parse);

void BM_Packed_ParseAggregate(benchmark::State& state) {
  const std::string d = packed_datagram();
  const auto lines = static_cast<std::size_t>(std::count(d.begin(), d.end(), '\n') + 1);
  lc::SelfMetrics self;
  FixedClock clock;
  AggregatorConfig config;
  config.max_histogram_samples = 1u << 30;
  DogStatsdServer server({}, config, self, clock);
  std::size_t i = 0;
  for (auto _ : state) {
    server.handle_datagram(d);
    if ((++i & 0x3ff) == 0) {
      state.PauseTiming();
      (void)server.aggregator().collect(FlushScope::kAll);
      state.ResumeTiming();
    }
  }
  set_bytes(state, d.size(), lines);
}
BENCHMARK(BM_Packed_ParseAggregate);

std::vector<double> sketch_values() {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(3.0, 1.5);
  std::vector<double> v(1 << 16);
  for (auto& x : v) x = dist(rng);
  return v;
}

void BM_SketchInsert_FloorSum(benchmark::State& state) {
  const auto values = sketch_values();
  double sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    sum += values[i++ & 0xffff];
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchInsert_FloorSum);

void BM_SketchInsert_FloorLog(benchmark::State& state) {
  const auto values = sketch_values();
  double sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    sum += std::log(values[i++ & 0xffff]);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchInsert_FloorLog);

void BM_SketchInsert(benchmark::State& state) {
  const auto values = sketch_values();
  DDSketch s;
  std::size_t i = 0;
  for (auto _ : state) s.insert(values[i++ & 0xffff]);
  benchmark::DoNotOptimize(s.summary().sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchInsert);

DDSketch full_sketch(int offset) {
  DDSketch s;
  for (int k = 0; k < 4096; ++k) {
    s.insert(std::pow(DDSketch::gamma(), k + offset - 2048), 1 + (k % 7));
  }
  return s;
}

void BM_SketchMerge4096_Floor(benchmark::State& state) {
  // Merge-join of two sorted 4096-bin arrays, summing equal keys: the least a merge must do.
  const DDSketch a = full_sketch(0), b = full_sketch(100);
  const std::vector<SketchBin> xa = a.bins(), y = b.bins();  // bins() lays the keys out
  std::vector<SketchBin> out;
  out.reserve(8192);
  for (auto _ : state) {
    out.clear();
    const std::vector<SketchBin> x = xa;  // the real merge also starts from a copy of a
    std::size_t i = 0, j = 0;
    while (i < x.size() && j < y.size()) {
      if (x[i].k < y[j].k)
        out.push_back(x[i++]);
      else if (y[j].k < x[i].k)
        out.push_back(y[j++]);
      else
        out.push_back({x[i].k, static_cast<std::uint16_t>(x[i++].n + y[j++].n)});
    }
    out.insert(out.end(), x.begin() + static_cast<std::ptrdiff_t>(i), x.end());
    out.insert(out.end(), y.begin() + static_cast<std::ptrdiff_t>(j), y.end());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchMerge4096_Floor);

void BM_SketchMerge4096(benchmark::State& state) {
  const DDSketch a = full_sketch(0), b = full_sketch(100);
  for (auto _ : state) {
    DDSketch m = a;
    m.merge(b);
    benchmark::DoNotOptimize(m.bins().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchMerge4096);

// Informational: a forced flush of 10 240 live contexts (the context cap) into v2 payloads.
class SteppingClock final : public lc::Clock {
 public:
  lc::WallTime wall_now() const override { return lc::WallTime(std::chrono::seconds(now_s)); }
  lc::SteadyTime steady_now() const override { return {}; }
  std::int64_t now_s = 1700000003;
};

void BM_Flush10kContexts(benchmark::State& state) {
  lc::SelfMetrics self;
  SteppingClock clock;
  DogStatsdServer server({}, {}, self, clock);
  std::vector<std::string> lines;
  for (int i = 0; i < 10240; ++i) {
    lines.push_back("app.metric." + std::to_string(i % 97) + ":" + std::to_string(i) +
                    "|g|#env:prod,shard:" + std::to_string(i));
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    clock.now_s += 10;  // a new window each time (a window takes at most 10 submissions)
    for (const auto& l : lines) server.handle_datagram(l);
    state.ResumeTiming();
    auto payloads = server.flush(FlushScope::kAll);
    for (const auto& p : payloads) bytes += p.body.size();
  }
  state.SetItemsProcessed(state.iterations() * 10240);
  state.counters["bytes_per_flush"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Flush10kContexts)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
