// UdpReceiver over real sockets bound to port 0 on 127.0.0.1 (and a unix datagram socket): the
// receive thread, MSG_TRUNC handling through to the parser, queue-full counting, the memory budget
// charge, the receive buffer asked and granted, sync(), drain_now(), clean stop. The test thread
// plays the loop thread: it runs the tasks the receiver posts.
#include "net/udp_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>

#include "core/memory_budget.h"
#include "core/mutex.h"
#include "core/proc_reader.h"
#include "fakes/fake_clock.h"
#include "metrics/dogstatsd_server.h"
#include "unit/metrics/metrics_test_util.h"

namespace lc::net {
namespace {

using namespace std::chrono_literals;

// A minimal stand-in for the event loop's post(): a locked task queue the test thread drains.
class TaskQueue {
 public:
  void post(std::function<void()> task) {
    MutexLock lock(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_all();
  }
  // Runs posted tasks until pred() holds or the timeout passes; true when pred() holds.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::deque<std::function<void()>> batch;
      {
        MutexLock lock(mu_);
        if (tasks_.empty()) {
          if (pred()) return true;
          if (!lock.wait_until(cv_, deadline) && tasks_.empty()) {
            return pred();
          }
        }
        batch.swap(tasks_);
      }
      for (auto& t : batch) t();
    }
  }
  std::size_t pending() {
    MutexLock lock(mu_);
    return tasks_.size();
  }
  void run_all() {
    std::deque<std::function<void()>> batch;
    {
      MutexLock lock(mu_);
      batch.swap(tasks_);
    }
    for (auto& t : batch) t();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ LC_GUARDED_BY(mu_);
};

class Sender {
 public:
  explicit Sender(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(port);
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Sender() { ::close(fd_); }
  void send(std::string_view d) {
    ASSERT_EQ(
        ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_),
        static_cast<ssize_t>(d.size()));
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

struct Received {
  std::vector<std::string> data;
  std::vector<bool> truncated;
};

UdpReceiver::Handler collect_into(Received& r) {
  return [&r](std::span<const ReceivedDatagram> batch) {
    for (const auto& d : batch) {
      r.data.emplace_back(d.data);
      r.truncated.push_back(d.truncated);
    }
  };
}

// Each test's receiver posts to `loop` (the test thread plays the loop thread) and collects what
// it hands over into `got`.
class UdpReceiverTest : public ::testing::Test {
 protected:
  Expected<std::unique_ptr<UdpReceiver>> create(UdpReceiver::Options o = {}) {
    return UdpReceiver::create(
        std::move(o), self, [this](auto t) { loop.post(std::move(t)); }, collect_into(got));
  }
  // Asks a sync() barrier and runs the "loop" until it ran; how many datagrams the handler had
  // seen when it ran (nullopt when it never did).
  std::optional<std::size_t> seen_at_barrier(UdpReceiver& rx) {
    bool ran = false;
    std::size_t seen = 0;
    rx.sync([&] {
      ran = true;
      seen = got.data.size();
    });
    if (!loop.run_until([&] { return ran; }, 30s)) return std::nullopt;
    return seen;
  }
  // Waits (the "loop" not running) until the receive thread has read `n` datagrams.
  static void wait_received(const UdpReceiver& rx, std::uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (rx.datagrams_received() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(rx.datagrams_received(), n);
  }

  SelfMetrics self;
  TaskQueue loop;
  Received got;
};

TEST_F(UdpReceiverTest, ReceivesOnEphemeralPort) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  ASSERT_NE((*rx)->port(), 0);
  (*rx)->start();
  Sender tx((*rx)->port());
  tx.send("a:1|c");
  tx.send("b:2|g\nc:3|d");
  tx.send(std::string(8192, 'x'));
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 3; }));
  EXPECT_EQ(got.data[0], "a:1|c");
  EXPECT_EQ(got.data[1], "b:2|g\nc:3|d");
  EXPECT_EQ(got.data[2].size(), 8192u);
  EXPECT_THAT(got.truncated, ::testing::ElementsAre(false, false, false));
  (*rx)->stop();  // joins the receive thread
  EXPECT_EQ((*rx)->datagrams_received(), 3u);
  EXPECT_NE((*rx)->describe().find("\"udp\":\"127.0.0.1:" + std::to_string((*rx)->port()) + "\""),
            std::string::npos)
      << (*rx)->describe();
  loop.run_all();
  EXPECT_EQ(self.dropped_total(), 0u);
}

// The barrier a forced flush waits on: when sync()'s callback runs, the handler has seen every
// datagram sent before sync() was called, in order, whatever the receive thread was doing.
TEST_F(UdpReceiverTest, SyncRunsAfterEveryDatagramSentBeforeItWasHandled) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int round = 0; round < 50; ++round) {
    const std::size_t before = got.data.size();
    for (int i = 0; i < 20; ++i) tx.send("m:" + std::to_string(round * 20 + i) + "|c");
    ASSERT_EQ(seen_at_barrier(**rx), before + 20) << "round " << round;
  }
  EXPECT_EQ(got.data.back(), "m:999|c");
  // A barrier asked before stop() still runs, after the datagrams stop() hands over.
  tx.send("last:1|c");
  bool ran = false;
  std::size_t seen_at_barrier = 0;
  (*rx)->sync([&] {
    ran = true;
    seen_at_barrier = got.data.size();
  });
  (*rx)->stop();
  loop.run_all();
  EXPECT_TRUE(ran);
  EXPECT_EQ(seen_at_barrier, 1001u);
  // After stop(), sync() posts at once.
  bool after_stop = false;
  (*rx)->sync([&] { after_stop = true; });
  loop.run_all();
  EXPECT_TRUE(after_stop);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// lambda-agent.md §6.3: at runtimeDone, what clients sent before it is in the end-of-invocation
