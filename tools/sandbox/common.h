// tools/sandbox/common.h — small helpers shared by lastcall-sandbox's parts: the one Boost.JSON
// parse adapter (no exceptions escape), request/event identifiers (UUID v4), ISO-8601 timestamps.
// Pure functions; the identifier generator owns a per-thread RNG.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/expected.h"

namespace lc::sandbox {

// Parses JSON text; a parse error becomes kInvalidArgument naming the offset problem.
Expected<boost::json::value> parse_json(std::string_view text);
std::string to_json(const boost::json::value& value);

// Random UUID v4, lowercase: "3da1f2dc-3222-475e-9205-e2e6c6318895".
std::string make_uuid();
bool is_uuid(std::string_view s);

// "2025-10-12T00:00:15.064Z" for an epoch time in milliseconds.
std::string iso8601_ms(std::int64_t epoch_ms);
// The clock's wall time now, epoch milliseconds (fractional for the timeline).
double now_epoch_ms(const Clock& clock);
std::int64_t now_epoch_ms_int(const Clock& clock);

// {"errorType":type,"errorMessage":message}, properly escaped.
std::string error_body(std::string_view type, std::string_view message);

// Member helpers on a parsed object: nullopt when absent or of another type.
std::optional<std::string_view> get_string(const boost::json::object& o, std::string_view key);
std::optional<std::int64_t> get_int(const boost::json::object& o, std::string_view key);

}  // namespace lc::sandbox
