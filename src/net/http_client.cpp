// net/http_client.cpp — HttpClient on Boost.Beast's HTTP parser over plain or OpenSSL-wrapped
// sockets. One Exchange per request walks resolve → connect → [proxy CONNECT] → [TLS] → write →
// read under one deadline timer; a ClientState shared by the client and its exchanges owns the
// idle-connection pool and the lazily created TLS context. No exception leaves this file.
#include "net/http_client.h"

#include <ostream>  // boost/core/detail/string_view.hpp needs it complete

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <filesystem>
#include <map>

#include "core/logger.h"
#include "core/strings.h"
#include "core/version.h"

namespace lc::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kMaxIdlePerKey = 4;
constexpr std::size_t kMaxIdleTotal = 32;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;
constexpr std::uint64_t kDiscardLimit = 4 * 1024 * 1024;
constexpr int kMaxInterimResponses = 8;  // 1xx answers skipped before giving up on a final one
constexpr Millis kLongestDeadline = std::chrono::hours(24 * 365);  // keeps timer arithmetic finite
constexpr std::array<const char*, 3> kCaBundles = {
    "/etc/pki/tls/certs/ca-bundle.crt",    // Amazon Linux, RHEL
    "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Alpine
    "/etc/ssl/cert.pem",                   // macOS, some minimal images
};

bool header_safe(std::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// "host:port" with IPv6 literals bracketed.
std::string authority(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

// A response body kept up to `cap` bytes; the rest is read and discarded, so a long answer leaves
// the connection reusable and memory bounded.
struct CappedBody {
  struct value_type {
    std::string data;
    std::size_t cap = 0;
    bool truncated = false;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      if (length)
        body_.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, body_.cap)));
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      std::size_t total = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        const asio::const_buffer b = *it;
        total += b.size();
        const std::size_t room = body_.cap > body_.data.size() ? body_.cap - body_.data.size() : 0;
        const std::size_t take = std::min(room, b.size());
        body_.data.append(static_cast<const char*>(b.data()), take);
        if (take < b.size()) body_.truncated = true;
      }
      ec = {};
      return total;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

