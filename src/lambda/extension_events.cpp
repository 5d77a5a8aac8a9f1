#include "lambda/extension_events.h"

#include "core/json.h"
#include "core/strings.h"

namespace lc::lambda {
namespace {

std::string string_or_empty(const boost::json::object& o, std::string_view key) {
  return std::string(json::string_member(o, key).value_or(std::string_view()));
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
  if (const auto v = parse_json(body)) {
    if (const auto* o = v->if_object()) {
      reply.function_name = string_or_empty(*o, "functionName");
      reply.function_version = string_or_empty(*o, "functionVersion");
      reply.handler = string_or_empty(*o, "handler");
      reply.account_id = string_or_empty(*o, "accountId");
    }
  }
  return reply;
}

Expected<ExtensionEvent> parse_extension_event(std::string_view body, std::int64_t now_ms) {
  const auto v = parse_json(body);
  if (!v) return make_error(ErrorCode::kProtocol, "event is not JSON: " + v.error().message);
  const auto* o = v->if_object();
  if (o == nullptr) return make_error(ErrorCode::kProtocol, "event is not a JSON object");
  ExtensionEvent e;
  e.event_type = string_or_empty(*o, "eventType");
  if (iequals(e.event_type, "INVOKE")) {
    e.type = ExtensionEvent::Type::kInvoke;
  } else if (iequals(e.event_type, "SHUTDOWN")) {
    e.type = ExtensionEvent::Type::kShutdown;
  }
  e.deadline_ms = json::int64_member(*o, "deadlineMs").value_or(0);
  // lambda-platform.md §2.2: absolute epoch ms; a value < 1e12 would be relative (never observed).
  if (e.deadline_ms > 0 && e.deadline_ms < 1'000'000'000'000) e.deadline_ms += now_ms;
  e.request_id = string_or_empty(*o, "requestId");
  e.invoked_function_arn = string_or_empty(*o, "invokedFunctionArn");
  if (const auto* tracing = json::object_member(*o, "tracing")) {
    e.tracing_value = string_or_empty(*tracing, "value");
  }
  e.shutdown_reason = to_lower(string_or_empty(*o, "shutdownReason"));
  return e;
}

}  // namespace lc::lambda
