// net/http_server.cpp — HttpServer on Boost.Beast. One ServerState shared by the acceptor and every
// Connection (so a connection finishing after stop() never touches a destroyed server). All work
// runs on the caller's io_context thread; no exception leaves this file (error_code overloads).
#include "net/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ostream>  // boost/core/detail/string_view.hpp needs it complete

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "core/logger.h"
#include "core/self_metrics.h"
#include "core/strings.h"
#include "net/bound_port.h"
#include "net/http_wire.h"

namespace lc::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Route {
  std::string method;  // "" = any
  std::string path;    // without the trailing '*' for prefix routes
  bool prefix = false;
  Handler handler;
  RouteOptions options;
};

template <typename Message>
HttpRequest request_from_header(const Message& msg, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  const std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.headers.reserve(16);
  for (const auto& field : msg) {
    r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  r.remote = remote;
  return r;
}

class Connection;

struct ServerState {
  ServerState(asio::io_context& io_in, const Clock& clock_in, TimerService& timers_in,
              HttpServerOptions options_in)
      : io(io_in),
        clock(clock_in),
        timers(timers_in),
        options(std::move(options_in)),
        acceptor(io_in) {}

  asio::io_context& io;
  const Clock& clock;
  TimerService& timers;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  Timer retry_timer;  // backs off after an accept error (EMFILE)
  std::vector<std::shared_ptr<const Route>> routes;
  Handler fallback;
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_connection_id = 1;
  std::size_t refusing = 0;  // connections being answered 503 (not in `connections`)
  bool started = false;
  bool stopped = false;
  // Warnings about the listener itself (cap reached, accept failed) are rate-limited: in extension
  // mode every log line loops back through the Telemetry API.
  SteadyTime last_warning{};
  bool warned = false;
  std::uint64_t suppressed_warnings = 0;

  template <typename... Args>
  void warn_limited(fmt::format_string<Args...> format, Args&&... args) {
    constexpr auto kWarnEvery = std::chrono::seconds(10);
    const SteadyTime now = clock.steady_now();
    if (warned && now - last_warning < kWarnEvery) {
      ++suppressed_warnings;
      return;
    }
    const std::string line = fmt::format(format, std::forward<Args>(args)...);
    if (suppressed_warnings > 0) {
      LC_WARN("{}: {} ({} similar warnings suppressed)", options.name, line, suppressed_warnings);
    } else {
      LC_WARN("{}: {}", options.name, line);
    }
    warned = true;
    last_warning = now;
    suppressed_warnings = 0;
  }

  void count_drop(std::string_view reason) {
    if (options.self_metrics != nullptr) options.self_metrics->dropped(options.name, reason);
  }

  std::shared_ptr<const Route> find_route(std::string_view method, std::string_view path) const {
    std::shared_ptr<const Route> best;
    int best_rank = -1;
    std::size_t best_len = 0;
    for (const auto& r : routes) {
      if (!r->method.empty() && r->method != method) continue;
      const bool method_exact = !r->method.empty();
      if (!r->prefix) {
        if (r->path != path) continue;
        const int rank = method_exact ? 3 : 2;  // exact paths beat every prefix
        if (rank > best_rank) {
          best = r;
          best_rank = rank;
          best_len = r->path.size();
        }
        continue;
      }
      if (path.substr(0, r->path.size()) != r->path) continue;
      const int rank = method_exact ? 1 : 0;
      if (best_rank >= 2) continue;
      if (best == nullptr || r->path.size() > best_len ||
          (r->path.size() == best_len && rank > best_rank)) {
        best = r;
        best_rank = rank;
        best_len = r->path.size();
      }
    }
    return best;
  }
};

bool is_quiet_close(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == beast::error::timeout || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerState> state, tcp::socket socket, std::uint64_t id)
      : state_(std::move(state)), stream_(std::move(socket)), id_(id) {
    error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void start() { wait_for_request(options().first_byte_timeout); }

  // At the cap: answer 503 and close, outside the connection count.
  void refuse_busy() {
    refusing_ = true;
    ++state_->refusing;
    reject(503, "too many connections busy; retry later");
  }

  // Waiting for the first byte of a request (a fresh or keep-alive connection), and since when.
  bool idle() const { return idle_ && !closed_; }
  SteadyTime idle_since() const { return idle_since_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    awaiting_response_ = false;
    idle_ = false;
    timer_.cancel();
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    if (refusing_) {
      --state_->refusing;
      refusing_ = false;
    } else {
      state_->connections.erase(id_);
    }
  }

  bool connected(std::uint64_t seq) const { return !closed_ && !peer_gone_ && seq == request_seq_; }

  void respond(std::uint64_t seq, const HttpResponse& response) {
    if (!take_response_turn(seq)) return;
    bool close_after = !keep_alive_ || state_->stopped;
    if (auto c = find_header(response.headers, "Connection"); c && iequals(trim(*c), "close")) {
      close_after = true;
    }
    out_ = serialize_response(response, close_after, head_request_);
    write_out(close_after ? AfterWrite::kClose : AfterWrite::kNextRequest);
  }

  void close_mid_response(std::uint64_t seq, const HttpResponse& response) {
    if (!take_response_turn(seq)) return;
    out_ = serialize_truncated_response(response);
    write_out(AfterWrite::kClose);
  }

  void abandon(std::uint64_t seq) {
    if (closed_ || seq != request_seq_ || !awaiting_response_) return;
    close();
  }

 private:
  enum class AfterWrite { kNextRequest, kClose, kLingerClose, kReadBody };

  const HttpServerOptions& options() const { return state_->options; }

  // One timer per connection for its current phase (idle, read, write, linger). When it fires the
  // connection closes, counting `drop_reason` when one is given; pending operations then complete
  // with operation_aborted and see closed_.
  void arm_timer(std::chrono::milliseconds after, std::string_view drop_reason) {
    std::weak_ptr<Connection> weak = weak_from_this();
    timer_ = state_->timers.schedule_after(after, [weak, drop_reason] {
      auto self = weak.lock();
      if (!self || self->closed_) return;
      if (!drop_reason.empty()) self->state_->count_drop(drop_reason);
      self->close();
    });
  }

  bool take_response_turn(std::uint64_t seq) {
    if (closed_ || seq != request_seq_ || !awaiting_response_) return false;
    awaiting_response_ = false;
    if (monitoring_) {
      monitoring_ = false;
      error_code ec;
      stream_.socket().cancel(ec);
    }
    return true;
  }

  // Idle phase: wait for the first byte of the next request, `timeout` long (first_byte_timeout
  // on a fresh connection, counted as a read timeout; idle_timeout between keep-alive requests).
  void wait_for_request(std::chrono::milliseconds timeout) {
    if (closed_) return;
    if (buffer_.size() > 0) {
      read_header();
      return;
    }
    const bool fresh = request_seq_ == 0;
    arm_timer(timeout, fresh ? std::string_view("read_timeout") : std::string_view());
    idle_ = true;
    idle_since_ = state_->clock.steady_now();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->idle_ = false;
                              self->buffer_.commit(n);
                              if (ec || self->closed_) {
                                self->close();
                                return;
                              }
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(boost::none);  // chosen per route once the header is known
    arm_timer(options().read_timeout, "read_timeout");
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == http::error::header_limit) {
        state_->count_drop("header_too_large");
        reject(431, fmt::format("request header exceeds {} bytes", options().max_header_bytes));
      } else if (is_quiet_close(ec)) {
        count_unfinished(ec);
        close();
      } else {
        state_->count_drop("malformed");
        reject(400, "malformed request: " + ec.message());
      }
      return;
    }
    const auto& msg = parser_->get();
    head_request_ = msg.method() == http::verb::head;
    request_ = request_from_header(msg, remote_);
    const HttpRequest& headers_only = request_;
    route_ = state_->find_route(headers_only.method, headers_only.path);
    max_body_ = route_ && route_->options.max_body > 0 ? route_->options.max_body
                                                       : options().default_max_body;
    if (const auto len = parser_->content_length(); len && *len > max_body_) {
      too_large(headers_only);
      return;
    }
    parser_->body_limit(static_cast<std::uint64_t>(max_body_));
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (auto expect = headers_only.header("Expect");
        expect && iequals(trim(*expect), "100-continue")) {
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      write_out(AfterWrite::kReadBody);
      return;
    }
    read_body();
  }

  // The read timer armed for the header (or after the 100 Continue) still runs: the whole request
  // must arrive within read_timeout.
  void read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      too_large(request_);
      return;
    }
    if (ec) {
      if (is_quiet_close(ec)) {
        count_unfinished(ec);
        close();
      } else {
        state_->count_drop("malformed");
        reject(400, "malformed request body: " + ec.message());
      }
      return;
    }
    dispatch();
  }

  // A request that had started arriving and never completed.
  void count_unfinished(const error_code& ec) {
    if (ec == beast::error::timeout) {
      state_->count_drop("read_timeout");
    } else if (ec != asio::error::operation_aborted && ec != http::error::end_of_stream) {
      state_->count_drop("incomplete");
    }
  }

  void too_large(const HttpRequest& headers_only) {
    state_->count_drop("too_large");
    HttpResponse response =
        route_ && route_->options.on_too_large
            ? route_->options.on_too_large(headers_only)
            : HttpResponse::text(413, fmt::format("request body exceeds {} bytes\n", max_body_));
    LC_DEBUG("{}: {} {} from {}: body over {} bytes, answered {}", options().name,
             headers_only.method, escape_for_log(headers_only.path), remote_, max_body_,
             response.status);
    out_ = serialize_response(response, true, head_request_);
    write_out(AfterWrite::kLingerClose);
  }

  void reject(int status, std::string reason) {
    LC_DEBUG("{}: rejected request from {}: {} {}", options().name, remote_, status, reason);
    reason.push_back('\n');
    out_ = serialize_response(HttpResponse::text(status, std::move(reason)), true, false);
    write_out(AfterWrite::kLingerClose);
  }

  void dispatch() {
    auto& msg = parser_->get();
    HttpRequest request = std::move(request_);
    request_ = HttpRequest();
    request.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    parser_.reset();
    ++request_seq_;
    awaiting_response_ = true;
    timer_.cancel();

    Handler handler = route_ ? route_->handler : state_->fallback;
    route_.reset();
    auto responder = std::make_shared<ResponderImpl>(shared_from_this(), request_seq_);
    if (handler) {
      handler(request, std::move(responder));
    } else {
      responder->respond(HttpResponse::text(
          404, fmt::format("no route for {} {}\n", request.method, request.path)));
    }
    if (awaiting_response_ && !closed_) start_monitor();
  }

  // While a handler holds the request, watch the socket so a vanished peer is noticed (long polls).
  void start_monitor() {
    monitoring_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this(), seq = request_seq_](error_code ec) {
                                  self->on_monitor(ec, seq);
                                });
  }

  void on_monitor(error_code ec, std::uint64_t seq) {
    if (!monitoring_ || closed_ || seq != request_seq_ || !awaiting_response_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      peer_gone_ = true;
      close();
      return;
    }
    error_code aec;
    const std::size_t available = stream_.socket().available(aec);
    if (aec || available == 0) {  // readable with nothing to read: the peer closed
      peer_gone_ = true;
      close();
      return;
    }
    // A pipelined next request: keep its bytes for later, within a cap.
    const std::size_t cap = options().max_header_bytes + 64 * 1024;
    const std::size_t room = cap > buffer_.size() ? cap - buffer_.size() : 0;
    if (room == 0) {
      monitoring_ = false;  // stop watching; the reply still goes out normally
      return;
    }
    const std::size_t n = std::min(available, room);
    const std::size_t got = stream_.socket().read_some(buffer_.prepare(n), aec);
    buffer_.commit(got);
    if (aec) {
      peer_gone_ = true;
      close();
      return;
    }
    start_monitor();
  }

  void write_out(AfterWrite after) {
    const auto timeout = options().write_timeout > std::chrono::milliseconds(0)
                             ? options().write_timeout
                             : options().read_timeout;
    arm_timer(timeout, {});
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this(), after](error_code ec, std::size_t) {
                        self->on_written(ec, after);
                      });
  }

  void on_written(error_code ec, AfterWrite after) {
    if (closed_) return;
    out_.clear();
    if (ec) {
      close();
      return;
    }
    switch (after) {
      case AfterWrite::kNextRequest:
        wait_for_request(options().idle_timeout);
        return;
      case AfterWrite::kReadBody:
        arm_timer(options().read_timeout, "read_timeout");
        read_body();
        return;
      case AfterWrite::kClose:
        close();
        return;
      case AfterWrite::kLingerClose:
        linger_close();
        return;
    }
  }

  // After an early answer (413, 400) the client may still be sending: half-close, then read and
  // discard for a short while so the kernel does not reset the connection before our answer is
  // read.
  void linger_close() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    buffer_.clear();
    lingered_ = 0;
    arm_timer(std::min<std::chrono::milliseconds>(options().read_timeout,
                                                  std::chrono::milliseconds(2000)),
              {});
    discard_some();
  }

  void discard_some() {
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              self->buffer_.clear();
                              if (ec || self->closed_ || self->lingered_ > 8 * 1024 * 1024) {
                                self->close();
                                return;
                              }
                              self->discard_some();
                            });
  }

  class ResponderImpl final : public Responder {
   public:
    ResponderImpl(std::shared_ptr<Connection> conn, std::uint64_t seq)
        : conn_(std::move(conn)), seq_(seq) {}
    ~ResponderImpl() override {
      if (!done_) conn_->abandon(seq_);
    }
    void respond(HttpResponse response) override {
      if (done_) return;
      done_ = true;
      conn_->respond(seq_, response);
    }
    void close_mid_response(HttpResponse response) override {
      if (done_) return;
      done_ = true;
      conn_->close_mid_response(seq_, response);
    }
    void abort() override {
      if (done_) return;
      done_ = true;
      conn_->abandon(seq_);
    }
    bool connected() const override { return !done_ && conn_->connected(seq_); }

   private:
    std::shared_ptr<Connection> conn_;
    std::uint64_t seq_;
    bool done_ = false;
  };

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream stream_;  // no Beast expiry: timer_ bounds every phase
  Timer timer_;
  std::uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;  // the header of the request being read
  std::shared_ptr<const Route> route_;
  std::size_t max_body_ = 0;
  std::string out_;
  std::uint64_t request_seq_ = 0;
  std::size_t lingered_ = 0;
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool awaiting_response_ = false;
  bool monitoring_ = false;
  bool peer_gone_ = false;
  bool idle_ = false;
  bool refusing_ = false;
  SteadyTime idle_since_{};
  bool closed_ = false;
};

