// lambda/local_api.h — the local API on 127.0.0.1:8124 (lambda-agent.md §7.1), served in every
// mode: GET /lambda/hello, GET|POST /lambda/flush (answers when the forced flush completed or after
// 90 ms, whichever is first; the flush goes on), both with a 64 KiB body cap. In extension mode
// also POST /lambda/start-invocation and POST /lambda/end-invocation (6 MiB caps), parsed into the
// plain values of lambda/tracer_calls.h and handed to the InvocationProcessor (which pairs them and
// counts their error evidence); elsewhere those two answer 404. Over a cap: 413, counted by the
// listener as dropped{kind:local_api, reason:too_large}; an oversized start still opens the
// invocation from its lambda-runtime-aws-request-id header as if the body were {} (an oversized
// end likewise ends it from its headers alone). Both answer 200 {} once the body was read.
// Not here yet (traces work): the start-invocation trace-context response headers, the span.
// Built by the composition root (app/) once its listener is bound; everything runs on the loop
// thread.
#pragma once

#include <cstddef>
#include <functional>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "core/thread_owner.h"
#include "net/http_server.h"

namespace lc::lambda {

class InvocationProcessor;

struct LocalApiOptions {
  // Extension mode: start-invocation and end-invocation feed this processor (which must outlive
  // the LocalApi). nullptr (sidecar, wrapper): those two routes answer 404.
  InvocationProcessor* invocations = nullptr;
};

class LocalApi {
 public:
  // request_flush(done): start (or join) a forced flush; call done() when it completed.
  using FlushRequester = std::function<void(std::function<void()> done)>;

  static constexpr std::size_t kSmallBody = 64 * 1024;             // hello, flush
  static constexpr std::size_t kInvocationBody = 6 * 1024 * 1024;  // start/end-invocation

  LocalApi(net::HttpServer& server, TimerService& timers, SelfMetrics& self,
           FlushRequester request_flush, LocalApiOptions options = {});

 private:
  void route_invocation_calls(net::HttpServer& server);

  TimerService& timers_;
  FlushRequester request_flush_;
  InvocationProcessor* invocations_;
  ThreadOwner loop_thread_;
};

}  // namespace lc::lambda
