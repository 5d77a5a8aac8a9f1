#include "lambda/extension_events.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/strings.h"

namespace lc::lambda {
namespace {

std::string string_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) {
    if (const auto* s = v->if_string()) return std::string(s->data(), s->size());
  }
  return {};
}

std::int64_t int_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) {
    if (const auto* i = v->if_int64()) return *i;
    if (const auto* u = v->if_uint64()) return static_cast<std::int64_t>(*u);
    if (const auto* d = v->if_double()) return static_cast<std::int64_t>(*d);
  }
  return 0;
}

}  // namespace

Expected<RegisterReply> parse_register_reply(std::string_view extension_id_header,
                                             std::string_view body) {
  RegisterReply reply;
  reply.extension_id = std::string(trim(extension_id_header));
  if (reply.extension_id.empty()) {
    return make_error(ErrorCode::kProtocol,
                      "register reply has no Lambda-Extension-Identifier header");
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (!ec) {
    if (const auto* o = v.if_object()) {
      reply.function_name = string_member(*o, "functionName");
      reply.function_version = string_member(*o, "functionVersion");
      reply.handler = string_member(*o, "handler");
      reply.account_id = string_member(*o, "accountId");
    }
  }
  return reply;
}

Expected<ExtensionEvent> parse_extension_event(std::string_view body, std::int64_t now_ms) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec) return make_error(ErrorCode::kProtocol, "event is not JSON: " + ec.message());
  const auto* o = v.if_object();
  if (o == nullptr) return make_error(ErrorCode::kProtocol, "event is not a JSON object");
  ExtensionEvent e;
  e.event_type = string_member(*o, "eventType");
  if (iequals(e.event_type, "INVOKE")) {
    e.type = ExtensionEvent::Type::kInvoke;
  } else if (iequals(e.event_type, "SHUTDOWN")) {
    e.type = ExtensionEvent::Type::kShutdown;
  }
  e.deadline_ms = int_member(*o, "deadlineMs");
  // lambda-platform.md §2.2: absolute epoch ms; a value < 1e12 would be relative (never observed).
  if (e.deadline_ms > 0 && e.deadline_ms < 1'000'000'000'000) e.deadline_ms += now_ms;
  e.request_id = string_member(*o, "requestId");
  e.invoked_function_arn = string_member(*o, "invokedFunctionArn");
  if (const auto* t = o->if_contains("tracing")) {
    if (const auto* to = t->if_object()) e.tracing_value = string_member(*to, "value");
  }
  e.shutdown_reason = to_lower(string_member(*o, "shutdownReason"));
  return e;
}

}  // namespace lc::lambda
