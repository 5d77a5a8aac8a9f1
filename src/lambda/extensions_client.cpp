#include "lambda/extensions_client.h"

#include <algorithm>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"

namespace lc::lambda {
namespace {

std::shared_ptr<const std::string> body_of(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

}  // namespace

ApiError parse_api_error(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  if (const auto v = parse_json(body)) {
    if (const auto* o = v->if_object()) {
      e.error_type = std::string(json::string_member(*o, "errorType").value_or(""));
      e.message = std::string(json::string_member(*o, "errorMessage").value_or(""));
    }
  }
  if (e.message.empty()) e.message = std::string(body.substr(0, 200));
  return e;
}

ExtensionsClient::ExtensionsClient(net::HttpClient& http, const Clock& clock, TimerService& timers,
                                   SelfMetrics& self, std::string runtime_api)
    : http_(http),
      clock_(clock),
      timers_(timers),
      self_(self),
      runtime_api_(std::move(runtime_api)),
      malformed_log_(clock, std::chrono::minutes(1)) {}

void ExtensionsClient::register_extension(
    std::string name, bool lmi, std::function<void(Expected<RegisterReply>, ApiError)> done) {
  init_deadline_ = Deadline::after(clock_, kInitBudget);
  init_started_ = true;
  do_register(std::move(name), lmi, 0, std::move(done));
}

void ExtensionsClient::do_register(std::string name, bool lmi, int attempt,
                                   std::function<void(Expected<RegisterReply>, ApiError)> done) {
  net::HttpClientRequest req;
  req.method = "POST";
  req.url = base_url() + "/2020-01-01/extension/register";
  req.headers = {{"Lambda-Extension-Name", name},
                 {"Lambda-Extension-Accept-Feature", "accountId"},
                 {"Content-Type", "application/json"}};
  req.body = body_of(lmi ? R"({"events":["SHUTDOWN"]})" : R"({"events":["INVOKE","SHUTDOWN"]})");
  // Register is on the cold-start path but must not hang forever on a broken platform: both
  // attempts share the init budget.
  http_.request(
      std::move(req), init_deadline_,
      [this, name, lmi, attempt,
       done = std::move(done)](Expected<net::HttpClientResponse> resp) mutable {
        if (!resp) {
          if (attempt == 0 && !init_deadline_.expired(clock_)) {
            register_retry_ = timers_.schedule_after(
                Millis(10), [this, name = std::move(name), lmi, done = std::move(done)]() mutable {
                  do_register(std::move(name), lmi, 1, std::move(done));
                });
            return;
          }
          done(resp.error(), ApiError{0, "", resp.error().message});
          return;
        }
        if (resp->status != 200) {
          ApiError e = parse_api_error(resp->status, resp->body);
          done(
              make_error(ErrorCode::kProtocol, "register answered " + std::to_string(resp->status)),
              std::move(e));
          return;
        }
        auto reply = parse_register_reply(resp->header("Lambda-Extension-Identifier").value_or(""),
                                          resp->body);
        if (reply) extension_id_ = reply->extension_id;
        done(std::move(reply), ApiError{resp->status, "", ""});
      });
}

void ExtensionsClient::next(std::function<void(Expected<ExtensionEvent>, ApiError)> done) {
  request_next(std::move(done));
}

void ExtensionsClient::request_next(NextCallback done) {
  net::HttpClientRequest req;
  req.method = "GET";
  req.url = base_url() + "/2020-01-01/extension/event/next";
  req.headers = {{"Lambda-Extension-Identifier", extension_id_}};
  http_.request(
      std::move(req), Deadline::none(),
      [this, done = std::move(done)](Expected<net::HttpClientResponse> resp) mutable {
        if (!resp) {
          done(resp.error(), ApiError{0, "", resp.error().message});
          return;
        }
        if (resp->status != 200) {
          ApiError e = parse_api_error(resp->status, resp->body);
          done(make_error(ErrorCode::kProtocol, "next answered " + std::to_string(resp->status)),
               std::move(e));
          return;
        }
        auto event = parse_extension_event(resp->body, clock_.wall_ms());
        if (!event) {
          on_malformed_event(event.error(), resp->body, std::move(done));
          return;
        }
        malformed_in_a_row_ = 0;
        done(std::move(event), ApiError{resp->status, "", ""});
      });
}

// The platform is still there (it answered 200), so ending the extension would hang every
// invocation (lambda-agent.md §1.2: never stop calling /next); the event is lost, not the process.
void ExtensionsClient::on_malformed_event(const Error& error, std::string_view body,
                                          NextCallback done) {
  ++malformed_events_;
  ++malformed_in_a_row_;
  self_.dropped(kDropKind, "malformed");  // as the telemetry listener counts its own
  Millis delay{0};
  if (malformed_in_a_row_ > kMalformedImmediate) {
    const int doublings = std::min(malformed_in_a_row_ - kMalformedImmediate - 1, 10);
    delay = std::min<Millis>(Millis(10) * (1 << doublings), kMalformedMaxDelay);
  }
  // One line per answer while they are few; a platform that keeps answering garbage gets one
  // line a minute, saying how many were not logged (stdout goes to CloudWatch in extension mode).
  LogLimiter::Decision log{true, 0};
  if (malformed_in_a_row_ > kMalformedImmediate) log = malformed_log_.allow("malformed");
  if (log) {
    LC_WARN(
        "/next answered 200 with a malformed event ({}): \"{}\" ({} bytes); calling /next "
        "again{}{}",
        error.message, escape_for_log(body, 200), body.size(),
        delay.count() > 0 ? fmt::format(" in {} ms", delay.count()) : std::string(),
        log.suppressed > 0 ? fmt::format(" ({} more not logged)", log.suppressed) : std::string());
  }
  if (delay.count() == 0) {
    request_next(std::move(done));
    return;
  }
  next_timer_ = timers_.schedule_after(
      delay, [this, done = std::move(done)]() mutable { request_next(std::move(done)); });
}

void ExtensionsClient::subscribe_telemetry(std::string body,
                                           std::function<void(int, std::string)> done) {
  net::HttpClientRequest req;
  req.method = "PUT";
  req.url = base_url() + "/2022-07-01/telemetry";
  req.headers = {{"Lambda-Extension-Identifier", extension_id_},
                 {"Content-Type", "application/json"}};
  req.body = body_of(std::move(body));
  const Deadline deadline = init_started_ ? init_deadline_ : Deadline::after(clock_, Millis(5000));
  http_.request(std::move(req), deadline,
                [done = std::move(done)](Expected<net::HttpClientResponse> resp) {
                  if (!resp) {
                    done(0, resp.error().message);
                    return;
                  }
                  done(resp->status, resp->body);
                });
}

}  // namespace lc::lambda
