// The DogStatsD hot path does not allocate per sample (conventions.md §12): once the parser's
// scratch buffers and the aggregator's contexts exist, parsing and aggregating more datagrams of
// the same contexts performs no heap allocation. Counted with a replaced global operator new
// (own test binary, so no other test is affected). Counting a drop is on the hot path too:
// malformed lines, and datagrams dropped by the receive thread because the queue is full, allocate
// nothing.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <new>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "metrics/dogstatsd_server.h"
#include "net/udp_receiver.h"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace lc::metrics {
namespace {

class NullVisitor final : public DogStatsdVisitor {
 public:
  void on_metric(const MetricSample& s) override { n += s.values.size() + s.tags.size(); }
  std::size_t n = 0;
};

const char* const kPackets[] = {
    "page.views:1|c|#env:prod,route:/a,code:200",
    "temp:10:11:12|g|#host:h1,zone:b,zone:a",
    "resp.size:1:2:3|d|@0.5|#env:prod",
    "probe.biz.latency:12.5|d|#route:/a,env:dev|T1700000001",
    "a:1|c\r\nb:2|g\n\nbad:abc|c\nc:3|c|c:abc|e:x|card:low|zzz",
    "users:alice|s|#x:1",
};

TEST(AllocTest, CounterSeesAllocations) {  // the checks below would be vacuous otherwise
  const auto before = g_allocations.load();
  std::string* volatile s = new std::string(1000, 'x');
  delete s;
  EXPECT_GE(g_allocations.load() - before, 2u);
}

TEST(AllocTest, ParserDoesNotAllocatePerLine) {
  SelfMetrics self;
  ParserOptions o;
  o.namespace_prefix = "ns.";
  DogStatsdParser parser(o, self);
  NullVisitor v;
  for (const char* p : kPackets) parser.parse_packet(p, false, v);  // warm the scratch buffers
  const auto before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    for (const char* p : kPackets) {
      if (std::string_view(p).find("bad:") != std::string_view::npos) continue;  // drops count
      parser.parse_packet(p, false, v);
    }
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_GT(v.n, 0u);
}

TEST(AllocTest, ParseAndAggregateExistingContextsDoesNotAllocate) {
  SelfMetrics self;
  lc::fakes::FakeClock clock;
  DogStatsdServer server({}, {}, self, clock);
  const char* const packets[] = {
      "page.views:1|c|#env:prod,route:/a,code:200",
      "temp:10:11:12|g|#host:h1,zone:b,zone:a",
      "resp.size:1:2:3|d|#env:prod",
      "probe.biz.latency:12.5|d|#route:/a,env:dev|T1700000001",
      "users:alice|s|#x:1",
  };
  for (int i = 0; i < 3; ++i) {
    for (const char* p : packets) server.handle_datagram(p);
  }
  const auto before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    for (const char* p : packets) server.handle_datagram(p);
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(server.metrics_received(), 5u * 1003);
}

TEST(AllocTest, CountingDropsDoesNotAllocate) {
  SelfMetrics self;
  self.dropped("proxy", "seen_once");  // a reason the code did not register: allocated once
  const auto handle = self.drop_counter("dogstatsd", "queue_full");
  const auto before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    self.dropped("dogstatsd", "bad_value");  // registered at construction
    self.dropped("proxy", "seen_once");
    self.dropped("telemetry", "malformed", 2);
    handle.add();
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "bad_value"), 1000u);
  EXPECT_EQ(self.dropped_count("proxy", "seen_once"), 1001u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 1000u);
}

TEST(AllocTest, MalformedLinesDoNotAllocate) {
  SelfMetrics self;
  ParserOptions o;
  DogStatsdParser parser(o, self);
  NullVisitor v;
  const char* const bad[] = {
      "page.views:abc|c", "page.views|c", "page.views:1|x", ":1|c",
      "x:1|c|@abc",       "x:1|c|Tnope",  "x:NaN|g",        "page.views:1",
      "_e{5,4}:title|te", "_sc|name",     "x:1e999|g",      "a:1|c\nb:zz|g\nc:|c",
  };
  const auto before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    for (const char* p : bad) parser.parse_packet(p, false, v);
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_GE(self.dropped_total(), 12000u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "bad_value"), 4000u);
}

// The receive thread counts queue_full drops with a handle: with the queue full (the loop never
// runs the posted task), datagrams are read, dropped and counted without a single allocation.
TEST(AllocTest, QueueFullDropsDoNotAllocate) {
  SelfMetrics self;
  std::vector<std::function<void()>> held;  // the loop that never runs
  held.reserve(16);
  net::UdpReceiver::Options o;
  o.queue_datagrams = 1;
  auto rx = net::UdpReceiver::create(
      o, self, [&held](std::function<void()> task) { held.push_back(std::move(task)); },
      [](std::span<const net::ReceivedDatagram>) {});
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons((*rx)->port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto send = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(::sendto(fd, "a:1|c", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 5);
    }
  };
  const auto wait_received = [&](std::uint64_t n) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((*rx)->datagrams_received() < n && std::chrono::steady_clock::now() < limit) {
      std::this_thread::yield();
    }
    return (*rx)->datagrams_received();
  };
  send(1);  // fills the queue (allocates its chunk)
  ASSERT_EQ(wait_received(1), 1u);
  const auto before = g_allocations.load();
  send(200);
  const auto got = wait_received(201);
  const auto allocated = g_allocations.load() - before;
  EXPECT_EQ(got, 201u);
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 200u);
  ::close(fd);
  (*rx)->stop();
  for (auto& task : held) task();  // recycles the queued chunk
}

}  // namespace
}  // namespace lc::metrics
