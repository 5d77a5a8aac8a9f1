// init/supervisor.h with real processes: spawn_child (exec failures and their exit codes, the
// child's process group, signal mask and dispositions, PATH from the child's environment, fd
// redirection) and the Supervisor on a real EventLoop (exit codes, forwarding of signals sent to
// this process, group versus child delivery, signals held before start, orphan reaping), as in
// serverless-init.md §11 scenarios 11, 13–17. Every test blocks the signals first, as main does.
#include "init/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/json.h"
#include "core/self_metrics.h"

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kBound = std::chrono::seconds(20);  // generous: sanitizer builds on a busy host

const std::vector<std::string> kEnv = {"PATH=/usr/bin:/bin", "LC_ALL=C"};

struct Pipe {
  int r = -1;
  int w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_write() {
    if (w >= 0) ::close(w);
    w = -1;
  }
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(r, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& path, const std::string& line) {
  for (const auto& l : lines_of(read_file(path))) {
    if (l == line) return true;
  }
  return false;
}

// A fresh directory per test under gtest's temp dir.
std::string fresh_dir(const std::string& name) {
  const std::string dir =
      ::testing::TempDir() + "lc_sup_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

class SignalsBlocked : public ::testing::Test {
 protected:
  void SetUp() override { old_mask_ = block_signals(); }
  void TearDown() override {
    // Leave nothing pending for the next test in this process.
    sigset_t ours;
    sigemptyset(&ours);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGCHLD,
                    SIGTSTP, SIGTTIN, SIGTTOU}) {
      sigaddset(&ours, sig);
    }
    const timespec zero{};
    while (::sigtimedwait(&ours, nullptr, &zero) > 0) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  sigset_t old_mask_{};
};

// --- spawn_child -------------------------------------------------------------------------------

using Spawn = SignalsBlocked;

TEST_F(Spawn, TrueRunsAndExitsZero) {
  auto pid = spawn_child({.argv = {"/bin/true"}, .env = kEnv});
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  EXPECT_GT(*pid, 0);
  const int status = wait_for(*pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Spawn, MissingCommandIs127AndReapedAtOnce) {
  auto pid = spawn_child({.argv = {"does-not-exist-lc"}, .env = kEnv});
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().error_number, ENOENT);
  EXPECT_EQ(pid.error().exit_code, 127);
  EXPECT_EQ(pid.error().message, "cannot execute 'does-not-exist-lc': No such file or directory");
  // The failed child was reaped inside spawn_child: no zombie is left for anyone.
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(Spawn, MissingAbsolutePathIs127) {
  auto pid = spawn_child({.argv = {"/nonexistent/dir/tool"}, .env = kEnv});
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().exit_code, 127);
  EXPECT_THAT(pid.error().message, HasSubstr("'/nonexistent/dir/tool'"));
}

TEST_F(Spawn, NonExecutableFileIs126) {
  const std::string dir = fresh_dir("noexec");
  write_file(dir + "/script", "#!/bin/sh\necho hi\n", 0644);
  auto pid = spawn_child({.argv = {dir + "/script"}, .env = kEnv});
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().error_number, EACCES);
  EXPECT_EQ(pid.error().exit_code, 126);
  EXPECT_EQ(pid.error().message, "cannot execute '" + dir + "/script': Permission denied");
  std::filesystem::remove_all(dir);
}

TEST_F(Spawn, FileWithoutInterpreterIs126NotRunByAShell) {
  // execvp would hand this to /bin/sh; §1.2 "no shell": ENOEXEC is reported instead.
  const std::string dir = fresh_dir("noexecfmt");
  write_file(dir + "/plain", "echo ran > " + dir + "/ran\n", 0755);
  auto pid = spawn_child({.argv = {dir + "/plain"}, .env = kEnv});
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().error_number, ENOEXEC);
  EXPECT_EQ(pid.error().exit_code, 126);
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran"));
  std::filesystem::remove_all(dir);
}

