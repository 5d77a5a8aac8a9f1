// tools/sandbox/blocking_http.h — the one small, blocking HTTP/1.1 client (and listener) of the
// tools and the tests: the scripted processes (fake-runtime, fake-extension), tests talking to the
// sandbox's control port or to lastcall-fakeintake, and net/ tests that send hand-made bytes.
// Requests use one connection each (Connection: close); BlockingConnection keeps one open for
// tests that send raw bytes, pipeline, or watch the peer close. No loop, no threads except the
// listener's own. Built as lc_sandbox_io, which tests link without the rest of the sandbox.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "net/http_types.h"

namespace lc::sandbox {

struct BlockingResponse {
  int status = 0;
  std::string head;  // the status line and header lines as received, up to the empty line
  net::Headers headers;
  std::string body;
  bool complete = true;  // false: the peer closed before the announced body was all sent
  std::optional<std::string_view> header(std::string_view name) const {
    return net::find_header(headers, name);
  }
};

struct BlockingRequest {
  BlockingRequest() = default;
  BlockingRequest(std::string method_in, std::string target_in, net::Headers headers_in = {},
                  std::string body_in = {})
      : method(std::move(method_in)),
        target(std::move(target_in)),
        headers(std::move(headers_in)),
        body(std::move(body_in)) {}

  std::string method = "GET";
  std::string target = "/";
  net::Headers headers;
  std::string body;
  // Streaming (chunked) upload: the body is sent as these chunks, then the trailers.
  std::vector<std::string> chunks;
  net::Headers trailers;
  bool chunked = false;
  int chunk_delay_ms = 0;
  int timeout_ms = 0;  // per send/receive; 0 = wait forever (a long poll)
};

// One TCP connection to an IPv4 literal ("localhost" = 127.0.0.1), with a send/receive timeout.
class BlockingConnection {
 public:
  // timeout 0 = none.
  static Expected<BlockingConnection> open(const std::string& host, std::uint16_t port,
                                           std::chrono::milliseconds timeout);
  BlockingConnection() = default;  // not connected: every call fails
  BlockingConnection(BlockingConnection&& other) noexcept;
  BlockingConnection& operator=(BlockingConnection&& other) noexcept;
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;
  ~BlockingConnection();

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes);
  // One response: by Content-Length, chunked, or until the peer closes. A body cut short comes
  // back with complete = false. Errors: kNetwork (closed before a status line), kTimeout.
  Expected<BlockingResponse> read_response();
  // Raw bytes as they arrive (after any already buffered); 0 on EOF, error or timeout.
  std::size_t read_some(char* out, std::size_t size);
  // True when the peer closes (EOF or reset); false on a receive timeout.
  bool wait_closed();
  void close();

 private:
  explicit BlockingConnection(int fd) : fd_(fd) {}

  int fd_ = -1;
  std::string buf_;  // received but not yet consumed (a pipelined next response)
};

// "127.0.0.1:9001" → host, port.
Expected<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view host_port);

// One request on a fresh connection. When the server answers and closes before taking the whole
// body (e.g. 413), its answer is still returned.
Expected<BlockingResponse> http_call(const std::string& host, std::uint16_t port,
                                     const BlockingRequest& request);

// Accepts connections on 127.0.0.1:<port> in its own thread; handler(method, target, body) returns
// the status to answer (empty body). Used as a telemetry listener by fake-extension.
class BlockingListener {
 public:
  using Handler = std::function<int(const std::string& method, const std::string& target,
                                    const std::string& body)>;
  ~BlockingListener();
  Expected<std::uint16_t> start(std::uint16_t port, Handler handler);
  void stop();

 private:
  void serve(int fd);
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  Handler handler_;
};

}  // namespace lc::sandbox
