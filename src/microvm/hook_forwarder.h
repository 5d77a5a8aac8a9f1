// microvm/hook_forwarder.h — the forwarder of serverless-init.md §7.5: a lifecycle hook the
// platform sent to lastcall is re-sent to the user's app on 127.0.0.1:<app port> and the app's
// answer is reduced to what the platform gets (status, Content-Type, body ≤ 1 MiB), or to 503/504
// when the app could not answer.
//
// Why not net::HttpClient: that client is built for intakes (pooled keep-alive connections, proxy,
// TLS, retry of a stale pooled connection, compression headers, one error for "no answer"). A hook
// needs the opposite on every point: a new TCP connection per hook (a pooled connection is stale
// after a snapshot restore, and a failed POST is not safely retryable), no retry, no proxy, no TLS,
// no redirect followed, nothing requested or decoded, and it must tell "no response headers yet"
// (504, or 503 for ready/validate) from "headers came, the body did not finish" (the app's status
// with the bytes read so far), plus a 200 ms dial check for ready/validate. So this is a small
// dedicated client on Boost.Asio/Beast, on the loop's io_context.
//
// Threading: construct, call forward() and destroy on the loop thread (the io_context's one
// thread). Every 503/504 and every partial or cut body is logged here at warn (at most one line per
// hook and outcome per minute), so the caller need not. Borrows the io_context, the clock, the
// timer service and the self-metrics; all of them must outlive the forwarder.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/microvm_config.h"
#include "core/self_metrics.h"
#include "microvm/hook_upstream.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace lc::microvm {

// The reachability check that bounds ready/validate before their long forward (§7.5, §7.7).
inline constexpr Millis kDialCheckTimeout{200};
// Self-metric counting app answers cut at kMaxHookBody (§7.5, §9).
inline constexpr std::string_view kResponseTruncated = "lastcall.microvm.response_truncated";

class HookForwarder final : public HookUpstream {
 public:
  // app_port: DD_AWS_MICROVM_USER_APP_PORT (1–65535; anything else answers every forward 503).
  HookForwarder(boost::asio::io_context& io, const Clock& clock, TimerService& timers, int app_port,
                SelfMetrics& self);
  // Cancels every forward in flight: its connection is closed and its `done` never runs.
  ~HookForwarder() override;
  HookForwarder(const HookForwarder&) = delete;
  HookForwarder& operator=(const HookForwarder&) = delete;

  // POST http://127.0.0.1:<app port><hook path> on a new connection. `timeout` bounds the whole
  // exchange (connect, request, response headers and body) for run/resume/suspend/terminate, and
  // everything after the 200 ms dial check for ready/validate. Several forwards may run at once.
  void forward(HookRequest request, Millis timeout,
               std::function<void(HookResponse)> done) override;

  // Forwards started and not yet answered (or cancelled).
  std::size_t in_flight() const;
  std::string describe() const;

  struct State;    // shared with the exchanges in flight; defined in the .cpp
  class Exchange;  // one forward in flight; defined in the .cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lc::microvm
