#include "core/logger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lc {
namespace {

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::instance().configure("DD_EXTENSION", 1, LogLevel::kInfo);
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  void TearDown() override { Logger::instance().set_sink(nullptr); }
  std::vector<std::string> lines;
};

TEST_F(LoggerTest, PrefixAndLevelFilter) {
  LC_INFO("hello {}", 1);
  LC_DEBUG("hidden");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "DD_EXTENSION | INFO | hello 1\n");
}

TEST_F(LoggerTest, NeverPrintsTheApiKey) {
  const std::string key = "abcdef0123456789abcdef0123456789";
  Logger::instance().add_secret(key);
  LC_ERROR("key {} rejected, again {}", key, key);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find(key), std::string::npos);
  EXPECT_NE(lines[0].find(mask_secret(key)), std::string::npos);
  EXPECT_NE(lines[0].find("56789"), std::string::npos);  // last 5 characters stay visible
}

TEST_F(LoggerTest, OneLinePerEvent) {
  LC_WARN("two\nlines");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "DD_EXTENSION | WARN | two lines\n");
}

TEST_F(LoggerTest, ListeningLineAtEveryLevelButOff) {
  Logger::instance().set_level(LogLevel::kError);
  Logger::instance().log_always(LogLevel::kInfo, "listening: dogstatsd=1");
  Logger::instance().set_level(LogLevel::kOff);
  Logger::instance().log_always(LogLevel::kInfo, "listening: dogstatsd=2");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "DD_EXTENSION | INFO | listening: dogstatsd=1\n");
}

TEST(LogLevel, Parse) {
  EXPECT_EQ(*parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*parse_log_level("warning"), LogLevel::kWarn);
  EXPECT_EQ(*parse_log_level("off"), LogLevel::kOff);
  EXPECT_FALSE(parse_log_level("loud"));
}

}  // namespace
}  // namespace lc
