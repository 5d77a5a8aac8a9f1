// HookForwarder (serverless-init.md §7.5, §11 scenarios 30–33) against real loopback apps: a raw
// TCP server in the test (one thread per connection, a scripted answer per connection) and a real
// EventLoop on its own thread. The app never sleeps: a "hanging" app holds the connection until the
// forwarder closes it or the test ends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "core/strings.h"
#include "microvm/hook_forwarder.h"

namespace lc::microvm {
namespace {

using std::chrono::steady_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kWaitLimit = std::chrono::seconds(10);

// --- the fake app ------------------------------------------------------------------------------

// What the app does with one connection, after it has read the whole request.
struct AppScript {
  std::string bytes;   // written as they are
  bool hang = false;   // then hold the connection until the peer closes it or the app stops
  bool reset = false;  // then close with RST (SO_LINGER 0) instead of FIN
};

struct Received {
  std::string head;  // request line and headers, up to and including the blank line
  std::string body;  // Content-Length bytes
};

std::string answer(int status, std::string_view reason, std::string_view headers,
                   std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out.append(headers);
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("Connection: close\r\n\r\n").append(body);
  return out;
}

// A raw HTTP/1.1 app on 127.0.0.1:0. Scripts are used one per connection, in order; the last is
// repeated. Reads requests by Content-Length only (the forwarder must never send chunked).
class FakeApp {
 public:
  explicit FakeApp(int backlog = 16) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, backlog), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  }

  ~FakeApp() { stop(); }

  int port() const { return port_; }

  void script(std::vector<AppScript> scripts) {
    std::lock_guard lock(mu_);
    scripts_.assign(scripts.begin(), scripts.end());
  }

  // Accepts connections until stop(); without it the listening socket only queues them.
  void start() {
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  void stop() {
    if (stop_fd_ < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(stop_fd_, &one, sizeof one);
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(listen_fd_);
    ::close(stop_fd_);
    stop_fd_ = -1;
  }

  int connections() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  // Connections whose peer (the forwarder) closed them or that the app finished with.
  int closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  std::vector<Received> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  bool wait_for(const std::function<bool()>& cond) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] {
      lock.unlock();
      const bool ok = cond();
      lock.lock();
      return ok;
    });
  }

 private:
  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      ++accepted_;
      AppScript s = scripts_.empty() ? AppScript{answer(200, "OK", "", "")} : scripts_.front();
      if (scripts_.size() > 1) scripts_.pop_front();
      workers_.emplace_back([this, fd, s] { serve(fd, s); });
      cv_.notify_all();
    }
  }

  // Waits for fd to be readable; false when the app is stopping.
  bool readable(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return fds[1].revents == 0;
  }

  void serve(int fd, const AppScript& s) {
    std::string in;
    Received r;
    bool complete = false;
    char buf[65536];
    while (!complete && readable(fd)) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      r.head = in.substr(0, end + 4);
      std::size_t length = 0;
      const auto cl = to_lower(r.head).find("\r\ncontent-length: ");
      if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 18));
      if (in.size() >= end + 4 + length) {
        r.body = in.substr(end + 4, length);
        complete = true;
      }
    }
    if (complete) {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
      cv_.notify_all();
    }
    if (complete) {
      std::size_t off = 0;
      while (off < s.bytes.size()) {
        const ssize_t n = ::send(fd, s.bytes.data() + off, s.bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      if (s.hang) {
        while (readable(fd) && ::read(fd, buf, sizeof buf) > 0) {
        }
      }
      if (s.reset) {
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    ++closed_;
    cv_.notify_all();
  }

  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<AppScript> scripts_;
  std::vector<std::thread> workers_;
  std::vector<Received> requests_;
  int accepted_ = 0;
  int closed_ = 0;
};

// A port nothing listens on: bound, then closed.
int closed_port() {
  FakeApp app;
  const int port = app.port();
  app.stop();
  return port;
}

// --- the loop and the forwarder ----------------------------------------------------------------

struct Outcome {
  HookResponse response;
  std::chrono::milliseconds elapsed{};
  bool returned_first = false;  // forward() had returned when done ran
};

class HookForwarderTest : public ::testing::Test {
 protected:
  HookForwarderTest() : guard_(boost::asio::make_work_guard(loop_.io())) {
    thread_ = std::thread([this] { loop_.run(); });
  }

  ~HookForwarderTest() override {
    call([this] { forwarder_.reset(); });
    guard_.reset();
    loop_.stop();
    thread_.join();
  }

  template <typename F>
  void call(F&& f) {
    std::promise<void> ran;
    boost::asio::post(loop_.io(), [&] {
      f();
      ran.set_value();
    });
    ran.get_future().wait();
  }

  void make_forwarder(int port) {
    call([&] {
      forwarder_ =
          std::make_unique<HookForwarder>(loop_.io(), SystemClock::instance(), loop_, port, self_);
    });
  }

  // Starts a forward on the loop thread; the future is set when done runs.
  std::future<Outcome> start(HookRequest request, Millis timeout) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    call([&] {
      const auto begin = steady_clock::now();
      auto returned = std::make_shared<bool>(false);
      forwarder_->forward(
          std::move(request), timeout, [promise, begin, returned](HookResponse response) {
            Outcome o;
            o.response = std::move(response);
            o.elapsed =
                std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - begin);
            o.returned_first = *returned;
            promise->set_value(std::move(o));
          });
      *returned = true;
    });
    return future;
  }

  Outcome run(HookRequest request, Millis timeout = Millis(2000)) {
    auto future = start(std::move(request), timeout);
    if (future.wait_for(kWaitLimit) != std::future_status::ready) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    return future.get();
  }

  static HookRequest hook(MicrovmHook h, std::string body = "", std::string content_type = "") {
    return HookRequest{h, std::move(body), std::move(content_type)};
  }

  EventLoop loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  SelfMetrics self_;
  std::unique_ptr<HookForwarder> forwarder_;
};