// flush. drain_now() hands it over synchronously (the "loop" never runs here), whatever the
// receive thread was doing, and nothing is handed over twice when the posted tasks run later.
TEST_F(UdpReceiverTest, DrainNowHandsOverEverythingSentBeforeItBeforeReturning) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  std::vector<std::string> sent;
  for (int round = 0; round < 50; ++round) {
    const std::size_t before = got.data.size();
    for (int i = 0; i < 20; ++i) {
      sent.push_back("m:" + std::to_string(round * 20 + i) + "|c");
      tx.send(sent.back());
    }
    const std::size_t handed = (*rx)->drain_now();
    ASSERT_EQ(got.data.size(), before + 20) << "round " << round;
    EXPECT_EQ(handed, 20u) << "round " << round;
    if (round % 2 == 0) loop.run_all();  // the tasks posted meanwhile only recycle
  }
  loop.run_all();
  EXPECT_EQ(got.data, sent);  // each once, in order
  EXPECT_EQ((*rx)->drain_now(), 0u);
  // The receive thread goes on as before.
  tx.send("after:1|c");
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == sent.size() + 1; }));
  EXPECT_EQ(got.data.back(), "after:1|c");
  (*rx)->stop();
  loop.run_all();
  EXPECT_EQ(got.data.size(), sent.size() + 1);
  EXPECT_EQ((*rx)->drain_now(), 0u);  // after stop(): nothing, and no crash
  EXPECT_EQ(self.dropped_total(), 0u);
}