// The idle connection that has waited longest for a request, or null.
std::shared_ptr<Connection> oldest_idle(const ServerState& state) {
  std::shared_ptr<Connection> oldest;
  for (const auto& [id, weak] : state.connections) {
    auto conn = weak.lock();
    if (!conn || !conn->idle()) continue;
    if (!oldest || conn->idle_since() < oldest->idle_since()) oldest = std::move(conn);
  }
  return oldest;
}

void accept_next(const std::shared_ptr<ServerState>& state);

void on_accept(const std::shared_ptr<ServerState>& state, error_code ec, tcp::socket socket) {
  if (state->stopped) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    state->warn_limited("accept failed: {}", ec.message());
    std::weak_ptr<ServerState> weak = state;
    state->retry_timer = state->timers.schedule_after(std::chrono::milliseconds(50), [weak] {
      auto s = weak.lock();
      if (s && !s->stopped) accept_next(s);
    });
    return;
  }
  if (state->connections.size() >= state->options.max_connections) {
    if (auto idle = oldest_idle(*state)) {
      // Idle connections must not lock the listener: the oldest makes room for the new one.
      state->count_drop("evicted");
      LC_DEBUG("{}: {} connections open, closing the longest idle one", state->options.name,
               state->connections.size());
      idle->close();
    }
  }
  error_code ignored;
  if (state->connections.size() >= state->options.max_connections) {
    state->count_drop("max_connections");
    state->warn_limited("{} connections open, all busy; answering 503", state->connections.size());
    constexpr std::size_t kMaxRefusing = 64;  // 503s being written; beyond, close at once
    if (state->refusing >= kMaxRefusing) {
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    } else {
      auto conn = std::make_shared<Connection>(state, std::move(socket), 0);
      conn->refuse_busy();
    }
  } else {
    socket.set_option(tcp::no_delay(true), ignored);
    const std::uint64_t id = state->next_connection_id++;
    auto conn = std::make_shared<Connection>(state, std::move(socket), id);
    state->connections.emplace(id, conn);
    conn->start();
  }
  accept_next(state);
}

