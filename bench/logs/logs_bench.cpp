// The logs path against floors measured in the same run (conventions.md §16):
//
// 1. Throughput. A 1 MiB telemetry batch of `function` records (text lines, JSON-format object
//    records, JSON text lines with a level) goes the whole way lastcall takes it: batch parse →
//    typed events → lambda::TelemetryLogs → logs::LogProcessor (JSON handling, a mask rule,
//    encoding) → flush into logs payloads → zstd level 3 (the logs intake's codec). The floor is
//    what any agent must do with the same bytes at least: one JSON DOM parse of the batch and one
//    zstd-3 compression of it. Goal (issue 18): real / floor ≤ 3.
// 2. Beside DogStatsD. The loop thread runs that chain for a 1 MiB batch every 25 ms while a
//    paced sender blasts DogStatsD datagrams at the UdpReceiver → loop → DogStatsdServer path; the
//    run is repeated without the logs work. Reports the datagrams lost in each run: if compressing
//    on the loop thread makes DogStatsD drop, it shows here.
// Usage: logs_bench [repetitions] [datagrams_per_second]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "forward/compression.h"
#include "lambda/telemetry.h"
#include "lambda/telemetry_logs.h"
#include "logs/log_processor.h"
#include "metrics/dogstatsd_server.h"
#include "net/udp_receiver.h"

namespace {

using Steady = std::chrono::steady_clock;

class WallClock final : public lc::Clock {
 public:
  lc::WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  lc::SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

constexpr std::string_view kRules =
    R"([{"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+",)"
    R"("replace_placeholder":"api_key=[REDACTED]"}])";

// ~1 MiB: a platform.start, then function records of three shapes, then runtimeDone and report.
std::string make_batch(std::size_t target_bytes) {
  const std::string id = "8f5e2c3a-1b2c-4d5e-8f90-0123456789ab";
  boost::json::array batch;
  batch.push_back({{"time", "2026-12-05T10:00:00.000Z"},
                   {"type", "platform.start"},
                   {"record", {{"requestId", id}, {"version", "$LATEST"}}}});
  std::size_t bytes = 0;
  for (int i = 0; bytes < target_bytes; ++i) {
    boost::json::object e;
    e["time"] = "2026-12-05T10:00:00.123Z";
    e["type"] = "function";
    const std::string filler(300 + (i * 37) % 700, static_cast<char>('a' + i % 26));
    switch (i % 3) {
      case 0:
        e["record"] = "2026-12-05T10:00:00.123Z\t" + id + "\tINFO\tprocessed order " +
                      std::to_string(i) + " api_key=abc" + std::to_string(i) + " " + filler;
        break;
      case 1:
        e["record"] = {{"timestamp", "2026-12-05T10:00:00.123Z"},
                       {"level", i % 2 == 0 ? "INFO" : "WARN"},
                       {"requestId", id},
                       {"message", "cart updated " + filler},
                       {"cart", {{"items", i % 9}, {"total", 12.5 * i}}}};
        break;
      default:
        e["record"] = R"({"level":"ERROR","message":"payment retry )" + std::to_string(i) + " " +
                      filler + R"(","ddtags":"team:payments"})";
        break;
    }
    bytes += boost::json::serialize(e).size();
    batch.push_back(std::move(e));
  }
  batch.push_back(
      {{"time", "2026-12-05T10:00:01.000Z"},
       {"type", "platform.runtimeDone"},
       {"record",
        {{"requestId", id}, {"status", "success"}, {"metrics", {{"durationMs", 900.5}}}}}});
  batch.push_back({{"time", "2026-12-05T10:00:01.001Z"},
                   {"type", "platform.report"},
                   {"record",
                    {{"requestId", id},
                     {"status", "success"},
                     {"metrics",
                      {{"durationMs", 901.0},
                       {"billedDurationMs", 902},
                       {"memorySizeMB", 128},
                       {"maxMemoryUsedMB", 64}}}}}});
  return boost::json::serialize(batch);
}

// The whole logs chain for one batch; returns the compressed bytes (so nothing is optimized out).
class LogsChain {
 public:
  LogsChain()
      : processor_(options(), self_, tags_),
        telemetry_logs_({}, processor_, clock_, self_),
        counters_(self_) {
    tags_.set("function_arn", "arn:aws:lambda:us-east-1:123456789012:function:bench");
  }

  std::size_t run(std::string_view batch) {
    lc::lambda::process_telemetry_batch(
        batch, counters_,
        [this](const lc::lambda::TelemetryEvent& e) { telemetry_logs_.on_telemetry(e); });
    std::size_t out = 0;
    for (const auto& p : processor_.flush()) {
      auto z = lc::forward::compress(lc::Compressor::kZstd, p.body, 3);
      out += z ? z->size() : 0;
    }
    return out;
  }

 private:
  static lc::logs::LogProcessorOptions options() {
    lc::logs::LogProcessorOptions o;
    o.service = "checkout";
    o.ddsource = "lambda";
    o.processing_rules_json = std::string(kRules);
    return o;
  }

  lc::SelfMetrics self_;
  WallClock clock_;
  lc::TagSets tags_;
  lc::logs::LogProcessor processor_;
  lc::lambda::TelemetryLogs telemetry_logs_;
  lc::lambda::TelemetryCounters counters_;
};