// Datagrams still in the kernel's socket buffer (sent before the receive thread ever polled) are
// read by drain_now() itself, together with what the thread may have taken meanwhile.
TEST_F(UdpReceiverTest, DrainNowTakesDatagramsStillInTheKernelBuffer) {
  UdpReceiver::Options o;
  o.batch_size = 4;  // several recvmmsg calls
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  Sender tx((*rx)->port());
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back("k" + std::to_string(i) + ":1|c");
    tx.send(sent.back());
  }
  (*rx)->start();
  EXPECT_EQ((*rx)->drain_now(), 100u);
  EXPECT_EQ(got.data, sent);
  EXPECT_EQ((*rx)->datagrams_received(), 100u);
  loop.run_all();
  EXPECT_EQ(got.data.size(), 100u);
  (*rx)->stop();
  loop.run_all();
  EXPECT_EQ(got.data.size(), 100u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// What drain_now() hands over frees its room in the queue at once: a small queue is not "full"
// of datagrams already handled whose tasks have not run yet.
TEST_F(UdpReceiverTest, DrainNowFreesQueueRoomForWhatItHandedOver) {
  UdpReceiver::Options o;
  o.queue_datagrams = 4;
  o.batch_size = 2;
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) tx.send("q" + std::to_string(round * 3 + i) + ":1|c");
    EXPECT_EQ((*rx)->drain_now(), 3u) << "round " << round;  // the "loop" never runs
  }
  EXPECT_EQ(got.data.size(), 15u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 0u);
  (*rx)->stop();
  loop.run_all();
  EXPECT_EQ(got.data.size(), 15u);
}

TEST_F(UdpReceiverTest, TruncatedDatagramKeepsCompleteLinesOnly) {
  lc::fakes::FakeClock clock;
  metrics::DogStatsdServer server({}, {}, self, clock);
  std::size_t handled = 0;
  UdpReceiver::Options o;
  o.buffer_size = 64;
  auto rx = UdpReceiver::create(
      o, self, [&](auto t) { loop.post(std::move(t)); },
      [&](std::span<const ReceivedDatagram> batch) {
        for (const auto& d : batch) {
          EXPECT_TRUE(d.truncated);
          EXPECT_EQ(d.data.size(), 64u);
          server.handle_datagram(d.data, d.truncated);
          ++handled;
        }
      });
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  // 3 complete lines in the first 64 bytes, the 4th is cut.
  tx.send("first.metric:1|c\nsecond.metric:2|c\nthird:3|g\nfourth.metric.cut:44444|c\n");
  ASSERT_TRUE(loop.run_until([&] { return handled == 1; }));
  (*rx)->stop();
  loop.run_all();
  EXPECT_EQ(self.dropped_count("dogstatsd", "truncated"), 1u);
  auto out = server.flush(metrics::FlushScope::kAll);
  ASSERT_EQ(out.size(), 1u);
  auto series = metrics::testing::decode_series_v2(out[0].body);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].metric, "first.metric");
  EXPECT_EQ(series[1].metric, "second.metric");
  EXPECT_EQ(series[2].metric, "third");
}

TEST_F(UdpReceiverTest, QueuedBytesAreBoundedToo) {
  UdpReceiver::Options o;
  o.max_queued_bytes = 3000;  // room for three 1000-byte datagrams
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int i = 0; i < 5; ++i) tx.send(std::string(1000, static_cast<char>('a' + i)));
  (*rx)->stop();  // takes whatever is still in the socket; nothing has run on the "loop" yet
  EXPECT_EQ((*rx)->datagrams_received(), 5u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 2u);
  ASSERT_EQ(got.data.size(), 3u);
  EXPECT_EQ(got.data[2], std::string(1000, 'c'));
  loop.run_all();
}

TEST_F(UdpReceiverTest, QueueFullDropsNewestAndCounts) {
  UdpReceiver::Options o;
  o.queue_datagrams = 4;
  o.batch_size = 2;
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  // The "loop" does not run while we send: the receiver can queue 4 and must drop the rest.
  for (int i = 0; i < 10; ++i) tx.send("m" + std::to_string(i) + ":1|c");
  wait_received(**rx, 10);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 6u);
  loop.run_all();
  ASSERT_EQ(got.data.size(), 4u);
  EXPECT_THAT(got.data, ::testing::ElementsAre("m0:1|c", "m1:1|c", "m2:1|c", "m3:1|c"));
  // Once the loop caught up there is room again.
  tx.send("again:1|c");
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 5; }));
  EXPECT_EQ(got.data[4], "again:1|c");
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 6u);
  (*rx)->stop();
  loop.run_all();
}

