// microvm/hook_forwarder.cpp — one Exchange per forwarded hook walks [dial check] → connect →
// write → response headers → response body, on a fresh socket, under one deadline timer. Which
// phase the deadline or an error meets decides what the platform gets (§7.5 status table). No
// exception leaves this file.
#include "microvm/hook_forwarder.h"

#include <ostream>  // boost/core/detail/string_view.hpp needs it complete

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "core/log_limiter.h"
#include "core/logger.h"
#include "core/strings.h"

namespace lc::microvm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;
constexpr int kMaxInterimResponses = 8;  // 1xx answers skipped before giving up on a final one
constexpr Millis kLongestTimeout = std::chrono::hours(24);  // keeps timer arithmetic finite
constexpr std::string_view kPathPrefix = "/aws/lambda-microvms/runtime/v1/";
// The platform retries a 503'd ready/validate until the app is up: one warn line per hook and
// outcome per minute, with the count of the ones held back.
constexpr Millis kWarnPeriod = std::chrono::minutes(1);

bool header_safe(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

// A response body kept up to `cap` bytes. The first byte beyond the cap stops the read with
// body_limit (and `truncated` set): the rest is never read, the connection is closed (§7.5 "excess
// is discarded"; the connection is not reused anyway).
struct CappedBody {
  struct value_type {
    std::string data;
    std::size_t cap = kMaxHookBody;
    bool truncated = false;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>& /*header*/, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      if (length) {
        body_.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, body_.cap)));
      }
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      ec = {};
      std::size_t used = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        const asio::const_buffer b = *it;
        const std::size_t room = body_.cap - body_.data.size();
        const std::size_t take = std::min(room, b.size());
        body_.data.append(static_cast<const char*>(b.data()), take);
        used += take;
        if (take < b.size()) {
          body_.truncated = true;
          ec = http::error::body_limit;
          return used;
        }
      }
      return used;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using Parser = http::response_parser<CappedBody>;

}  // namespace

std::string_view hook_name(MicrovmHook hook) {
  switch (hook) {
    case MicrovmHook::kReady:
      return "ready";
    case MicrovmHook::kValidate:
      return "validate";
    case MicrovmHook::kRun:
      return "run";
    case MicrovmHook::kResume:
      return "resume";
    case MicrovmHook::kSuspend:
      return "suspend";
    case MicrovmHook::kTerminate:
      return "terminate";
  }
  return "unknown";
}

std::string hook_path(MicrovmHook hook) {
  std::string path(kPathPrefix);
  path.append(hook_name(hook));
  return path;
}

bool is_build_hook(MicrovmHook hook) {
  return hook == MicrovmHook::kReady || hook == MicrovmHook::kValidate;
}

struct HookForwarder::State {
  State(asio::io_context& io_in, const Clock& clock_in, TimerService& timers_in, int port_in,
        SelfMetrics& self)
      : io(io_in),
        clock(clock_in),
        timers(timers_in),
        port(port_in),
        truncated(self.counter(kResponseTruncated)),
        warnings(clock_in, kWarnPeriod) {}

  asio::io_context& io;
  const Clock& clock;
  TimerService& timers;
  int port;
  SelfMetrics::Counter truncated;
  LogLimiter warnings;
  std::map<std::uint64_t, std::weak_ptr<Exchange>> inflight;
  std::uint64_t next_id = 1;
  std::uint64_t forwarded = 0;  // answers delivered, for describe()
};