// --- names ---------------------------------------------------------------------------------------

TEST(HookNames, NamesAndPathsFollowThePlatformContract) {
  EXPECT_EQ(hook_name(MicrovmHook::kReady), "ready");
  EXPECT_EQ(hook_name(MicrovmHook::kTerminate), "terminate");
  EXPECT_EQ(hook_path(MicrovmHook::kRun), "/aws/lambda-microvms/runtime/v1/run");
  EXPECT_EQ(hook_path(MicrovmHook::kValidate), "/aws/lambda-microvms/runtime/v1/validate");
  EXPECT_TRUE(is_build_hook(MicrovmHook::kReady));
  EXPECT_TRUE(is_build_hook(MicrovmHook::kValidate));
  EXPECT_FALSE(is_build_hook(MicrovmHook::kSuspend));
}

// --- scenario 30: nobody listening
// -----------------------------------------------------------------

TEST_F(HookForwarderTest, AppNotListeningAnswers503WithAnEmptyBody) {
  make_forwarder(closed_port());
  for (const MicrovmHook h : {MicrovmHook::kSuspend, MicrovmHook::kRun, MicrovmHook::kTerminate}) {
    const Outcome o = run(hook(h, "{}", "application/json"));
    EXPECT_EQ(o.response.status, 503) << hook_name(h);
    EXPECT_EQ(o.response.outcome, "503");
    EXPECT_EQ(o.response.body, "");
    EXPECT_EQ(o.response.content_type, "");
    EXPECT_FALSE(o.response.detail.empty());
    EXPECT_TRUE(o.returned_first);
  }
  call([&] { EXPECT_EQ(forwarder_->in_flight(), 0u); });
}

// The platform retries a 503'd /ready until the app is up: that must not flood the log.
TEST_F(HookForwarderTest, RepeatedFailuresAreLoggedOncePerHookAndOutcome) {
  std::mutex mu;
  std::vector<std::string> lines;
  Logger::instance().set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  });
  make_forwarder(closed_port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(hook(MicrovmHook::kReady)).response.status, 503);
  EXPECT_EQ(run(hook(MicrovmHook::kRun)).response.status, 503);
  Logger::instance().set_sink(nullptr);
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("WARN | microvm: forwarding /ready to 127.0.0.1:"));
  EXPECT_THAT(lines[0], HasSubstr("answering 503"));
  EXPECT_THAT(lines[1], HasSubstr("forwarding /run"));
}

