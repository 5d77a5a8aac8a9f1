// OutputCapture with real pipes, writer threads and a real child: passthrough is byte-identical
// (serverless-init.md §4.2), records equal the lines with the stream's status (§4.1, §4.3), the
// trailing partial line is emitted on drain (§3.5), a full queue drops the oldest records and
// counts them (§4.6), lastcall's own lines never land inside a child's line, and nothing is lost
// at volume. The "loop" is the test thread running the posted tasks.
#include "init/output_capture.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/self_metrics.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_log_sink.h"

extern char** environ;

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr auto kLimit = std::chrono::seconds(60);  // generous bound for every wait

// The loop thread's task queue: the capture posts into it; the test runs the tasks.
class TaskQueue {
 public:
  OutputCapture::Poster poster() {
    return [this](std::function<void()> task) {
      MutexLock lock(mu_);
      tasks_.push_back(std::move(task));
      cv_.notify_all();
    };
  }
  std::size_t run_pending() {
    std::deque<std::function<void()>> tasks;
    {
      MutexLock lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
    return tasks.size();
  }
  std::size_t pending() {
    MutexLock lock(mu_);
    return tasks_.size();
  }
  // Runs tasks as they come until `done()` holds; false after kLimit.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kLimit;
    for (;;) {
      run_pending();
      if (done()) return true;
      MutexLock lock(mu_);
      if (tasks_.empty()) (void)lock.wait_for(cv_, 5ms);
      if (std::chrono::steady_clock::now() > deadline) return false;
    }
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ LC_GUARDED_BY(mu_);
};

bool wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// An in-memory file standing in for lastcall's fd 1 or 2.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("passthrough", MFD_CLOEXEC)) {}
  ~MemFile() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string contents() const {
    std::string out;
    char buf[65536];
    off_t off = 0;
    for (;;) {
      const ssize_t n = ::pread(fd_, buf, sizeof buf, off);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  int fd_;
};

class OutputCaptureTest : public ::testing::Test {
 protected:
  // Opens the pipes and starts the capture; the test writes through dups of the write ends
  // (start() closes the capture's own copies, as after a spawn).
  void start(CaptureOptions options = {}) {
    options.stdout_passthrough_fd = out_.fd();
    options.stderr_passthrough_fd = err_.fd();
    capture_ = std::make_unique<OutputCapture>(options, loop_.poster(), self_, clock_);
    auto ends = capture_->open_pipes();
    ASSERT_TRUE(ends.has_value()) << ends.error().message;
    child_out_ = ::dup(ends->first);
    child_err_ = ::dup(ends->second);
    capture_->start(sink_);
  }
  void close_child() {
    if (child_out_ >= 0) ::close(child_out_);
    if (child_err_ >= 0) ::close(child_err_);
    child_out_ = child_err_ = -1;
  }
  // The child exited: drain and run the loop until done() ran.
  void drain(Millis quiet = 100ms) {
    bool done = false;
    capture_->drain(quiet, Deadline::none(), [&] { done = true; });
    ASSERT_TRUE(loop_.run_until([&] { return done; }));
  }
  void TearDown() override {
    close_child();
    capture_.reset();
  }

  std::vector<std::string> messages_of(std::string_view source) const {
    std::vector<std::string> out;
    for (const auto& r : sink_.records()) {
      if (r.source == source) out.push_back(r.message);
    }
    return out;
  }

  fakes::FakeClock clock_;
  SelfMetrics self_;
  fakes::FakeLogSink sink_;
  TaskQueue loop_;
  MemFile out_, err_;
  std::unique_ptr<OutputCapture> capture_;
  int child_out_ = -1, child_err_ = -1;
};

TEST_F(OutputCaptureTest, PassthroughIsByteIdenticalAndRecordsAreTheLines) {
  start();
  std::string input;
  input += "plain line\n";
  input += "crlf line\r\n";
  input += "\n\n   \n";  // no records, passed through
  input += "bad \xff\xfe\x41 utf8\n";
  input += std::string("nul\0inside\n", 11);
  input += "\xE2\x82\xAC euro\n";
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  input += "partial at the end";
  // Odd-sized writes: lines cross reads.
  for (std::size_t i = 0; i < input.size(); i += 997) {
    write_fd(child_out_, std::string_view(input).substr(i, 997));
  }
  write_fd(child_err_, "err one\nerr two\n");
  close_child();
  drain();

  EXPECT_EQ(out_.contents(), input);
  EXPECT_EQ(err_.contents(), "err one\nerr two\n");
  const auto out = messages_of("stdout");
  ASSERT_EQ(out.size(), 5u + 2000u + 1u);
  EXPECT_EQ(out[0], "plain line");
  EXPECT_EQ(out[1], "crlf line");
  EXPECT_EQ(out[2],
            "bad \xEF\xBF\xBD\xEF\xBF\xBD"
            "A utf8");
  EXPECT_EQ(out[3], std::string("nul\0inside", 10));
  EXPECT_EQ(out[4], "\xE2\x82\xAC euro");
  EXPECT_EQ(out[5], "line 0");
  EXPECT_EQ(out[2004], "line 1999");
  EXPECT_EQ(out[2005], "partial at the end");
  EXPECT_THAT(messages_of("stderr"), ElementsAre("err one", "err two"));
  for (const auto& r : sink_.records()) {
    EXPECT_EQ(r.status, r.source == "stderr" ? LogStatus::kError : LogStatus::kInfo);
    EXPECT_EQ(r.timestamp_ms, clock_.wall_ms());
  }
  EXPECT_EQ(capture_->stats().bytes_read[0], input.size());
  EXPECT_EQ(self_.dropped_count("logs", "buffer_full"), 0u);
}

// §3.5: a grandchild keeps the pipe open; the drain ends after `quiet` and emits the partial.
TEST_F(OutputCaptureTest, DrainEndsOnQuietAndEmitsPartialLine) {
  start();
  write_fd(child_out_, "done\nab");
  write_fd(child_err_, "no newline");
  // The write ends stay open (held by a "grandchild").
  drain(50ms);
  EXPECT_THAT(messages_of("stdout"), ElementsAre("done", "ab"));
  EXPECT_THAT(messages_of("stderr"), ElementsAre("no newline"));
  EXPECT_EQ(out_.contents(), "done\nab");
  EXPECT_EQ(err_.contents(), "no newline");
}

TEST_F(OutputCaptureTest, DrainNowDeliversWhatWasWrittenBeforeItWithoutTheLoop) {
  start();
  write_fd(child_out_, "a\nb\n");
  write_fd(child_err_, "c\n");
  capture_->drain_now();  // synchronous: no posted task has run
  EXPECT_THAT(messages_of("stdout"), ElementsAre("a", "b"));
  EXPECT_THAT(messages_of("stderr"), ElementsAre("c"));
  write_fd(child_out_, "d\n");
  capture_->drain_now();
  EXPECT_THAT(messages_of("stdout"), ElementsAre("a", "b", "d"));
  close_child();
  drain();
  EXPECT_EQ(sink_.size(), 4u);  // nothing delivered twice
}

// Scenario 4 through the capture: one split, passthrough byte-identical.
TEST_F(OutputCaptureTest, LongLineIsSplitAndCounted) {
  start();
  std::string line;
  for (std::size_t i = 0; line.size() < 300000; ++i)
    line.push_back(static_cast<char>('a' + i % 26));
  std::thread writer([&] {
    write_fd(child_out_, line);
    ::close(child_out_);
    child_out_ = -1;
  });
  writer.join();
  close_child();
  drain();
  const auto out = messages_of("stdout");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), 262144 + kTruncatedMarker.size());
  EXPECT_EQ(out[1].size(), 37856 + kTruncatedMarker.size());
  EXPECT_EQ(self_.get("lastcall.logs.split"), 1u);
  EXPECT_EQ(out_.contents(), line);
}

