#include "lambda/extensions_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/logger.h"

namespace lc::lambda {
namespace {

std::shared_ptr<const std::string> body_of(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

}  // namespace

ApiError parse_api_error(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (!ec) {
    if (const auto* o = v.if_object()) {
      if (const auto* t = o->if_contains("errorType"); t && t->is_string()) {
        e.error_type = std::string(t->get_string());
      }
      if (const auto* m = o->if_contains("errorMessage"); m && m->is_string()) {
        e.message = std::string(m->get_string());
      }
    }
  }
  if (e.message.empty()) e.message = std::string(body.substr(0, 200));
  return e;
}

ExtensionsClient::ExtensionsClient(net::HttpClient& http, const Clock& clock, TimerService& timers,
                                   std::string runtime_api)
    : http_(http), clock_(clock), timers_(timers), runtime_api_(std::move(runtime_api)) {}

void ExtensionsClient::register_extension(
    std::string name, bool lmi, std::function<void(Expected<RegisterReply>, ApiError)> done) {
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
  // Register is on the cold-start path but must not hang forever on a broken platform.
  const Deadline deadline = Deadline::after(clock_, Millis(10000));
  http_.request(
      std::move(req), deadline,
      [this, name, lmi, attempt,
       done = std::move(done)](Expected<net::HttpClientResponse> resp) mutable {
        if (!resp) {
          if (attempt == 0) {
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
  net::HttpClientRequest req;
  req.method = "GET";
  req.url = base_url() + "/2020-01-01/extension/event/next";
  req.headers = {{"Lambda-Extension-Identifier", extension_id_}};
  http_.request(
      std::move(req), Deadline::none(),
      [this, done = std::move(done)](Expected<net::HttpClientResponse> resp) {
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
        done(parse_extension_event(resp->body, clock_.wall_ms()), ApiError{resp->status, "", ""});
      });
}

void ExtensionsClient::subscribe_telemetry(std::string body,
                                           std::function<void(int, std::string)> done) {
  net::HttpClientRequest req;
  req.method = "PUT";
  req.url = base_url() + "/2022-07-01/telemetry";
  req.headers = {{"Lambda-Extension-Identifier", extension_id_},
                 {"Content-Type", "application/json"}};
  req.body = body_of(std::move(body));
  http_.request(std::move(req), Deadline::after(clock_, Millis(5000)),
                [done = std::move(done)](Expected<net::HttpClientResponse> resp) {
                  if (!resp) {
                    done(0, resp.error().message);
                    return;
                  }
                  done(resp->status, resp->body);
                });
}

}  // namespace lc::lambda
