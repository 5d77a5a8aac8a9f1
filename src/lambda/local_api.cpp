#include "lambda/local_api.h"

#include <memory>

#include "core/logger.h"

namespace lc::lambda {
namespace {

constexpr std::size_t kSmallBody = 64 * 1024;
constexpr Millis kFlushAnswerAfter{90};

}  // namespace

// `self` is kept for the callers: the listener itself counts what this API refuses.
LocalApi::LocalApi(net::HttpServer& server, TimerService& timers,
                   [[maybe_unused]] SelfMetrics& self, FlushRequester request_flush)
    : timers_(timers), request_flush_(std::move(request_flush)) {
  net::RouteOptions small;
  small.max_body = kSmallBody;
  // The listener counts the drop (dropped{kind:local_api, reason:too_large}).
  small.on_too_large = [](const net::HttpRequest& req) {
    return net::HttpResponse::text(413, "body over 64 KiB on " + req.path + "\n");
  };
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
}

}  // namespace lc::lambda
