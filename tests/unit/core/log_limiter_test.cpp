#include "core/log_limiter.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace lc {
namespace {

using std::chrono::seconds;

TEST(LogLimiterTest, FirstLineAtOnceThenOnePerPeriodWithTheCount) {
  fakes::FakeClock clock;
  LogLimiter limiter(clock, seconds(10));
  const auto first = limiter.allow("too_old");
  EXPECT_TRUE(first.write);
  EXPECT_EQ(first.suppressed, 0u);
  for (int i = 0; i < 500; ++i) EXPECT_FALSE(limiter.allow("too_old").write);
  EXPECT_EQ(limiter.pending("too_old"), 500u);
  clock.advance(seconds(9));
  EXPECT_FALSE(limiter.allow("too_old").write);
  clock.advance(seconds(1));
  const auto next = limiter.allow("too_old");
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.suppressed, 501u);
  EXPECT_EQ(limiter.pending("too_old"), 0u);
  clock.advance(seconds(10));
  const auto quiet = limiter.allow("too_old");
  EXPECT_TRUE(quiet.write);
  EXPECT_EQ(quiet.suppressed, 0u);
}

TEST(LogLimiterTest, KeysAreIndependent) {
  fakes::FakeClock clock;
  LogLimiter limiter(clock, seconds(10));
  EXPECT_TRUE(limiter.allow("a").write);
  EXPECT_TRUE(limiter.allow("b").write);
  EXPECT_FALSE(limiter.allow("a").write);
  EXPECT_EQ(limiter.pending("a"), 1u);
  EXPECT_EQ(limiter.pending("b"), 0u);
}

TEST(LogLimiterTest, KeysBeyondTheCapShareOneSlot) {
  fakes::FakeClock clock;
  LogLimiter limiter(clock, seconds(10), 2);
  EXPECT_TRUE(limiter.allow("a").write);
  EXPECT_TRUE(limiter.allow("b").write);
  EXPECT_TRUE(limiter.allow("c").write);   // first key past the cap: the shared slot
  EXPECT_FALSE(limiter.allow("d").write);  // same shared slot, inside the period
  EXPECT_FALSE(limiter.allow("e").write);
  clock.advance(seconds(10));
  const auto d = limiter.allow("f");
  EXPECT_TRUE(d.write);
  EXPECT_EQ(d.suppressed, 2u);
}

}  // namespace
}  // namespace lc
