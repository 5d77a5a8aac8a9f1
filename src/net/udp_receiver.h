// net/udp_receiver.h — the DogStatsD datagram sockets (UDP and optional unix datagram), bound at
// construction, read by one dedicated thread with recvmmsg in batches (datadog-wire.md §1.1).
// Received datagrams are copied compactly into pooled chunks and handed to the loop thread by one
// task at a time through a caller-supplied post() (the task takes everything queued when it runs;
// a busy socket is read every `linger`, not at every datagram), within a bounded queue (datagram
// count and bytes; full → newest dropped, counted `queue_full`) whose bytes are charged to the
// memory budget (refused → newest dropped, counted `memory_budget`). Datagrams the kernel dropped
// because the socket's receive buffer was full are counted `kernel_buffer` from the socket's own
// count (SO_MEMINFO), read at every recvmmsg batch, drain_now() and stop(). The receive buffer
// is the largest the kernel allows unless the user names one (lambda-agent.md §8.2). sync() and
// drain_now() give a flush everything sent before them. Created by app/, whose handler runs on the
// loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "core/expected.h"
#include "core/memory_budget.h"
#include "core/mutex.h"
#include "core/self_metrics.h"

namespace lc::net {

// The receive buffer asked of the kernel for DD_DOGSTATSD_SO_RCVBUF (lambda-agent.md §8.2).
struct ReceiveBufferRequest {
  int bytes = 0;       // SO_RCVBUF asked for; the kernel reports twice what it sets (bookkeeping)
  bool force = false;  // SO_RCVBUFFORCE first (needs CAP_NET_ADMIN), SO_RCVBUF when refused
};

// The rule: a size the user set (configured > 0) is asked as given, and forced, so that with
// CAP_NET_ADMIN it may exceed net.core.rmem_max — the user named it. Unset (0): kMaxDefaultRcvbuf,
// never forced, which the kernel grants up to its own limit: min(rmem_max, 8 MiB), the largest it
// allows (a privileged process does not take more than the administrator's limit unasked). The
// limit need not be read first: a grant below the ask names it (twice rmem_max).
ReceiveBufferRequest receive_buffer_request(int configured);

// The kernel's running count of datagrams it dropped on one socket (SO_MEMINFO's drops, a u32
// that wraps), turned into increments: observe() returns how many drops are new since the last
// count seen. A new socket starts at 0. Used by one thread.
class KernelDropCounter {
 public:
  std::uint32_t observe(std::uint32_t cumulative) {
    const std::uint32_t delta = cumulative - last_;
    if (delta == 0 || delta >= 0x80000000u) return 0;  // same, or older than what we saw
    last_ = cumulative;
    return delta;
  }
  std::uint32_t last() const { return last_; }