TEST_F(HookForwarderTest, AnInvalidAppPortAnswers503AfterForwardReturned) {
  make_forwarder(0);
  const Outcome o = run(hook(MicrovmHook::kResume));
  EXPECT_EQ(o.response.status, 503);
  EXPECT_TRUE(o.returned_first);
}

// --- scenario 31: timeouts
// -------------------------------------------------------------------------

TEST_F(HookForwarderTest, RunWithAHangingAppAnswers504AfterTheTimeout) {
  FakeApp app;
  app.script({AppScript{"", /*hang=*/true}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kRun, R"({"microvmId":"mvm-1"})"), Millis(1000));
  EXPECT_EQ(o.response.status, 504);
  EXPECT_EQ(o.response.outcome, "504");
  EXPECT_EQ(o.response.body, "");
  EXPECT_GE(o.elapsed, Millis(1000));
  EXPECT_LT(o.elapsed, Millis(1250));
  // The forwarder closed its connection: the app's hang ends on its own.
  EXPECT_TRUE(app.wait_for([&] { return app.closed() == 1; }));
}

TEST_F(HookForwarderTest, ReadyWithTheAppNotListeningAnswers503WellWithinTheDialCheck) {
  make_forwarder(closed_port());
  const Outcome o = run(hook(MicrovmHook::kReady), Millis(30000));
  EXPECT_EQ(o.response.status, 503);
  EXPECT_EQ(o.response.outcome, "503");
  EXPECT_LT(o.elapsed, Millis(450));
}

// A listener whose accept queue is full drops new SYNs (Linux): the connect neither succeeds nor
// fails, and only the 200 ms dial check ends it.
TEST_F(HookForwarderTest, ReadyWhoseConnectHangsAnswers503AtTheDialCheck) {
  FakeApp app(/*backlog=*/0);  // never started: nothing is accepted
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(app.port()));
    // Non-blocking: EINPROGRESS for the ones that wait in (or for) the full queue.
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kValidate), Millis(30000));
  for (const int fd : fillers) ::close(fd);
  EXPECT_EQ(o.response.status, 503);
  EXPECT_GE(o.elapsed, Millis(200));
  EXPECT_LT(o.elapsed, Millis(450));
  EXPECT_THAT(o.response.detail, HasSubstr("dial check"));
}

TEST_F(HookForwarderTest, ReadyWithAHangingAppAnswers503NotA504) {
  FakeApp app;
  app.script({AppScript{"", /*hang=*/true}});
  app.start();
  make_forwarder(app.port());
  for (const MicrovmHook h : {MicrovmHook::kReady, MicrovmHook::kValidate}) {
    const Outcome o = run(hook(h), Millis(300));
    EXPECT_EQ(o.response.status, 503) << hook_name(h);
    EXPECT_EQ(o.response.outcome, "503");
    EXPECT_GE(o.elapsed, Millis(300));
    EXPECT_LT(o.elapsed, Millis(300 + 250));
  }
  EXPECT_EQ(app.connections(), 2);  // the dial check's connection carries the forward
}

TEST_F(HookForwarderTest, ReadyMirrorsTheAppsAnswer) {
  FakeApp app;
  app.script({AppScript{answer(503, "Busy", "Content-Type: text/plain\r\n", "not yet")},
              AppScript{answer(200, "OK", "", "")}});
  app.start();
  make_forwarder(app.port());
  Outcome o = run(hook(MicrovmHook::kReady));
  EXPECT_EQ(o.response.status, 503);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_EQ(o.response.body, "not yet");
  o = run(hook(MicrovmHook::kReady));
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_EQ(app.connections(), 2);
}

// --- scenario 32: mirroring
// ------------------------------------------------------------------------

