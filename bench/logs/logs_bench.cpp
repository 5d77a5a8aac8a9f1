// The logs path against floors measured in the same run (conventions.md §16):
//
// 1. Throughput. A 1 MiB telemetry batch of `function` records (text lines, JSON-format object
//    records, JSON text lines with a level) goes the whole way lastcall takes it: batch parse →
//    typed events → lambda::TelemetryLogs → logs::LogProcessor (JSON handling, a mask rule,
//    encoding) → flush into logs payloads → zstd level 3 (the logs intake's codec). The floor is
//    what any agent must do with the same bytes at least: one JSON DOM parse of the batch and one
//    zstd-3 compression of it. Goal (issue 18): real / floor ≤ 3.
// 2. Beside DogStatsD. A paced sender sends DogStatsD datagrams to the UdpReceiver → loop →
//    DogStatsdServer path while that chain runs for a 1 MiB batch every 25 ms — on the loop
//    thread (as lastcall does it), on a separate worker thread (the alternative architecture.md
//    allows), or not at all. Reports, for each, the datagrams lost and where: queue_full (the loop
//    fell behind the receive thread: what a worker thread would fix) or in the kernel (the
//    receive thread got no CPU: a worker thread would not help on a 2-core machine).
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

  std::size_t run(std::string_view batch) { return compress(lines(batch)); }

  // Parse → lines → rules → encode → batch: what the loop thread does with a telemetry batch.
  std::vector<lc::Payload> lines(std::string_view batch) {
    lc::lambda::process_telemetry_batch(
        batch, counters_,
        [this](const lc::lambda::TelemetryEvent& e) { telemetry_logs_.on_telemetry(e); });
    return processor_.flush();
  }
  // zstd-3 of each payload: what the forward stage does before sending.
  static std::size_t compress(const std::vector<lc::Payload>& payloads) {
    std::size_t out = 0;
    for (const auto& p : payloads) {
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
  lc::SystemClock clock_;
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
  std::uint64_t sent = 0, handled = 0, queue_full = 0, kernel = 0, batches = 0;
  std::uint64_t lost() const { return sent - std::min(sent, handled); }
};

// kSplit: lines on the loop, compression on a worker thread.
enum class LogsWork { kNone, kOnLoop, kSplit, kOnWorker };

// DogStatsD at `rate` datagrams/s for `seconds`, with the logs chain every 25 ms where `where`
// says.
Beside run_beside(const std::string& batch, double rate, double seconds, LogsWork where) {
  lc::SelfMetrics self;
  lc::SystemClock clock;
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
    while (where != LogsWork::kNone && !done.load()) {
      if (where == LogsWork::kOnWorker) {
        chain.run(batch);
      } else if (where == LogsWork::kSplit) {
        std::vector<lc::Payload> payloads;
        std::atomic<bool> ran{false};
        loop.post([&] {
          payloads = chain.lines(batch);
          ran = true;
        });
        while (!ran.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        LogsChain::compress(payloads);
      } else {
        std::atomic<bool> ran{false};
        loop.post([&] {
          chain.run(batch);
          ran = true;
        });
        while (!ran.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
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
  res.kernel = self.dropped_count("dogstatsd", "kernel_buffer");
  return res;
}

void print_beside(const char* what, const Beside& b) {
  std::printf("  %-34s %lu/%lu handled, lost %lu (queue_full %lu, kernel %lu), %lu logs batches\n",
              what, static_cast<unsigned long>(b.handled), static_cast<unsigned long>(b.sent),
              static_cast<unsigned long>(b.lost()), static_cast<unsigned long>(b.queue_full),
              static_cast<unsigned long>(b.kernel), static_cast<unsigned long>(b.batches));
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
  std::printf("DogStatsD at %.0f datagrams/s for %.0f s, a 1 MiB logs batch every 25 ms:\n", rate,
              seconds);
  const Beside none = run_beside(batch, rate, seconds, LogsWork::kNone);
  print_beside("no logs work:", none);
  const Beside loop = run_beside(batch, rate, seconds, LogsWork::kOnLoop);
  print_beside("logs chain on the loop thread:", loop);
  const Beside split = run_beside(batch, rate, seconds, LogsWork::kSplit);
  print_beside("compression on a worker thread:", split);
  const Beside worker = run_beside(batch, rate, seconds, LogsWork::kOnWorker);
  print_beside("whole logs chain on a worker:", worker);
  // Compression on the loop "makes DogStatsD drop" when moving it to a worker loses clearly fewer
  // datagrams in total (a loss only moved from queue_full to the kernel is no gain).
  const bool worker_helps = split.lost() + 10 < loop.lost() && split.lost() * 5 < loop.lost() * 4;
  std::printf(
      "compressing on the loop thread makes DogStatsD drop: %s (lost %lu with compression on "
      "the loop, %lu with it on a worker)\n",
      worker_helps ? "YES: move it to a worker" : "no", static_cast<unsigned long>(loop.lost()),
      static_cast<unsigned long>(split.lost()));
  return sink == 0 ? 1 : 0;
}
