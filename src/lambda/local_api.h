// lambda/local_api.h — the local API on 127.0.0.1:8124 (lambda-agent.md §7.1), served in every
// mode: GET /lambda/hello, GET|POST /lambda/flush (answers when the forced flush completed or after
// 90 ms, whichever is first; the flush goes on). The invocation routes come with the Lambda
// invocation work.
#pragma once

#include <functional>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "core/thread_owner.h"
#include "net/http_server.h"

namespace lc::lambda {

class LocalApi {
 public:
  // request_flush(done): start (or join) a forced flush; call done() when it completed.
  using FlushRequester = std::function<void(std::function<void()> done)>;

  LocalApi(net::HttpServer& server, TimerService& timers, SelfMetrics& self,
           FlushRequester request_flush);

 private:
  TimerService& timers_;
  FlushRequester request_flush_;
  ThreadOwner loop_thread_;
};

}  // namespace lc::lambda
