// init/output_capture.h — the child's stdout and stderr in wrapper mode (serverless-init.md §4):
// two pipes read by one dedicated thread that passes every byte through to lastcall's fd 1/2
// unchanged (§4.2), splits the streams into log records (§4.3) and queues them, bounded, for the
// loop thread (§4.6). Created by the wrapper's composition root before the spawn; owns the pipes'
// read ends, the reader thread and the record queue. Records reach the LogSink on the loop thread.
//
// Threads: the reader thread reads, passes through and splits; the loop thread calls every public
// method and runs the posted hand-overs (sink.add). The capture path never waits for the loop:
// a full queue drops its oldest records (counted), and passthrough blocks only on fd 1/2 itself,
// as the child would without lastcall.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "core/clock.h"
#include "core/expected.h"
#include "core/log_sink.h"
#include "core/mutex.h"
#include "core/self_metrics.h"
#include "init/line_splitter.h"

namespace lc::init {

struct CaptureOptions {
  std::size_t line_max_bytes = 262144;   // L (LASTCALL_LOG_LINE_MAX_BYTES, §4.3)
  std::size_t buffer_bytes = 16u << 20;  // LASTCALL_LOG_BUFFER_BYTES: queued message bytes (§4.6)
  // false: passthrough only, no records. (When logs are off no pipes exist at all, §4.1, and no
  // OutputCapture is made.)
  bool capture_logs = true;
  int stdout_passthrough_fd = 1;
  int stderr_passthrough_fd = 2;
  // A partial line (no `\n` yet) is held back from passthrough so lastcall's own lines never land
  // inside it; when the child writes nothing for this long it is written through anyway (a prompt
  // or a progress bar must still show).
  Millis partial_hold{500};
};

// What the capture has done so far (any thread; relaxed counters).
struct CaptureStats {
  std::uint64_t bytes_read[2] = {0, 0};  // [0] stdout, [1] stderr
  std::uint64_t records = 0;             // records made by the splitter
  std::uint64_t delivered = 0;           // records handed to the sink
  std::uint64_t dropped = 0;             // records dropped as buffer_full
  std::uint64_t splits = 0;              // long-line cuts (lastcall.logs.split)
  std::uint64_t queued_bytes = 0;        // message bytes waiting for the loop now
};

class OutputCapture {
 public:
  using Poster = std::function<void(std::function<void()>)>;

  static constexpr std::size_t kReadBuffer = 64 * 1024;

  // `post` hands a task to the loop thread (EventLoop::post; a queue in tests). The self metrics
  // and clock must outlive the capture.
  OutputCapture(CaptureOptions options, Poster post, SelfMetrics& self, const Clock& clock);
  // Stops and joins the reader thread (it may still be finishing a blocking passthrough write),
  // closes every pipe end; hand-overs still queued on the loop do nothing afterwards.
  ~OutputCapture();
  OutputCapture(const OutputCapture&) = delete;
  OutputCapture& operator=(const OutputCapture&) = delete;

  // Creates the two pipes, every end O_CLOEXEC (the spawn dup2()s the write ends onto the child's
  // fd 1 and 2, which clears the flag there), and the reader's wake fd: only what the spawn needs
  // and what can fail, so a failure still leaves the child lastcall's own fds. Returns the write
  // ends {stdout, stderr}. Call once.
  Expected<std::pair<int, int>> open_pipes();
  // After the spawn: sets up the reading (buffer, line splitters, counters: the child does not
  // wait for them, serverless-init.md §2 step 3), closes lastcall's copies of the write ends (so
  // the child's exit means EOF) and starts the reader thread. Records reach `sink` (which must
  // outlive the capture) on the loop thread; it may be built after the child was spawned, so the
  // child never waits for it.
  void start(LogSink& sink);
  // The child exited (§3.5): read until EOF on both pipes, or until `quiet` passes without data
  // (a grandchild holding a pipe open), or `deadline`; then emit partial lines as ended. `done`
  // runs on the loop thread (through post) once every captured record has reached the sink. Call
  // once, on the loop thread.
  void drain(Millis quiet, Deadline deadline, std::function<void()> done);
  // Synchronous, on the loop thread (before a forced or lifecycle flush): everything the child
  // wrote before this call and that is readable now has reached the sink when it returns. Waits
  // for the reader thread's current step, which may be a blocking passthrough write.
  void drain_now();
  // lastcall's own log lines (the Logger's sink in wrapper mode): written to the stderr
  // passthrough fd under the same lock as the child's lines, so an own line is never written
  // inside a child's line. Any thread. A missing trailing `\n` is added.
  void write_own_line(std::string_view line);

  CaptureStats stats() const;
  // One small JSON object (conventions.md §20).
  std::string describe() const;

 private:
  struct Shared;
  struct Stream;

  void run();
  enum class ReadResult { kData, kAgain, kEnd };
  // One non-blocking read of `stream`: passthrough, then split; kEnd at EOF or a hard error.
  ReadResult read_once(Stream& stream) LC_REQUIRES(read_mu_);
  void pass_through(Stream& stream, std::string_view data) LC_REQUIRES(read_mu_);
  void flush_partial(Stream& stream) LC_REQUIRES(read_mu_);
  void write_passthrough(Stream& stream, std::string_view a, std::string_view b)
      LC_REQUIRES(read_mu_) LC_EXCLUDES(out_mu_);
  // Hands the records the splitter made for `stream` to the queue (dropping the oldest when full).
  void enqueue(Stream& stream) LC_REQUIRES(read_mu_);
  void end_stream(Stream& stream) LC_REQUIRES(read_mu_);
  // Posts one hand-over task unless one is already pending.
  void post_handover();
  void finish_drain();

  CaptureOptions options_;
  const Clock& clock_;
  SelfMetrics& self_;
  SelfMetrics::Counter split_counter_;  // set by start()
  SelfMetrics::Counter buffer_full_;    // set by start()
  std::shared_ptr<Shared> shared_;

  // Held around each read + passthrough + split step: by the reader thread and by drain_now().
  Mutex read_mu_;
  std::unique_ptr<Stream> streams_[2] LC_GUARDED_BY(read_mu_);
  std::unique_ptr<char[]> buffer_ LC_GUARDED_BY(read_mu_);
  // Serialises writes to the passthrough fds: a child's line and an own line never interleave.
  Mutex out_mu_;

  // Drain request from the loop thread to the reader thread.
  Mutex drain_mu_;
  bool drain_requested_ LC_GUARDED_BY(drain_mu_) = false;
  Millis drain_quiet_ LC_GUARDED_BY(drain_mu_){100};
  Deadline drain_deadline_ LC_GUARDED_BY(drain_mu_);
  std::function<void()> drain_done_ LC_GUARDED_BY(drain_mu_);
  bool reader_gone_ LC_GUARDED_BY(drain_mu_) = false;  // the reader thread stopped on an error

  // Per stream ([0] stdout, [1] stderr): passthrough still on (off after EPIPE/EBADF, §4.2).
  std::atomic<bool> passthrough_on_[2] = {true, true};
  int read_ends_[2] = {-1, -1};  // from open_pipes() until start() gives them to the streams
  int write_ends_[2] = {-1, -1};
  int wake_fd_ = -1;  // eventfd: drain request or stop
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  bool started_ = false;
  bool drain_called_ = false;
};

}  // namespace lc::init
