// DogStatsD ingest over loopback UDP: the real path (UdpReceiver → loop thread → DogStatsdServer
// parse + aggregate) against a floor that only drains the socket with recvmmsg, in the same run.
// A sender thread blasts ~100 B single-metric datagrams, then 8 KiB packed ones. Prints handled
// datagrams per second, losses, and the ratio real/floor (issue goal: ≥ 0.5 for single metrics).
// Usage: dogstatsd_ingest_bench [datagrams_single] [datagrams_packed]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>

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
#include "metrics/dogstatsd_server.h"
#include "net/udp_receiver.h"

namespace {

using Clock = std::chrono::steady_clock;
// What the receiver asks by default when net.core.rmem_max is not given (the kernel caps both).
constexpr int kRcvBuf = lc::net::UdpReceiver::kMaxDefaultRcvbuf;

struct Result {
  double seconds = 0;
  std::uint64_t sent = 0, handled = 0, queue_full = 0;
  std::uint64_t wakes = 0;  // hand-off tasks posted to the loop thread (its wake-ups)
  double cpu = 0;           // CPU seconds of the receiving side (every thread but the sender's)
};

double process_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Measures the CPU the receiving threads spend while `send_and_wait` runs on this thread (the
// sender and the idle wait are this thread's, subtracted).
template <typename F>
double receiving_cpu(F&& send_and_wait) {
  const double p0 = process_cpu(), t0 = thread_cpu();
  send_and_wait();
  const double p1 = process_cpu(), t1 = thread_cpu();
  return (p1 - p0) - (t1 - t0);
}

std::string single_line(int i) {
  return "app.request.duration.ms:" + std::to_string(100 + i % 900) +
         "|h|#env:prod,service:checkout,route:/api/v1/cart,code:200,region:us-east-1";
}

std::vector<std::string> make_payloads(bool packed) {
  std::vector<std::string> out;
  for (int d = 0; d < 64; ++d) {
    if (!packed) {
      out.push_back(single_line(d));
      continue;
    }
    std::string p;
    for (int i = 0;; ++i) {
      const std::string line = single_line(d * 100 + i);
      if (p.size() + line.size() + 1 > 8000) break;
      if (!p.empty()) p.push_back('\n');
      p += line;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Sends `n` datagrams with sendmmsg, as fast as the kernel takes them, or paced at `rate`/s.
std::uint64_t blast(std::uint16_t port, const std::vector<std::string>& payloads, std::uint64_t n,
                    double rate = 0) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int sndbuf = kRcvBuf;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  // Paced: bursts of ~50 µs worth of datagrams, closer to an application than 32 at a time.
  const unsigned batch = rate > 0 ? static_cast<unsigned>(std::clamp(rate * 50e-6, 1.0, 32.0)) : 32;
  std::vector<mmsghdr> msgs(batch);
  std::vector<iovec> iov(batch);
  std::uint64_t sent = 0;
  const auto start = Clock::now();
  while (sent < n) {
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(sent / rate)));
    }
    const unsigned count = static_cast<unsigned>(std::min<std::uint64_t>(batch, n - sent));
    for (unsigned i = 0; i < count; ++i) {
      const std::string& p = payloads[(sent + i) % payloads.size()];
      iov[i] = {const_cast<char*>(p.data()), p.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::sendmmsg(fd, msgs.data(), count, 0);
    if (r > 0) sent += static_cast<std::uint64_t>(r);
  }
  ::close(fd);
  return sent;
}

// Waits until `counter` stops moving for 300 ms after the sender finished.
void wait_idle(const std::atomic<std::uint64_t>& counter, std::uint64_t target,
               Clock::time_point& last_change) {
  std::uint64_t last = counter.load();
  last_change = Clock::now();
  while (counter.load() < target) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::uint64_t now = counter.load();
    if (now != last) {
      last = now;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > std::chrono::milliseconds(300)) {
      break;
    }
  }
  if (counter.load() >= target) last_change = Clock::now();
}

Result run_floor(const std::vector<std::string>& payloads, std::uint64_t n, double rate = 0) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kRcvBuf, sizeof kRcvBuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::thread rx([&] {
    constexpr unsigned kBatch = 32;
    std::vector<char> arena(kBatch * 8192);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    while (!stop.load(std::memory_order_relaxed)) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      for (unsigned i = 0; i < kBatch; ++i) {
        iov[i] = {arena.data() + i * 8192, 8192};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int r = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (r > 0) received.fetch_add(static_cast<std::uint64_t>(r), std::memory_order_relaxed);
    }
  });
  Result res;
  const auto t0 = Clock::now();
  Clock::time_point end;
  res.cpu = receiving_cpu([&] {
    res.sent = blast(ntohs(addr.sin_port), payloads, n, rate);
    wait_idle(received, n, end);
  });
  stop = true;
  rx.join();
  ::close(fd);
  res.seconds = std::chrono::duration<double>(end - t0).count();
  res.handled = received.load();
  return res;
}

Result run_real(const std::vector<std::string>& payloads, std::uint64_t n, double rate = 0) {
  lc::SelfMetrics self;
  lc::SystemClock clock;
  lc::EventLoop loop;
  auto guard = boost::asio::make_work_guard(loop.io());
  lc::metrics::AggregatorConfig config;
  config.max_histogram_samples = 1u << 30;
  lc::metrics::DogStatsdServer server({}, config, self, clock);
  std::atomic<std::uint64_t> handled{0};
  std::atomic<std::uint64_t> posts{0};
  lc::net::UdpReceiver::Options o;  // the default receive buffer: kRcvBuf asked, never forced
  auto rx = lc::net::UdpReceiver::create(
      o, self,
      [&](std::function<void()> task) {
        posts.fetch_add(1, std::memory_order_relaxed);
        loop.post(std::move(task));
      },
      [&](std::span<const lc::net::ReceivedDatagram> batch) {
        for (const auto& d : batch) server.handle_datagram(d.data, d.truncated);
        handled.fetch_add(batch.size(), std::memory_order_relaxed);
      });
  if (!rx) {
    std::fprintf(stderr, "receiver: %s\n", rx.error().message.c_str());
    std::exit(1);
  }
  std::thread loop_thread([&] {
    ::pthread_setname_np(::pthread_self(), "lc-loop");
    loop.run();
  });
  (*rx)->start();
  Result res;
  const auto t0 = Clock::now();
  Clock::time_point end;
  res.cpu = receiving_cpu([&] {
    res.sent = blast((*rx)->port(), payloads, n, rate);
    wait_idle(handled, n, end);
  });
  res.seconds = std::chrono::duration<double>(end - t0).count();
  res.handled = handled.load();
  res.queue_full = self.dropped_count("dogstatsd", "queue_full");
  res.wakes = posts.load();
  loop.post([&] { (*rx)->stop(); });
  loop.post([&] { guard.reset(); });
  loop_thread.join();
  return res;
}

void report(const char* name, std::size_t size, const Result& r, double floor_rate) {
  const double rate = static_cast<double>(r.handled) / r.seconds;
  const double loss =
      r.sent ? 100.0 * static_cast<double>(r.sent - r.handled) / static_cast<double>(r.sent) : 0;
  std::printf(
      "%-26s %6zu B  sent %9llu  handled %9llu  loss %5.2f%%  queue_full %7llu  %10.0f dgram/s",
      name, size, static_cast<unsigned long long>(r.sent),
      static_cast<unsigned long long>(r.handled), loss,
      static_cast<unsigned long long>(r.queue_full), rate);
  if (floor_rate > 0) std::printf("  ratio %.2f", rate / floor_rate);
  if (r.handled > 0) {
    std::printf("  cpu %.2f s/M", r.cpu * 1e6 / static_cast<double>(r.handled));
  }
  if (r.wakes > 0) {
    std::printf("  %.1f dgram/hand-off",
                static_cast<double>(r.handled) / static_cast<double>(r.wakes));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n_single = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const std::uint64_t n_packed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20000;
  // `dogstatsd_ingest_bench 0 0 RATE [packed]`: only lastcall, datagrams at RATE/s for 5 s (perf).
  if (argc > 3) {
    const double rate = std::strtod(argv[3], nullptr);
    const auto payloads = make_payloads(argc > 4 && std::string(argv[4]) == "packed");
    report("lastcall (paced)", payloads[0].size(),
           run_real(payloads, static_cast<std::uint64_t>(rate * 5), rate), 0);
    return 0;
  }
  // CPU per million lines at fixed rates, single-metric datagrams: the receiving side's CPU
  // (receive thread + loop thread) against the floor's drain thread at the same rate.
  {
    const auto payloads = make_payloads(false);
    for (const double rate : {50000.0, 150000.0, 250000.0}) {
      const auto n = static_cast<std::uint64_t>(rate * 2);  // two seconds
      const Result floor = run_floor(payloads, n, rate);
      const Result real = run_real(payloads, n, rate);
      char name[64];
      std::snprintf(name, sizeof name, "floor @ %.0fk/s", rate / 1000);
      report(name, payloads[0].size(), floor, 0);
      std::snprintf(name, sizeof name, "lastcall @ %.0fk/s", rate / 1000);
      report(name, payloads[0].size(), real, 0);
    }
  }
  for (const bool packed : {false, true}) {
    const auto payloads = make_payloads(packed);
    const std::uint64_t n = packed ? n_packed : n_single;
    const Result floor = run_floor(payloads, n);
    const Result real = run_real(payloads, n);
    const double floor_rate = static_cast<double>(floor.handled) / floor.seconds;
    report(packed ? "floor recvmmsg (packed)" : "floor recvmmsg (single)", payloads[0].size(),
           floor, 0);
    report(packed ? "lastcall ingest (packed)" : "lastcall ingest (single)", payloads[0].size(),
           real, floor_rate);
    // The goal: at half the floor's rate, nothing is lost.
    const Result paced = run_real(payloads, n / 2, floor_rate / 2);
    report(packed ? "lastcall @ floor/2 (packed)" : "lastcall @ floor/2 (single)",
           payloads[0].size(), paced, floor_rate);
  }
  return 0;
}