// Local traffic (the Runtime API on 127.0.0.1, the local agent) never goes through the intake
// proxy (lambda-agent.md §8.4), whatever NO_PROXY says.
bool is_loopback(const std::string& host) {
  if (iequals(host, "localhost")) return true;
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// One connection: a plain socket, or that socket wrapped in TLS.
struct Connection {
  explicit Connection(asio::io_context& io) : plain(std::in_place, io) {}

  tcp::socket& lowest() { return tls ? tls->next_layer() : *plain; }
  bool is_open() { return lowest().is_open(); }
  void close() {
    error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
  }
  // An idle connection must have nothing to read: readable means the server closed it (or sent
  // something unsolicited), either way it cannot carry a request.
  bool idle_and_usable() {
    if (!is_open() || buffer.size() > 0) return false;
    pollfd p{lowest().native_handle(), POLLIN, 0};
    const int r = ::poll(&p, 1, 0);
    return r == 0;
  }

  std::optional<tcp::socket> plain;  // moved into `tls` after the TLS handshake starts
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
};

class Exchange;

struct ClientState {
  ClientState(asio::io_context& io_in, const Clock& clock_in, TimerService& timers_in,
              HttpClientOptions options_in)
      : io(io_in), clock(clock_in), timers(timers_in), options(std::move(options_in)) {
    if (options.user_agent.empty()) options.user_agent = std::string("lastcall/") + kVersion;
    if (!options.proxy.host.empty() &&
        (!options.proxy.user.empty() || !options.proxy.password.empty())) {
      proxy_authorization =
          "Basic " + base64_encode(options.proxy.user + ":" + options.proxy.password);
    }
  }

  asio::io_context& io;
  const Clock& clock;
  TimerService& timers;
  HttpClientOptions options;
  std::string proxy_authorization;
  std::multimap<std::string, std::unique_ptr<Connection>> idle;
  std::map<std::uint64_t, std::weak_ptr<Exchange>> inflight;
  std::uint64_t next_id = 1;
  bool destroyed = false;  // the client is gone: scheduled abort callbacks must not run
  std::unique_ptr<ssl::context> tls;
  std::optional<Error> tls_error;

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto [begin, end] = idle.equal_range(key);
    for (auto it = begin; it != end;) {
      std::unique_ptr<Connection> conn = std::move(it->second);
      it = idle.erase(it);
      if (conn->idle_and_usable()) return conn;
      conn->close();
    }
    return nullptr;
  }

  void put_idle(const std::string& key, std::unique_ptr<Connection> conn) {
    if (idle.count(key) >= kMaxIdlePerKey || idle.size() >= kMaxIdleTotal) {
      conn->close();
      return;
    }
    idle.emplace(key, std::move(conn));
  }

  void close_idle() {
    for (auto& [key, conn] : idle) conn->close();
    idle.clear();
  }

  // Created at the first https request, never at start (issue 3: TLS initialised lazily).
  Expected<ssl::context*> tls_context() {
    if (tls) return tls.get();
    if (tls_error) return *tls_error;
    auto fail = [&](std::string message) -> Error {
      tls_error = make_error(ErrorCode::kTls, "TLS setup: " + std::move(message));
      tls.reset();
      return *tls_error;
    };
    try {
      tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    error_code ec;
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    if (ec) return fail("cannot set options: " + ec.message());
    if (options.skip_ssl_validation) {
      tls->set_verify_mode(ssl::verify_none, ec);
      LC_WARN("TLS certificate validation is disabled (DD_SKIP_SSL_VALIDATION)");
      return tls.get();
    }
    tls->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return fail("cannot set verify mode: " + ec.message());
    std::string ca = options.ca_file;
    if (ca.empty()) {
      for (const char* candidate : kCaBundles) {
        std::error_code fec;
        if (std::filesystem::exists(candidate, fec)) {
          ca = candidate;
          break;
        }
      }
    }
    if (!ca.empty()) {
      tls->load_verify_file(ca, ec);
      if (ec) return fail("cannot load CA file " + ca + ": " + ec.message());
      LC_DEBUG("TLS: CA bundle {}", ca);
    } else {
      tls->set_default_verify_paths(ec);
      if (ec) return fail("no CA bundle found and no default paths: " + ec.message());
      LC_DEBUG("TLS: no CA bundle file found, using OpenSSL default paths");
    }
    return tls.get();
  }
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<ClientState> state, HttpClientRequest request, Url url,
           Deadline deadline, HttpClient::Callback done)
      : st_(std::move(state)),
        req_(std::move(request)),
        url_(std::move(url)),
        deadline_(deadline),
        done_(std::move(done)),
        resolver_(st_->io) {
    const ProxyConfig& proxy = st_->options.proxy;
    via_proxy_ = !proxy.host.empty() && proxy.port != 0 && !is_loopback(url_.host) &&
                 !no_proxy_matches(proxy.no_proxy, url_.host, url_.port);
    key_ = url_.scheme + "://" + authority(url_.host, url_.port) + (via_proxy_ ? " via proxy" : "");
    started_ = st_->clock.steady_now();
  }

  void start(std::uint64_t id) {
    if (finished_) return;  // abandoned before the loop got to it
    id_ = id;
    const Millis remaining = deadline_.remaining(st_->clock);
    if (remaining <= Millis(0)) {
      finish(timeout_error());
      return;
    }
    if (remaining != Millis::max()) {
      std::weak_ptr<Exchange> weak = weak_from_this();
      timer_ = st_->timers.schedule_after(std::min<Millis>(remaining, kLongestDeadline), [weak] {
        if (auto self = weak.lock()) self->on_deadline();
      });
    }
    conn_ = st_->take_idle(key_);
    if (conn_) {
      reused_ = true;
      send();
    } else {
      connect();
    }
  }

  // abort_all(): stop now, close the connection, and answer "aborted" at the next turn of the loop
  // (never inside the caller's stack). False when the exchange had already finished.
  bool abort() {
    if (finished_) return false;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (conn_) conn_->close();
    Error error = make_error(ErrorCode::kNetwork,
                             fmt::format("{} {} ({}): aborted before an answer (connection closed)",
                                         req_.method, escape_for_log(req_.url, 200), phase_));
    asio::post(st_->io, [st = st_, done = std::move(done_), error = std::move(error)]() mutable {
      if (!st->destroyed && done) done(std::move(error));
    });
    done_ = nullptr;
    return true;
  }

  // The client is going away: stop without calling back.
  void abandon() {
    done_ = nullptr;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (conn_) conn_->close();
  }

 private:
  // Answers at once: a getaddrinfo stuck in the resolver's thread must not hold the caller past
  // its deadline. Pending operations complete later, see finished_, and do nothing.
  void on_deadline() {
    if (finished_) return;
    timed_out_ = true;
    resolver_.cancel();
    if (conn_) conn_->close();
    finish(timeout_error());
  }

  Error timeout_error() const {
    const auto elapsed = std::chrono::duration_cast<Millis>(st_->clock.steady_now() - started_);
    return make_error(ErrorCode::kTimeout,
                      fmt::format("{} {} ({}): deadline passed after {} ms", req_.method,
                                  escape_for_log(req_.url, 200), phase_, elapsed.count()));
  }

  void connect() {
    reused_ = false;
    conn_ = std::make_unique<Connection>(st_->io);
    const ProxyConfig& proxy = st_->options.proxy;
    const std::string host = via_proxy_ ? proxy.host : url_.host;
    const std::uint16_t port = via_proxy_ ? proxy.port : url_.port;
    phase_ = via_proxy_ ? "resolving the proxy" : "resolving";
    failure_ = ErrorCode::kDns;
    resolver_.async_resolve(
        host, std::to_string(port),
        [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
          self->on_resolved(ec, results);
        });
  }

  void on_resolved(error_code ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) {
      fail(ec);
      return;
    }
    phase_ = via_proxy_ ? "connecting to the proxy" : "connecting";
    failure_ = ErrorCode::kConnect;
    asio::async_connect(*conn_->plain, results,
                        [self = shared_from_this()](error_code cec, const tcp::endpoint&) {
                          self->on_connected(cec);
                        });
  }

  void on_connected(error_code ec) {
    if (finished_) return;
    if (ec) {
      fail(ec);
      return;
    }
    error_code ignored;
    conn_->plain->set_option(tcp::no_delay(true), ignored);
    if (via_proxy_ && url_.scheme == "https") {
      proxy_connect();
    } else if (url_.scheme == "https") {
      tls_handshake();
    } else {
      send();
    }
  }

  void proxy_connect() {
    phase_ = "proxy CONNECT";
    failure_ = ErrorCode::kConnect;  // no tunnel to the intake: as if it could not be reached
    const std::string target = authority(url_.host, url_.port);
    out_head_ = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!st_->proxy_authorization.empty()) {
      out_head_ += "Proxy-Authorization: " + st_->proxy_authorization + "\r\n";
    }
    out_head_ += "User-Agent: " + st_->options.user_agent + "\r\n\r\n";
    asio::async_write(*conn_->plain, asio::buffer(out_head_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (self->finished_) return;
                        if (ec) {
                          self->fail(ec);
                          return;
                        }
                        self->read_connect_response();
                      });
  }

  void read_connect_response() {
    connect_parser_.emplace();
    connect_parser_->skip(true);  // a 2xx answer to CONNECT has no body
    connect_parser_->header_limit(kMaxResponseHeader);
    http::async_read_header(
        *conn_->plain, conn_->buffer, *connect_parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_connect_response(ec); });
  }

  void on_connect_response(error_code ec) {
    if (finished_) return;
    if (ec) {
      fail(ec);
      return;
    }
    const unsigned status = connect_parser_->get().result_int();
    if (status / 100 != 2) {
      conn_->close();
      finish(make_error(ErrorCode::kConnect,
                        fmt::format("proxy {} refused CONNECT to {}: HTTP {}",
                                    authority(st_->options.proxy.host, st_->options.proxy.port),
                                    authority(url_.host, url_.port), status)));
      return;
    }
    if (conn_->buffer.size() > 0) {
      conn_->close();
      finish(make_error(ErrorCode::kProtocol, "proxy sent data before the TLS handshake"));
      return;
    }
    connect_parser_.reset();
    tls_handshake();
  }

  void tls_handshake() {
    phase_ = "TLS handshake";
    failure_ = ErrorCode::kTls;
    auto ctx = st_->tls_context();
    if (!ctx) {
      conn_->close();
      finish(ctx.error());
      return;
    }
    try {
      conn_->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(*conn_->plain), **ctx);
    } catch (const std::exception& e) {  // SSL_new failed (out of memory)
      conn_->close();
      finish(make_error(ErrorCode::kTls, std::string("TLS: ") + e.what()));
      return;
    }
    conn_->plain.reset();
    SSL* handle = conn_->tls->native_handle();
    error_code aec;
    asio::ip::make_address(url_.host, aec);  // only "is it an IP literal?"
    if (aec) {
      // SNI carries names only, never IP literals (RFC 6066 §3).
      SSL_set_tlsext_host_name(handle, url_.host.c_str());
    }
    if (!st_->options.skip_ssl_validation) {
      X509_VERIFY_PARAM* param = SSL_get0_param(handle);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int ok = aec ? X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0)
                         : X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
      if (ok != 1) {
        conn_->close();
        finish(make_error(ErrorCode::kTls, "TLS: cannot verify host " + url_.host));
        return;
      }
    }
    conn_->tls->async_handshake(ssl::stream_base::client,
                                [self = shared_from_this()](error_code ec) {
                                  if (self->finished_) return;
                                  if (ec) {
                                    self->fail(ec);
                                    return;
                                  }
                                  self->send();
                                });
  }

  void build_head() {
    const std::string& method = req_.method.empty() ? std::string("GET") : req_.method;
    const bool absolute_form = via_proxy_ && url_.scheme == "http";
    const bool default_port =
        (url_.scheme == "http" && url_.port == 80) || (url_.scheme == "https" && url_.port == 443);
    const std::string host_header =
        default_port
            ? (url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host)
            : authority(url_.host, url_.port);
    std::string& h = out_head_;
    h.clear();
    h.append(method).push_back(' ');
    if (absolute_form) h.append(url_.scheme).append("://").append(host_header);
    h.append(url_.target).append(" HTTP/1.1\r\n");
    h.append("Host: ").append(host_header).append("\r\n");
    bool has_user_agent = false;
    for (const auto& [name, value] : req_.headers) {
      if (name.empty() || !header_safe(name) || !header_safe(value) ||
          name.find(':') != std::string::npos) {
        continue;
      }
      if (iequals(name, "Host") || iequals(name, "Content-Length") ||
          iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) {
        continue;
      }
      if (iequals(name, "User-Agent")) has_user_agent = true;
      h.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_user_agent) h.append("User-Agent: ").append(st_->options.user_agent).append("\r\n");
    if (absolute_form && !st_->proxy_authorization.empty()) {
      h.append("Proxy-Authorization: ").append(st_->proxy_authorization).append("\r\n");
    }
    const std::size_t body_size = req_.body ? req_.body->size() : 0;
    if (body_size > 0 ||
        (method != "GET" && method != "HEAD" && method != "DELETE" && method != "OPTIONS")) {
      h.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n");
    }
    h.append(st_->options.keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    h.append("\r\n");
  }

  template <typename Stream>
  void write_request(Stream& stream) {
    std::array<asio::const_buffer, 2> buffers{
        asio::buffer(out_head_), req_.body ? asio::buffer(*req_.body) : asio::const_buffer()};
    asio::async_write(stream, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void send() {
    phase_ = "sending the request";
    failure_ = ErrorCode::kNetwork;
    conn_->buffer.clear();
    build_head();
    if (conn_->tls) {
      write_request(*conn_->tls);
    } else {
      write_request(*conn_->plain);
    }
  }

  void on_written(error_code ec) {
    if (finished_) return;
    if (ec) {
      if (retry_stale()) return;
      fail(ec);
      return;
    }
    read_response();
  }

  void read_response() {
    phase_ = "reading the response";
    parser_.emplace();
    parser_->header_limit(kMaxResponseHeader);
    // Up to the cap the body is kept; a few MiB beyond it are read and dropped (the connection
    // stays reusable); past that the read stops and the connection is closed.
    parser_->get().body().cap = st_->options.max_response_body;
    parser_->body_limit(static_cast<std::uint64_t>(st_->options.max_response_body) + kDiscardLimit);
    if (req_.method == "HEAD") parser_->skip(true);
    auto handler = [self = shared_from_this()](error_code rec, std::size_t) { self->on_read(rec); };
    if (conn_->tls) {
      http::async_read(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
    } else {
      http::async_read(*conn_->plain, conn_->buffer, *parser_, std::move(handler));
    }
  }

  // A pooled connection the server had already closed: nothing came back, so the request never
  // reached a handler; try once more on a fresh connection.
  bool retry_stale() {
    if (!reused_ || retried_ || timed_out_ || interim_responses_ > 0 ||
        (parser_ && parser_->got_some())) {
      return false;
    }
    retried_ = true;
    LC_DEBUG("http client: stale keep-alive connection to {}, retrying on a new one", key_);
    conn_->close();
    conn_.reset();
    parser_.reset();
    connect();
    return true;
  }

  void on_read(error_code ec) {
    if (finished_) return;
    bool truncated = false;
    if (ec == http::error::body_limit) {
      truncated = true;
    } else if (ec == ssl::error::stream_truncated && parser_->is_done()) {
      ec = {};
    } else if (ec) {
      if (retry_stale()) return;
      fail(ec);
      return;
    }
    auto& msg = parser_->get();
    const unsigned status = msg.result_int();
    if (!ec && status >= 100 && status < 200) {
      if (status != 101 && ++interim_responses_ <= kMaxInterimResponses) {
        read_response();  // an interim answer (100 Continue, 103 Early Hints): the real one follows
        return;
      }
      // Never a final answer: 101 (no upgrade was asked for) or an endless run of interim ones.
      // The request may not have been processed, so it is an error the caller can retry.
      conn_->close();
      finish(make_error(ErrorCode::kProtocol,
                        fmt::format("{} {} ({}): HTTP {} and no final answer after {} interim "
                                    "responses",
                                    req_.method, escape_for_log(req_.url, 200), phase_, status,
                                    interim_responses_)));
      return;
    }
    HttpClientResponse response;
    response.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    truncated = truncated || msg.body().truncated;
    response.body = std::move(msg.body().data);
    if (truncated) {
      LC_DEBUG("http client: response from {} cut at {} bytes", key_,
               st_->options.max_response_body);
    }
    const bool reusable = ec != http::error::body_limit && st_->options.keep_alive &&
                          msg.keep_alive() && parser_->is_done() && !parser_->need_eof() &&
                          !timed_out_;
    parser_.reset();
    if (reusable) {
      st_->put_idle(key_, std::move(conn_));
    } else {
      conn_->close();
    }
    finish(std::move(response));
  }

  // Why the peer's certificate was refused, when that is what failed the handshake.
  std::string tls_verify_detail() {
    if (!conn_ || !conn_->tls) return {};
    const long result = SSL_get_verify_result(conn_->tls->native_handle());
    if (result == X509_V_OK) return {};
    return std::string(" (certificate: ") + X509_verify_cert_error_string(result) + ")";
  }

  void fail(const error_code& ec) {
    if (conn_) conn_->close();
    if (timed_out_) {
      finish(timeout_error());
      return;
    }
    const std::string where =
        fmt::format("{} {} ({})", req_.method, escape_for_log(req_.url, 200), phase_);
    // The step that failed says what kind of failure it is: resolving → kDns, connecting (or the
    // proxy tunnel) → kConnect, the TLS handshake (verification included) → kTls, later → kNetwork.
    ErrorCode code = failure_;
    std::string what = ec.message();
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
      if (ec == http::error::partial_message) {
        what = "connection closed mid-response";
      } else if (ec == http::error::end_of_stream && interim_responses_ > 0) {
        what = fmt::format(
            "connection closed after {} interim response(s) (100 Continue) and no "
            "final answer",
            interim_responses_);
      } else if (ec == http::error::end_of_stream) {
        what = "connection closed before a response";
      } else {
        code = ErrorCode::kProtocol;
        what = "unparsable response: " + ec.message();
      }
    } else if (ec.category() == asio::error::get_ssl_category() ||
               ec == ssl::error::stream_truncated) {
      what = "TLS: " + ec.message();
      if (code == ErrorCode::kTls) what += tls_verify_detail();
    }
    finish(make_error(code, fmt::format("{}: {}", where, what)));
  }

  void finish(Expected<HttpClientResponse> result) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    st_->inflight.erase(id_);
    if (auto done = std::move(done_)) done(std::move(result));
  }

  std::shared_ptr<ClientState> st_;
  HttpClientRequest req_;
  Url url_;
  Deadline deadline_;
  HttpClient::Callback done_;
  Timer timer_;  // the deadline, on the injected TimerService
  tcp::resolver resolver_;
  std::unique_ptr<Connection> conn_;
  std::optional<http::response_parser<CappedBody>> parser_;
  std::optional<http::response_parser<http::empty_body>> connect_parser_;
  std::string out_head_;
  std::string key_;
  const char* phase_ = "starting";
  ErrorCode failure_ = ErrorCode::kNetwork;  // the code a failure of the current step gets
  SteadyTime started_{};
  std::uint64_t id_ = 0;
  int interim_responses_ = 0;
  bool via_proxy_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
};

class HttpClientImpl final : public HttpClient {
 public:
  HttpClientImpl(asio::io_context& io, const Clock& clock, TimerService& timers,
                 HttpClientOptions options)
      : st_(std::make_shared<ClientState>(io, clock, timers, std::move(options))) {}

  ~HttpClientImpl() override {
    st_->destroyed = true;
    auto inflight = std::move(st_->inflight);
    for (auto& [id, weak] : inflight) {
      if (auto ex = weak.lock()) ex->abandon();
    }
    st_->close_idle();
  }

  void request(HttpClientRequest request, Deadline deadline, Callback done) override {
    auto url = parse_url(request.url);
    if (!url) {
      Error error = make_error(ErrorCode::kInvalidArgument,
                               "bad URL '" + escape_for_log(request.url, 200) + "'");
      asio::post(st_->io, [done = std::move(done), error = std::move(error)]() mutable {
        if (done) done(std::move(error));
      });
      return;
    }
    if (!header_safe(request.method) || request.method.find(' ') != std::string::npos) {
      asio::post(st_->io, [done = std::move(done)]() mutable {
        if (done) done(make_error(ErrorCode::kInvalidArgument, "bad HTTP method"));
      });
      return;
    }
    auto exchange = std::make_shared<Exchange>(st_, std::move(request), std::move(*url), deadline,
                                               std::move(done));
    const std::uint64_t id = st_->next_id++;
    st_->inflight.emplace(id, exchange);
    // Start from the loop, never inside the caller's stack: callbacks never run re-entrantly.
    asio::post(st_->io, [exchange, id] { exchange->start(id); });
  }

  void close_idle() override { st_->close_idle(); }

  std::size_t abort_all() override {
    auto inflight = std::move(st_->inflight);
    st_->inflight.clear();
    std::size_t stopped = 0;
    for (auto& [id, weak] : inflight) {
      if (auto ex = weak.lock(); ex && ex->abort()) ++stopped;
    }
    st_->close_idle();
    if (stopped > 0) LC_DEBUG("http client: {} request(s) aborted", stopped);
    return stopped;
  }

  bool tls_initialized() const override { return st_->tls != nullptr; }

 private:
  std::shared_ptr<ClientState> st_;
};

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

bool no_proxy_matches(const std::vector<std::string>& no_proxy, std::string_view host,
                      std::uint16_t port) {
  const std::string h = to_lower(strip_brackets(host));
  for (const std::string& raw : no_proxy) {
    std::string_view entry = trim(raw);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    std::string_view entry_host = entry;
    std::optional<std::uint16_t> entry_port;
    // Optional ":port": "[v6]:port", "name:port"; a bare IPv6 address has several colons.
    if (entry.front() == '[') {
      const std::size_t close = entry.find(']');
      if (close == std::string_view::npos) continue;
      entry_host = entry.substr(1, close - 1);
      const std::string_view rest = entry.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') continue;
        const auto p = parse_int(rest.substr(1));
        if (!p || *p <= 0 || *p > 65535) continue;
        entry_port = static_cast<std::uint16_t>(*p);
      }
    } else if (const std::size_t colon = entry.rfind(':');
               colon != std::string_view::npos && entry.find(':') == colon) {
      const auto p = parse_int(entry.substr(colon + 1));
      if (!p || *p <= 0 || *p > 65535) continue;
      entry_host = entry.substr(0, colon);
      entry_port = static_cast<std::uint16_t>(*p);
    }
    if (entry_port && *entry_port != port) continue;
    std::string e = to_lower(entry_host);
    if (starts_with(e, "*.")) e.erase(0, 1);  // "*.example.com" == ".example.com"
    if (e.empty()) continue;
    if (e.front() == '.') {
      // ".example.com" matches the domain itself and every subdomain.
      const std::string_view bare = std::string_view(e).substr(1);
      if (h == bare) return true;
      if (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0) return true;
      continue;
    }
    if (h == e) return true;
    if (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0 &&
        h[h.size() - e.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::unique_ptr<HttpClient> make_http_client(boost::asio::io_context& io, const Clock& clock,
                                             TimerService& timers, HttpClientOptions options) {
  return std::make_unique<HttpClientImpl>(io, clock, timers, std::move(options));
}

}  // namespace lc::net
