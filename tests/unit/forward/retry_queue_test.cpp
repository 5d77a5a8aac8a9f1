#include "forward/retry_queue.h"

#include <gtest/gtest.h>

namespace lc::forward {
namespace {

QueuedPayload entry(std::uint64_t id, std::size_t route, PayloadKind kind, std::size_t bytes) {
  auto p = std::make_shared<Payload>();
  p->kind = kind;
  p->body.assign(bytes, 'x');  // path empty: bytes() == body size
  return QueuedPayload{id, route, p, 0};
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
  EXPECT_EQ(ids(q.push(entry(2, 0, PayloadKind::kSeriesV2, 51))), (std::vector<std::uint64_t>{2}));
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

}  // namespace
}  // namespace lc::forward