void accept_next(const std::shared_ptr<ServerState>& state) {
  state->acceptor.async_accept(
      [state](error_code ec, tcp::socket socket) { on_accept(state, ec, std::move(socket)); });
}

class HttpServerImpl final : public HttpServer {
 public:
  explicit HttpServerImpl(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}
  ~HttpServerImpl() override { stop(); }

  void route(std::string method, std::string path, Handler handler, RouteOptions options) override {
    auto r = std::make_shared<Route>();
    r->method = std::move(method);
    r->prefix = !path.empty() && path.back() == '*';
    if (r->prefix) path.pop_back();
    r->path = std::move(path);
    r->handler = std::move(handler);
    r->options = std::move(options);
    auto& routes = state_->routes;
    routes.erase(std::remove_if(routes.begin(), routes.end(),
                                [&](const auto& old) {
                                  return old->method == r->method && old->path == r->path &&
                                         old->prefix == r->prefix;
                                }),
                 routes.end());
    routes.push_back(std::move(r));
  }

  void set_fallback(Handler handler) override { state_->fallback = std::move(handler); }

  void start() override {
    if (state_->started || state_->stopped) return;
    state_->started = true;
    accept_next(state_);
  }

  void stop() override {
    if (state_->stopped) return;
    state_->stopped = true;
    error_code ec;
    state_->acceptor.close(ec);
    state_->retry_timer.cancel();
    auto connections = state_->connections;
    for (auto& [id, weak] : connections) {
      if (auto conn = weak.lock()) conn->close();
    }
    state_->connections.clear();
  }