// One hand-off task at a time: however many recvmmsg batches the receive thread queues while the
// loop is busy, the loop is woken once, and that one task hands everything over, in order.
TEST_F(UdpReceiverTest, BatchesQueuedWhileTheLoopIsBusyAreHandedOverByOneTask) {
  UdpReceiver::Options o;
  o.batch_size = 2;  // 50 datagrams are at least 25 batches
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int i = 0; i < 50; ++i) tx.send("m" + std::to_string(i) + ":1|c");
  wait_received(**rx, 50);
  EXPECT_EQ(loop.pending(), 1u);
  loop.run_all();
  ASSERT_EQ(got.data.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got.data[i], "m" + std::to_string(i) + ":1|c");
  // The task took the queue: what comes next gets a task of its own.
  tx.send("next:1|c");
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 51; }));
  EXPECT_EQ(got.data[50], "next:1|c");
  (*rx)->stop();
  loop.run_all();
  EXPECT_EQ(got.data.size(), 51u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// A chunk queued after the waiting task took the queue, but before a sync() barrier, is handed
// over before the barrier runs: the receive thread posts a new task for it first.
TEST_F(UdpReceiverTest, ABarrierNeverOvertakesDatagramsQueuedAfterTheTaskTookTheQueue) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int round = 0; round < 100; ++round) {
    tx.send("a" + std::to_string(round) + ":1|c");
    // The loop runs tasks while the receive thread may be queueing; then one more, then a barrier.
    loop.run_all();
    tx.send("b" + std::to_string(round) + ":1|c");
    const auto seen = seen_at_barrier(**rx);
    ASSERT_EQ(seen, 2u * round + 2) << "round " << round;
    ASSERT_EQ(got.data[*seen - 1], "b" + std::to_string(round) + ":1|c") << "round " << round;
  }
  ASSERT_EQ(got.data.size(), 200u);
  (*rx)->stop();
  loop.run_all();
}

// The linger never lets the receive buffer fill beyond a quarter at the rate just seen.
TEST(LingerTest, IsTheConfiguredWaitUnlessTheBufferWouldFillFirst) {
  using std::chrono::nanoseconds;
  constexpr nanoseconds kHalfMs{500'000};
  // 8 MiB (as the kernel counts it), 100 datagrams of 100 B in 1 ms: a quarter of the buffer takes
  // far longer than the linger.
  EXPECT_EQ(linger_before_next_read(kHalfMs, 8u << 20, 100, 10'000, 1ms), kHalfMs);
  // ~416 KiB (Lambda's default), 1000 datagrams of 100 B in 0.5 ms (2 M/s): 104 000 bytes of a
  // quarter buffer at 1 124 000 bytes per 0.5 ms → ~46 µs.
  const nanoseconds fast = linger_before_next_read(kHalfMs, 425'984, 1000, 100'000, 500us);
  EXPECT_GT(fast, 40us);
  EXPECT_LT(fast, 50us);
  // Faster still: under the minimum worth sleeping for, read as data comes.
  EXPECT_EQ(linger_before_next_read(kHalfMs, 425'984, 10'000, 1'000'000, 500us), 0ns);
  // Nothing read, no linger configured, or a linger under the minimum: no wait.
  EXPECT_EQ(linger_before_next_read(kHalfMs, 8u << 20, 0, 0, 1ms), 0ns);
  EXPECT_EQ(linger_before_next_read(0ns, 8u << 20, 10, 1000, 1ms), 0ns);
  EXPECT_EQ(linger_before_next_read(kMinLinger - 1ns, 8u << 20, 10, 1000, 1ms), 0ns);
  // The buffer size unknown (0): the configured wait.
  EXPECT_EQ(linger_before_next_read(kHalfMs, 0, 10, 1000, 1ms), kHalfMs);
}

// The linger (datagrams closer together than it are read once per linger) never holds back a
// barrier or a stop: with a linger of minutes, sync() and stop() still complete at once.
TEST_F(UdpReceiverTest, ALingeringReceiveThreadStillAnswersSyncAndStopAtOnce) {
  UdpReceiver::Options o;
  o.linger = std::chrono::minutes(10);
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  // Two reads close together: the second puts the receive thread into its linger.
  tx.send("one:1|c");
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 1; }));
  tx.send("two:1|c");
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 2; }));
  for (int i = 0; i < 3; ++i) {
    tx.send("held" + std::to_string(i) + ":1|c");
    EXPECT_EQ(seen_at_barrier(**rx), 3u + i);
  }
  tx.send("at_stop:1|c");
  const auto t0 = std::chrono::steady_clock::now();
  (*rx)->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  loop.run_all();
  ASSERT_EQ(got.data.size(), 6u);
  EXPECT_EQ(got.data.back(), "at_stop:1|c");
}

