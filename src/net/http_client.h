// net/http_client.h — outbound HTTP/1.1 over Boost.Beast: http:// and https:// (OpenSSL,
// initialised lazily at the first https request), CONNECT through an HTTP proxy honouring NO_PROXY,
// a deadline on every request (connect + write + read), optional keep-alive with close_idle() and
// abort_all() so no connection survives a Lambda freeze. Used by forward/ (intakes) and lambda/
// (Runtime/Extensions API). Callbacks run on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/expected.h"
#include "core/proxy_config.h"
#include "net/http_types.h"

namespace boost::asio {
class io_context;
}

namespace lc::net {

struct HttpClientRequest {
  std::string method = "POST";
  std::string url;  // absolute: "https://api.datadoghq.com/api/v2/series"
  Headers headers;
  std::shared_ptr<const std::string> body;  // shared: a retried payload is not copied
};

struct HttpClientResponse {
  int status = 0;
  Headers headers;
  std::string body;  // cut at max_response_body
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

struct HttpClientOptions {
  ProxyConfig proxy;  // empty host = direct; loopback targets always go direct
  bool skip_ssl_validation = false;
  std::string ca_file;  // empty = first existing well-known bundle
  std::size_t max_response_body = 1024 * 1024;
  bool keep_alive = true;  // reuse connections until close_idle()
  std::string user_agent;  // default "lastcall/<version>"
};

// True when `host` must bypass the proxy: exact host, ".suffix"/"suffix" domain match, "*", and an
// optional ":port" on the entry (lambda-agent.md §8.4).
bool no_proxy_matches(const std::vector<std::string>& no_proxy, std::string_view host,
                      std::uint16_t port);

// Destroying the client aborts requests still in flight without calling their callbacks (nor the
// callbacks abort_all() scheduled that have not run yet).
class HttpClient {
 public:
  using Callback = std::function<void(Expected<HttpClientResponse>)>;
  virtual ~HttpClient() = default;
  // Errors, by the step that failed: kInvalidArgument for a malformed URL (nothing was sent),
  // kDns when the host (or the proxy) did not resolve, kConnect when no connection could be
  // opened (refused, unreachable, the proxy refused CONNECT), kTls for TLS setup, handshake or
  // certificate verification, kTimeout when the deadline passed (at any step), kNetwork when an
  // open connection was reset or closed early, kProtocol for an unparsable response or one that
  // never got past interim (1xx) answers. Only kInvalidArgument can never succeed on a retry.
  virtual void request(HttpClientRequest request, Deadline deadline, Callback done) = 0;
  // Closes every pooled (idle keep-alive) connection; requests in flight go on. Called by the
  // Forwarder after each flush, and by the app right before /next when no exchange may be running
  // (lambda-agent.md §6.3 "Freeze awareness"). Loop thread.
  virtual void close_idle() = 0;
  // The freeze cut (lambda-agent.md §6.3, §6.5 step 6): stops every exchange in flight (started
  // or still queued to start) and closes every connection of this client, busy or idle, so none is
  // left open across /next or into exit. Each stopped request's callback runs exactly once, later
  // on the loop thread (never inside abort_all()), with ErrorCode::kNetwork and a message that
  // says "aborted"; a request whose answer was already delivered is untouched. Requests made after
  // abort_all() run normally. Returns how many exchanges were stopped. Called by
  // forward::Forwarder::abort() (intake client) and by the app before /next. Loop thread.
  //   close_idle(): only idle connections, nothing in flight is touched.
  //   abort_all():  close_idle() plus every exchange in flight.
  virtual std::size_t abort_all() = 0;
  // True once the TLS context exists: it is created at the first https request, not at start.
  virtual bool tls_initialized() const { return false; }
};

// The deadline is measured with `clock` and enforced by a timer on `timers`; both must outlive the
// client (a FakeClock driving the same io_context in tests).
std::unique_ptr<HttpClient> make_http_client(boost::asio::io_context& io, const Clock& clock,
                                             TimerService& timers, HttpClientOptions options);

}  // namespace lc::net