// §4.6 and scenario 8: the loop does not run while the child writes 200 000 lines; the child is
// never held up, the oldest records are dropped and counted, the newest kept, passthrough whole.
TEST_F(OutputCaptureTest, FullBufferDropsOldestAndNeverBlocksTheChild) {
  CaptureOptions options;
  options.buffer_bytes = 1 << 20;
  start(options);
  constexpr int kLines = 200000;
  std::string all;
  for (int i = 0; i < kLines; ++i) all += fmt::format("line-{:06}\n", i);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    for (std::size_t i = 0; i < all.size(); i += 4096) {
      write_fd(child_out_, std::string_view(all).substr(i, 4096));
    }
    written = true;
  });
  // The writer finishes although no task ran (a black-holed intake looks the same to capture).
  ASSERT_TRUE(wait_until([&] { return written.load(); }));
  writer.join();
  EXPECT_LE(loop_.pending(), 1u);  // one hand-over pending, never one per line
  // Once the reader has everything, the queue holds at most the buffer's bytes.
  ASSERT_TRUE(wait_until([&] { return capture_->stats().bytes_read[0] == all.size(); }));
  EXPECT_LE(capture_->stats().queued_bytes, options.buffer_bytes);
  EXPECT_GT(capture_->stats().queued_bytes, options.buffer_bytes / 2);
  close_child();
  drain();

  const std::uint64_t dropped = self_.dropped_count("logs", "buffer_full");
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(dropped + sink_.size(), static_cast<std::uint64_t>(kLines));
  EXPECT_EQ(capture_->stats().dropped, dropped);
  // The kept records are the newest, in order, ending with the last line.
  const auto out = messages_of("stdout");
  ASSERT_FALSE(out.empty());
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], fmt::format("line-{:06}", dropped + i));
  }
  EXPECT_EQ(out_.contents(), all);
}

