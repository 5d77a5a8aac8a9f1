#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <string>

#include <fmt/format.h>
#include <boost/json/stream_parser.hpp>

namespace lc {
namespace {

Error syntax_error(std::string_view text, std::size_t offset, const boost::system::error_code& ec) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t last_nl = before.rfind('\n');
  const std::size_t column = last_nl == std::string_view::npos ? offset + 1 : offset - last_nl;
  return make_error(ErrorCode::kInvalidArgument, fmt::format("line {}, column {} (offset {}): {}",
                                                             line, column, offset, ec.message()));
}

}  // namespace

Expected<boost::json::value> parse_json(std::string_view text, const JsonParseOptions& options) {
  boost::json::parse_options po;
  po.max_depth = options.max_depth;
  po.allow_invalid_utf8 = options.allow_invalid_utf8;
  try {
    boost::json::stream_parser parser(boost::json::storage_ptr(), po);
    boost::system::error_code ec;
    // On an error, write() returns the offset where parsing stopped.
    const std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (ec) return syntax_error(text, consumed, ec);
    parser.finish(ec);
    if (ec) return syntax_error(text, text.size(), ec);
    return parser.release();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kTooLarge,
                      fmt::format("out of memory parsing {} bytes of JSON", text.size()));
  } catch (const std::exception& e) {  // e.g. a string longer than Boost.JSON's maximum
    return make_error(ErrorCode::kInvalidArgument, std::string("JSON: ") + e.what());
  }
}

namespace json {

std::optional<std::string_view> as_string(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return view(*s);
  return std::nullopt;
}

std::optional<std::int64_t> as_int64(const boost::json::value& v) {
  if (const auto* i = v.if_int64()) return *i;
  if (const auto* u = v.if_uint64()) {
    if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(*u);
    }
    return std::nullopt;
  }
  if (const auto* d = v.if_double()) {
    // [-2^63, 2^63): both bounds are exact doubles; NaN fails both comparisons.
    constexpr double kLimit = 9223372036854775808.0;
    if (*d >= -kLimit && *d < kLimit && std::trunc(*d) == *d) return static_cast<std::int64_t>(*d);
  }
  return std::nullopt;
}

std::optional<double> as_double(const boost::json::value& v) {
  if (const auto* d = v.if_double()) return *d;
  if (const auto* i = v.if_int64()) return static_cast<double>(*i);
  if (const auto* u = v.if_uint64()) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<bool> as_bool(const boost::json::value& v) {
  if (const auto* b = v.if_bool()) return *b;
  return std::nullopt;
}

std::optional<std::string_view> string_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) return as_string(*v);
  return std::nullopt;
}

std::optional<std::int64_t> int64_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) return as_int64(*v);
  return std::nullopt;
}

std::optional<double> double_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) return as_double(*v);
  return std::nullopt;
}

std::optional<bool> bool_member(const boost::json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) return as_bool(*v);
  return std::nullopt;
}

const boost::json::object* object_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

const boost::json::array* array_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_array() : nullptr;
}

}  // namespace json
}  // namespace lc
