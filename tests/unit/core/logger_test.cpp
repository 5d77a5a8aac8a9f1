#include "core/logger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
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

// A stream nobody reads any more (a closed stderr pipe): lines are lost quietly, with SIGPIPE
// ignored as app/ does it; reconfiguring to a working fd writes again.
TEST(LoggerFd, WritesToAClosedPipeFailQuietly) {
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous), 0);
  int gone[2];
  ASSERT_EQ(::pipe(gone), 0);
  ::close(gone[0]);
  Logger& log = Logger::instance();
  log.set_sink(nullptr);
  log.configure("lastcall", gone[1], LogLevel::kInfo);
  LC_WARN("nobody reads this");
  LC_WARN("nor this");
  int alive[2];
  ASSERT_EQ(::pipe(alive), 0);
  log.configure("lastcall", alive[1], LogLevel::kInfo);
  LC_WARN("read back");
  char buf[64] = {};
  const ssize_t n = ::read(alive[0], buf, sizeof buf - 1);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "lastcall | WARN | read back\n");
  log.configure("lastcall", 2, LogLevel::kInfo);
  for (const int fd : {gone[1], alive[0], alive[1]}) ::close(fd);
  ::sigaction(SIGPIPE, &previous, nullptr);
}

TEST(LogLevel, Parse) {
  EXPECT_EQ(*parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*parse_log_level("warning"), LogLevel::kWarn);
  EXPECT_EQ(*parse_log_level("off"), LogLevel::kOff);
  EXPECT_FALSE(parse_log_level("loud"));
}

}  // namespace
}  // namespace lc