TEST_F(OutputCaptureTest, HundredThousandLinesAllAccounted) {
  start();
  constexpr int kLines = 100000;
  std::atomic<bool> written{false};
  std::thread writer([&] {
    std::string chunk;
    for (int i = 0; i < kLines; ++i) {
      chunk += fmt::format("{{\"n\":{},\"pad\":\"{}\"}}\n", i, std::string(i % 50, 'p'));
      if (chunk.size() > 8000) {
        write_fd(child_out_, chunk);
        chunk.clear();
      }
    }
    write_fd(child_out_, chunk);
    written = true;
  });
  ASSERT_TRUE(loop_.run_until([&] { return written.load(); }));
  writer.join();
  close_child();
  drain();
  ASSERT_EQ(sink_.size(), static_cast<std::size_t>(kLines));
  for (int i = 0; i < kLines; i += 9973) {
    EXPECT_EQ(sink_.records()[i].message,
              fmt::format("{{\"n\":{},\"pad\":\"{}\"}}", i, std::string(i % 50, 'p')));
  }
  EXPECT_EQ(self_.dropped_count("logs", "buffer_full"), 0u);
  EXPECT_EQ(capture_->stats().delivered, static_cast<std::uint64_t>(kLines));
}

// lastcall's own lines share fd 2 with the child's stderr: never inside a child's line, even when
// the child writes lines larger than the pipe.
TEST_F(OutputCaptureTest, OwnLinesNeverLandInsideAChildLine) {
  CaptureOptions options;
  options.partial_hold = Millis(600000);  // only whole lines and L-sized chunks go through
  start(options);
  constexpr int kChildLines = 60;
  constexpr int kOwnLines = 500;
  std::vector<std::string> child_lines;
  child_lines.reserve(kChildLines);
  for (int i = 0; i < kChildLines; ++i) {
    child_lines.push_back(fmt::format("child {:03} ", i) + std::string(100000 + i * 37, 'x'));
  }
  std::thread child([&] {
    for (const auto& l : child_lines) write_fd(child_err_, l + "\n");
  });
  std::thread own([&] {
    for (int i = 0; i < kOwnLines; ++i) {
      capture_->write_own_line(fmt::format("lastcall | WARN | own {}\n", i));
    }
  });
  child.join();
  own.join();
  close_child();
  drain();

  const std::string text = err_.contents();
  int own_seen = 0, child_seen = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    const std::string_view line(text.data() + pos, nl - pos);
    if (line.starts_with("lastcall | WARN | own ")) {
      EXPECT_EQ(line, fmt::format("lastcall | WARN | own {}", own_seen));
      ++own_seen;
    } else {
      ASSERT_LT(child_seen, kChildLines);
      ASSERT_EQ(line, child_lines[child_seen]) << "child line " << child_seen << " was broken";
      ++child_seen;
    }
    pos = nl + 1;
  }
  EXPECT_EQ(own_seen, kOwnLines);
  EXPECT_EQ(child_seen, kChildLines);
  EXPECT_EQ(messages_of("stderr").size(), static_cast<std::size_t>(kChildLines));
}

// A partial line the child leaves alone for partial_hold still shows (a prompt).
TEST_F(OutputCaptureTest, HeldPartialLineGoesThroughAfterTheHold) {
  start();
  write_fd(child_out_, "line\nprompt> ");
  ASSERT_TRUE(wait_until([&] { return out_.contents() == "line\n"; }));
  clock_.advance(Millis(600));
  ASSERT_TRUE(wait_until([&] { return out_.contents() == "line\nprompt> "; }));
  write_fd(child_out_, "yes\n");
  close_child();
  drain();
  EXPECT_EQ(out_.contents(), "line\nprompt> yes\n");
  EXPECT_THAT(messages_of("stdout"), ElementsAre("line", "prompt> yes"));
}

