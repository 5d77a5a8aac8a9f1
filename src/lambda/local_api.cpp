#include "lambda/local_api.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"
#include "lambda/invocation_processor.h"
#include "lambda/tracer_calls.h"

namespace lc::lambda {
namespace {

constexpr Millis kFlushAnswerAfter{90};
constexpr std::string_view kRequestIdHeader = "lambda-runtime-aws-request-id";

// The value of a base64 digit, -1 for any other byte.
int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size() && extra > 0) return false;  // cut short
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Standard padded base64 (RFC 4648 §4) decoding to UTF-8 text; nullopt when `s` is not that.
std::optional<std::string> decode_base64_text(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (s.back() == '=') pad = s[s.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(s.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < s.size() - pad; ++i) {
    const int d = base64_digit(s[i]);
    if (d < 0) return std::nullopt;
    acc = (acc << 6U) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  if (!valid_utf8(out)) return std::nullopt;
  return out;
}

// §7.1: each error header is base64-decoded when valid base64, else used raw.
std::string decoded_or_raw(std::optional<std::string_view> value) {
  if (!value) return {};
  if (auto decoded = decode_base64_text(*value)) return std::move(*decoded);
  return std::string(*value);
}

std::string header_or_empty(const net::HttpRequest& req, std::string_view name) {
  auto v = req.header(name);
  return v ? std::string(trim(*v)) : std::string();
}

TraceHeaders trace_headers_of(const net::HttpRequest& req) {
  TraceHeaders t;
  t.trace_id = header_or_empty(req, "x-datadog-trace-id");
  t.span_id = header_or_empty(req, "x-datadog-span-id");
  t.parent_id = header_or_empty(req, "x-datadog-parent-id");
  t.sampling_priority = header_or_empty(req, "x-datadog-sampling-priority");
  t.tags = header_or_empty(req, "x-datadog-tags");
  return t;
}

// The response body's statusCode: an integer, or a string holding one. A body that is not a JSON
// object (or has none) gives nothing.
std::optional<std::int64_t> status_code_of(std::string_view body) {
  if (body.find("statusCode") == std::string_view::npos) return std::nullopt;
  auto parsed = parse_json(body);
  if (!parsed) return std::nullopt;
  const auto* object = parsed->if_object();
  if (object == nullptr) return std::nullopt;
  if (auto n = json::int64_member(*object, "statusCode")) return n;
  if (auto s = json::string_member(*object, "statusCode")) return parse_int(trim(*s));
  return std::nullopt;
}

StartInvocation start_of(const net::HttpRequest& req, std::string body, bool too_large) {
  StartInvocation start;
  start.event = std::move(body);
  start.event_too_large = too_large;
  start.lang = header_or_empty(req, "Datadog-Meta-Lang");
  start.trace = trace_headers_of(req);
  return start;
}

EndInvocation end_of(const net::HttpRequest& req, std::string body) {
  EndInvocation end;
  end.status_code = status_code_of(body);
  end.response = std::move(body);
  end.trace = trace_headers_of(req);
  if (auto error = req.header("x-datadog-invocation-error")) {
    end.error_header = iequals(trim(*error), "true");
  }
  end.error_msg = decoded_or_raw(req.header("x-datadog-invocation-error-msg"));
  end.error_type = decoded_or_raw(req.header("x-datadog-invocation-error-type"));
  end.error_stack = decoded_or_raw(req.header("x-datadog-invocation-error-stack"));
  return end;
}

net::HttpResponse too_large_answer(const net::HttpRequest& req, std::string_view cap) {
  return net::HttpResponse::text(413, "body over " + std::string(cap) + " on " + req.path + "\n");
}

}  // namespace

// `self` is kept for the callers: the listener itself counts what this API refuses.
LocalApi::LocalApi(net::HttpServer& server, TimerService& timers,
                   [[maybe_unused]] SelfMetrics& self, FlushRequester request_flush,
                   LocalApiOptions options)
    : timers_(timers), request_flush_(std::move(request_flush)), invocations_(options.invocations) {
  net::RouteOptions small;
  small.max_body = kSmallBody;
  // The listener counts the drop (dropped{kind:local_api, reason:too_large}).
  small.on_too_large = [](const net::HttpRequest& req) { return too_large_answer(req, "64 KiB"); };
  server.route(
      "GET", "/lambda/hello",
      [](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
        LC_DEBUG("local api: hello");
        r->respond(net::HttpResponse::json(200, "{}"));
      },
      small);
  auto flush = [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
    LC_ASSERT_ON_LOOP(loop_thread_);
    // Answer once the flush completed or after 90 ms, whichever is first (§7.1).
    auto answered = std::make_shared<bool>(false);
    auto answer = [r, answered] {
      if (*answered) return;
      *answered = true;
      r->respond(net::HttpResponse::json(200, "{}"));
    };
    auto timer = std::make_shared<Timer>(timers_.schedule_after(kFlushAnswerAfter, answer));
    request_flush_([answer, timer] {
      timer->cancel();
      answer();
    });
  };
  server.route("GET", "/lambda/flush", flush, small);
  server.route("POST", "/lambda/flush", flush, small);
  route_invocation_calls(server);
}

void LocalApi::route_invocation_calls(net::HttpServer& server) {
  if (invocations_ == nullptr) {
    // §7.1: extension mode only.
    net::RouteOptions small;
    small.max_body = kSmallBody;
    auto not_here = [](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
      LC_DEBUG("local api: {} is served in extension mode only", req.path);
      r->respond(net::HttpResponse::text(404, req.path + " is served in extension mode only\n"));
    };
    server.route("POST", "/lambda/start-invocation", not_here, small);
    server.route("POST", "/lambda/end-invocation", not_here, small);
    return;
  }
  auto request_id = [](const net::HttpRequest& req) {
    return header_or_empty(req, kRequestIdHeader);
  };

  net::RouteOptions start_options;
  start_options.max_body = kInvocationBody;
  // Over the cap the invocation is still opened from its header, as if the body were {}.
  start_options.on_too_large = [this, request_id](const net::HttpRequest& headers_only) {
    LC_ASSERT_ON_LOOP(loop_thread_);
    invocations_->on_start_invocation(request_id(headers_only), start_of(headers_only, "{}", true));
    return too_large_answer(headers_only, "6 MiB");
  };
  server.route(
      "POST", "/lambda/start-invocation",
      [this, request_id](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
        LC_ASSERT_ON_LOOP(loop_thread_);
        const std::string id = request_id(req);
        const std::string paired =
            invocations_->on_start_invocation(id, start_of(req, std::move(req.body), false));
        LC_DEBUG("local api: start-invocation (header id '{}', paired '{}')", id, paired);
        r->respond(net::HttpResponse::json(200, "{}"));
      },
      start_options);

  net::RouteOptions end_options;
  end_options.max_body = kInvocationBody;
  // Over the cap the end still counts from its headers (error header, trace ids).
  end_options.on_too_large = [this, request_id](const net::HttpRequest& headers_only) {
    LC_ASSERT_ON_LOOP(loop_thread_);
    invocations_->on_end_invocation(request_id(headers_only), end_of(headers_only, {}));
    return too_large_answer(headers_only, "6 MiB");
  };
  // The body was read fully before this runs (the listener answers only then).
  server.route(
      "POST", "/lambda/end-invocation",
      [this, request_id](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
        LC_ASSERT_ON_LOOP(loop_thread_);
        const std::string id = request_id(req);
        const std::string paired =
            invocations_->on_end_invocation(id, end_of(req, std::move(req.body)));
        LC_DEBUG("local api: end-invocation (header id '{}', paired '{}')", id, paired);
        r->respond(net::HttpResponse::json(200, "{}"));
      },
      end_options);
}

}  // namespace lc::lambda
