#include "init/output_capture.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "core/logger.h"

namespace lc::init {

namespace {

constexpr std::size_t kMaxPipeSize = 1u << 20;  // the default /proc/sys/fs/pipe-max-size

// Writes all of a then b (one writev loop), waiting on a non-blocking fd. 0 or the errno that
// stopped it.
int write_all(int fd, std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    iovec iov[2];
    int n_iov = 0;
    if (!a.empty()) iov[n_iov++] = {const_cast<char*>(a.data()), a.size()};
    if (!b.empty()) iov[n_iov++] = {const_cast<char*>(b.data()), b.size()};
    const ssize_t n = ::writev(fd, iov, n_iov);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // An inherited non-blocking fd: passthrough is blocking by design (§4.2).
        pollfd p{fd, POLLOUT, 0};
        (void)::poll(&p, 1, -1);
        continue;
      }
      return errno;
    }
    auto done = static_cast<std::size_t>(n);
    const std::size_t from_a = std::min(done, a.size());
    a.remove_prefix(from_a);
    b.remove_prefix(done - from_a);
  }
  return 0;
}

int poll_timeout_ms(Millis d) {
  if (d == Millis::max()) return -1;
  return static_cast<int>(std::clamp<Millis::rep>(d.count(), 0, 60 * 60 * 1000));
}

}  // namespace

// Queue and counters shared with the hand-over tasks posted to the loop, which may run after the
// capture is gone (then they do nothing).
struct OutputCapture::Shared {
  Poster post;
  LogSink* sink = nullptr;
  std::size_t cap = 0;
  std::atomic<bool> detached{false};
  std::atomic<bool> posted{false};  // a hand-over task is pending on the loop

  Mutex mu;
  std::deque<LogRecord> queue LC_GUARDED_BY(mu);
  std::size_t queued_bytes LC_GUARDED_BY(mu) = 0;

  std::atomic<std::uint64_t> bytes_read[2] = {0, 0};
  std::atomic<std::uint64_t> records{0}, delivered{0}, dropped{0}, splits{0};

  // On the loop thread: every queued record to the sink, in order.
  void deliver() {
    std::deque<LogRecord> taken;
    {
      MutexLock lock(mu);
      taken.swap(queue);
      queued_bytes = 0;
    }
    for (auto& r : taken) sink->add(std::move(r));
    delivered.fetch_add(taken.size(), std::memory_order_relaxed);
  }
};

struct OutputCapture::Stream {
  int index = 0;  // 0 stdout, 1 stderr
  int fd = -1;    // read end
  int pass_fd = -1;
  LogStatus status = LogStatus::kInfo;
  std::string_view source;
  std::size_t pipe_size = 64 * 1024;
  LineSplitter splitter;
  LineSplitter::Emit emit;
  std::vector<LogRecord> batch;  // made by the splitter, not yet queued
  std::string pass_buf;          // passthrough bytes of a line not yet ended (≤ L)
  SteadyTime held_since{};       // last read that left pass_buf non-empty
  bool ended = false;            // EOF, error, or drained

  explicit Stream(std::size_t max_bytes) : splitter(max_bytes) {}
};

OutputCapture::OutputCapture(CaptureOptions options, Poster post, SelfMetrics& self,
                             const Clock& clock)
    : options_(options), clock_(clock), self_(self), shared_(std::make_shared<Shared>()) {
  options_.line_max_bytes = std::max<std::size_t>(options_.line_max_bytes, 4);
  shared_->post = std::move(post);
  shared_->cap = options_.buffer_bytes;
}

