// The real lastcall in Lambda extension mode with a stdout nobody reads (serverless-init.md §3.2:
// SIGPIPE is ignored): its log lines go to a FIFO the test closes after the first one, and lastcall
// still registers, serves an INVOKE and exits 0 on SHUTDOWN instead of dying of SIGPIPE.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/extension_process.h"
#include "support/fake_extensions_api.h"
#include "support/process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;

TEST(ExtensionClosedStdout, KeepsServingTheLifecycleAndExitsZero) {
  const auto fifo =
      std::filesystem::temp_directory_path() / ("lastcall-stdout-" + std::to_string(::getpid()));
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);

  FakeExtensionsApi api;
  const std::int64_t now = wall_ms();
  api.events = {invoke_event(now + 5000), shutdown_event(now + 10000)};
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "exec \"$0\" >\"$1\"", built_binary("lastcall"), fifo.string()};
  o.env = extension_env(api);
  std::string error;
  auto child = ChildProcess::start(o, &error);
  ASSERT_NE(child, nullptr) << error;
  // The first line (the listening line) shows lastcall writes to the FIFO; then nobody reads it.
  pollfd p{reader, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 20000), 1);
  char buf[256];
  ASSERT_GT(::read(reader, buf, sizeof buf), 0);
  ::close(reader);

  const auto code = child->wait_exit(20s);
  std::filesystem::remove(fifo);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << "128 + 13 is death by SIGPIPE";
  // It went all the way: register, subscribe, the INVOKE and the SHUTDOWN were asked for.
  const auto reqs = api.requests();
  ASSERT_GE(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].path, "/2020-01-01/extension/register");
  EXPECT_EQ(reqs.back().path, "/2020-01-01/extension/event/next");
}

}  // namespace
}  // namespace lc::test
