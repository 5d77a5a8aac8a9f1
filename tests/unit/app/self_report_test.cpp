// SelfReport: with LASTCALL_SELF_METRICS the lastcall.* changes since the previous feed become
// aggregator samples (counters as counts, gauges as gauges); without it nothing is fed. At each
// flush's end one WARN line names the new drops, and nothing is said when there are none.
#include "app/self_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/assert.h"
#include "core/logger.h"
#include "fakes/fake_clock.h"

namespace lc::app {
namespace {

class SelfReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  void TearDown() override { Logger::instance().set_sink(nullptr); }

  const metrics::Series* find(const metrics::FlushBatch& b, std::string_view name,
                              const std::vector<std::string>& tags = {}) {
    for (const auto& s : b.series) {
      if (s.name == name && s.tags == tags) return &s;
    }
    return nullptr;
  }

  lc::fakes::FakeClock clock;
  SelfMetrics self;
  std::vector<std::string> lines;
};

TEST_F(SelfReportTest, FeedsCountsOfWhatChangedAndGauges) {
  metrics::MetricAggregator aggregator({}, self, clock);
  SelfReport report(self, true);
  self.dropped("dogstatsd", "bad_value", 3);
  forward::FlushSummary summary;
  summary.retry_queue_payloads = 2;
  summary.retry_queue_bytes = 4096;
  report.flush_done(summary, Millis(42));
  const std::int64_t now = clock.wall_s();
  EXPECT_GT(report.feed(aggregator, now), 0u);
  auto batch = aggregator.collect(metrics::FlushScope::kAll, now + 10);
  const auto* dropped = find(batch, "lastcall.dropped", {"kind:dogstatsd", "reason:bad_value"});
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(dropped->type, metrics::SeriesType::kRate);
  ASSERT_EQ(dropped->points.size(), 1u);
  EXPECT_DOUBLE_EQ(dropped->points[0].value * 10, 3.0);
  const auto* took = find(batch, SelfReport::kFlushDurationMs);
  ASSERT_NE(took, nullptr);
  EXPECT_EQ(took->type, metrics::SeriesType::kGauge);
  EXPECT_EQ(took->points.at(0).value, 42.0);
  const auto* depth = find(batch, SelfReport::kRetryQueuePayloads);
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->points.at(0).value, 2.0);
  EXPECT_NE(find(batch, SelfReport::kRetryQueueBytes), nullptr);

  // The next feed carries only the increase.
  self.dropped("dogstatsd", "bad_value", 2);
  clock.advance(Millis(10000));
  report.feed(aggregator, now + 10);
  batch = aggregator.collect(metrics::FlushScope::kAll, now + 20);
  dropped = find(batch, "lastcall.dropped", {"kind:dogstatsd", "reason:bad_value"});
  ASSERT_NE(dropped, nullptr);
  EXPECT_DOUBLE_EQ(dropped->points.at(0).value * 10, 2.0);
}

// LC_BUG keeps running in release builds; what it counted reaches the intake as lastcall.bug.
TEST_F(SelfReportTest, BugSitesReachedAreFedAsCounts) {
  metrics::MetricAggregator aggregator({}, self, clock);
  SelfReport report(self, true);
  const std::int64_t now = clock.wall_s();
  report.feed(aggregator, now);  // absorbs any site an earlier test reached
  aggregator.collect(metrics::FlushScope::kAll, now + 10);
  const bool old = set_bugs_abort(false);
  int line = 0;
  for (int i = 0; i < 2; ++i) {
    line = __LINE__ + 1;
    LC_BUG("a cannot-happen path, for the test");
  }
  set_bugs_abort(old);
  clock.advance(Millis(10000));
  report.feed(aggregator, now + 10);
  auto batch = aggregator.collect(metrics::FlushScope::kAll, now + 20);
  const std::string where = "where:tests/unit/app/self_report_test.cpp:" + std::to_string(line);
  const auto* bug = find(batch, SelfReport::kBug, {where});
  ASSERT_NE(bug, nullptr) << where;
  EXPECT_DOUBLE_EQ(bug->points.at(0).value * 10, 2.0);
}

TEST_F(SelfReportTest, FeedsNothingWithoutSelfMetrics) {
  metrics::MetricAggregator aggregator({}, self, clock);
  SelfReport report(self, false);
  self.dropped("dogstatsd", "bad_value", 3);
  EXPECT_EQ(report.feed(aggregator, clock.wall_s()), 0u);
  EXPECT_TRUE(aggregator.collect(metrics::FlushScope::kAll, clock.wall_s() + 10).series.empty());
  // Still counted and summarised.
  EXPECT_EQ(report.flush_done({}, Millis(1)),
            "dropped since the last flush: dogstatsd/bad_value 3 (3 in total)");
}

TEST_F(SelfReportTest, OneWarnLinePerFlushWithNewDropsOnly) {
  SelfReport report(self, false);
  self.dropped("dogstatsd", "queue_full", 12);
  self.dropped("dogstatsd", "bad_value", 3);
  self.increment("lastcall.dogstatsd.events");  // not a drop
  report.flush_done({}, Millis(5));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "lastcall | WARN | dropped since the last flush: dogstatsd/bad_value 3, "
            "dogstatsd/queue_full 12 (15 in total)\n");
  report.flush_done({}, Millis(5));  // nothing new: no line
  EXPECT_EQ(lines.size(), 1u);
  self.dropped("dogstatsd", "queue_full", 1);
  report.flush_done({}, Millis(5));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[1],
      "lastcall | WARN | dropped since the last flush: dogstatsd/queue_full 1 (1 in total)\n");
}

TEST_F(SelfReportTest, MemoryBudgetRefusalsNameTheBudgetInTheWarnLine) {
  MemoryBudget budget(24u << 20, &self);
  SelfReport report(self, false, &budget);
  budget.charge(ValueClass::kMetrics, 24u << 20);
  budget.refused(ValueClass::kMetrics, "dogstatsd", 7);
  budget.release(ValueClass::kMetrics, 12u << 20);
  report.flush_done({}, Millis(5));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "lastcall | WARN | dropped since the last flush: dogstatsd/memory_budget 7 (7 in "
            "total); memory budget: peak 24.0 MiB since the last flush, now 12.0 MiB of 24.0 MiB "
            "(metrics 12.0 MiB, logs 0.0 MiB, traces 0.0 MiB)\n");
  EXPECT_EQ(self.gauge(SelfReport::kMemoryBudgetUsed).value(), 12u << 20);
  budget.release(ValueClass::kMetrics, 12u << 20);
}

}  // namespace
}  // namespace lc::app
