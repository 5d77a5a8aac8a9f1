// support/ci.h: with CI=true a missing component fails the test instead of skipping it.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

#include "support/ci.h"

namespace lc::test {
namespace {

// Sets (or unsets) CI for one test and restores it.
class ScopedCi {
 public:
  explicit ScopedCi(const char* value) {
    if (const char* old = std::getenv("CI")) old_ = old;
    if (value) {
      ::setenv("CI", value, 1);
    } else {
      ::unsetenv("CI");
    }
  }
  ~ScopedCi() {
    if (old_) {
      ::setenv("CI", old_->c_str(), 1);
    } else {
      ::unsetenv("CI");
    }
  }

 private:
  std::optional<std::string> old_;
};

bool g_reached_after = false;

void needs_missing_component() {
  g_reached_after = false;
  const bool installed = false;
  if (!installed) LC_SKIP_UNLESS_CI() << "the frobnicator is not installed";
  g_reached_after = true;
}

TEST(CiSkip, OnlyTheExactValueTrueCounts) {
  {
    ScopedCi ci("true");
    EXPECT_TRUE(running_in_ci());
  }
  for (const char* v : {"1", "false", "TRUE", ""}) {
    ScopedCi ci(v);
    EXPECT_FALSE(running_in_ci()) << v;
  }
  ScopedCi ci(nullptr);
  EXPECT_FALSE(running_in_ci());
}

TEST(CiSkip, MissingComponentFailsUnderCi) {
  ScopedCi ci("true");
  EXPECT_FATAL_FAILURE(needs_missing_component(),
                       "CI=true, so this fails instead of skipping:\nthe frobnicator is not "
                       "installed");
  EXPECT_FALSE(g_reached_after);
}

TEST(CiSkip, MissingComponentSkipsOutsideCi) {
  ScopedCi ci(nullptr);
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    needs_missing_component();
  }
  ASSERT_EQ(results.size(), 1);
  EXPECT_TRUE(results.GetTestPartResult(0).skipped());
  EXPECT_STREQ(results.GetTestPartResult(0).message(), "the frobnicator is not installed");
  EXPECT_FALSE(g_reached_after);
}

}  // namespace
}  // namespace lc::test
