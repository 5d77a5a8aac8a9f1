// tests/unit/net/test_support.h — helpers for net/ tests: a loop thread running an io_context, and
// hand-made requests sent with the tools' blocking client (tools/sandbox/blocking_http.h).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "core/expected.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Runs an io_context on its own thread until destroyed.
class LoopThread {
 public:
  LoopThread() : guard_(asio::make_work_guard(io_)) {}
  ~LoopThread() { stop(); }

  asio::io_context& io() { return io_; }

  void start() {
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
  }

  bool running() const { return thread_.joinable(); }

  void stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs f on the loop thread and waits for it.
  template <typename F>
  auto call(F&& f) -> decltype(f()) {
    using R = decltype(f());
    std::packaged_task<R()> task(std::forward<F>(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  // Polls `cond` on the loop thread every few ms until true or `limit` passes.
  bool wait_until(std::function<bool()> cond,
                  std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (call([&] { return cond(); })) return true;
      std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A client connection for hand-made bytes: the tools' one blocking client, with a 10 s send/receive
// timeout so a broken server fails the test fast. Not connected (every call fails) when refused.
inline sandbox::BlockingConnection raw_connect(std::uint16_t port) {
  auto c = sandbox::BlockingConnection::open("127.0.0.1", port, std::chrono::seconds(10));
  return c ? std::move(c).value() : sandbox::BlockingConnection();
}

// One request on a fresh connection; the error when no status line arrived.
inline Expected<sandbox::BlockingResponse> raw_exchange(std::uint16_t port,
                                                        std::string_view request) {
  auto c = raw_connect(port);
  c.send(request);
  return c.read_response();
}

// A request with a body and its Content-Length: "POST /p HTTP/1.1", Host: x, extra header lines.
inline std::string request_with_body(std::string_view method, std::string_view target,
                                     std::string_view body, std::string_view extra_headers = "") {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: x\r\n");
  out.append(extra_headers);
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

}  // namespace lc::test