TEST_F(Spawn, ChildHasItsOwnGroupEmptyMaskAndDefaultDispositions) {
  // This process has every catchable signal blocked and SIGPIPE ignored (block_signals); an
  // ignored SIGUSR2 makes a second disposition the child must not inherit.
  ::signal(SIGUSR2, SIG_IGN);
  Pipe out;
  const std::string script =
      "read -r pid comm state ppid pgid rest < /proc/$$/stat; echo \"ids $$ $pgid\"; "
      "exec cat /proc/self/status";
  auto pid = spawn_child({.argv = {"/bin/sh", "-c", script}, .env = kEnv, .stdout_fd = out.w});
  ::signal(SIGUSR2, SIG_DFL);
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  out.close_write();
  const auto lines = lines_of(out.read_all());
  EXPECT_EQ(wait_for(*pid), 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "ids " + std::to_string(*pid) + " " + std::to_string(*pid));
  std::string blocked, ignored;
  for (const auto& l : lines) {
    if (l.rfind("SigBlk:", 0) == 0) blocked = l;
    if (l.rfind("SigIgn:", 0) == 0) ignored = l;
  }
  EXPECT_EQ(blocked, "SigBlk:\t0000000000000000");
  EXPECT_EQ(ignored, "SigIgn:\t0000000000000000");
}

TEST_F(Spawn, StdoutAndStderrComeFromTheGivenDescriptors) {
  Pipe out, err;
  auto pid = spawn_child({.argv = {"/bin/sh", "-c", "echo to-out; echo to-err >&2"},
                          .env = kEnv,
                          .stdout_fd = out.w,
                          .stderr_fd = err.w});
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  out.close_write();
  err.close_write();
  EXPECT_EQ(out.read_all(), "to-out\n");
  EXPECT_EQ(err.read_all(), "to-err\n");
  EXPECT_EQ(wait_for(*pid), 0);
}

TEST_F(Spawn, EnvironmentIsExactlyTheGivenOne) {
  Pipe out;
  auto pid = spawn_child({.argv = {"/bin/sh", "-c", "echo \"[$FOO][${HOME-unset}]\""},
                          .env = {"FOO=bar baz"},
                          .stdout_fd = out.w});
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  out.close_write();
  EXPECT_EQ(out.read_all(), "[bar baz][unset]\n");
  EXPECT_EQ(wait_for(*pid), 0);
}

TEST_F(Spawn, PathIsLookedUpInTheChildsEnvironment) {
  const std::string dir = fresh_dir("path");
  write_file(dir + "/lc-only-here", "#!/bin/sh\necho from-tool \"$@\"\n", 0755);
  {
    Pipe out;
    auto pid = spawn_child(
        {.argv = {"lc-only-here", "x"}, .env = {"PATH=/nonexistent:" + dir}, .stdout_fd = out.w});
    ASSERT_TRUE(pid.has_value()) << pid.error().message;
    out.close_write();
    EXPECT_EQ(out.read_all(), "from-tool x\n");
    EXPECT_EQ(wait_for(*pid), 0);
  }
  // The same name with a PATH that lacks the directory is not found (our own PATH is not used).
  auto missing = spawn_child({.argv = {"lc-only-here"}, .env = kEnv});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().exit_code, 127);
  std::filesystem::remove_all(dir);
}

TEST_F(Spawn, PathSearchGoesOnAfterANonExecutableEntry) {
  const std::string a = fresh_dir("path_a");
  const std::string b = fresh_dir("path_b");
  write_file(a + "/lc-tool", "#!/bin/sh\necho from-a\n", 0644);
  write_file(b + "/lc-tool", "#!/bin/sh\necho from-b\n", 0755);
  {
    Pipe out;
    auto pid =
        spawn_child({.argv = {"lc-tool"}, .env = {"PATH=" + a + ":" + b}, .stdout_fd = out.w});
    ASSERT_TRUE(pid.has_value()) << pid.error().message;
    out.close_write();
    EXPECT_EQ(out.read_all(), "from-b\n");
    EXPECT_EQ(wait_for(*pid), 0);
  }
  // Only the non-executable one: EACCES wins over the later ENOENT, as with execvp.
  auto denied = spawn_child({.argv = {"lc-tool"}, .env = {"PATH=" + a + ":/nonexistent"}});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().error_number, EACCES);
  EXPECT_EQ(denied.error().exit_code, 126);
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
}

