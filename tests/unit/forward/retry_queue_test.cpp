#include "forward/retry_queue.h"

#include <gtest/gtest.h>

namespace lc::forward {
namespace {

QueuedPayload entry(std::uint64_t id, std::size_t route, PayloadKind kind, std::size_t bytes) {
  auto p = std::make_shared<Payload>();
  p->kind = kind;
  p->body.assign(bytes, 'x');  // path empty: bytes() == body size
  return QueuedPayload{id, route, p, 0, {}};
}

std::vector<std::uint64_t> ids(const std::vector<QueuedPayload>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& e : v) out.push_back(e.id);
  return out;
}

TEST(RetryQueue, FifoAcrossRoutesByAge) {
  RetryQueue q(1000);
  EXPECT_TRUE(q.push(entry(3, 0, PayloadKind::kSeriesV2, 10)).empty());
  EXPECT_TRUE(q.push(entry(1, 1, PayloadKind::kSeriesV2, 10)).empty());
  EXPECT_TRUE(q.push(entry(2, 0, PayloadKind::kSeriesV2, 10)).empty());
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 30u);
  EXPECT_EQ(ids(q.take_all()), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
}

// lambda-agent.md §6.4: oldest payload of the lowest-value kind goes first.
TEST(RetryQueue, OverflowEvictsTracesThenLogsThenMetricsOldestFirst) {
  RetryQueue q(100);
  ASSERT_TRUE(q.push(entry(1, 0, PayloadKind::kSeriesV2, 20)).empty());
  ASSERT_TRUE(q.push(entry(2, 1, PayloadKind::kLogs, 20)).empty());
  ASSERT_TRUE(q.push(entry(3, 2, PayloadKind::kTraces, 20)).empty());
  ASSERT_TRUE(q.push(entry(4, 2, PayloadKind::kTraceStats, 20)).empty());
  ASSERT_TRUE(q.push(entry(5, 1, PayloadKind::kLogs, 20)).empty());
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(ids(q.push(entry(6, 0, PayloadKind::kSketches, 30))),
            (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(ids(q.push(entry(7, 0, PayloadKind::kSeriesV2, 20))), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(ids(q.push(entry(8, 0, PayloadKind::kSeriesV2, 35))),
            (std::vector<std::uint64_t>{5, 1}));
  EXPECT_EQ(ids(q.take_all()), (std::vector<std::uint64_t>{6, 7, 8}));
}

TEST(RetryQueue, IncomingLowValuePayloadIsTheVictimWhenOnlyMetricsAreQueued) {
  RetryQueue q(50);
  ASSERT_TRUE(q.push(entry(1, 0, PayloadKind::kSeriesV2, 40)).empty());
  EXPECT_EQ(ids(q.push(entry(2, 2, PayloadKind::kTraces, 20))), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 40u);
}

TEST(RetryQueue, EntryOverTheWholeBudgetIsRefused) {
  RetryQueue q(50);
  ASSERT_TRUE(q.push(entry(1, 0, PayloadKind::kSeriesV2, 10)).empty());
  const auto refused = q.push(entry(2, 0, PayloadKind::kSeriesV2, 51));
  EXPECT_EQ(ids(refused), (std::vector<std::uint64_t>{2}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].evicted_for, "retry_queue_full");
  EXPECT_EQ(q.size(), 1u);
}

TEST(RetryQueue, RemoveById) {
  RetryQueue q(100);
  ASSERT_TRUE(q.push(entry(1, 0, PayloadKind::kSeriesV2, 10)).empty());
  ASSERT_TRUE(q.push(entry(2, 0, PayloadKind::kSeriesV2, 15)).empty());
  EXPECT_TRUE(q.remove(1));
  EXPECT_FALSE(q.remove(1));
  EXPECT_EQ(q.bytes(), 15u);
  EXPECT_EQ(ids(q.take_all()), (std::vector<std::uint64_t>{2}));
}

// lambda-agent.md §6.4: the queue is part of the memory budget, charged per entry and released
// when an entry leaves; memory the rest of lastcall holds leaves less room for it.
TEST(RetryQueue, ChargesTheMemoryBudget) {
  MemoryBudget budget(1u << 20);
  {
    RetryQueue q(1u << 20, &budget);
    const auto a = entry(1, 0, PayloadKind::kSeriesV2, 1000);
    const auto b = entry(2, 1, PayloadKind::kLogs, 500);
    const std::size_t ca = RetryQueue::charge_of(a), cb = RetryQueue::charge_of(b);
    EXPECT_GT(ca, 1000u);
    ASSERT_TRUE(q.push(a).empty());
    ASSERT_TRUE(q.push(b).empty());
    EXPECT_EQ(budget.used(ValueClass::kMetrics), ca);
    EXPECT_EQ(budget.used(ValueClass::kLogs), cb);
    EXPECT_TRUE(q.remove(2));
    EXPECT_EQ(budget.used(ValueClass::kLogs), 0u);
    ASSERT_TRUE(q.push(entry(3, 0, PayloadKind::kSeriesV2, 10)).empty());
    (void)q.take_all();
    EXPECT_EQ(budget.used(), 0u);
    ASSERT_TRUE(q.push(entry(4, 0, PayloadKind::kSeriesV2, 10)).empty());
    EXPECT_GT(budget.used(), 0u);
  }
  EXPECT_EQ(budget.used(), 0u);  // released with the queue
}

TEST(RetryQueue, MemoryBudgetEvictsLowestValueFirst) {
  // 8000-byte budget: traces may use 6000, logs 7000, metrics 8000. The aggregators hold 4000.
  MemoryBudget budget(8000);
  budget.charge(ValueClass::kMetrics, 4000);
  RetryQueue q(1u << 20, &budget);  // the queue's own cap is not what binds here
  ASSERT_TRUE(q.push(entry(1, 2, PayloadKind::kTraces, 1500)).empty());
  // Another trace payload would take traces past their 6000: the incoming one (newest) stays
  // out only if older traces are gone first — the oldest trace is evicted for it.
  EXPECT_EQ(ids(q.push(entry(2, 2, PayloadKind::kTraces, 1500))), (std::vector<std::uint64_t>{1}));
  // A metrics payload evicts the queued trace (lower value) to fit.
  EXPECT_EQ(ids(q.push(entry(3, 0, PayloadKind::kSeriesV2, 2500))),
            (std::vector<std::uint64_t>{2}));
  // With nothing of lower value left and no room, the incoming payload itself is refused, and
  // the reason is the memory budget, not the queue's own cap.
  const auto refused = q.push(entry(4, 1, PayloadKind::kLogs, 2000));
  EXPECT_EQ(ids(refused), (std::vector<std::uint64_t>{4}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].evicted_for, "memory_budget");
  EXPECT_EQ(ids(q.take_all()), (std::vector<std::uint64_t>{3}));
  budget.release(ValueClass::kMetrics, 4000);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace lc::forward
