// lambda/extension_events.h — parsing the Extensions API's register reply and /next events
// (lambda-platform.md §2.1–2.2). Pure functions on JSON text; every field optional, unknown
// members ignored, eventType and shutdownReason compared case-insensitively.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace lc::lambda {

struct RegisterReply {
  std::string extension_id;  // Lambda-Extension-Identifier header (mandatory)
  std::string function_name, function_version, handler, account_id;  // body, each optional
};

// body may be empty or not JSON: the identifier alone makes a registration.
Expected<RegisterReply> parse_register_reply(std::string_view extension_id_header,
                                             std::string_view body);

struct ExtensionEvent {
  enum class Type { kInvoke, kShutdown, kUnknown };
  Type type = Type::kUnknown;
  std::string event_type;        // as received
  std::int64_t deadline_ms = 0;  // absolute epoch ms (a relative value < 1e12 is converted)
  std::string request_id;
  std::string invoked_function_arn;
  std::string tracing_value;    // X-Amzn-Trace-Id value, "" when absent
  std::string shutdown_reason;  // lower-cased ("spindown", "timeout", "failure", or verbatim)
};

// now_ms: wall clock at receipt, used only for the defensive relative-deadline conversion.
Expected<ExtensionEvent> parse_extension_event(std::string_view body, std::int64_t now_ms);

}  // namespace lc::lambda