// --- Supervisor --------------------------------------------------------------------------------

class SupervisorTest : public SignalsBlocked {
 protected:
  // As lastcall does when it is not PID 1: the children's orphans come back to this process and
  // the Supervisor reaps them (the test host's PID 1 may reap late, keeping groups alive).
  void SetUp() override {
    SignalsBlocked::SetUp();
    ASSERT_TRUE(become_subreaper());
  }
  void TearDown() override {
    // No test may leave a process behind: kill what remains, reap it and its adopted orphans.
    for (pid_t group : groups_) ::kill(-group, SIGKILL);
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    SignalsBlocked::TearDown();
  }

  pid_t spawn(std::vector<std::string> argv) {
    auto pid = spawn_child({.argv = std::move(argv), .env = kEnv});
    EXPECT_TRUE(pid.has_value()) << pid.error().message;
    if (!pid.has_value()) return -1;
    groups_.push_back(*pid);
    return *pid;
  }
  pid_t spawn_sh(const std::string& script, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"/bin/sh", "-c", script, "sh"};
    for (auto& a : args) argv.push_back(std::move(a));
    return spawn(std::move(argv));
  }

  // Runs the loop until `done` holds or the bound passes; never a fixed wait.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (loop_.io().stopped()) loop_.io().restart();
      loop_.io().run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::unique_ptr<Supervisor> make(pid_t child, SignalTarget target = SignalTarget::kGroup) {
    auto s = std::make_unique<Supervisor>(loop_, SystemClock::instance(), self_, child, target);
    s->on_child_exit([this](const ChildExit& e) { exits_.push_back(e); });
    s->on_signal([this](int sig) { signals_.push_back(sig); });
    s->start();
    return s;
  }

  // A group whose processes are all gone: reaping the child is not enough, members must be too.
  void reaped_by_supervisor(pid_t pid) {
    groups_.erase(std::remove(groups_.begin(), groups_.end(), pid), groups_.end());
  }

  EventLoop loop_;
  SelfMetrics self_;
  std::vector<ChildExit> exits_;
  std::vector<int> signals_;
  std::vector<pid_t> groups_;
};

TEST_F(SupervisorTest, ExitCodeOfTheChildIsReportedOnce) {
  const pid_t pid = spawn_sh("exit 3");
  auto sup = make(pid);
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  reaped_by_supervisor(pid);
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0].exit_code, 3);
  EXPECT_TRUE(WIFEXITED(exits_[0].wait_status));
  EXPECT_GE(exits_[0].at, before - kBound);
  EXPECT_FALSE(sup->child_alive());
  EXPECT_EQ(sup->child_exit()->exit_code, 3);
  EXPECT_EQ(sup->orphans_reaped(), 0u);
  // Running on does not report it again.
  loop_.io().run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(exits_.size(), 1u);
}

TEST_F(SupervisorTest, KilledBySignalIs128PlusSignal) {
  const pid_t killed = spawn_sh("kill -KILL $$");
  auto sup = make(killed);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  reaped_by_supervisor(killed);
  EXPECT_EQ(exits_[0].exit_code, 137);

  exits_.clear();
  sup.reset();
  const pid_t segv = spawn_sh("ulimit -c 0; kill -SEGV $$");
  sup = make(segv);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  reaped_by_supervisor(segv);
  EXPECT_EQ(exits_[0].exit_code, 139);
}

TEST_F(SupervisorTest, ChildThatExitedBeforeStartIsReaped) {
  const pid_t pid = spawn_sh("exit 7");
  // Wait (without reaping) until it is a zombie, so the SIGCHLD is consumed before start().
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  const timespec zero{};
  while (::sigtimedwait(&chld, nullptr, &zero) > 0) {
  }
  auto sup = make(pid);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  reaped_by_supervisor(pid);
  EXPECT_EQ(exits_[0].exit_code, 7);
}

