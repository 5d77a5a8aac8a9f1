// MemoryBudget (lambda-agent.md §6.4): charges and releases per value class, the per-class
// limits that refuse traces first, then logs, then metrics, and refusals counted as
// lastcall.dropped{kind,reason:memory_budget}.
#include "core/memory_budget.h"

#include <gtest/gtest.h>

#include <string>

#include "core/self_metrics.h"

namespace lc {
namespace {

TEST(MemoryBudgetTest, ChargesAndReleasesPerClass) {
  MemoryBudget b(1000);
  EXPECT_EQ(b.total(), 1000u);
  EXPECT_EQ(b.used(), 0u);
  b.charge(ValueClass::kMetrics, 300);
  b.charge(ValueClass::kLogs, 100);
  b.charge(ValueClass::kTraces, 50);
  EXPECT_EQ(b.used(), 450u);
  EXPECT_EQ(b.used(ValueClass::kMetrics), 300u);
  EXPECT_EQ(b.used(ValueClass::kLogs), 100u);
  EXPECT_EQ(b.used(ValueClass::kTraces), 50u);
  b.release(ValueClass::kMetrics, 300);
  b.release(ValueClass::kLogs, 100);
  b.release(ValueClass::kTraces, 50);
  EXPECT_EQ(b.used(), 0u);
}

TEST(MemoryBudgetTest, LowerValueClassesAreRefusedFirst) {
  MemoryBudget b(800);  // limits: traces 600, logs 700, metrics 800
  EXPECT_EQ(b.limit(ValueClass::kTraces), 600u);
  EXPECT_EQ(b.limit(ValueClass::kLogs), 700u);
  EXPECT_EQ(b.limit(ValueClass::kMetrics), 800u);
  b.charge(ValueClass::kMetrics, 550);
  EXPECT_TRUE(b.admits(ValueClass::kTraces, 50));
  EXPECT_FALSE(b.admits(ValueClass::kTraces, 51));
  EXPECT_TRUE(b.admits(ValueClass::kLogs, 150));
  EXPECT_TRUE(b.admits(ValueClass::kMetrics, 250));
  b.charge(ValueClass::kLogs, 100);  // 650: traces refused, logs and metrics not
  EXPECT_FALSE(b.admits(ValueClass::kTraces));
  EXPECT_TRUE(b.admits(ValueClass::kLogs));
  EXPECT_TRUE(b.admits(ValueClass::kMetrics));
  EXPECT_EQ(b.headroom(ValueClass::kTraces), 0u);
  EXPECT_EQ(b.headroom(ValueClass::kLogs), 50u);
  EXPECT_EQ(b.headroom(ValueClass::kMetrics), 150u);
  b.charge(ValueClass::kMetrics, 100);  // 750: only metrics may still grow
  EXPECT_FALSE(b.admits(ValueClass::kLogs));
  EXPECT_TRUE(b.admits(ValueClass::kMetrics, 50));
  EXPECT_FALSE(b.admits(ValueClass::kMetrics, 51));
  // Charges are never refused (in-place growth, the owner already decided); admits() is the gate.
  b.charge(ValueClass::kMetrics, 100);
  EXPECT_EQ(b.used(), 850u);
  EXPECT_FALSE(b.admits(ValueClass::kMetrics));
  EXPECT_EQ(b.headroom(ValueClass::kMetrics), 0u);
  // Releasing memory makes room again, in the same order.
  b.release(ValueClass::kMetrics, 300);
  EXPECT_TRUE(b.admits(ValueClass::kTraces, 50));
}

TEST(MemoryBudgetTest, RefusalsAreCountedAsDrops) {
  SelfMetrics self;
  MemoryBudget b(100, &self);
  b.refused(ValueClass::kMetrics, "dogstatsd");
  b.refused(ValueClass::kMetrics, "dogstatsd", 4);
  b.refused(ValueClass::kLogs, "logs", 2);
  EXPECT_EQ(self.dropped_count("dogstatsd", "memory_budget"), 5u);
  EXPECT_EQ(self.dropped_count("logs", "memory_budget"), 2u);
  EXPECT_EQ(b.refusals(ValueClass::kMetrics), 5u);
  EXPECT_EQ(b.refusals(ValueClass::kLogs), 2u);
  EXPECT_EQ(b.refusals(), 7u);
}

TEST(MemoryBudgetTest, ValueClassOfPayloadKinds) {
  EXPECT_EQ(value_class_of(PayloadKind::kSeriesV2), ValueClass::kMetrics);
  EXPECT_EQ(value_class_of(PayloadKind::kSketches), ValueClass::kMetrics);
  EXPECT_EQ(value_class_of(PayloadKind::kLogs), ValueClass::kLogs);
  EXPECT_EQ(value_class_of(PayloadKind::kTraces), ValueClass::kTraces);
  EXPECT_EQ(value_class_of(PayloadKind::kTraceStats), ValueClass::kTraces);
}

TEST(MemoryBudgetTest, StringEstimates) {
  EXPECT_EQ(MemoryBudget::heap_bytes(std::string("short")), 0u);  // inline
  const std::string longer(100, 'x');
  EXPECT_GE(MemoryBudget::heap_bytes(longer), 100u + MemoryBudget::kAllocOverhead);
  EXPECT_EQ(MemoryBudget::heap_bytes(100), 100u + 1 + MemoryBudget::kAllocOverhead);
}

TEST(MemoryBudgetTest, PeakIsTheHighWaterMarkSinceItWasLastTaken) {
  MemoryBudget b(1000);
  b.charge(ValueClass::kMetrics, 600);
  b.release(ValueClass::kMetrics, 500);
  b.charge(ValueClass::kLogs, 100);
  EXPECT_EQ(b.peak(), 600u);
  EXPECT_EQ(b.take_peak(), 600u);
  EXPECT_EQ(b.peak(), 200u);  // restarts at what is in use
  b.release(ValueClass::kMetrics, 100);
  b.release(ValueClass::kLogs, 100);
  EXPECT_EQ(b.take_peak(), 200u);
  EXPECT_EQ(b.peak(), 0u);
}

TEST(MemoryBudgetTest, DescribeNamesUseAndTotal) {
  MemoryBudget b(24u << 20);
  b.charge(ValueClass::kMetrics, 12u << 20);
  EXPECT_EQ(b.describe(), "12.0 MiB of 24.0 MiB (metrics 12.0 MiB, logs 0.0 MiB, traces 0.0 MiB)");
}

}  // namespace
}  // namespace lc