TEST_F(UdpReceiverTest, UnixDatagramSocket) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("lastcall-dsd-" + std::to_string(::getpid()) + ".sock");
  UdpReceiver::Options o;
  o.host.clear();
  o.port = -1;
  o.unix_path = path.string();
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  EXPECT_EQ((*rx)->port(), 0);
  (*rx)->start();
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  const std::string msg = "uds.metric:1|c";
  ASSERT_EQ(
      ::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr),
      static_cast<ssize_t>(msg.size()));
  ::close(fd);
  ASSERT_TRUE(loop.run_until([&] { return got.data.size() == 1; }));
  EXPECT_EQ(got.data[0], msg);
  EXPECT_GT((*rx)->unix_receive_buffer(), 0);
  EXPECT_EQ((*rx)->udp_receive_buffer(), 0);  // UDP is off
  (*rx)->stop();
  loop.run_all();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(UdpReceiverTest, StopDeliversQueuedDatagramsOnceAndIsIdempotent) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->start();
  Sender tx((*rx)->port());
  tx.send("late:1|c");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (loop.pending() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(loop.pending(), 1u);
  (*rx)->stop();  // hands over what was received, before returning
  ASSERT_EQ(got.data.size(), 1u);
  EXPECT_EQ(got.data[0], "late:1|c");
  (*rx)->stop();
  rx->reset();     // the receiver is gone; its queued task must still be safe to run
  loop.run_all();  // and must not deliver the datagram a second time
  EXPECT_EQ(got.data.size(), 1u);
}

TEST_F(UdpReceiverTest, StopTakesDatagramsStillInTheSocketBuffer) {
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  Sender tx((*rx)->port());
  for (int i = 0; i < 3; ++i) tx.send("buffered" + std::to_string(i) + ":1|c");
  // Loopback delivery is synchronous: the datagrams wait in the socket buffer. The thread's
  // first poll sees the stop request and the data together; the data must not be left behind.
  (*rx)->start();
  (*rx)->stop();
  EXPECT_THAT(got.data, ::testing::ElementsAre("buffered0:1|c", "buffered1:1|c", "buffered2:1|c"));
  loop.run_all();
  EXPECT_EQ(got.data.size(), 3u);
}

TEST_F(UdpReceiverTest, NeverRemovesAFileItDidNotCreate) {
  const auto path =
      std::filesystem::temp_directory_path() / ("lastcall-dsd-plain-" + std::to_string(::getpid()));
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  UdpReceiver::Options o;
  o.unix_path = path.string();
  auto rx = UdpReceiver::create(
      o, self, [](auto) {}, [](auto) {});
  EXPECT_FALSE(rx);                            // a regular file is in the way: bind fails …
  EXPECT_TRUE(std::filesystem::exists(path));  // … and the file is left alone
  std::filesystem::remove(path);
}