  std::uint16_t port() const override { return port_; }
  void set_port(std::uint16_t port) { port_ = port; }

 private:
  std::shared_ptr<ServerState> state_;
  std::uint16_t port_ = 0;
};

}  // namespace

Expected<HttpRequest> parse_request(std::string_view bytes, std::size_t max_header_bytes,
                                    std::size_t max_body) {
  http::request_parser<http::string_body> parser;
  parser.eager(false);
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(max_header_bytes, UINT32_MAX)));
  parser.body_limit(boost::none);
  error_code ec;
  std::size_t used = 0;
  while (!ec && !parser.is_header_done()) {
    const std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (n == 0 && !ec) break;  // needs more bytes than we have
  }
  const auto classify = [](const error_code& e, std::string_view what) -> Error {
    if (e == http::error::header_limit || e == http::error::body_limit) {
      return make_error(ErrorCode::kTooLarge, std::string(what) + ": " + e.message());
    }
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + ": " + e.message());
  };
  if (ec && ec != http::error::need_more) return classify(ec, "header");
  if (!parser.is_header_done()) {
    return make_error(ErrorCode::kInvalidArgument, "header: incomplete");
  }
  if (const auto len = parser.content_length(); len && *len > max_body) {
    return make_error(ErrorCode::kTooLarge, "body: content-length over the limit");
  }
  parser.body_limit(static_cast<std::uint64_t>(max_body));
  parser.eager(true);
  ec = {};
  while (!ec && !parser.is_done() && used < bytes.size()) {
    const std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (n == 0 && !ec) break;
  }
  if (ec == http::error::need_more) ec = {};
  if (!ec && !parser.is_done()) {
    parser.put_eof(ec);
  }
  if (ec) return classify(ec, "body");
  if (!parser.is_done()) return make_error(ErrorCode::kInvalidArgument, "body: incomplete");
  HttpRequest request = request_from_header(parser.get(), std::string());
  request.body = std::move(parser.get().body());
  return request;
}

