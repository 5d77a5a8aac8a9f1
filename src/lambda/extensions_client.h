// lambda/extensions_client.h — the extension side of the Lambda Extensions and Telemetry APIs:
// register, /next (no client timeout: the sandbox may freeze mid-call), telemetry subscribe.
// Owned by the extension composition root; callbacks run on the loop thread.
#pragma once

#include <functional>
#include <string>

#include "core/clock.h"
#include "core/expected.h"
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
  ExtensionsClient(net::HttpClient& http, const Clock& clock, TimerService& timers,
                   std::string runtime_api);

  // POST /2020-01-01/extension/register. Events: INVOKE+SHUTDOWN, or SHUTDOWN only in LMI.
  // A transport error is retried once after 10 ms (lambda-agent.md §1.2).
  void register_extension(std::string name, bool lmi,
                          std::function<void(Expected<RegisterReply>, ApiError)> done);

  // GET /2020-01-01/extension/event/next with no deadline.
  void next(std::function<void(Expected<ExtensionEvent>, ApiError)> done);

  // PUT /2022-07-01/telemetry with the given subscription body; reports the HTTP status
  // (0 for a transport error) and the body.
  void subscribe_telemetry(std::string body,
                           std::function<void(int status, std::string body)> done);

  const std::string& extension_id() const { return extension_id_; }
  std::string base_url() const { return "http://" + runtime_api_; }

 private:
  void do_register(std::string name, bool lmi, int attempt,
                   std::function<void(Expected<RegisterReply>, ApiError)> done);

  net::HttpClient& http_;
  const Clock& clock_;
  TimerService& timers_;
  std::string runtime_api_;
  std::string extension_id_;
  Timer register_retry_;
};

// errorType/errorMessage from a Lambda API error body, "" when absent.
ApiError parse_api_error(int status, std::string_view body);

}  // namespace lc::lambda