 private:
  std::uint32_t last_ = 0;
};

// How long the receive thread lets datagrams gather before its next read, having just read
// `datagrams` (`bytes` of payload) that arrived over `elapsed`: the configured `linger`, but never
// more than the time this arrival rate takes to fill a quarter of the receive buffer (`capacity`,
// as the kernel counts it: each datagram also costs ~kDatagramOverhead of bookkeeping), so a small
// buffer or a fast sender shortens it; zero when under kMinLinger (then it reads as data comes).
inline constexpr std::size_t kDatagramOverhead = 1024;
inline constexpr std::chrono::nanoseconds kMinLinger{20'000};
std::chrono::nanoseconds linger_before_next_read(std::chrono::nanoseconds linger,
                                                 std::size_t capacity, std::size_t datagrams,
                                                 std::size_t bytes,
                                                 std::chrono::nanoseconds elapsed);

struct ReceivedDatagram {
  std::string_view data;
  bool truncated = false;  // larger than the buffer: MSG_TRUNC was set, `data` is cut
};

class UdpReceiver {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // UDP bind address; empty host and port < 0 disable UDP
    int port = 0;                    // 0 = ephemeral, read back with port()
    std::string unix_path;           // unix datagram socket path, empty = none
    std::size_t buffer_size = 8192;  // bytes per datagram (DD_DOGSTATSD_BUFFER_SIZE)
    int so_rcvbuf = 0;               // DD_DOGSTATSD_SO_RCVBUF, 0 = receive_buffer_request()'s rule
    std::size_t queue_datagrams = 8192;  // received but not yet handled (DD_DOGSTATSD_QUEUE_SIZE)
    std::size_t batch_size = 32;         // datagrams per recvmmsg call (fewer for big buffers)
    std::size_t max_queued_bytes = 16u << 20;  // datagram bytes waiting for the loop thread
    // Queued bytes (as charged) admitted even when the memory budget has no headroom left, so
    // that a budget filled by the aggregators' state still lets through the datagrams that only
    // update existing contexts in place (lambda-agent.md §6.4); part of the fixed overhead.
    std::size_t always_admitted_bytes = 1u << 20;
    // When datagrams come closer together than this, the receive thread waits up to this long
    // between reads and the loop thread is woken once per wait (0 = read each as it comes);
    // shortened to what the receive buffer holds meanwhile (linger_before_next_read()).
    std::chrono::microseconds linger{500};
  };
  // Runs on the loop thread with the datagrams of one batch; views valid during the call only.
  using Handler = std::function<void(std::span<const ReceivedDatagram>)>;
  // Hands a task to the loop thread (EventLoop::post in the app; a queue in tests).
  using Poster = std::function<void(std::function<void()>)>;

  static constexpr std::string_view kDropKind = "dogstatsd";
  static constexpr std::size_t kMaxArenaBytes = 1u << 20;
  // The default receive buffer's ceiling (lambda-agent.md §8.2; core/metrics_config.h shows it).
  static constexpr int kMaxDefaultRcvbuf = 8 << 20;

  static Expected<std::unique_ptr<UdpReceiver>> create(Options options, SelfMetrics& self,
                                                       Poster poster, Handler handler);
  // Calls stop(), which may still run the handler: destroy the receiver before what it uses.
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  std::uint16_t port() const { return port_; }  // bound UDP port, 0 when UDP is off
  const std::string& unix_path() const { return options_.unix_path; }
  // SO_RCVBUF as the kernel granted it (read back with getsockopt: twice the size it set), 0 when
  // the socket is off. A grant below twice the ask is also logged once at info level.
  int udp_receive_buffer() const { return udp_rcvbuf_; }
  int unix_receive_buffer() const { return unix_rcvbuf_; }
  const ReceiveBufferRequest& receive_buffer_asked() const { return rcvbuf_; }

  // Charges the queued datagrams to `budget` (class metrics; lambda-agent.md §6.4): beyond
  // Options::always_admitted_bytes, a datagram the budget refuses is dropped, newest first, and
  // counted `memory_budget`. Without a call: MemoryBudget::unlimited(). Call before start();
  // `budget` outlives the receiver.
  void charge_to(MemoryBudget& budget);

  // Starts the receive thread. Call once.
  void start();
  // Wakes and joins the receive thread, closes the sockets, and hands every datagram already
  // received to the handler before returning (so a final flush right after stop() holds them).
  // Idempotent. Call on the loop thread (or with the loop stopped). A hand-off task still queued on
  // the loop then finds nothing left; after the receiver is destroyed it never calls the handler.
  void stop();

  // A barrier for flushes that must hold "everything sent before now" (lambda-agent.md §7.1: a
  // metric emitted just before /lambda/flush is in it): the receive thread reads what the kernel
  // holds, hands it to the loop, and only then posts `then`, so `then` runs after the handler saw
  // every datagram sent before sync() was called. Runs `then` through the poster at once when the
  // receive thread is not running. Call on the loop thread.
  void sync(std::function<void()> then);

  // The same guarantee as sync(), synchronously: before drain_now() returns, the handler has run
  // (on the calling thread) with every datagram the receive thread already read and every datagram
  // the kernel still holds for the sockets, in order, so everything a client sent before the call.
  // The receiver keeps running; returns how many datagrams were handed over by this call.
  // Called by the app at runtimeDone before the end-of-invocation flush (what clients sent before
  // runtimeDone is in it, lambda-agent.md §6.3 "Freeze awareness"), and at SHUTDOWN step 4 (§6.5;
  // stop() then does the same one last time). Call on the loop thread, never from the handler.
  //   sync(then):   asynchronous; the receive thread reads, the handler runs from the loop's task
  //                 queue, `then` runs at a later turn; the loop never waits. For /lambda/flush.
  //   drain_now():  synchronous; the loop thread reads the sockets itself (waiting at most for one
  //                 recvmmsg batch of the receive thread) and runs the handler before returning;
  //                 the flush can start on the next line. Bounded: it reads at most what the
  //                 socket buffers can hold, so a flood cannot keep the loop in it. The tasks
  //                 already posted then find nothing left to hand over.
  std::size_t drain_now();

  std::uint64_t datagrams_received() const;
  // One small JSON object for the start-up line (conventions.md §20).
  std::string describe() const;

 private:
  struct Shared;
  struct Batch;
  struct Chunk;
  UdpReceiver(Options options, SelfMetrics& self);
  Expected<void> open();
  void run();
  std::size_t drain(int fd, std::size_t& bytes);
  std::size_t read_batch(int fd, std::size_t* bytes = nullptr) LC_REQUIRES(read_mu_);
  std::size_t hand_over_queued();
  std::size_t take_everything();
  void release_barriers();
  void count_kernel_drops() LC_REQUIRES(read_mu_);

  Options options_;
  SelfMetrics::Counter queue_full_;
  SelfMetrics::Counter memory_budget_;
  SelfMetrics::Counter kernel_buffer_;
  // Held around each recvmmsg batch (read + queue): by the receive thread, and by drain_now() and
  // stop() on the loop thread, so a batch is never half-read when the loop takes the queue.
  Mutex read_mu_;
  KernelDropCounter udp_drops_ LC_GUARDED_BY(read_mu_);
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Batch> batch_ LC_PT_GUARDED_BY(read_mu_);  // the recvmmsg buffers
  int udp_fd_ = -1;
  int unix_fd_ = -1;
  int wake_fd_ = -1;
  int sync_fd_ = -1;  // sync() asks the receive thread for a drain + barrier
  bool unix_bound_ = false;
  std::uint16_t port_ = 0;
  ReceiveBufferRequest rcvbuf_;
  int udp_rcvbuf_ = 0;
  int unix_rcvbuf_ = 0;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace lc::net