std::size_t floor_run(std::string_view batch) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(batch, ec);
  auto z = lc::forward::compress(lc::Compressor::kZstd, batch, 3);
  return (z ? z->size() : 0) + (doc.is_array() ? doc.as_array().size() : 0);
}

template <typename F>
double best_seconds(int reps, F&& f, std::size_t& sink) {
  double best = 1e9;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Steady::now();
    sink += f();
    best = std::min(best, std::chrono::duration<double>(Steady::now() - t0).count());
  }
  return best;
}

std::string statsd_line(int i) {
  return "app.request.duration.ms:" + std::to_string(100 + i % 900) +
         "|h|#env:prod,service:checkout,route:/api/v1/cart,code:200";
}

struct Beside {
  std::uint64_t sent = 0, handled = 0, queue_full = 0, batches = 0;
};

// DogStatsD at `rate` datagrams/s for `seconds`, with (or without) the logs chain on the loop
// thread every 25 ms.
Beside run_beside(const std::string& batch, double rate, double seconds, bool with_logs) {
  lc::SelfMetrics self;
  WallClock clock;
  lc::EventLoop loop;
  auto guard = boost::asio::make_work_guard(loop.io());
  lc::metrics::AggregatorConfig config;
  config.max_histogram_samples = 1u << 30;
  lc::metrics::DogStatsdServer server({}, config, self, clock);
  std::atomic<std::uint64_t> handled{0};
  lc::net::UdpReceiver::Options o;
  auto rx = lc::net::UdpReceiver::create(
      o, self, [&](std::function<void()> task) { loop.post(std::move(task)); },
      [&](std::span<const lc::net::ReceivedDatagram> b) {
        for (const auto& d : b) server.handle_datagram(d.data, d.truncated);
        handled.fetch_add(b.size(), std::memory_order_relaxed);
      });
  if (!rx) {
    std::fprintf(stderr, "receiver: %s\n", rx.error().message.c_str());
    std::exit(1);
  }
  LogsChain chain;
  std::thread loop_thread([&] { loop.run(); });
  (*rx)->start();
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> batches{0};
  std::thread logs_thread([&] {
    while (with_logs && !done.load()) {
      std::atomic<bool> ran{false};
      loop.post([&] {
        chain.run(batch);
        ran = true;
      });
      while (!ran.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      batches.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  });

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*rx)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  std::vector<std::string> lines;
  for (int i = 0; i < 64; ++i) lines.push_back(statsd_line(i));
  Beside res;
  const auto t0 = Steady::now();
  const auto n = static_cast<std::uint64_t>(rate * seconds);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::this_thread::sleep_until(
        t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(i / rate)));
    const std::string& l = lines[i % lines.size()];
    if (::send(fd, l.data(), l.size(), 0) > 0) ++res.sent;
  }
  ::close(fd);
  done = true;
  logs_thread.join();
  // Let the receiver drain what is still queued (at most 1 s).
  for (int i = 0; i < 100 && handled.load() < res.sent; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  res.handled = handled.load();
  res.queue_full = self.dropped_count("dogstatsd", "queue_full");
  res.batches = batches.load();
  loop.post([&] { (*rx)->stop(); });
  loop.post([&] { guard.reset(); });
  loop_thread.join();
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const double rate = argc > 2 ? std::atof(argv[2]) : 50000;
  const std::string batch = make_batch(1 << 20);
  std::size_t sink = 0;
  LogsChain warm;
  sink += warm.run(batch);
  const double real = best_seconds(
      reps, [&] { return warm.run(batch); }, sink);
  const double floor = best_seconds(
      reps, [&] { return floor_run(batch); }, sink);
  std::printf("batch: %zu bytes of telemetry\n", batch.size());
  std::printf(
      "lastcall chain (parse → lines → rules → encode → batch → zstd-3): %.2f ms (%.0f MiB/s)\n",
      real * 1e3, batch.size() / real / (1 << 20));
  std::printf(
      "floor (JSON DOM parse + zstd-3 of the same bytes):               %.2f ms (%.0f MiB/s)\n",
      floor * 1e3, batch.size() / floor / (1 << 20));
  std::printf("ratio real/floor: %.2f (goal <= 3)\n", real / floor);

  const double seconds = 2.0;
  const Beside without = run_beside(batch, rate, seconds, false);
  const Beside with = run_beside(batch, rate, seconds, true);
  std::printf(
      "DogStatsD at %.0f datagrams/s for %.0f s: without logs work %lu/%lu handled, %lu "
      "queue_full; with a 1 MiB logs batch on the loop every 25 ms (%lu batches) %lu/%lu "
      "handled, %lu queue_full\n",
      rate, seconds, static_cast<unsigned long>(without.handled),
      static_cast<unsigned long>(without.sent), static_cast<unsigned long>(without.queue_full),
      static_cast<unsigned long>(with.batches), static_cast<unsigned long>(with.handled),
      static_cast<unsigned long>(with.sent), static_cast<unsigned long>(with.queue_full));
  const std::uint64_t lost_without = without.sent - std::min(without.sent, without.handled);
  const std::uint64_t lost_with = with.sent - std::min(with.sent, with.handled);
  std::printf("logs compression on the loop thread makes DogStatsD drop: %s (%lu lost vs %lu)\n",
              lost_with > lost_without ? "YES" : "no", static_cast<unsigned long>(lost_with),
              static_cast<unsigned long>(lost_without));
  return sink == 0 ? 1 : 0;
}