class HookForwarder::Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<State> state, std::uint64_t id, HookRequest request, Millis timeout,
           std::function<void(HookResponse)> done)
      : st_(std::move(state)),
        id_(id),
        req_(std::move(request)),
        timeout_(std::clamp(timeout, Millis(0), kLongestTimeout)),
        done_(std::move(done)),
        socket_(st_->io) {}

  void start() {
    if (finished_) return;  // cancelled before the loop got to it
    started_ = st_->clock.steady_now();
    if (st_->port < 1 || st_->port > 65535) {
      fail_unreachable(fmt::format("no valid app port ({})", st_->port));
      return;
    }
    if (is_build_hook(req_.hook)) {
      phase_ = Phase::kDialCheck;
      arm(kDialCheckTimeout);
    } else {
      phase_ = Phase::kConnecting;
      arm(timeout_);
    }
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(),
                                 static_cast<std::uint16_t>(st_->port));
    socket_.async_connect(endpoint,
                          [self = shared_from_this()](error_code ec) { self->on_connected(ec); });
  }

  // The forwarder is going away: stop without calling back.
  void abandon() {
    finished_ = true;
    done_ = nullptr;
    timer_.cancel();
    close();
  }

 private:
  enum class Phase { kDialCheck, kConnecting, kWriting, kHeaders, kBody };

  void arm(Millis delay) {
    std::weak_ptr<Exchange> weak = weak_from_this();
    timer_ = st_->timers.schedule_after(delay, [weak] {
      if (auto self = weak.lock()) self->on_deadline();
    });
  }

  void close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::string target() const {
    return fmt::format("/{} to 127.0.0.1:{}", hook_name(req_.hook), st_->port);
  }

  long long elapsed_ms() const {
    return std::chrono::duration_cast<Millis>(st_->clock.steady_now() - started_).count();
  }

  void on_connected(error_code ec) {
    if (finished_) return;
    if (ec) {
      fail_unreachable(fmt::format("cannot connect: {}", ec.message()));
      return;
    }
    if (phase_ == Phase::kDialCheck) arm(timeout_);  // the forward's own budget starts now (§7.7)
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    phase_ = Phase::kWriting;
    build_head();
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(req_.body)};
    asio::async_write(socket_, buffers, [self = shared_from_this()](error_code wec, std::size_t) {
      self->on_written(wec);
    });
  }

  // §7.5: only Host, Content-Type (if any), an exact Content-Length and Connection: close.
  void build_head() {
    head_ =
        fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", hook_path(req_.hook), st_->port);
    if (!req_.content_type.empty() && header_safe(req_.content_type)) {
      head_.append("Content-Type: ").append(req_.content_type).append("\r\n");
    }
    head_.append(fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", req_.body.size()));
  }

  void on_written(error_code ec) {
    if (finished_) return;
    if (ec) {
      // An app may answer (e.g. 413) and close before reading the whole request; what it sent is
      // still readable, so look for headers before calling it a reset.
      LC_DEBUG("microvm: forwarding {}: request write failed: {}", target(), ec.message());
    }
    phase_ = Phase::kHeaders;
    read_header();
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(kMaxResponseHeader);
    parser_->body_limit(boost::none);  // the body's own cap decides (CappedBody)
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (finished_) return;
    if (ec) {
      fail_unreachable(ec == http::error::end_of_stream || ec == asio::error::eof
                           ? std::string("connection closed before response headers")
                           : fmt::format("no valid response headers: {}", ec.message()));
      return;
    }
    const unsigned status = parser_->get().result_int();
    if (status == 101) {
      fail_unreachable("the app switched protocols (101) though nobody asked for it");
      return;
    }
    if (status >= 100 && status < 200) {
      if (++interim_ > kMaxInterimResponses) {
        fail_unreachable("too many interim (1xx) responses");
        return;
      }
      read_header();  // an interim answer: the final one follows on the same connection
      return;
    }
    phase_ = Phase::kBody;
    if (parser_->is_done()) {
      finish_mirrored({});
      return;
    }
    // §7.5: the body is read at once, within the same deadline, so the caller can hold it through
    // a flush without a socket whose deadline has passed.
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](error_code bec, std::size_t) { self->on_body(bec); });
  }

  void on_body(error_code ec) {
    if (finished_) return;
    if (ec && !parser_->get().body().truncated) {
      finish_mirrored(fmt::format("response body read failed after {} bytes: {}",
                                  parser_->get().body().data.size(), ec.message()));
      return;
    }
    finish_mirrored({});
  }

  void on_deadline() {
    if (finished_) return;
    const long long waited = elapsed_ms();
    switch (phase_) {
      case Phase::kDialCheck:
        fail_unreachable(
            fmt::format("not connected within the {} ms dial check", kDialCheckTimeout.count()));
        return;
      case Phase::kConnecting:
      case Phase::kWriting:
      case Phase::kHeaders: {
        const std::string why =
            fmt::format("no response headers within {} ms (after {} ms)", timeout_.count(), waited);
        // §7.5: ready/validate answer 503 (the platform retries) where the others get 504.
        if (is_build_hook(req_.hook)) {
          fail_unreachable(why);
        } else {
          fail(504, why);
        }
        return;
      }
      case Phase::kBody:
        finish_mirrored(fmt::format("response body not complete within {} ms, {} bytes read",
                                    timeout_.count(), parser_->get().body().data.size()));
        return;
    }
  }

  static std::string held_back(std::uint64_t suppressed) {
    return suppressed == 0 ? std::string()
                           : fmt::format(" ({} more like it not logged)", suppressed);
  }

  void fail_unreachable(std::string why) { fail(503, std::move(why)); }

  void fail(int status, std::string why) {
    if (const auto log = st_->warnings.allow(fmt::format("{}/{}", hook_name(req_.hook), status))) {
      LC_WARN("microvm: forwarding {}: {}; answering {}{}", target(), why, status,
              held_back(log.suppressed));
    }
    HookResponse response;
    response.status = status;
    response.outcome = std::to_string(status);
    response.detail = std::move(why);
    deliver(std::move(response));
  }

  // The app's status, its Content-Type if it sent one, and the body (§7.5 "mirroring copies
  // exactly three things"). `problem`: why the body is partial, or empty.
  void finish_mirrored(std::string problem) {
    auto& msg = parser_->get();
    HookResponse response;
    response.status = static_cast<int>(msg.result_int());
    if (const auto it = msg.find(http::field::content_type); it != msg.end()) {
      response.content_type = std::string(it->value());
    }
    CappedBody::value_type& body = msg.body();
    response.truncated = body.truncated;
    response.body = std::move(body.data);
    response.outcome = "mirrored";
    if (response.truncated) {
      st_->truncated.add();
      problem = fmt::format("response body over {} bytes; the first {} bytes are mirrored",
                            kMaxHookBody, kMaxHookBody);
    }
    if (!problem.empty()) {
      const auto log = st_->warnings.allow(
          fmt::format("{}/{}", hook_name(req_.hook), response.truncated ? "truncated" : "partial"));
      if (log) {
        LC_WARN("microvm: forwarding {}: {}; answering the app's {}{}", target(), problem,
                response.status, held_back(log.suppressed));
      }
    }
    response.detail = std::move(problem);
    deliver(std::move(response));
  }

  void deliver(HookResponse response) {
    finished_ = true;
    timer_.cancel();
    close();
    st_->inflight.erase(id_);
    ++st_->forwarded;
    LC_DEBUG("microvm: forwarded {}: {} ({}) in {} ms", target(), response.status, response.outcome,
             elapsed_ms());
    // Last: `done` may destroy the forwarder (this exchange is kept alive by the running handler).
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(response));
  }

  std::shared_ptr<State> st_;
  std::uint64_t id_;
  HookRequest req_;
  Millis timeout_;
  std::function<void(HookResponse)> done_;
  tcp::socket socket_;
  Timer timer_;
  Phase phase_ = Phase::kConnecting;
  SteadyTime started_{};
  std::string head_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  int interim_ = 0;
  bool finished_ = false;
};

