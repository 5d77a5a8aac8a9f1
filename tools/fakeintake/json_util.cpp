#include "json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <limits>

namespace lc::fakeintake {

Expected<boost::json::value> parse_json(std::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value v =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "invalid JSON: " + ec.message());
  return v;
}

std::string to_json(const boost::json::value& v) { return boost::json::serialize(v); }

std::optional<std::int64_t> json_int(const boost::json::value& v) {
  if (const auto* i = v.if_int64()) return *i;
  if (const auto* u = v.if_uint64()) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* d = v.if_double()) {
    if (!std::isfinite(*d) || std::trunc(*d) != *d || std::fabs(*d) > 9.0e18) return std::nullopt;
    return static_cast<std::int64_t>(*d);
  }
  return std::nullopt;
}

std::optional<double> json_number(const boost::json::value& v) {
  if (const auto* i = v.if_int64()) return static_cast<double>(*i);
  if (const auto* u = v.if_uint64()) return static_cast<double>(*u);
  if (const auto* d = v.if_double()) return *d;
  return std::nullopt;
}

const boost::json::value* json_field(const boost::json::value& obj, std::string_view key) {
  const auto* o = obj.if_object();
  if (o == nullptr) return nullptr;
  return o->if_contains(boost::json::string_view(key.data(), key.size()));
}

}  // namespace lc::fakeintake
