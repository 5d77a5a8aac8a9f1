// The core sink seams (core/metric_sink.h, core/log_sink.h, core/sinks.cpp) and their fakes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "core/log_sink.h"
#include "core/metric_sink.h"
#include "core/tags.h"
#include "fakes/fake_log_sink.h"
#include "fakes/fake_metric_sink.h"

namespace lc {
namespace {

using ::testing::ElementsAre;

TEST(Sinks, MetricTypeSymbolsAreTheDogStatsdOnes) {
  EXPECT_EQ(metric_type_symbol(MetricType::kCount), "c");
  EXPECT_EQ(metric_type_symbol(MetricType::kGauge), "g");
  EXPECT_EQ(metric_type_symbol(MetricType::kSet), "s");
  EXPECT_EQ(metric_type_symbol(MetricType::kHistogram), "h");
  EXPECT_EQ(metric_type_symbol(MetricType::kTimer), "ms");
  EXPECT_EQ(metric_type_symbol(MetricType::kDistribution), "d");
  EXPECT_EQ(metric_type_symbol(static_cast<MetricType>(200)), "?");
}

TEST(Sinks, LogStatusNamesAreTheIntakeOnes) {
  EXPECT_EQ(log_status_name(LogStatus::kTrace), "trace");
  EXPECT_EQ(log_status_name(LogStatus::kDebug), "debug");
  EXPECT_EQ(log_status_name(LogStatus::kInfo), "info");
  EXPECT_EQ(log_status_name(LogStatus::kWarn), "warn");
  EXPECT_EQ(log_status_name(LogStatus::kError), "error");
  EXPECT_EQ(log_status_name(LogStatus::kCritical), "critical");
  EXPECT_EQ(log_status_name(static_cast<LogStatus>(200)), "info");
}

TEST(Sinks, SortUniqueTagsSortsAndDropsRepeats) {
  std::vector<std::string_view> tags = {"env:prod", "a:1", "env:prod", "z", "a:1", "a:0"};
  sort_unique_tags(tags);
  EXPECT_THAT(tags, ElementsAre("a:0", "a:1", "env:prod", "z"));
  std::vector<std::string_view> none;
  sort_unique_tags(none);
  EXPECT_TRUE(none.empty());
  std::vector<std::string_view> same = {"x", "x", "x"};
  sort_unique_tags(same);
  EXPECT_THAT(same, ElementsAre("x"));
}

TEST(FakeMetricSink, KeepsOwnedCopiesOfEveryField) {
  fakes::FakeMetricSink sink;
  {
    // Every view points into storage that dies before the assertions.
    std::string name = "my.dist";
    std::vector<double> values = {1.5, 2.5};
    std::vector<std::string> tag_text = {"env:prod", "team:a"};
    std::vector<std::string_view> tags(tag_text.begin(), tag_text.end());
    std::string host = "host-1";
    MetricPoint p;
    p.name = name;
    p.type = MetricType::kDistribution;
    p.values = values;
    p.rate = 0.5;
    p.timestamp = 1700000000;
    p.tags = tags;
    p.host = host;
    p.has_host = true;
    MetricSink& as_sink = sink;
    as_sink.add(p);
    name.assign("overwritten");
    tag_text.assign(2, std::string(16, 'x'));
    host.assign("gone");
  }
  ASSERT_EQ(sink.size(), 1u);
  const auto* p = sink.find("my.dist");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, MetricType::kDistribution);
  EXPECT_THAT(p->values, ElementsAre(1.5, 2.5));
  EXPECT_DOUBLE_EQ(p->rate, 0.5);
  EXPECT_EQ(p->timestamp, 1700000000);
  EXPECT_THAT(p->tags, ElementsAre("env:prod", "team:a"));
  EXPECT_TRUE(p->has_tag("team:a"));
  EXPECT_FALSE(p->has_tag("team"));
  EXPECT_TRUE(p->has_host);
  EXPECT_EQ(p->host, "host-1");
  EXPECT_TRUE(std::isnan(p->value()));  // two values
}

TEST(FakeMetricSink, SetsHostlessPointsAndLookupByName) {
  fakes::FakeMetricSink sink;
  MetricPoint set;
  set.name = "users";
  set.type = MetricType::kSet;
  set.set_member = "alice";
  sink.add(set);
  set.set_member = "bob";
  sink.add(set);
  const double one = 1;
  MetricPoint count;
  count.name = "hits";
  count.type = MetricType::kCount;
  count.values = {&one, 1};
  sink.add(count);

  EXPECT_EQ(sink.count("users"), 2u);
  EXPECT_EQ(sink.find("users")->set_member, "alice");
  EXPECT_EQ(sink.last("users")->set_member, "bob");
  EXPECT_TRUE(sink.find("users")->values.empty());
  EXPECT_FALSE(sink.find("users")->has_host);
  EXPECT_TRUE(sink.find("users")->host.empty());
  EXPECT_EQ(sink.find("hits")->value(), 1.0);
  EXPECT_EQ(sink.find("hits")->timestamp, 0);
  EXPECT_EQ(sink.find("missing"), nullptr);
  EXPECT_EQ(sink.last("missing"), nullptr);
  EXPECT_TRUE(sink.find_all("missing").empty());
  ASSERT_EQ(sink.find_all("users").size(), 2u);
  EXPECT_EQ(sink.find_all("users")[1]->set_member, "bob");
  sink.clear();
  EXPECT_EQ(sink.size(), 0u);
}

TEST(LogStatus, EveryLevelWordOfTheTableAnyCase) {
  const std::pair<std::string_view, LogStatus> rows[] = {
      {"FATAL", LogStatus::kCritical}, {"critical", LogStatus::kCritical},
      {"Error", LogStatus::kError},    {"ERR", LogStatus::kError},
      {"warn", LogStatus::kWarn},      {"WARNING", LogStatus::kWarn},
      {"INFO", LogStatus::kInfo},      {"Information", LogStatus::kInfo},
      {"debug", LogStatus::kDebug},    {"TRACE", LogStatus::kTrace}};
  for (const auto& [word, status] : rows) {
    ASSERT_TRUE(log_status_from_level(word).has_value()) << word;
    EXPECT_EQ(*log_status_from_level(word), status) << word;
  }
  for (const std::string_view other : {"", "NOTICE", "information!", "INFORMATIONAL", "inf"}) {
    EXPECT_FALSE(log_status_from_level(other).has_value()) << other;
  }
}

TEST(FakeLogSink, KeepsRecordsInOrder) {
  fakes::FakeLogSink sink;
  LogSink& as_sink = sink;
  as_sink.add(LogRecord{"START RequestId: r1", {}, 1000, LogStatus::kInfo, "r1", "lambda", {}});
  as_sink.add(LogRecord{"boom", {}, 1001, LogStatus::kError, "r1", "lambda", {"team:a"}});
  as_sink.add(LogRecord{"orphan", {}, 1002, LogStatus::kInfo, "", "stdout", {}});

  EXPECT_THAT(sink.messages(), ElementsAre("START RequestId: r1", "boom", "orphan"));
  ASSERT_NE(sink.find("boo"), nullptr);
  EXPECT_EQ(sink.find("boo")->status, LogStatus::kError);
  EXPECT_THAT(sink.find("boo")->tags, ElementsAre("team:a"));
  EXPECT_EQ(sink.find("nothing"), nullptr);
  EXPECT_EQ(sink.with_request_id("r1").size(), 2u);
  EXPECT_EQ(sink.with_request_id("")[0]->source, "stdout");
  EXPECT_EQ(sink.count(LogStatus::kInfo), 2u);
  EXPECT_EQ(sink.count(LogStatus::kError), 1u);
  EXPECT_EQ(sink.records()[2].timestamp_ms, 1002);
  sink.clear();
  EXPECT_EQ(sink.size(), 0u);
}

}  // namespace
}  // namespace lc