HookForwarder::HookForwarder(asio::io_context& io, const Clock& clock, TimerService& timers,
                             int app_port, SelfMetrics& self)
    : state_(std::make_shared<State>(io, clock, timers, app_port, self)) {}

HookForwarder::~HookForwarder() {
  auto inflight = std::move(state_->inflight);
  state_->inflight.clear();
  for (auto& [id, weak] : inflight) {
    if (auto exchange = weak.lock()) exchange->abandon();
  }
}

void HookForwarder::forward(HookRequest request, Millis timeout,
                            std::function<void(HookResponse)> done) {
  const std::uint64_t id = state_->next_id++;
  auto exchange =
      std::make_shared<Exchange>(state_, id, std::move(request), timeout, std::move(done));
  state_->inflight.emplace(id, exchange);
  // Started from the loop, never inside the caller's stack: `done` must not run inside forward().
  asio::post(state_->io, [exchange] { exchange->start(); });
}

std::size_t HookForwarder::in_flight() const { return state_->inflight.size(); }

std::string HookForwarder::describe() const {
  return fmt::format(
      "{{\"app\":{},\"dial_check_ms\":{},\"max_body\":{},\"in_flight\":{},\"forwarded\":{}}}",
      json_quote(fmt::format("127.0.0.1:{}", state_->port)), kDialCheckTimeout.count(),
      kMaxHookBody, state_->inflight.size(), state_->forwarded);
}

}  // namespace lc::microvm