Expected<ListeningSocket> ListeningSocket::open(const std::string& name, const std::string& host,
                                                std::uint16_t port) {
  error_code ec;
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  const auto address = asio::ip::make_address(h, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{}: bad listen address '{}'", name, host));
  }
  const tcp::endpoint endpoint(address, port);
  const auto fail = [&](std::string_view what) -> Error {
    return make_error(ErrorCode::kIo, fmt::format("{}: {} {}:{}: {}", name, what, h, port,
                                                  std::system_category().message(errno)));
  };
  // Plain system calls, not an acceptor: no io_context is needed yet, and the descriptor is
  // close-on-exec from the start.
  ListeningSocket s;
  s.ipv6_ = address.is_v6();
  s.fd_ = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (s.fd_ < 0) return fail("cannot open socket for");
  const int on = 1;
  if (::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    return fail("cannot set SO_REUSEADDR on");
  }
  if (::bind(s.fd_, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    return fail("cannot bind");
  }
  if (::listen(s.fd_, SOMAXCONN) != 0) return fail("cannot listen on");
  const auto bound = bound_port(s.fd_);
  if (!bound) return fail("cannot read the bound port of");
  s.port_ = *bound;
  return s;
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

ListeningSocket::ListeningSocket(ListeningSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_), ipv6_(other.ipv6_) {}

ListeningSocket& ListeningSocket::operator=(ListeningSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
    ipv6_ = other.ipv6_;
  }
  return *this;
}

int ListeningSocket::release() { return std::exchange(fd_, -1); }

Expected<std::unique_ptr<HttpServer>> HttpServer::create(boost::asio::io_context& io,
                                                         const Clock& clock, TimerService& timers,
                                                         HttpServerOptions options) {
  auto socket = ListeningSocket::open(options.name, options.host, options.port);
  if (!socket) return socket.error();
  return create(io, clock, timers, std::move(options), std::move(socket).value());
}

Expected<std::unique_ptr<HttpServer>> HttpServer::create(boost::asio::io_context& io,
                                                         const Clock& clock, TimerService& timers,
                                                         HttpServerOptions options,
                                                         ListeningSocket socket) {
  const std::string name = options.name;
  const std::uint16_t port = socket.port();
  const bool ipv6 = socket.ipv6();
  auto state = std::make_shared<ServerState>(io, clock, timers, std::move(options));
  error_code ec;
  const int fd = socket.release();
  state->acceptor.assign(ipv6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return make_error(ErrorCode::kIo,
                      fmt::format("{}: cannot serve port {}: {}", name, port, ec.message()));
  }
  auto server = std::make_unique<HttpServerImpl>(std::move(state));
  server->set_port(port);
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace lc::net
