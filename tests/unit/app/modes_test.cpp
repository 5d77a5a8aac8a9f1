#include "app/modes.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "app/startup.h"

namespace lc::app {
namespace {

TEST(Modes, Selection) {
  MapEnvironment none;
  MapEnvironment lambda(
      std::map<std::string, std::string>{{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"}});
  EXPECT_EQ(select_mode({"lastcall"}, none).command, Command::kSidecar);
  EXPECT_EQ(select_mode({"datadog-agent"}, lambda).command, Command::kExtension);
  EXPECT_EQ(select_mode({"lastcall", "--version"}, lambda).command, Command::kVersion);
  EXPECT_EQ(select_mode({"lastcall", "--check-config"}, none).command, Command::kCheckConfig);
  EXPECT_FALSE(select_mode({"lastcall", "--check-config"}, none).check_wrapper);
  // `--check-config -- cmd`: the configuration as the init wrapper would use it; nothing runs.
  auto c = select_mode({"lastcall", "--check-config", "--", "node", "server.js"}, none);
  EXPECT_EQ(c.command, Command::kCheckConfig);
  EXPECT_TRUE(c.check_wrapper);
  EXPECT_EQ(select_mode({"lastcall", "--"}, none).command, Command::kUsageError);
  auto w = select_mode({"lastcall", "--", "node", "server.js"}, lambda);
  EXPECT_EQ(w.command, Command::kWrapper);
  EXPECT_EQ(w.child_argv, (std::vector<std::string>{"node", "server.js"}));
  auto v = select_mode({"lastcall", "-v", "node"}, none);
  EXPECT_EQ(v.command, Command::kWrapper);
  EXPECT_EQ(v.child_argv, (std::vector<std::string>{"-v", "node"}));
  MapEnvironment empty_api(std::map<std::string, std::string>{{"AWS_LAMBDA_RUNTIME_API", ""}});
  EXPECT_EQ(select_mode({"lastcall"}, empty_api).command, Command::kSidecar);
}

TEST(Modes, OwnNameIsBasenameOfArgv0) {
  EXPECT_EQ(own_name("/opt/extensions/datadog-agent"), "datadog-agent");
  EXPECT_EQ(own_name("datadog-agent"), "datadog-agent");
  EXPECT_FALSE(own_name("").empty());  // falls back to /proc/self/exe
}

// `lastcall 2>&-`: stderr is reopened on /dev/null before any socket could take fd 2. In a child
// process, so the test's own fds stay as they are.
TEST(Startup, ClosedStandardFdsAreReopenedOnDevNull) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(2);
    keep_standard_fds_open();
    struct stat fd2 {
    }, null{};
    const bool ok = ::fstat(2, &fd2) == 0 && ::stat("/dev/null", &null) == 0 &&
                    fd2.st_rdev == null.st_rdev && S_ISCHR(fd2.st_mode);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// A neutralized signal is delivered to a handler that does nothing: the process lives on.
TEST(Startup, NeutralizedSignalsDoNotKill) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    neutralize_signals({SIGPIPE, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2});
    for (const int sig : {SIGPIPE, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::raise(sig);
    int p[2];
    if (::pipe(p) != 0) ::_exit(2);
    ::close(p[0]);
    const bool epipe = ::write(p[1], "x", 1) < 0 && errno == EPIPE;  // no SIGPIPE death
    ::_exit(epipe ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace lc::app
