// The timeline: entries, filters, and GET /wait semantics driven by a fake clock.
#include "tools/sandbox/timeline.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "fakes/fake_clock.h"

namespace lc::sandbox {
namespace {

WaitQuery query(std::string event, std::size_t count, std::int64_t timeout_ms = 1000,
                std::map<std::string, std::string> filters = {}) {
  WaitQuery q;
  q.event = std::move(event);
  q.count = count;
  q.timeout_ms = timeout_ms;
  q.filters = std::move(filters);
  return q;
}

TEST(Timeline, EntriesCarryTimeEventAndFields) {
  fakes::FakeClock clock(1700000000000);
  Timeline t(clock, clock);
  t.add("exit", {{"name", "ext1"}, {"code", 0}, {"event", "ignored"}});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_DOUBLE_EQ(t.at(0).at("t_ms").as_double(), 1700000000000.0);
  EXPECT_EQ(t.at(0).at("event").as_string(), "exit");
  EXPECT_EQ(t.at(0).at("name").as_string(), "ext1");
  const std::string dump = t.dump();
  EXPECT_EQ(std::count(dump.begin(), dump.end(), '\n'), 1);
  auto parsed = boost::json::parse(dump);
  EXPECT_EQ(parsed.at("code").as_int64(), 0);
}

TEST(Timeline, FiltersMatchStringsAndNumbers) {
  fakes::FakeClock clock;
  Timeline t(clock, clock);
  t.add("exit", {{"name", "a"}, {"code", 0}});
  t.add("exit", {{"name", "b"}, {"code", 1}});
  t.add("frozen", {});
  EXPECT_EQ(t.count(query("exit", 1)), 2u);
  EXPECT_EQ(t.count(query("exit", 1, 0, {{"name", "b"}})), 1u);
  EXPECT_EQ(t.count(query("exit", 1, 0, {{"code", "0"}})), 1u);
  EXPECT_EQ(t.count(query("exit", 1, 0, {{"missing", "x"}})), 0u);
  EXPECT_EQ(t.count(query("thawed", 1)), 0u);
}

TEST(Timeline, WaitAnswersAtOnceWhenAlreadyMatched) {
  fakes::FakeClock clock;
  Timeline t(clock, clock);
  t.add("frozen", {});
  std::optional<std::pair<std::size_t, bool>> got;
  t.wait(query("frozen", 1), [&](std::size_t n, bool to) { got = {n, to}; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, 1u);
  EXPECT_FALSE(got->second);
}

TEST(Timeline, WaitAnswersWhenTheCountIsReached) {
  fakes::FakeClock clock;
  Timeline t(clock, clock);
  std::optional<std::pair<std::size_t, bool>> got;
  t.wait(query("extension.next", 2, 5000, {{"name", "x"}}), [&](std::size_t n, bool to) {
    got = {n, to};
  });
  t.add("extension.next", {{"name", "x"}});
  t.add("extension.next", {{"name", "y"}});
  EXPECT_FALSE(got);
  t.add("extension.next", {{"name", "x"}});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, 2u);
  EXPECT_FALSE(got->second);
  clock.advance(Millis(10000));  // the cancelled timer does not fire again
}

TEST(Timeline, WaitTimesOutWithTheCountSoFar) {
  fakes::FakeClock clock;
  Timeline t(clock, clock);
  std::optional<std::pair<std::size_t, bool>> got;
  t.wait(query("exit", 3, 250), [&](std::size_t n, bool to) { got = {n, to}; });
  t.add("exit", {});
  clock.advance(Millis(249));
  EXPECT_FALSE(got);
  clock.advance(Millis(1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, 1u);
  EXPECT_TRUE(got->second);
}

TEST(Timeline, EntriesBeyondTheCapAreCounted) {
  fakes::FakeClock clock;
  Timeline t(clock, clock, 2);
  t.add("a", {});
  t.add("b", {});
  t.add("c", {});
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.dropped(), 1u);
}

}  // namespace
}  // namespace lc::sandbox
