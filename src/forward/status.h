// forward/status.h — the one mapping from an intake's answer (HTTP status or transport error) to a
// SendOutcome, per the status table of datadog-wire.md §4.0. Called by HttpExporter for every
// response; the Forwarder acts on the outcome. Pure functions; owns nothing.
#pragma once

#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/expected.h"
#include "core/pipeline.h"
#include "net/http_client.h"

namespace lc::forward {

// 2xx → Ok; 1xx (no final answer), 408, 429, 5xx and transport errors → Retry; 413 → Split;
// 400 → Drop bad_request; 401/403 → Drop forbidden; 404 → Drop not_found; other 4xx and 3xx →
// Drop http_<code>. Transport errors carry their kind as the reason: dns, connect, tls, timeout,
// network (reset or closed mid-exchange), protocol. A malformed URL (kInvalidArgument) will never
// succeed, so it is dropped as bad_url instead of filling the retry queue.
// `now` resolves an HTTP-date Retry-After; `url` only feeds the outcome's log detail.
SendOutcome classify_response(const Expected<net::HttpClientResponse>& result, WallTime now,
                              std::string_view url);

// Retry-After as delay-seconds ("120") or HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT") in ms from
// `now`; nullopt when absent or unparsable; a date in the past is 0.
std::optional<std::int64_t> parse_retry_after(std::string_view value, WallTime now);

// Case-insensitive header lookup on a client response (first match).
std::optional<std::string_view> response_header(const net::HttpClientResponse& response,
                                                std::string_view name);

}  // namespace lc::forward