OutputCapture::~OutputCapture() {
  stopping_.store(true);
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  shared_->detached.store(true);
  {
    MutexLock lock(read_mu_);
    for (auto& s : streams_) {
      if (s && s->fd >= 0) ::close(s->fd);
    }
  }
  for (int& fd : read_ends_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  for (int& fd : write_ends_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Expected<std::pair<int, int>> OutputCapture::open_pipes() {
  int fds[2][2] = {{-1, -1}, {-1, -1}};
  auto fail = [&](std::string_view what) -> Error {
    const int err = errno;
    for (auto& p : fds) {
      for (int fd : p) {
        if (fd >= 0) ::close(fd);
      }
    }
    return make_error(ErrorCode::kIo, fmt::format("capture: {}: {}", what, std::strerror(err)));
  };
  if (::pipe2(fds[0], O_CLOEXEC) != 0 || ::pipe2(fds[1], O_CLOEXEC) != 0) return fail("pipe2");
  // Only lastcall's read ends are non-blocking: the child's ends stay blocking, so a child that
  // outpaces us waits as it would on a slow terminal.
  for (auto& p : fds) {
    const int flags = ::fcntl(p[0], F_GETFL);
    if (flags < 0 || ::fcntl(p[0], F_SETFL, flags | O_NONBLOCK) != 0) return fail("fcntl");
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return fail("eventfd");
  for (int i = 0; i < 2; ++i) {
    read_ends_[i] = fds[i][0];
    write_ends_[i] = fds[i][1];
  }
  return std::pair<int, int>(write_ends_[0], write_ends_[1]);
}

void OutputCapture::start(LogSink& sink) {
  if (started_ || wake_fd_ < 0) return;
  split_counter_ = self_.counter("lastcall.logs.split");
  buffer_full_ = self_.drop_counter("logs", "buffer_full");
  {
    MutexLock lock(read_mu_);
    buffer_ = std::make_unique_for_overwrite<char[]>(kReadBuffer);
    for (int i = 0; i < 2; ++i) {
      auto s = std::make_unique<Stream>(options_.line_max_bytes);
      s->index = i;
      s->fd = std::exchange(read_ends_[i], -1);
      s->pass_fd = i == 0 ? options_.stdout_passthrough_fd : options_.stderr_passthrough_fd;
      s->status = i == 0 ? LogStatus::kInfo : LogStatus::kError;
      s->source = i == 0 ? "stdout" : "stderr";
      const int size = ::fcntl(s->fd, F_GETPIPE_SZ);
      if (size > 0)
        s->pipe_size = std::min<std::size_t>(static_cast<std::size_t>(size), kMaxPipeSize);
      Stream* raw = s.get();
      s->emit = [this, raw](std::string&& text, std::int64_t ts_ms, bool split) {
        if (split) {
          split_counter_.add();
          shared_->splits.fetch_add(1, std::memory_order_relaxed);
        }
        LogRecord r;
        r.message = std::move(text);
        r.timestamp_ms = ts_ms;
        r.status = raw->status;
        r.source = std::string(raw->source);
        raw->batch.push_back(std::move(r));
      };
      streams_[i] = std::move(s);
    }
  }
  shared_->sink = &sink;  // before the thread exists: it happens-before every hand-over
  started_ = true;
  // The child holds its own copies now: ours would keep the pipes open past its exit.
  for (int& fd : write_ends_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  thread_ = std::thread([this] { run(); });
}

void OutputCapture::drain(Millis quiet, Deadline deadline, std::function<void()> done) {
  if (drain_called_) return;
  drain_called_ = true;
  bool reader_gone = false;
  {
    MutexLock lock(drain_mu_);
    reader_gone = !thread_.joinable() || reader_gone_;
    drain_requested_ = true;
    drain_quiet_ = quiet;
    drain_deadline_ = deadline;
    drain_done_ = std::move(done);
  }
  if (reader_gone) {
    // No reader (never started, or stopped on an error): end the streams here.
    finish_drain();
    return;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void OutputCapture::drain_now() {
  {
    MutexLock lock(read_mu_);
    for (auto& s : streams_) {
      if (!s || s->ended) continue;
      // What the pipe holds now is at most its capacity: reading that much takes everything
      // written before this call without chasing a child that keeps writing.
      std::size_t budget = s->pipe_size;
      std::uint64_t before = shared_->bytes_read[s->index].load(std::memory_order_relaxed);
      for (;;) {
        const ReadResult r = read_once(*s);
        if (r == ReadResult::kEnd) {
          end_stream(*s);
          break;
        }
        const std::uint64_t now = shared_->bytes_read[s->index].load(std::memory_order_relaxed);
        if (r == ReadResult::kAgain || now - before >= budget) break;
      }
      enqueue(*s);
    }
  }
  shared_->posted.store(false);
  shared_->deliver();
}

void OutputCapture::write_own_line(std::string_view line) {
  if (line.empty()) return;
  const std::string_view nl = line.back() == '\n' ? std::string_view() : std::string_view("\n");
  MutexLock lock(out_mu_);
  if (!passthrough_on_[1].load(std::memory_order_relaxed)) return;
  // An error here is the passthrough's too: the stderr stream notices it at its next write.
  (void)write_all(options_.stderr_passthrough_fd, line, nl);
}

CaptureStats OutputCapture::stats() const {
  CaptureStats s;
  for (int i = 0; i < 2; ++i) s.bytes_read[i] = shared_->bytes_read[i].load();
  s.records = shared_->records.load();
  s.delivered = shared_->delivered.load();
  s.dropped = shared_->dropped.load();
  s.splits = shared_->splits.load();
  MutexLock lock(shared_->mu);
  s.queued_bytes = shared_->queued_bytes;
  return s;
}

std::string OutputCapture::describe() const {
  return fmt::format(
      "{{\"component\":\"output_capture\",\"line_max_bytes\":{},\"buffer_bytes\":{},"
      "\"capture_logs\":{},\"passthrough\":{{\"stdout\":{},\"stderr\":{}}},\"partial_hold_ms\":{}}"
      "}",
      options_.line_max_bytes, options_.buffer_bytes, options_.capture_logs,
      passthrough_on_[0].load(), passthrough_on_[1].load(), options_.partial_hold.count());
}

OutputCapture::ReadResult OutputCapture::read_once(Stream& stream) {
  const ssize_t n = ::read(stream.fd, buffer_.get(), kReadBuffer);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::kAgain;
    return ReadResult::kEnd;
  }
  if (n == 0) return ReadResult::kEnd;
  const std::string_view data(buffer_.get(), static_cast<std::size_t>(n));
  shared_->bytes_read[stream.index].fetch_add(data.size(), std::memory_order_relaxed);
  // Passthrough first (§4.2): the platform sees the bytes whatever happens to the records.
  pass_through(stream, data);
  if (options_.capture_logs) stream.splitter.feed(data, clock_.wall_ms(), stream.emit);
  return ReadResult::kData;
}

void OutputCapture::pass_through(Stream& stream, std::string_view data) {
  if (!passthrough_on_[stream.index].load(std::memory_order_relaxed)) return;
  // Every complete line of this read goes out in one write (with the held start of the first):
  // an own line can only come before or after them.
  const std::size_t last_nl = data.rfind('\n');
  if (last_nl != std::string_view::npos) {
    write_passthrough(stream, stream.pass_buf, data.substr(0, last_nl + 1));
    stream.pass_buf.clear();
    data.remove_prefix(last_nl + 1);
  }
  // The unfinished line is held (at most L bytes, then written as a chunk, §4.3's bound).
  while (!data.empty()) {
    const std::size_t take =
        std::min(data.size(), options_.line_max_bytes - stream.pass_buf.size());
    stream.pass_buf.append(data.data(), take);
    data.remove_prefix(take);
    if (stream.pass_buf.size() >= options_.line_max_bytes) flush_partial(stream);
  }
  if (!stream.pass_buf.empty()) stream.held_since = clock_.steady_now();
}

void OutputCapture::flush_partial(Stream& stream) {
  if (stream.pass_buf.empty()) return;
  write_passthrough(stream, stream.pass_buf, {});
  stream.pass_buf.clear();
}

void OutputCapture::write_passthrough(Stream& stream, std::string_view a, std::string_view b) {
  int err = 0;
  {
    MutexLock lock(out_mu_);
    if (!passthrough_on_[stream.index].load(std::memory_order_relaxed)) return;
    err = write_all(stream.pass_fd, a, b);
    if (err != 0) passthrough_on_[stream.index].store(false);
  }
  // Logged without out_mu_: the Logger's sink may be write_own_line().
  if (err != 0) {
    LC_WARN(
        "capture: writing the child's {} to fd {} failed ({}); passthrough of {} is off, "
        "capture continues",
        stream.source, stream.pass_fd, std::strerror(err), stream.source);
  }
}

void OutputCapture::end_stream(Stream& stream) {
  if (stream.ended) return;
  stream.ended = true;
  if (options_.capture_logs) stream.splitter.finish(clock_.wall_ms(), stream.emit);
  flush_partial(stream);
}

void OutputCapture::enqueue(Stream& stream) {
  if (stream.batch.empty()) return;
  Shared& s = *shared_;
  s.records.fetch_add(stream.batch.size(), std::memory_order_relaxed);
  std::uint64_t dropped = 0;
  {
    MutexLock lock(s.mu);
    for (auto& r : stream.batch) {
      const std::size_t size = r.message.size();
      // Oldest first out (§4.6); a record alone larger than the buffer still goes in when the
      // queue is empty, so the bound is exceeded by at most one entry.
      while (!s.queue.empty() && s.queued_bytes + size > s.cap) {
        s.queued_bytes -= s.queue.front().message.size();
        s.queue.pop_front();
        ++dropped;
      }
      s.queued_bytes += size;
      s.queue.push_back(std::move(r));
    }
  }
  stream.batch.clear();
  if (dropped > 0) {
    buffer_full_.add(dropped);
    s.dropped.fetch_add(dropped, std::memory_order_relaxed);
  }
}

void OutputCapture::post_handover() {
  if (shared_->posted.exchange(true)) return;
  std::shared_ptr<Shared> shared = shared_;
  shared->post([shared] {
    if (shared->detached.load()) return;
    // Cleared before taking the queue: a record queued after the take posts again.
    shared->posted.store(false);
    shared->deliver();
  });
}

void OutputCapture::finish_drain() {
  {
    MutexLock lock(read_mu_);
    for (auto& s : streams_) {
      if (!s) continue;
      end_stream(*s);
      enqueue(*s);
    }
  }
  std::function<void()> done;
  {
    MutexLock lock(drain_mu_);
    done = std::move(drain_done_);
  }
  std::shared_ptr<Shared> shared = shared_;
  shared->post([shared, done = std::move(done)] {
    if (shared->detached.load()) return;
    shared->deliver();
    if (done) done();
  });
}

void OutputCapture::run() {
  bool draining = false;
  Millis quiet{100};
  Deadline deadline;
  for (;;) {
    if (!draining) {
      MutexLock lock(drain_mu_);
      if (drain_requested_) {
        draining = true;
        quiet = drain_quiet_;
        deadline = drain_deadline_;
      }
    }
    if (draining && deadline.expired(clock_)) {
      finish_drain();
      return;
    }

    pollfd fds[3];
    Stream* polled[3] = {nullptr, nullptr, nullptr};
    nfds_t n = 0;
    fds[n++] = {wake_fd_, POLLIN, 0};
    Millis timeout = Millis::max();
    {
      MutexLock lock(read_mu_);
      const SteadyTime now = clock_.steady_now();
      for (auto& s : streams_) {
        if (!s || s->ended) continue;
        polled[n] = s.get();
        fds[n++] = {s->fd, POLLIN, 0};
        // While draining only `quiet` and the deadline time the poll: partials end there anyway.
        if (!draining && !s->pass_buf.empty()) {
          const auto held = std::chrono::duration_cast<Millis>(now - s->held_since);
          timeout = std::min(timeout, std::max(Millis(0), options_.partial_hold - held));
        }
      }
    }
    if (draining) {
      if (n == 1) {  // EOF on both
        finish_drain();
        return;
      }
      timeout = std::min({timeout, quiet, deadline.remaining(clock_)});
    }

    const int rc = ::poll(fds, n, poll_timeout_ms(timeout));
    if (rc < 0) {
      if (errno == EINTR) continue;
      LC_ERROR("capture: poll failed: {}; reading the child's output stops", std::strerror(errno));
      bool drain_now_due = draining;
      {
        // From here drain() answers by itself; a request that came first is served below.
        MutexLock lock(drain_mu_);
        reader_gone_ = true;
        drain_now_due = drain_now_due || drain_requested_;
      }
      if (drain_now_due) finish_drain();
      return;
    }
    if (fds[0].revents != 0) {
      std::uint64_t v = 0;
      [[maybe_unused]] const auto r = ::read(wake_fd_, &v, sizeof v);
      if (stopping_.load()) return;
    }
    bool got = false;
    {
      MutexLock lock(read_mu_);
      for (nfds_t i = 1; i < n; ++i) {
        Stream& s = *polled[i];
        if (s.ended || fds[i].revents == 0) continue;
        const ReadResult r = read_once(s);
        if (r == ReadResult::kEnd) end_stream(s);
        got = got || r != ReadResult::kAgain;
        enqueue(s);
      }
      // A partial line the child left alone for partial_hold goes through now (see CaptureOptions).
      const SteadyTime now = clock_.steady_now();
      for (auto& s : streams_) {
        if (s && !s->pass_buf.empty() && now - s->held_since >= options_.partial_hold) {
          flush_partial(*s);
        }
      }
    }
    if (got) post_handover();
    if (draining && rc == 0 && !got) {
      // `quiet` (or the deadline) passed without data: a grandchild holds the pipe (§3.5).
      finish_drain();
      return;
    }
  }
}

}  // namespace lc::init
