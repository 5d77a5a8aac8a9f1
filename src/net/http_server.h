// net/http_server.h — an HTTP/1.1 server on Boost.Beast for every local API lastcall and its tools
// serve (8124 local API, 8126 traces, telemetry listener, the sandbox's APIs, the fake intake).
// Runs on the caller's io_context (one loop thread). Owns its acceptor and connections.
// Keep-alive, per-route body limits (413 by default), malformed → 400, idle/read timeouts.
// Handlers answer through a Responder, now or later (long polls, delayed or hung replies).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/expected.h"
#include "net/http_types.h"

namespace boost::asio {
class io_context;
}

namespace lc {
class SelfMetrics;
}

namespace lc::net {

// Completes one request. Call exactly one of respond()/close_mid_response()/abort(), once, on the
// loop thread. Dropping the last reference without answering closes the connection.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(HttpResponse response) = 0;
  // Writes the status line, headers and half of the body, then closes (a fault injection).
  virtual void close_mid_response(HttpResponse response) = 0;
  // Closes the connection without answering.
  virtual void abort() = 0;
  // False once the peer has gone away (a long poll whose client disconnected).
  virtual bool connected() const = 0;
};

using Handler = std::function<void(HttpRequest& request, std::shared_ptr<Responder> responder)>;

struct RouteOptions {
  std::size_t max_body = 0;  // 0 = the server's default
  // Answer for a body over max_body (default 413 with a reason); the telemetry listener answers
  // 200.
  std::function<HttpResponse(const HttpRequest& headers_only)> on_too_large;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = ephemeral; read back with port()
  std::size_t default_max_body = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;       // beyond: 431, then close
  std::chrono::milliseconds read_timeout{10000};  // a started request must complete in this time
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive connection without a request
  // Writing one answer (or a 100 Continue) must complete in this time, or the connection closes
  // (a peer that stopped reading). 0 = read_timeout. The microVM lifecycle server bounds its
  // mirrored answers by 5 s (serverless-init.md §7.7) while it reads requests for 30 s.
  std::chrono::milliseconds write_timeout{0};
  // A new connection must send its first byte within this, or it is closed (counted read_timeout).
  std::chrono::milliseconds first_byte_timeout{2000};
  // At the cap a new connection evicts the oldest idle one (waiting for a request; counted
  // evicted); when every connection is busy with a request it is answered 503 (counted
  // max_connections).
  std::size_t max_connections = 512;
  std::string name = "http";  // for log lines
  // When set, requests the server refuses are counted as dropped{kind:<name>, reason:...}:
  // too_large, malformed, header_too_large, read_timeout (also a connection that sent nothing
  // within first_byte_timeout) and incomplete (a started request not completed), max_connections
  // (answered 503), evicted (an idle connection closed to admit a new one). Owned by the
  // composition root; must outlive the server.
  SelfMetrics* self_metrics = nullptr;
};

// A TCP socket bound and listening that no server accepts on yet: the kernel queues connections
// until an HttpServer takes it. Lets a mode bind before its event loop exists (the init wrapper
// binds, spawns its child, and only then builds the loop, serverless-init.md §2). Owns the
// descriptor, which is close-on-exec (§3.1: no lastcall fd reaches the child). Move-only.
class ListeningSocket {
 public:
  // Binds host:port (0 = ephemeral; "localhost" is 127.0.0.1) with SO_REUSEADDR and listens. The
  // error names `name`, the address and the reason.
  static Expected<ListeningSocket> open(const std::string& name, const std::string& host,
                                        std::uint16_t port);

  ListeningSocket() = default;
  ~ListeningSocket();
  ListeningSocket(ListeningSocket&& other) noexcept;
  ListeningSocket& operator=(ListeningSocket&& other) noexcept;
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }  // the port bound
  bool ipv6() const { return ipv6_; }
  // Gives the descriptor up (the caller closes it).
  int release();

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  bool ipv6_ = false;
};

class HttpServer {
 public:
  // Binds and listens synchronously (so the port is known and the kernel queues connections before
  // the loop runs); accepting starts with start().
  // Timeouts run on `timers` (the loop's, or a FakeClock driving the same io_context in tests).
  // `clock` and `timers` must outlive the server and every connection it still has.
  static Expected<std::unique_ptr<HttpServer>> create(boost::asio::io_context& io,
                                                      const Clock& clock, TimerService& timers,
                                                      HttpServerOptions options);
  // The same on a socket bound earlier (options.host and options.port are not used).
  static Expected<std::unique_ptr<HttpServer>> create(boost::asio::io_context& io,
                                                      const Clock& clock, TimerService& timers,
                                                      HttpServerOptions options,
                                                      ListeningSocket socket);
  virtual ~HttpServer() = default;

  // method "" matches any method. path is exact, or a prefix when it ends with '*'.
  // Exact routes win over prefix routes; longer prefixes win over shorter ones.
  virtual void route(std::string method, std::string path, Handler handler,
                     RouteOptions options = {}) = 0;
  // Requests no route matches (default: 404 with a reason).
  virtual void set_fallback(Handler handler) = 0;

  virtual void start() = 0;
  virtual void stop() = 0;  // closes the acceptor and every connection
  virtual std::uint16_t port() const = 0;
};

}  // namespace lc::net
