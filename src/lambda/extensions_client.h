// lambda/extensions_client.h — the extension side of the Lambda Extensions and Telemetry APIs:
// register, /next (no client timeout: the sandbox may freeze mid-call), telemetry subscribe.
// Owned by the extension composition root; callbacks run on the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/clock.h"
#include "core/expected.h"
#include "core/log_limiter.h"
#include "core/self_metrics.h"
#include "lambda/extension_events.h"
#include "net/http_client.h"

namespace lc::lambda {

struct ApiError {
  int status = 0;          // 0 = transport error
  std::string error_type;  // from the body's errorType, when present
  std::string message;
};

class ExtensionsClient {
 public:
  static constexpr std::string_view kDropKind = "extensions_api";
  // Register and subscribe (with its retries) share this budget, counted from the register call:
  // the platform caps on-demand init at 10 s for the runtime and every extension together
  // (lambda-platform.md §3.1), so a hung Runtime API must not take longer than that to be
  // reported, and the error line and the exit must come before the platform's cut.
  static constexpr Millis kInitBudget{9000};
  // Malformed /next answers in a row that are asked again at once; after them each new /next
  // waits twice as long as the last (from 10 ms up to kMalformedMaxDelay), so a platform that
  // keeps answering garbage costs a request per second, not a spinning CPU.
  static constexpr int kMalformedImmediate = 3;
  static constexpr Millis kMalformedMaxDelay{1000};

  ExtensionsClient(net::HttpClient& http, const Clock& clock, TimerService& timers,
                   SelfMetrics& self, std::string runtime_api);

  // POST /2020-01-01/extension/register. Events: INVOKE+SHUTDOWN, or SHUTDOWN only in LMI.
  // A transport error is retried once after 10 ms (lambda-agent.md §1.2). Starts the init
  // budget: both attempts together end by kInitBudget.
  void register_extension(std::string name, bool lmi,
                          std::function<void(Expected<RegisterReply>, ApiError)> done);

  // GET /2020-01-01/extension/event/next with no deadline. A 200 whose body is not an event
  // (not JSON, not an object) is logged with the body, counted as
  // lastcall.dropped{kind:extensions_api,reason:malformed} and asked again (rate-bounded,
  // see kMalformedImmediate); `done` sees only events, non-200 answers and transport errors.
  void next(std::function<void(Expected<ExtensionEvent>, ApiError)> done);

  // PUT /2022-07-01/telemetry with the given subscription body; reports the HTTP status
  // (0 for a transport error or when the init budget is spent) and the body. Bounded by what is
  // left of the init budget (5 s when register_extension was never called).
  void subscribe_telemetry(std::string body,
                           std::function<void(int status, std::string body)> done);

  const std::string& extension_id() const { return extension_id_; }
  std::string base_url() const { return "http://" + runtime_api_; }
  std::uint64_t malformed_events() const { return malformed_events_; }

 private:
  using NextCallback = std::function<void(Expected<ExtensionEvent>, ApiError)>;
  void do_register(std::string name, bool lmi, int attempt,
                   std::function<void(Expected<RegisterReply>, ApiError)> done);
  void request_next(NextCallback done);
  void on_malformed_event(const Error& error, std::string_view body, NextCallback done);

  net::HttpClient& http_;
  const Clock& clock_;
  TimerService& timers_;
  SelfMetrics& self_;
  std::string runtime_api_;
  std::string extension_id_;
  Deadline init_deadline_ = Deadline::none();
  bool init_started_ = false;
  int malformed_in_a_row_ = 0;
  std::uint64_t malformed_events_ = 0;
  Timer next_timer_;          // the pending delayed /next after malformed answers
  LogLimiter malformed_log_;  // for malformed answers beyond kMalformedImmediate in a row
  Timer register_retry_;
};

// errorType/errorMessage from a Lambda API error body, "" when absent.
ApiError parse_api_error(int status, std::string_view body);

}  // namespace lc::lambda