TEST_F(UdpReceiverTest, BindErrorsAreReported) {
  UdpReceiver::Options o;
  o.host = "not-an-address";
  auto rx = UdpReceiver::create(
      o, self, [](auto) {}, [](auto) {});
  ASSERT_FALSE(rx);
  EXPECT_NE(rx.error().message.find("not-an-address"), std::string::npos);
  // A port already taken: the message names the address and the OS reason.
  auto first = UdpReceiver::create(
      {}, self, [](auto) {}, [](auto) {});
  ASSERT_TRUE(first);
  UdpReceiver::Options taken;
  taken.port = (*first)->port();
  auto second = UdpReceiver::create(
      taken, self, [](auto) {}, [](auto) {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("Address already in use"), std::string::npos)
      << second.error().message;
  UdpReceiver::Options none;
  none.host.clear();
  EXPECT_FALSE(UdpReceiver::create(
      none, self, [](auto) {}, [](auto) {}));
}

// The kernel's drop count arrives as a running u32 in each datagram's control data.
TEST(KernelDropCounterTest, CountsIncrementsOfTheRunningCountAcrossTheWrap) {
  KernelDropCounter c;
  EXPECT_EQ(c.observe(0), 0u);
  EXPECT_EQ(c.observe(5), 5u);
  EXPECT_EQ(c.observe(5), 0u);  // the same count again: nothing new
  EXPECT_EQ(c.observe(3), 0u);  // an older count (an earlier datagram): nothing new
  EXPECT_EQ(c.observe(12), 7u);
  KernelDropCounter w;
  EXPECT_EQ(w.observe(0x70000000u), 0x70000000u);
  EXPECT_EQ(w.observe(0xE0000000u), 0x70000000u);
  EXPECT_EQ(w.observe(0xFFFFFFF0u), 0x1FFFFFF0u);
  EXPECT_EQ(w.observe(0x10u), 0x20u);  // wrapped
  EXPECT_EQ(w.last(), 0x10u);
}

// A full socket buffer over real sockets: the receive thread is not running while 200 datagrams
// arrive, so the kernel keeps what fits its smallest buffer and drops the rest. Once the reader
// has handed over a marker datagram, the drops before it are counted: every datagram sent is
// either received or counted kernel_buffer, exactly.
TEST_F(UdpReceiverTest, KernelBufferDropsAreCountedExactly) {
  UdpReceiver::Options o;
  o.so_rcvbuf = 1;  // raised by the kernel to its minimum: a few datagrams
  o.queue_datagrams = 100000;
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  Sender tx((*rx)->port());
  constexpr int kBurst = 200;
  for (int i = 0; i < kBurst; ++i) tx.send("burst:1|c|#i:" + std::to_string(i));
  (*rx)->start();
  // A marker sent while the buffer is still full is dropped too (and counted): send one until
  // one arrives.
  int markers = 0;
  bool marker_seen = false;
  while (!marker_seen && markers < 100) {
    tx.send("marker:1|c");
    ++markers;
    marker_seen =
        loop.run_until([&] { return !got.data.empty() && got.data.back() == "marker:1|c"; }, 200ms);
  }
  ASSERT_TRUE(marker_seen);
  const std::uint64_t sent = kBurst + markers;
  const std::uint64_t dropped = self.dropped_count("dogstatsd", "kernel_buffer");
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(dropped + got.data.size(), sent) << got.data.size() << " received";
  (*rx)->stop();  // the SO_MEMINFO check at stop finds nothing new
  loop.run_all();
  EXPECT_EQ(self.dropped_count("dogstatsd", "kernel_buffer"), dropped);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 0u);
}

// Drops after the last datagram read are counted at stop(), which asks the socket once more.
TEST_F(UdpReceiverTest, KernelDropsAfterTheLastDatagramAreCountedAtStop) {
  UdpReceiver::Options o;
  o.so_rcvbuf = 1;
  o.queue_datagrams = 100000;
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  Sender tx((*rx)->port());
  constexpr int kBurst = 200;
  for (int i = 0; i < kBurst; ++i) tx.send("burst:1|c");
  (*rx)->start();
  (*rx)->stop();
  loop.run_all();
  const std::uint64_t dropped = self.dropped_count("dogstatsd", "kernel_buffer");
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(dropped + got.data.size(), static_cast<std::uint64_t>(kBurst));
}

