// core/strings.h — small string helpers shared by every stage (trim, split, case, parse numbers).
// Pure functions on string_view; no allocation unless the result is a std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lc {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool starts_with(std::string_view s, std::string_view prefix);
// Splits on any of `separators`, dropping empty pieces.
std::vector<std::string_view> split_any(std::string_view s, std::string_view separators);

std::optional<bool> parse_bool(std::string_view s);  // true/false/1/0/yes/no/on/off
std::optional<std::int64_t> parse_int(std::string_view s);
std::optional<double> parse_double(std::string_view s);  // finite only

// JSON string escaping (for hand-written JSON lines).
void append_json_escaped(std::string& out, std::string_view s);
std::string json_quote(std::string_view s);

// Escapes non-printable bytes as \xNN for log lines, cut at max_bytes.
std::string escape_for_log(std::string_view s, size_t max_bytes = 100);

// Standard base64 (RFC 4648 §4, with '=' padding): proxy credentials, binary fields in JSON.
std::string base64_encode(std::string_view bytes);

}  // namespace lc
