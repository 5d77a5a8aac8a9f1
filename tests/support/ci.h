// tests/support/ci.h — a test that cannot run without a component (a third-party binary or npm
// package scripts/setup installs, or `unshare` namespaces, which work in CI because it runs as
// root) skips locally but fails when CI=true: there a missing component is a setup bug
// (clarifications.md, "tests skip when a component is absent").
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace lc::test {

// CI=true, as CI services set it.
inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

inline ::testing::TestPartResult::Type missing_component_result() {
  return running_in_ci() ? ::testing::TestPartResult::kFatalFailure
                         : ::testing::TestPartResult::kSkip;
}

inline const char* missing_component_prefix() {
  return running_in_ci() ? "CI=true, so this fails instead of skipping:" : "";
}

}  // namespace lc::test

// Instead of GTEST_SKIP(), with the same streamed message naming what is missing and how to
// install it; like GTEST_SKIP() it returns from the (void) test function:
//   if (!found) LC_SKIP_UNLESS_CI() << "victoria-metrics is not installed (scripts/setup ...)";
#define LC_SKIP_UNLESS_CI()                                                                    \
  return ::testing::internal::AssertHelper(::lc::test::missing_component_result(), __FILE__,   \
                                           __LINE__, ::lc::test::missing_component_prefix()) = \
             ::testing::Message()