// lambda-agent.md §8.2: DD_DOGSTATSD_SO_RCVBUF unset asks for 8 MiB unforced, which the kernel
// grants up to net.core.rmem_max (the largest it allows, at most 8 MiB); a size the user set is
// asked as given and forced (it may exceed rmem_max where the process may).
TEST(ReceiveBufferRuleTest, UnsetAsks8MiBUnforcedAndTheUsersSizeForced) {
  static_assert(UdpReceiver::kMaxDefaultRcvbuf == 8 << 20);
  EXPECT_EQ(receive_buffer_request(0).bytes, UdpReceiver::kMaxDefaultRcvbuf);
  EXPECT_FALSE(receive_buffer_request(0).force);
  EXPECT_EQ(receive_buffer_request(-5).bytes, UdpReceiver::kMaxDefaultRcvbuf);
  EXPECT_EQ(receive_buffer_request(65536).bytes, 65536);
  EXPECT_TRUE(receive_buffer_request(65536).force);
  EXPECT_EQ(receive_buffer_request(64 << 20).bytes, 64 << 20);
  EXPECT_TRUE(receive_buffer_request(1).force);
}

// The real limit of this machine, for what the kernel grants without privileges (test code reads
// it; lastcall does not need to).
std::int64_t host_rmem_max() {
  const auto text = SystemProcReader().read_file("sys/net/core/rmem_max", 64);
  return text ? std::strtoll(text->c_str(), nullptr, 10) : -1;
}

// The kernel reports twice what it set (its bookkeeping) and never less than its minimum.
TEST_F(UdpReceiverTest, TheUsersSizeIsAskedAndTheGrantReadBack) {
  UdpReceiver::Options o;
  o.so_rcvbuf = 4096;  // below any rmem_max: granted as asked, forced or not
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  EXPECT_EQ((*rx)->receive_buffer_asked().bytes, 4096);
  EXPECT_TRUE((*rx)->receive_buffer_asked().force);
  EXPECT_EQ((*rx)->udp_receive_buffer(), 8192);
  EXPECT_EQ((*rx)->unix_receive_buffer(), 0);  // no unix socket
  const std::string d = (*rx)->describe();
  EXPECT_NE(d.find("\"so_rcvbuf\":4096,\"so_rcvbuf_forced\":true,\"udp_rcvbuf_granted\":8192,"),
            std::string::npos)
      << d;
}

TEST_F(UdpReceiverTest, UnsetGetsTheKernelsLimitAtMost8MiB) {
  const std::int64_t real = host_rmem_max();
  ASSERT_GT(real, 0) << "/proc/sys/net/core/rmem_max";
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  EXPECT_EQ((*rx)->receive_buffer_asked().bytes, UdpReceiver::kMaxDefaultRcvbuf);
  EXPECT_FALSE((*rx)->receive_buffer_asked().force);
  EXPECT_EQ((*rx)->udp_receive_buffer(),
            2 * std::min<std::int64_t>(UdpReceiver::kMaxDefaultRcvbuf, real));
  EXPECT_NE((*rx)->describe().find("\"udp_rcvbuf_granted\":" +
                                   std::to_string((*rx)->udp_receive_buffer())),
            std::string::npos);
}

// Bytes of `n` datagrams of `size` bytes as the queue charges them, in `chunks` chunks.
std::size_t queue_charge(std::size_t n, std::size_t size, std::size_t chunks) {
  return n * (size + sizeof(ReceivedDatagram)) + chunks * 2 * MemoryBudget::kAllocOverhead;
}