TEST_F(HookForwarderTest, ARedirectIsMirroredNotFollowedAndOtherHeadersAreDropped) {
  FakeApp app;
  app.start();
  const std::string location = "http://127.0.0.1:" + std::to_string(app.port()) + "/elsewhere";
  app.script(
      {AppScript{answer(302, "Found", "Location: " + location + "\r\nX-Custom: yes\r\n", "moved")},
       AppScript{answer(200, "OK", "", "followed")}});
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kResume));
  EXPECT_EQ(o.response.status, 302);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_EQ(o.response.body, "moved");
  EXPECT_EQ(o.response.content_type, "");  // the app sent none; nothing is sniffed
  EXPECT_TRUE(o.response.detail.empty());
  EXPECT_EQ(app.connections(), 1);
  ASSERT_EQ(app.requests().size(), 1u);
  EXPECT_THAT(app.requests()[0].head, HasSubstr("POST /aws/lambda-microvms/runtime/v1/resume "));
}

TEST_F(HookForwarderTest, AnyStatusIsMirroredWithItsContentType) {
  FakeApp app;
  app.script({AppScript{answer(418, "I'm a teapot", "Content-Type: text/plain\r\n", "short")},
              AppScript{answer(207, "Multi", "Content-Type: application/xml\r\n", "<m/>")},
              AppScript{answer(500, "Oops", "", "")}});
  app.start();
  make_forwarder(app.port());
  Outcome o = run(hook(MicrovmHook::kSuspend));
  EXPECT_EQ(o.response.status, 418);
  EXPECT_EQ(o.response.content_type, "text/plain");
  EXPECT_EQ(o.response.body, "short");
  EXPECT_EQ(o.response.outcome, "mirrored");
  o = run(hook(MicrovmHook::kSuspend));
  EXPECT_EQ(o.response.status, 207);
  EXPECT_EQ(o.response.content_type, "application/xml");
  EXPECT_EQ(o.response.body, "<m/>");
  o = run(hook(MicrovmHook::kTerminate));
  EXPECT_EQ(o.response.status, 500);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_EQ(o.response.body, "");
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

TEST_F(HookForwarderTest, ABodyOverOneMebibyteIsCutAndCounted) {
  const std::string big = pattern(2 * kMaxHookBody);
  FakeApp app;
  app.script({AppScript{answer(200, "OK", "Content-Type: application/octet-stream\r\n", big)}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kRun));
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_TRUE(o.response.truncated);
  ASSERT_EQ(o.response.body.size(), kMaxHookBody);
  EXPECT_TRUE(o.response.body == big.substr(0, kMaxHookBody));
  EXPECT_EQ(o.response.content_type, "application/octet-stream");
  EXPECT_EQ(self_.get(kResponseTruncated), 1u);
}

TEST_F(HookForwarderTest, ABodyOfExactlyOneMebibyteIsKeptWhole) {
  const std::string body = pattern(kMaxHookBody);
  FakeApp app;
  app.script({AppScript{answer(200, "OK", "", body)}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kRun));
  EXPECT_FALSE(o.response.truncated);
  EXPECT_TRUE(o.response.body == body);
  EXPECT_EQ(self_.get(kResponseTruncated), 0u);
}

TEST_F(HookForwarderTest, AChunkedOrCloseDelimitedAnswerIsDecodedAndMirrored) {
  FakeApp app;
  app.script({AppScript{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"},
              AppScript{"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nuntil close"}});
  app.start();
  make_forwarder(app.port());
  Outcome o = run(hook(MicrovmHook::kRun));
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(o.response.body, "abcdefg");
  EXPECT_TRUE(o.response.detail.empty());
  o = run(hook(MicrovmHook::kRun));
  EXPECT_EQ(o.response.status, 201);
  EXPECT_EQ(o.response.body, "until close");
  EXPECT_TRUE(o.response.detail.empty());
}

TEST_F(HookForwarderTest, AnInterimAnswerIsSkipped) {
  FakeApp app;
  app.script({AppScript{"HTTP/1.1 100 Continue\r\n\r\n" + answer(200, "OK", "", "final")}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kRun));
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(o.response.body, "final");
}

// --- scenario 33: the request on the wire
// ------------------------------------------------------------

std::vector<std::string> header_names(const std::string& head) {
  std::vector<std::string> names;
  const auto lines = split_any(head, "\r\n");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon != std::string_view::npos) names.emplace_back(lines[i].substr(0, colon));
  }
  return names;
}

