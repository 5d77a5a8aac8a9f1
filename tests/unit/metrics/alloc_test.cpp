// The DogStatsD hot path does not allocate per sample (conventions.md §12): once the parser's
// scratch buffers and the aggregator's contexts exist, parsing and aggregating more datagrams of
// the same contexts performs no heap allocation. Counted with a replaced global operator new
// (own test binary, so no other test is affected).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "fakes/fake_clock.h"
#include "metrics/dogstatsd_server.h"

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

}  // namespace
}  // namespace lc::metrics
