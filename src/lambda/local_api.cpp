#include "lambda/local_api.h"

#include <memory>

#include "core/logger.h"

namespace lc::lambda {
namespace {

constexpr std::size_t kSmallBody = 64 * 1024;
constexpr Millis kFlushAnswerAfter{90};

}  // namespace

LocalApi::LocalApi(net::HttpServer& server, TimerService& timers, SelfMetrics& self,
                   FlushRequester request_flush)
    : timers_(timers), self_(self), request_flush_(std::move(request_flush)) {
  net::RouteOptions small;
  small.max_body = kSmallBody;
  small.on_too_large = [this](const net::HttpRequest& req) {
    self_.dropped("local_api", "too_large");
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
    const auto timer = timers_.schedule_after(kFlushAnswerAfter, answer);
    request_flush_([this, answer, timer] {
      timers_.cancel(timer);
      answer();
    });
  };
  server.route("GET", "/lambda/flush", flush, small);
  server.route("POST", "/lambda/flush", flush, small);
}

}  // namespace lc::lambda
