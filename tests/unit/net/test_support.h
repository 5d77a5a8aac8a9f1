// tests/unit/net/test_support.h — helpers for net/ tests: a loop thread running an io_context, and
// a blocking raw-socket HTTP client that reads exactly one response (or EOF) with a receive
// timeout.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>

namespace lc::net::testing {

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

struct RawResponse {
  int status = 0;
  std::string head;  // status line + headers
  std::string body;
  bool eof_before_complete = false;
};

// Blocking client socket with a receive timeout so a broken server fails the test fast.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
    timeval tv{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  bool connected() const { return connected_; }
  tcp::socket& socket() { return socket_; }

  bool send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }

  // Reads one response; nullopt when the connection closed (or timed out) before a status line.
  std::optional<RawResponse> read_response() {
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(socket_, asio::dynamic_buffer(buf_), "\r\n\r\n", ec);
    if (ec && n == 0) return std::nullopt;
    RawResponse r;
    r.head = buf_.substr(0, n);
    buf_.erase(0, n);
    if (r.head.size() < 12) return std::nullopt;
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t length = 0;
    const std::string lower = lowercase(r.head);
    const auto pos = lower.find("\r\ncontent-length:");
    if (pos != std::string::npos) length = std::stoul(lower.substr(pos + 17));
    while (buf_.size() < length) {
      char tmp[4096];
      const std::size_t got = socket_.read_some(asio::buffer(tmp), ec);
      if (ec) {
        r.eof_before_complete = true;
        break;
      }
      buf_.append(tmp, got);
    }
    const std::size_t take = std::min(length, buf_.size());
    r.body = buf_.substr(0, take);
    buf_.erase(0, take);
    return r;
  }

  // True when the peer closes (EOF or reset) before `limit`; false on a receive timeout.
  bool wait_closed() {
    char tmp[256];
    for (;;) {
      boost::system::error_code ec;
      socket_.read_some(asio::buffer(tmp), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      if (ec) return false;  // EAGAIN from SO_RCVTIMEO
    }
  }

  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  static std::string lowercase(std::string s) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string buf_;
  bool connected_ = false;
};

// One request on a fresh connection.
inline std::optional<RawResponse> raw_exchange(std::uint16_t port, std::string_view request) {
  RawConnection c(port);
  if (!c.connected() || !c.send(request)) return std::nullopt;
  return c.read_response();
}

}  // namespace lc::net::testing