// §4.2: EPIPE on fd 1 turns stdout passthrough off; capture goes on.
TEST_F(OutputCaptureTest, BrokenPassthroughStopsPassthroughNotCapture) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);
  int gone[2];
  ASSERT_EQ(::pipe2(gone, O_CLOEXEC), 0);
  ::close(gone[0]);
  CaptureOptions options;
  options.stdout_passthrough_fd = gone[1];
  options.stderr_passthrough_fd = err_.fd();
  capture_ = std::make_unique<OutputCapture>(options, loop_.poster(), self_, clock_);
  auto ends = capture_->open_pipes();
  ASSERT_TRUE(ends.has_value());
  child_out_ = ::dup(ends->first);
  child_err_ = ::dup(ends->second);
  capture_->start(sink_);
  write_fd(child_out_, "one\n");
  write_fd(child_out_, "two\n");
  write_fd(child_err_, "three\n");
  close_child();
  drain();
  EXPECT_THAT(messages_of("stdout"), ElementsAre("one", "two"));
  EXPECT_EQ(err_.contents(), "three\n");
  EXPECT_NE(capture_->describe().find("\"stdout\":false"), std::string::npos);
  EXPECT_NE(capture_->describe().find("\"stderr\":true"), std::string::npos);
  capture_.reset();
  ::close(gone[1]);
  ::sigaction(SIGPIPE, &old, nullptr);
}

// Counts lastcall's open file descriptors.
std::size_t open_fds() {
  std::size_t n = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) ++n;
  }
  return n;
}

// The spawn failed (§1.2): the pipes were opened, the capture never started. Nothing leaks, and
// a drain still answers.
TEST_F(OutputCaptureTest, OpenedButNeverStarted) {
  const std::size_t before = open_fds();
  capture_ = std::make_unique<OutputCapture>(CaptureOptions{}, loop_.poster(), self_, clock_);
  ASSERT_TRUE(capture_->open_pipes().has_value());
  EXPECT_EQ(open_fds(), before + 5);  // two pipes and the wake fd
  bool done = false;
  capture_->drain(10ms, Deadline::none(), [&done] { done = true; });
  ASSERT_TRUE(loop_.run_until([&done] { return done; }));
  capture_->drain_now();
  EXPECT_EQ(sink_.size(), 0u);
  capture_.reset();
  EXPECT_EQ(open_fds(), before);
}

TEST_F(OutputCaptureTest, PassthroughOnlyMakesNoRecords) {
  CaptureOptions options;
  options.capture_logs = false;
  start(options);
  write_fd(child_out_, "x\ny");
  close_child();
  drain();
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(out_.contents(), "x\ny");
}

// Scenario 2 with a real child: `sh -c 'echo out; echo err >&2'` (plus a trailing partial).
TEST_F(OutputCaptureTest, RealChild) {
  CaptureOptions options;
  options.stdout_passthrough_fd = out_.fd();
  options.stderr_passthrough_fd = err_.fd();
  capture_ = std::make_unique<OutputCapture>(options, loop_.poster(), self_, clock_);
  auto ends = capture_->open_pipes();
  ASSERT_TRUE(ends.has_value());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends->first, 1);
  posix_spawn_file_actions_adddup2(&actions, ends->second, 2);
  const char* argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; printf tail; exit 3", nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  capture_->start(sink_);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  drain();
  EXPECT_THAT(messages_of("stdout"), ElementsAre("out", "tail"));
  EXPECT_THAT(messages_of("stderr"), ElementsAre("err"));
  EXPECT_EQ(sink_.find("err")->status, LogStatus::kError);
  EXPECT_EQ(sink_.find("out")->status, LogStatus::kInfo);
  EXPECT_EQ(out_.contents(), "out\ntail");
  EXPECT_EQ(err_.contents(), "err\n");
}

TEST_F(OutputCaptureTest, DrainWithoutPipesCallsDone) {
  OutputCapture capture({}, loop_.poster(), self_, clock_);
  bool done = false;
  capture.drain(100ms, Deadline::none(), [&] { done = true; });
  ASSERT_TRUE(loop_.run_until([&] { return done; }));
  EXPECT_NE(capture.describe().find("\"component\":\"output_capture\""), std::string::npos);
}

// The drain deadline bounds a grandchild that keeps writing.
TEST_F(OutputCaptureTest, DrainStopsAtTheDeadline) {
  start();
  std::atomic<bool> stop{false};
  // Non-blocking, so the writer notices `stop` even when nobody reads the pipe any more.
  ASSERT_EQ(::fcntl(child_out_, F_SETFL, ::fcntl(child_out_, F_GETFL) | O_NONBLOCK), 0);
  std::thread grandchild([&] {
    constexpr std::string_view kLine = "still here\n";
    while (!stop) {
      if (::write(child_out_, kLine.data(), kLine.size()) < 0) std::this_thread::sleep_for(1ms);
    }
  });
  bool done = false;
  capture_->drain(Millis(100), Deadline::after(clock_, Millis(1000)), [&] { done = true; });
  ASSERT_TRUE(wait_until([&] { return loop_.pending() > 0; }));
  clock_.advance(Millis(1000));
  const bool finished = loop_.run_until([&] { return done; });
  stop = true;
  grandchild.join();
  ASSERT_TRUE(finished);
  EXPECT_GT(sink_.size(), 0u);
}

}  // namespace
}  // namespace lc::init
