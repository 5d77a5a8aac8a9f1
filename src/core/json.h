// core/json.h — the one Boost.JSON adapter (conventions.md §5): parse_json never throws (a syntax
// error, a too-deep document or an allocation failure becomes an Error naming line, column and
// offset), and the member accessors answer std::optional / nullptr instead of throwing on a
// missing member or a wrong type. Used by every src/ folder that reads JSON (lambda/ events and
// telemetry, config values); the tools keep their own decoders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/expected.h"

namespace lc {

struct JsonParseOptions {
  std::size_t max_depth = 32;       // nesting of arrays and objects (Boost.JSON's default)
  bool allow_invalid_utf8 = false;  // accept strings with bytes that are not UTF-8, verbatim
};

// One complete JSON text (surrounding whitespace allowed, nothing else after it). On failure:
// kInvalidArgument "line L, column C (offset O): <reason>" (line and column count from 1), or
// kTooLarge when memory ran out.
Expected<boost::json::value> parse_json(std::string_view text,
                                        const JsonParseOptions& options = {});

namespace json {

inline std::string_view view(const boost::json::string& s) { return {s.data(), s.size()}; }

// Value accessors: the value when it has that type, else nullopt.
std::optional<std::string_view> as_string(const boost::json::value& v);
// An integer that fits int64: int64, uint64 ≤ INT64_MAX, or an integral double in range (the
// Lambda platform sends `128.0` for some integer fields, lambda-platform.md §4.4).
std::optional<std::int64_t> as_int64(const boost::json::value& v);
std::optional<double> as_double(const boost::json::value& v);  // any number
std::optional<bool> as_bool(const boost::json::value& v);

// Member accessors on an object: absent member or another type → nullopt / nullptr.
std::optional<std::string_view> string_member(const boost::json::object& o, std::string_view key);
std::optional<std::int64_t> int64_member(const boost::json::object& o, std::string_view key);
std::optional<double> double_member(const boost::json::object& o, std::string_view key);
std::optional<bool> bool_member(const boost::json::object& o, std::string_view key);
const boost::json::object* object_member(const boost::json::object& o, std::string_view key);
const boost::json::array* array_member(const boost::json::object& o, std::string_view key);

}  // namespace json
}  // namespace lc
