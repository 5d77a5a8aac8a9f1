// tools/sandbox/requests.h — validation of what callers send the sandbox: the Extensions API
// register body and headers, the Telemetry API subscribe body, identifier headers,
// control-interface queries. Called by the Sandbox's HTTP handlers (and the fuzz target). Pure
// functions: bad input becomes a Rejection with the documented status and errorType
// (lambda-platform.md §2.4, §4.1), never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace lc::sandbox {

// The answer to send instead of a value: each parser returns Expected<T, Rejection>.
struct Rejection {
  int status = 400;
  std::string error_type;
  std::string message;
};

struct RegisterRequest {
  std::string name;
  bool invoke = false;
  bool shutdown = false;
  bool want_account_id = false;
  std::vector<std::string> events;  // as given, normalised to upper case
};

// Header values are nullopt when absent. lmi: INVOKE is refused (§5.1).
Expected<RegisterRequest, Rejection> parse_register(std::optional<std::string_view> name_header,
                                                    std::optional<std::string_view> feature_header,
                                                    std::string_view body, bool lmi);

// Lambda-Extension-Identifier: missing / not a UUID → the 403 of §2.2. nullopt when well formed.
std::optional<Rejection> check_identifier_header(std::optional<std::string_view> header);

inline constexpr int kMinMaxItems = 1000, kMaxMaxItems = 10000, kDefaultMaxItems = 10000;
inline constexpr int kMinMaxBytes = 262144, kMaxMaxBytes = 1048576, kDefaultMaxBytes = 262144;
inline constexpr int kMinTimeoutMs = 25, kMaxTimeoutMs = 30000, kDefaultTimeoutMs = 1000;

struct SubscribeRequest {
  std::string schema_version;
  std::vector<std::string> types;  // subset of platform/function/extension, deduplicated
  int max_items = kDefaultMaxItems;
  int max_bytes = kDefaultMaxBytes;
  int timeout_ms = kDefaultTimeoutMs;
  std::string uri;          // as given
  std::uint16_t port = 80;  // the destination port; the host is always 127.0.0.1
  std::string path = "/";   // path (and query) kept for delivery
  bool wants(std::string_view type) const;
};

// lmi: only schema 2025-01-29 (§5.1). Every problem → 400 ValidationError naming the member.
Expected<SubscribeRequest, Rejection> parse_subscribe(std::string_view body, bool lmi);

// GET /wait?event=..&count=..&timeout_ms=..&<field>=<value>...
struct WaitQuery {
  std::string event;
  std::size_t count = 1;
  std::int64_t timeout_ms = 10000;
  std::map<std::string, std::string> filters;  // other query parameters: field must equal value
};
Expected<WaitQuery, Rejection> parse_wait_query(std::string_view raw_query);

// "a=1&b=x%20y" → {{"a","1"},{"b","x y"}}; later duplicates win.
std::map<std::string, std::string> parse_query(std::string_view raw_query);

// POST /shutdown?reason=spindown|timeout|failure (default spindown).
Expected<std::string, Rejection> parse_shutdown_reason(std::optional<std::string_view> reason);

}  // namespace lc::sandbox