TEST_F(HookForwarderTest, EachForwardIsOneNewConnectionWithOnlyTheSpecifiedHeaders) {
  FakeApp app;
  app.start();
  make_forwarder(app.port());
  const std::string host = "Host: 127.0.0.1:" + std::to_string(app.port()) + "\r\n";
  run(hook(MicrovmHook::kRun, R"({"microvmId":"mvm-1"})", "application/json"));
  run(hook(MicrovmHook::kSuspend));
  run(hook(MicrovmHook::kTerminate, "bye", "text/plain"));
  EXPECT_EQ(app.connections(), 3);
  const auto requests = app.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(
      requests[0].head,
      "POST /aws/lambda-microvms/runtime/v1/run HTTP/1.1\r\n" + host +
          "Content-Type: application/json\r\nContent-Length: 21\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(requests[0].body, R"({"microvmId":"mvm-1"})");
  EXPECT_THAT(header_names(requests[1].head), ElementsAre("Host", "Content-Length", "Connection"));
  EXPECT_THAT(requests[1].head, HasSubstr("\r\nContent-Length: 0\r\n"));
  EXPECT_THAT(header_names(requests[2].head),
              ElementsAre("Host", "Content-Type", "Content-Length", "Connection"));
  for (const auto& r : requests) {
    EXPECT_THAT(to_lower(r.head), ::testing::Not(HasSubstr("accept-encoding")));
    EXPECT_THAT(to_lower(r.head), ::testing::Not(HasSubstr("transfer-encoding")));
  }
  // Every connection was closed after its answer: none is kept for the next hook.
  EXPECT_TRUE(app.wait_for([&] { return app.closed() == 3; }));
}

TEST_F(HookForwarderTest, BodiesAreByteExactBothWays) {
  std::string request_body;
  for (int i = 0; i < 256; ++i) request_body.push_back(static_cast<char>(i));
  request_body += "\r\n\r\n0\r\n\r\n" + pattern(70000);
  const std::string response_body = pattern(100000) + std::string("\0\r\n", 3);
  FakeApp app;
  app.script(
      {AppScript{answer(200, "OK", "Content-Type: application/x-bin; v=1\r\n", response_body)}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kRun, request_body, "application/x-bin"));
  ASSERT_EQ(app.requests().size(), 1u);
  EXPECT_TRUE(app.requests()[0].body == request_body);
  EXPECT_THAT(app.requests()[0].head,
              HasSubstr("\r\nContent-Length: " + std::to_string(request_body.size()) + "\r\n"));
  EXPECT_EQ(o.response.status, 200);
  EXPECT_TRUE(o.response.body == response_body);
  EXPECT_EQ(o.response.content_type, "application/x-bin; v=1");
}

// --- failures before and after the headers
// -----------------------------------------------------------

TEST_F(HookForwarderTest, AResetBeforeTheHeadersAnswers503) {
  FakeApp app;
  app.script({AppScript{"", false, /*reset=*/true}});
  app.start();
  make_forwarder(app.port());
  for (const MicrovmHook h : {MicrovmHook::kRun, MicrovmHook::kReady}) {
    const Outcome o = run(hook(h, "x"));
    EXPECT_EQ(o.response.status, 503) << hook_name(h);
    EXPECT_EQ(o.response.outcome, "503");
    EXPECT_EQ(o.response.body, "");
    EXPECT_LT(o.elapsed, Millis(1000));  // at once, not at the deadline
  }
}

TEST_F(HookForwarderTest, AMalformedAnswerOrAnEarlyCloseAnswers503) {
  FakeApp app;
  app.script({AppScript{"HTTP/1.1 2x0 Nope\r\n\r\n"}, AppScript{"HTTP/1.1 200 OK\r\nContent-"},
              AppScript{""}});
  app.start();
  make_forwarder(app.port());
  for (int i = 0; i < 3; ++i) {
    const Outcome o = run(hook(MicrovmHook::kSuspend), Millis(5000));
    EXPECT_EQ(o.response.status, 503) << i;
    EXPECT_EQ(o.response.outcome, "503") << i;
    EXPECT_LT(o.elapsed, Millis(1000)) << i;
  }
}

TEST_F(HookForwarderTest, ABodyCutAfterTheHeadersKeepsTheStatusAndTheBytesRead) {
  FakeApp app;
  app.script(
      {AppScript{"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\n"
                 "Content-Length: 100\r\n\r\nfirst forty bytes of a hundred.........."}});
  app.start();
  make_forwarder(app.port());
  const Outcome o = run(hook(MicrovmHook::kTerminate), Millis(5000));
  EXPECT_EQ(o.response.status, 202);
  EXPECT_EQ(o.response.outcome, "mirrored");
  EXPECT_EQ(o.response.content_type, "text/plain");
  EXPECT_EQ(o.response.body, "first forty bytes of a hundred..........");
  EXPECT_FALSE(o.response.truncated);
  EXPECT_THAT(o.response.detail, HasSubstr("after 40 bytes"));
  EXPECT_LT(o.elapsed, Millis(1000));
}

TEST_F(HookForwarderTest, ABodyStalledAfterTheHeadersIsMirroredAtTheDeadline) {
  FakeApp app;
  app.script({AppScript{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", /*hang=*/true}});
  app.start();
  make_forwarder(app.port());
  for (const MicrovmHook h : {MicrovmHook::kSuspend, MicrovmHook::kValidate}) {
    const Outcome o = run(hook(h), Millis(300));
    EXPECT_EQ(o.response.status, 200) << hook_name(h);
    EXPECT_EQ(o.response.outcome, "mirrored");
    EXPECT_EQ(o.response.body, "abc");
    EXPECT_GE(o.elapsed, Millis(300));
    EXPECT_LT(o.elapsed, Millis(300 + 250));
    EXPECT_THAT(o.response.detail, HasSubstr("not complete"));
  }
}

// --- lifetime
// --------------------------------------------------------------------------------------

TEST_F(HookForwarderTest, DestroyingTheForwarderCancelsWithoutCallingDone) {
  FakeApp app;
  app.script({AppScript{"", /*hang=*/true}});
  app.start();
  make_forwarder(app.port());
  std::atomic<int> calls{0};
  call([&] {
    for (int i = 0; i < 2; ++i) {
      forwarder_->forward(hook(MicrovmHook::kSuspend), Millis(5000),
                          [&calls](const HookResponse&) { ++calls; });
    }
    EXPECT_EQ(forwarder_->in_flight(), 2u);
  });
  ASSERT_TRUE(app.wait_for([&] { return app.requests().size() == 2; }));
  call([&] {
    // A third one that has not started yet when the forwarder goes.
    forwarder_->forward(hook(MicrovmHook::kRun), Millis(5000),
                        [&calls](const HookResponse&) { ++calls; });
    forwarder_.reset();
  });
  // Both connections are closed by the forwarder, which ends the app's hang.
  EXPECT_TRUE(app.wait_for([&] { return app.closed() == 2; }));
  call([] {});  // whatever was queued on the loop has run
  call([] {});
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(app.connections(), 2);
}

TEST_F(HookForwarderTest, ConcurrentForwardsAreIndependent) {
  FakeApp app;
  app.script({AppScript{"", /*hang=*/true}, AppScript{answer(200, "OK", "", "quick")}});
  app.start();
  make_forwarder(app.port());
  auto slow = start(hook(MicrovmHook::kSuspend), Millis(500));
  ASSERT_TRUE(app.wait_for([&] { return app.requests().size() == 1; }));
  const Outcome quick = run(hook(MicrovmHook::kRun));
  EXPECT_EQ(quick.response.body, "quick");
  EXPECT_NE(slow.wait_for(Millis(0)), std::future_status::ready);
  call([&] { EXPECT_EQ(forwarder_->in_flight(), 1u); });
  ASSERT_EQ(slow.wait_for(kWaitLimit), std::future_status::ready);
  EXPECT_EQ(slow.get().response.status, 504);
}

TEST_F(HookForwarderTest, DescribeNamesTheAppAndTheLimits) {
  make_forwarder(8080);
  call([&] {
    const std::string d = forwarder_->describe();
    EXPECT_THAT(d, HasSubstr("\"app\":\"127.0.0.1:8080\""));
    EXPECT_THAT(d, HasSubstr("\"dial_check_ms\":200"));
    EXPECT_THAT(d, HasSubstr("\"max_body\":1048576"));
  });
}

}  // namespace
}  // namespace lc::microvm
