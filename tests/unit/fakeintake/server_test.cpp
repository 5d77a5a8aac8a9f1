// fakeintake/fake_intake_server.h over real HTTP: FakeIntakeOptions::idle_timeout (the
// --idle-timeout-ms flag) closes a keep-alive connection that stays idle past it, and only then —
// the default keeps one open for the next request. Each server runs on its own loop thread on
// 127.0.0.1, port 0; the test talks to it with the blocking client.
#include "fakeintake/fake_intake_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "core/event_loop.h"
#include "core/self_metrics.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::fakeintake {
namespace {

using namespace std::chrono_literals;
using sandbox::BlockingConnection;

// One FakeIntakeServer on its own loop thread.
class ServerThread {
 public:
  explicit ServerThread(FakeIntakeOptions options) {
    auto created = FakeIntakeServer::create(loop_, std::move(options), self_);
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    if (!created) return;
    server_ = std::move(*created);
    server_->start();
    port_ = server_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~ServerThread() {
    if (thread_.joinable()) {
      std::promise<void> stopped;
      loop_.post([&] {
        server_->stop();
        stopped.set_value();
      });
      stopped.get_future().wait();
      work_.reset();
      loop_.stop();
      thread_.join();
    }
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  EventLoop loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(loop_.io());
  SelfMetrics self_;
  std::unique_ptr<FakeIntakeServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// HTTP/1.1 without `Connection: close`: the server keeps the connection for the next request.
constexpr std::string_view kKeepAliveQuery =
    "GET /fakeintake/faults HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// One query on `c`; true when answered 200.
bool query_ok(BlockingConnection& c) {
  if (!c.send(kKeepAliveQuery)) return false;
  auto r = c.read_response();
  return r && r->status == 200;
}

TEST(FakeIntakeServer, IdleTimeoutClosesAnIdleKeepAliveConnectionAndTheDefaultKeepsIt) {
  FakeIntakeOptions quick;
  quick.idle_timeout = 100ms;
  ServerThread closing(std::move(quick));
  ServerThread keeping(FakeIntakeOptions{});
  ASSERT_NE(closing.port(), 0);
  ASSERT_NE(keeping.port(), 0);

  // Each receive is bounded by 10 s: far above the 100 ms idle timeout, far below the default.
  auto a = BlockingConnection::open("127.0.0.1", closing.port(), 10s);
  auto b = BlockingConnection::open("127.0.0.1", keeping.port(), 10s);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(query_ok(*a));
  ASSERT_TRUE(query_ok(*b));

  // The server with the short idle timeout closes its side (EOF before the 10 s receive limit).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(a->wait_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 9s);

  // By then the connection to the default server has been idle at least as long, and still
  // serves a second request.
  EXPECT_TRUE(query_ok(*b));
}

}  // namespace
}  // namespace lc::fakeintake
