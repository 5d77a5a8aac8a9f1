#include "lambda/telemetry.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::lambda {

std::string telemetry_subscription_body(const SubscriptionOptions& o) {
  const bool latest = o.lmi != o.alternate_schema;
  std::string types = "\"platform\"";
  if (o.logs_enabled || o.enhanced_metrics) types += ",\"function\"";
  if (o.logs_enabled) types += ",\"extension\"";
  return fmt::format(
      R"({{"schemaVersion":"{}","types":[{}],"buffering":{{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}},"destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{}/"}}}})",
      latest ? "2025-01-29" : "2022-12-13", types, o.port);
}

bool is_own_log_line(std::string_view line) { return starts_with(line, "DD_EXTENSION | "); }

TelemetryListener::TelemetryListener(net::HttpServer& server, SelfMetrics& self, Sink sink)
    : self_(self), sink_(std::move(sink)) {
  net::RouteOptions options;
  options.max_body = kTelemetryMaxBody;
  options.on_too_large = [](const net::HttpRequest&) {
    // A non-2xx answer would make the platform resend the same batch forever (§1.3). The listener
    // counts the drop (dropped{kind:telemetry, reason:too_large}).
    return net::HttpResponse{200, {}, ""};
  };
  server.route(
      "POST", "/*",
      [this](net::HttpRequest& req, const std::shared_ptr<net::Responder>& responder) {
        responder->respond(net::HttpResponse{200, {}, ""});
        ++batches_;
        process_telemetry_batch(req.body, self_, sink_);
      },
      std::move(options));
}

std::size_t process_telemetry_batch(std::string_view body, SelfMetrics& self,
                                    const TelemetryListener::Sink& sink) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  const auto* array = ec ? nullptr : v.if_array();
  if (array == nullptr) {
    self.dropped("telemetry", "malformed");
    LC_DEBUG("telemetry: malformed batch of {} bytes dropped", body.size());
    return 0;
  }
  std::size_t handed = 0;
  for (const auto& element : *array) {
    const auto* o = element.if_object();
    const auto* type = o ? o->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      self.dropped("telemetry", "malformed");
      continue;
    }
    TelemetryEvent e;
    e.type = std::string(type->get_string());
    if (const auto* t = o->if_contains("time"); t && t->is_string())
      e.time = std::string(t->get_string());
    if (const auto* r = o->if_contains("record")) {
      if (r->is_string()) {
        e.record = boost::json::serialize(*r);
        e.own_record = e.type == "extension" && is_own_log_line(r->get_string());
      } else {
        e.record = boost::json::serialize(*r);
        if (const auto* ro = r->if_object()) {
          if (const auto* m = ro->if_contains("message"); m && m->is_string()) {
            e.own_record = e.type == "extension" && is_own_log_line(m->get_string());
          }
        }
      }
    }
    self.increment("lastcall.telemetry.events", {"type:" + e.type});
    ++handed;
    if (sink) sink(e);
  }
  return handed;
}

}  // namespace lc::lambda
