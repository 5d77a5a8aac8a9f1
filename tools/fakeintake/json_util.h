// fakeintake/json_util.h — the fake intake's one adapter around Boost.JSON: parsing that reports
// errors as values (never throws), plus small typed accessors (base64 for binary fields is
// core/strings.h).
// Used by every fakeintake decoder and by the query API. Owns nothing.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace lc::fakeintake {

// Parses one JSON document (nesting ≤ 64). Errors are kInvalidArgument with a one-line reason.
Expected<boost::json::value> parse_json(std::string_view text);

std::string to_json(const boost::json::value& v);

// Integral JSON number (int64, uint64 ≤ INT64_MAX, or a double with no fraction).
std::optional<std::int64_t> json_int(const boost::json::value& v);
// Any JSON number.
std::optional<double> json_number(const boost::json::value& v);
// Field lookup on an object; nullptr when absent or `obj` is not an object.
const boost::json::value* json_field(const boost::json::value& obj, std::string_view key);

}  // namespace lc::fakeintake
