// tools/sandbox/blocking_http.h — a deliberately small, blocking HTTP/1.1 client and listener for
// the scripted processes (fake-runtime, fake-extension) and for tests talking to the control port.
// One connection per request (Connection: close); no loop, no threads except the listener's own.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/expected.h"
#include "net/http_types.h"

namespace lc::sandbox {

struct BlockingResponse {
  int status = 0;
  net::Headers headers;
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const {
    return net::find_header(headers, name);
  }
};

struct BlockingRequest {
  std::string method = "GET";
  std::string target = "/";
  net::Headers headers;
  std::string body;
  // Streaming (chunked) upload: the body is sent as these chunks, then the trailers.
  std::vector<std::string> chunks;
  net::Headers trailers;
  bool chunked = false;
  int chunk_delay_ms = 0;
  int timeout_ms = 0;  // 0 = wait forever (a long poll)
};

// "127.0.0.1:9001" → host, port.
Expected<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view host_port);

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