// lambda-agent.md §6.4 / §8.2: the queued datagrams' bytes are charged to the memory budget while
// they wait for the loop, and released once handed over (by the loop's task or by stop()).
TEST_F(UdpReceiverTest, QueuedDatagramsAreChargedToTheMemoryBudgetUntilHandled) {
  MemoryBudget budget(1 << 20);
  auto rx = create();
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->charge_to(budget);
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int i = 0; i < 3; ++i) tx.send(std::string(1000, static_cast<char>('a' + i)));
  wait_received(**rx, 3);
  // The "loop" has not run: all three wait, in one to three chunks.
  EXPECT_GE(budget.used(ValueClass::kMetrics), queue_charge(3, 1000, 1));
  EXPECT_LE(budget.used(ValueClass::kMetrics), queue_charge(3, 1000, 3));
  EXPECT_EQ(budget.used(ValueClass::kLogs) + budget.used(ValueClass::kTraces), 0u);
  loop.run_all();
  ASSERT_EQ(got.data.size(), 3u);
  EXPECT_EQ(budget.used(), 0u);
  // Handed over by stop() instead: released there, and not again by the tasks.
  tx.send(std::string(500, 'z'));
  wait_received(**rx, 4);
  EXPECT_EQ(budget.used(), queue_charge(1, 500, 1));
  (*rx)->stop();
  EXPECT_EQ(got.data.size(), 4u);
  EXPECT_EQ(budget.used(), 0u);
  loop.run_all();
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.refusals(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// Over the budget the newest datagrams are dropped and counted memory_budget (not queue_full);
// what was kept is delivered and its charge released.
TEST_F(UdpReceiverTest, DatagramsTheMemoryBudgetRefusesAreDroppedAndCounted) {
  // Two 1000-byte datagrams fit however they are chunked; a third never does.
  MemoryBudget budget(queue_charge(2, 1000, 2) + 400);
  UdpReceiver::Options o;
  o.always_admitted_bytes = 0;
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->charge_to(budget);
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int i = 0; i < 5; ++i) tx.send(std::string(1000, static_cast<char>('a' + i)));
  (*rx)->stop();  // takes whatever is still in the socket; nothing has run on the "loop" yet
  EXPECT_EQ((*rx)->datagrams_received(), 5u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "memory_budget"), 3u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 0u);
  EXPECT_EQ(budget.refusals(ValueClass::kMetrics), 3u);
  ASSERT_EQ(got.data.size(), 2u);
  EXPECT_EQ(got.data[0], std::string(1000, 'a'));
  EXPECT_EQ(got.data[1], std::string(1000, 'b'));
  EXPECT_EQ(budget.used(), 0u);
  loop.run_all();
  EXPECT_EQ(budget.used(), 0u);
}

// A budget the aggregators' state has filled: the queue still holds up to always_admitted_bytes
// (datagrams that only update contexts in place must get through), and refuses beyond it.
TEST_F(UdpReceiverTest, AFullBudgetStillAdmitsTheQueuesOwnShare) {
  MemoryBudget budget(1 << 20);
  budget.charge(ValueClass::kMetrics, 1 << 20);  // someone else holds all of it
  UdpReceiver::Options o;
  o.always_admitted_bytes = queue_charge(3, 1000, 3) + 100;  // three, however they are chunked
  auto rx = create(o);
  ASSERT_TRUE(rx) << rx.error().message;
  (*rx)->charge_to(budget);
  (*rx)->start();
  Sender tx((*rx)->port());
  for (int i = 0; i < 5; ++i) tx.send(std::string(1000, static_cast<char>('a' + i)));
  (*rx)->stop();  // nothing has run on the "loop" yet: all five met the queue at once
  EXPECT_EQ(self.dropped_count("dogstatsd", "memory_budget"), 2u);
  ASSERT_EQ(got.data.size(), 3u);
  EXPECT_EQ(got.data[2], std::string(1000, 'c'));
  EXPECT_EQ(budget.used(), std::size_t{1} << 20);  // the queue's charge released again
  loop.run_all();
  budget.release(ValueClass::kMetrics, 1 << 20);
}

}  // namespace
}  // namespace lc::net
