// LC_ASSERT / LC_BUG (conventions.md §7), the loop-thread ownership check and the annotated mutex.
#include "core/assert.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/logger.h"
#include "core/mutex.h"
#include "core/thread_owner.h"

namespace lc {
namespace {

class AssertBug : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
    old_abort_ = set_bugs_abort(false);
  }
  void TearDown() override {
    Logger::instance().set_sink(nullptr);
    set_bugs_abort(old_abort_);
  }
  std::uint64_t count_at(const std::string& where) {
    for (const auto& [w, n] : bug_counts()) {
      if (w == where) return n;
    }
    return 0;
  }
  std::vector<std::string> lines;
  bool old_abort_ = false;
};

TEST(AssertMacro, HoldingConditionDoesNothing) {
  int evaluated = 0;
  LC_ASSERT(++evaluated == 1, "counted once");
#ifdef NDEBUG
  EXPECT_EQ(evaluated, 0);  // release: the condition is not evaluated
#else
  EXPECT_EQ(evaluated, 1);
#endif
}

TEST(AssertMacro, SourceLocationIsRelativeToTheTree) {
  using detail::source_location_name;
  EXPECT_EQ(source_location_name("/work/x/src/metrics/aggregator.cpp"), "metrics/aggregator.cpp");
  EXPECT_EQ(source_location_name("../../src/core/a.cpp"), "core/a.cpp");
  EXPECT_EQ(source_location_name("tools/sandbox/sandbox.cpp"), "tools/sandbox/sandbox.cpp");
  EXPECT_EQ(source_location_name("/a/resources/b.cpp"), "b.cpp");  // "src/" inside a name: no
  EXPECT_EQ(source_location_name("b.cpp"), "b.cpp");
}

#ifndef NDEBUG
TEST(AssertMacroDeathTest, FailedConditionLogsAndAbortsInDebug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
  const int contexts = 3;
  EXPECT_DEATH(LC_ASSERT(contexts < 2, "context count above its cap"),
               "lastcall \\| CRITICAL \\| assertion failed: context count above its cap "
               "\\(contexts < 2\\) at tests/unit/core/assert_test.cpp:[0-9]+");
}

TEST(AssertMacroDeathTest, BugAbortsInDebug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
  EXPECT_DEATH(LC_BUG("flush finished twice"), "ERROR \\| bug: flush finished twice at");
}
#endif

TEST_F(AssertBug, LogsAtErrorCountsPerSiteAndKeepsRunning) {
  const std::uint64_t total_before = bug_total();
  const int line = __LINE__ + 2;
  for (int i = 0; i < 12; ++i) {
    LC_BUG("retry queue size disagrees with its contents");
  }
  const std::string where = "tests/unit/core/assert_test.cpp:" + std::to_string(line);
  EXPECT_EQ(count_at(where), 12u);
  EXPECT_EQ(bug_total(), total_before + 12);
  // Ten lines, then the site is only counted.
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0], "lastcall | ERROR | bug: retry queue size disagrees with its contents at " +
                          where + " (occurrence 1)\n");
  EXPECT_NE(lines[9].find("(occurrence 10, further ones only counted)"), std::string::npos);
}

TEST_F(AssertBug, EachSiteHasItsOwnCount) {
  const int line = __LINE__ + 1;
  LC_BUG("first");
  LC_BUG("second");
  EXPECT_EQ(count_at("tests/unit/core/assert_test.cpp:" + std::to_string(line)), 1u);
  EXPECT_EQ(count_at("tests/unit/core/assert_test.cpp:" + std::to_string(line + 1)), 1u);
}

TEST(AssertLoopThread, FirstUseBindsTheOwner) {
  ThreadOwner owner;
  EXPECT_FALSE(owner.bound());
  EXPECT_TRUE(owner.check());
  EXPECT_TRUE(owner.bound());
  EXPECT_TRUE(owner.check());
  bool other_ok = true;
  std::thread([&] { other_ok = owner.check(); }).join();
  EXPECT_FALSE(other_ok);
  EXPECT_TRUE(owner.check());  // a failed check does not move the owner
}

TEST(AssertLoopThread, ReleaseHandsTheStateOver) {
  ThreadOwner owner;
  bool loop_ok = false;
  std::thread([&] { loop_ok = owner.check(); }).join();
  EXPECT_TRUE(loop_ok);
  EXPECT_FALSE(owner.check());
  owner.release();
  EXPECT_TRUE(owner.check());
}

#ifndef NDEBUG
TEST(AssertLoopThreadDeathTest, UseFromAnotherThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Logger::instance().configure("lastcall", 2, LogLevel::kInfo);
  EXPECT_DEATH(
      {
        ThreadOwner owner;
        LC_ASSERT_ON_LOOP(owner);
        std::thread([&] { LC_ASSERT_ON_LOOP(owner); }).join();
      },
      "assertion failed: loop-owned state used outside its thread");
}
#endif

class Counter {
 public:
  void add() LC_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  // Waits until n_ reaches `target`; false if it did not within the (generous) limit.
  bool wait_for_count(int target) LC_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (n_ < target) {
      if (!lock.wait_for(cv_, std::chrono::seconds(30)) && n_ < target) return false;
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int n_ LC_GUARDED_BY(mu_) = 0;
};

TEST(AssertMutex, CondVarWakesTheWaiter) {
  Counter counter;
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) counter.add();
  });
  EXPECT_TRUE(counter.wait_for_count(100));
  producer.join();
}

}  // namespace
}  // namespace lc
