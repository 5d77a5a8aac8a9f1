// The final flush's budget at SHUTDOWN (lambda-agent.md §6.5): D = deadlineMs − margin, measured
// from SHUTDOWN receipt; a missing, past or far deadline gives 1500 ms and a warning.
#include "app/extension_app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/logger.h"

namespace lc::app {
namespace {

class FinalFlushBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  void TearDown() override { Logger::instance().set_sink(nullptr); }
  std::vector<std::string> lines;
};

constexpr std::int64_t kTs = 1700000000000;

TEST_F(FinalFlushBudgetTest, DeadlineMinusMarginFromReceipt) {
  EXPECT_EQ(final_flush_budget(kTs + 2000, kTs, 200), Millis(1800));
  EXPECT_EQ(final_flush_budget(kTs + 10000, kTs, 200), Millis(9800));
  EXPECT_TRUE(lines.empty());
}

TEST_F(FinalFlushBudgetTest, DeadlineInsideTheMarginLeavesNothing) {
  EXPECT_EQ(final_flush_budget(kTs + 150, kTs, 200), Millis(0));
  EXPECT_TRUE(lines.empty());
}

TEST_F(FinalFlushBudgetTest, MissingPastOrFarDeadlineGives1500MsAndAWarning) {
  EXPECT_EQ(final_flush_budget(0, kTs, 200), Millis(1500));
  EXPECT_EQ(final_flush_budget(kTs - 1, kTs, 200), Millis(1500));
  EXPECT_EQ(final_flush_budget(kTs + 10001, kTs, 200), Millis(1500));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("missing"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("in the past"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("more than 10 s away"), std::string::npos) << lines[2];
  for (const auto& l : lines) EXPECT_EQ(l.rfind("lastcall | WARN |", 0), 0u) << l;
}

}  // namespace
// §6.5 step 2 ends by min(t_s + 800 ms, D − 600 ms).
TEST(ShutdownReportWait, EightHundredMsOrSixHundredBeforeD) {
  EXPECT_EQ(shutdown_report_wait(Millis(1800)), Millis(800));
  EXPECT_EQ(shutdown_report_wait(Millis(1300)), Millis(700));
  EXPECT_EQ(shutdown_report_wait(Millis(500)), Millis(0));
}

}  // namespace lc::app