TEST_F(SupervisorTest, EachForwardedSignalReachesTheChildOnce) {
  const std::string dir = fresh_dir("fwd");
  const std::string file = dir + "/got";
  const pid_t pid = spawn_sh(
      "for s in HUP INT QUIT USR1 USR2; do trap \"echo $s >> $1\" $s; done; "
      "echo ready >> \"$1\"; while :; do sleep 1 & wait $!; done",
      {file});
  auto sup = make(pid);
  ASSERT_TRUE(run_until([&] { return has_line(file, "ready"); }));
  const std::vector<std::pair<int, std::string>> sent = {
      {SIGHUP, "HUP"}, {SIGINT, "INT"}, {SIGQUIT, "QUIT"}, {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}};
  for (const auto& [sig, name] : sent) {
    ASSERT_EQ(::kill(::getpid(), sig), 0);
    ASSERT_TRUE(run_until([&, &name = name] { return has_line(file, name); })) << name;
  }
  EXPECT_THAT(lines_of(read_file(file)),
              ElementsAre("ready", "HUP", "INT", "QUIT", "USR1", "USR2"));
  EXPECT_THAT(signals_, ElementsAre(SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2));
  EXPECT_TRUE(sup->child_alive());
  EXPECT_TRUE(exits_.empty());

  sup->kill_group();
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_EQ(exits_[0].exit_code, 137);
  ASSERT_TRUE(run_until([&] { return !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
  std::filesystem::remove_all(dir);
}

TEST_F(SupervisorTest, TermIsForwardedAndTheChildsStatusReported) {
  const pid_t pid = spawn_sh("while :; do sleep 1 & wait $!; done");
  auto sup = make(pid);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_EQ(exits_[0].exit_code, 143);
  EXPECT_THAT(signals_, ElementsAre(SIGTERM));
  ASSERT_TRUE(run_until([&] { return !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
}

TEST_F(SupervisorTest, SignalsSentBeforeTheChildExistedAreForwardedAfterStart) {
  // §3.2: held by the mask from step 1 of §2, delivered once the Supervisor reads them.
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  const pid_t pid = spawn_sh("while :; do sleep 1 & wait $!; done");
  auto sup = make(pid);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_EQ(exits_[0].exit_code, 128 + SIGUSR1);
  EXPECT_THAT(signals_, ElementsAre(SIGUSR1));
  ASSERT_TRUE(run_until([&] { return !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
}

TEST_F(SupervisorTest, StopSignalsAreConsumedNotForwarded) {
  const pid_t pid = spawn_sh("while :; do sleep 1 & wait $!; done");
  auto sup = make(pid);
  for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) ASSERT_EQ(::kill(::getpid(), sig), 0);
  // Then one that is forwarded, so we know the three before it were read.
  ASSERT_EQ(::kill(::getpid(), SIGWINCH), 0);
  ASSERT_TRUE(run_until([&] { return !signals_.empty(); }));
  EXPECT_THAT(signals_, ElementsAre(SIGWINCH));
  // The child was not stopped: it still dies of the next forwarded signal.
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_EQ(exits_[0].exit_code, 143);
  ASSERT_TRUE(run_until([&] { return !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
}

// The child `sh` does not pass USR1 on; an inner shell (a grandchild in the same group) records
// whether USR1 reached it. The outer shell's trap then sends the inner one USR2: once USR2 is
// recorded, a USR1 sent to the group would have been recorded before it (both shells run pending
// traps in signal-number order and USR1 arrived at the inner shell first).
constexpr const char* kOuter =
    "/bin/sh -c \"$2\" sh \"$1\" & inner=$!; "
    "trap 'echo outer-usr1 >> \"$1\"; kill -USR2 $inner' USR1; "
    "echo outer-ready >> \"$1\"; while :; do wait; done";
constexpr const char* kInner =
    "trap 'echo inner-usr1 >> \"$1\"' USR1; trap 'echo inner-usr2 >> \"$1\"' USR2; "
    "echo inner-ready >> \"$1\"; while :; do sleep 1 & wait $!; done";

TEST_F(SupervisorTest, GroupDeliveryReachesAGrandchild) {
  const std::string dir = fresh_dir("group");
  const std::string file = dir + "/got";
  const pid_t pid = spawn_sh(kOuter, {file, kInner});
  auto sup = make(pid, SignalTarget::kGroup);
  ASSERT_TRUE(
      run_until([&] { return has_line(file, "outer-ready") && has_line(file, "inner-ready"); }));
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  ASSERT_TRUE(
      run_until([&] { return has_line(file, "outer-usr1") && has_line(file, "inner-usr2"); }));
  EXPECT_TRUE(has_line(file, "inner-usr1"));
  sup->kill_group();
  ASSERT_TRUE(run_until([&] { return !exits_.empty() && !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
  std::filesystem::remove_all(dir);
}

TEST_F(SupervisorTest, ChildTargetReachesOnlyTheDirectChild) {
  const std::string dir = fresh_dir("child");
  const std::string file = dir + "/got";
  const pid_t pid = spawn_sh(kOuter, {file, kInner});
  auto sup = make(pid, SignalTarget::kChild);
  ASSERT_TRUE(
      run_until([&] { return has_line(file, "outer-ready") && has_line(file, "inner-ready"); }));
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  ASSERT_TRUE(
      run_until([&] { return has_line(file, "outer-usr1") && has_line(file, "inner-usr2"); }));
  EXPECT_FALSE(has_line(file, "inner-usr1"));
  sup->kill_group();  // the end of grace kills the whole group whatever the target
  ASSERT_TRUE(run_until([&] { return !exits_.empty() && !sup->group_has_members(); }));
  reaped_by_supervisor(pid);
  std::filesystem::remove_all(dir);
}

TEST_F(SupervisorTest, AdoptedOrphanIsReapedAndCounted) {
  // The grandchild blocks on a pipe we hold until its parent is gone: it outlives the child.
  Pipe gate;
  ASSERT_EQ(::fcntl(gate.r, F_SETFD, 0), 0);
  const pid_t pid = spawn_sh("(read x <&" + std::to_string(gate.r) + "; exit 5) & exit 0");
  gate.close_read();
  auto sup = make(pid);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_EQ(exits_[0].exit_code, 0);
  EXPECT_EQ(sup->orphans_reaped(), 0u);
  EXPECT_TRUE(sup->group_has_members());  // §3.3: members left after the child exited

  gate.close_write();
  ASSERT_TRUE(run_until([&] { return sup->orphans_reaped() == 1; }));
  EXPECT_EQ(self_.get(Supervisor::kOrphansReaped), 1u);
  EXPECT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0].exit_code, 0);  // the grandchild's 5 is not the child's status
  EXPECT_FALSE(sup->group_has_members());
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);  // no zombie left
  EXPECT_EQ(errno, ECHILD);
  reaped_by_supervisor(pid);
}

TEST_F(SupervisorTest, KillGroupEndsMembersLeftBehind) {
  const pid_t pid = spawn_sh("sleep 60 & exit 0");
  auto sup = make(pid);
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  EXPECT_TRUE(sup->group_has_members());
  sup->kill_group();
  ASSERT_TRUE(run_until([&] { return !sup->group_has_members(); }));
  EXPECT_EQ(sup->orphans_reaped(), 1u);
  reaped_by_supervisor(pid);
}

TEST_F(SupervisorTest, DescribeIsOneJsonObject) {
  const pid_t pid = spawn_sh("exit 0");
  auto sup = make(pid, SignalTarget::kChild);
  auto parsed = parse_json(sup->describe());
  ASSERT_TRUE(parsed.has_value()) << sup->describe();
  const auto& o = parsed->as_object();
  EXPECT_EQ(json::string_member(o, "component"), "supervisor");
  EXPECT_EQ(json::int64_member(o, "child"), pid);
  EXPECT_EQ(json::string_member(o, "signal_target"), "child");
  ASSERT_TRUE(run_until([&] { return !exits_.empty(); }));
  reaped_by_supervisor(pid);
  parsed = parse_json(sup->describe());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(json::bool_member(parsed->as_object(), "alive"), false);
}

}  // namespace
}  // namespace lc::init
