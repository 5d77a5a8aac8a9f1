#include "forward/payload_split.h"

#include <string>
#include <string_view>
#include <vector>

#include "forward/compression.h"

namespace lc::forward {
namespace {

struct Slice {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool item = false;  // part of the repeated field / array being split
};

// ---- protobuf: a flat walk over the top-level fields ----

bool read_varint(std::string_view s, std::size_t& pos, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[pos++]);
    out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

Expected<std::vector<Slice>> protobuf_fields(std::string_view s, std::uint32_t item_field) {
  std::vector<Slice> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t start = pos;
    std::uint64_t key = 0;
    if (!read_varint(s, pos, key)) {
      return make_error(ErrorCode::kInvalidArgument, "protobuf: truncated field key");
    }
    const auto field = key >> 3;
    const auto wire = key & 7;
    std::uint64_t v = 0;
    switch (wire) {
      case 0:
        if (!read_varint(s, pos, v)) {
          return make_error(ErrorCode::kInvalidArgument, "protobuf: truncated varint");
        }
        break;
      case 1:
        if (s.size() - pos < 8)
          return make_error(ErrorCode::kInvalidArgument, "protobuf: truncated fixed64");
        pos += 8;
        break;
      case 2:
        if (!read_varint(s, pos, v) || v > s.size() - pos) {
          return make_error(ErrorCode::kInvalidArgument, "protobuf: bad length-delimited field");
        }
        pos += static_cast<std::size_t>(v);
        break;
      case 5:
        if (s.size() - pos < 4)
          return make_error(ErrorCode::kInvalidArgument, "protobuf: truncated fixed32");
        pos += 4;
        break;
      default:
        return make_error(ErrorCode::kInvalidArgument,
                          "protobuf: unsupported wire type " + std::to_string(wire));
    }
    out.push_back({start, pos, field == item_field && wire == 2});
  }
  return out;
}

// ---- JSON: just enough scanning to find element boundaries ----

void skip_ws(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) {
    ++pos;
  }
}

bool skip_string(std::string_view s, std::size_t& pos) {
  // s[pos] == '"'
  for (++pos; pos < s.size(); ++pos) {
    if (s[pos] == '\\') {
      ++pos;
    } else if (s[pos] == '"') {
      ++pos;
      return true;
    }
  }
  return false;
}

// Skips one value (object, array, string, literal) at pos; containers are matched by depth.
bool skip_value(std::string_view s, std::size_t& pos) {
  skip_ws(s, pos);
  if (pos >= s.size()) return false;
  if (s[pos] == '"') return skip_string(s, pos);
  if (s[pos] == '{' || s[pos] == '[') {
    int depth = 0;
    while (pos < s.size()) {
      const char c = s[pos];
      if (c == '"') {
        if (!skip_string(s, pos)) return false;
        continue;
      }
      if (c == '{' || c == '[') {
        if (++depth > 512) return false;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++pos;
          return true;
        }
      }
      ++pos;
    }
    return false;
  }
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ',' && s[pos] != ']' && s[pos] != '}' && s[pos] != ' ' &&
         s[pos] != '\n' && s[pos] != '\r' && s[pos] != '\t') {
    ++pos;
  }
  return pos > start;
}

// Elements of the array whose '[' is at pos; on success pos is just past its ']'.
Expected<std::vector<Slice>> json_array_elements(std::string_view s, std::size_t& pos) {
  std::vector<Slice> out;
  ++pos;  // '['
  skip_ws(s, pos);
  if (pos < s.size() && s[pos] == ']') {
    ++pos;
    return out;
  }
  while (true) {
    skip_ws(s, pos);
    const std::size_t begin = pos;
    if (!skip_value(s, pos))
      return make_error(ErrorCode::kInvalidArgument, "json: bad array element");
    out.push_back({begin, pos, true});
    skip_ws(s, pos);
    if (pos >= s.size()) return make_error(ErrorCode::kInvalidArgument, "json: unterminated array");
    if (s[pos] == ',') {
      ++pos;
      continue;
    }
    if (s[pos] == ']') {
      ++pos;
      return out;
    }
    return make_error(ErrorCode::kInvalidArgument, "json: expected ',' or ']' in array");
  }
}

// The array to split: [open, close) of the brackets plus its elements.
struct JsonArray {
  std::size_t open = 0;   // index of '['
  std::size_t close = 0;  // index just past ']'
  std::vector<Slice> elements;
};

Expected<JsonArray> find_json_array(std::string_view s) {
  std::size_t pos = 0;
  skip_ws(s, pos);
  if (pos >= s.size()) return make_error(ErrorCode::kInvalidArgument, "json: empty body");
  JsonArray arr;
  if (s[pos] == '[') {
    arr.open = pos;
    auto els = json_array_elements(s, pos);
    if (!els) return els.error();
    arr.close = pos;
    arr.elements = std::move(*els);
    return arr;
  }
  if (s[pos] != '{') return make_error(ErrorCode::kInvalidArgument, "json: not an array or object");
  ++pos;
  while (true) {
    skip_ws(s, pos);
    if (pos >= s.size() || s[pos] != '"') {
      return make_error(ErrorCode::kInvalidArgument, "json: object has no array member");
    }
    if (!skip_string(s, pos)) return make_error(ErrorCode::kInvalidArgument, "json: bad key");
    skip_ws(s, pos);
    if (pos >= s.size() || s[pos] != ':')
      return make_error(ErrorCode::kInvalidArgument, "json: expected ':'");
    ++pos;
    skip_ws(s, pos);
    if (pos < s.size() && s[pos] == '[') {
      arr.open = pos;
      auto els = json_array_elements(s, pos);
      if (!els) return els.error();
      arr.close = pos;
      arr.elements = std::move(*els);
      return arr;
    }
    if (!skip_value(s, pos))
      return make_error(ErrorCode::kInvalidArgument, "json: bad member value");
    skip_ws(s, pos);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
      continue;
    }
    return make_error(ErrorCode::kInvalidArgument, "json: object has no array member");
  }
}

bool is_json(const Payload& p) { return p.content_type.find("json") != std::string::npos; }

std::uint32_t protobuf_item_field(PayloadKind kind) { return kind == PayloadKind::kTraces ? 5 : 1; }

Expected<std::string> open_body(const Payload& p) {
  if (p.content_encoding.empty()) return p.body;
  auto raw = decompress(p.content_encoding, p.body);
  if (!raw) return raw.error().with_prefix("split: ");
  return raw;
}

// Items of the original shared out: exact when the payload counted top-level entries, else in
// proportion (a traces payload counts chunks, not tracer payloads).
std::pair<std::uint32_t, std::uint32_t> share_items(std::uint32_t items, std::size_t first,
                                                    std::size_t total) {
  if (items == total)
    return {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(total - first)};
  const auto a = static_cast<std::uint32_t>(static_cast<std::uint64_t>(items) * first / total);
  return {a, items - a};
}

Payload half_of(const Payload& p, std::string body, std::uint32_t items) {
  Payload h;
  h.kind = p.kind;
  h.path = p.path;
  h.content_type = p.content_type;
  h.content_encoding.clear();
  h.body = std::move(body);
  h.items = items;
  return h;
}

}  // namespace

bool splittable_kind(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kSeriesV2:
    case PayloadKind::kSeriesV1:
    case PayloadKind::kSketches:
    case PayloadKind::kLogs:
    case PayloadKind::kTraces:
    case PayloadKind::kServiceChecks:
      return true;
    case PayloadKind::kTraceStats:
    case PayloadKind::kEvents:
      return false;
  }
  return false;
}

Expected<std::size_t> count_items(const Payload& payload) {
  if (!splittable_kind(payload.kind)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "split: " + std::string(payload_kind_name(payload.kind)) + " is not splittable");
  }
  auto body = open_body(payload);
  if (!body) return body.error();
  if (is_json(payload)) {
    auto arr = find_json_array(*body);
    if (!arr) return arr.error().with_prefix("split: ");
    return arr->elements.size();
  }
  auto fields = protobuf_fields(*body, protobuf_item_field(payload.kind));
  if (!fields) return fields.error().with_prefix("split: ");
  std::size_t n = 0;
  for (const auto& f : *fields) n += f.item ? 1 : 0;
  return n;
}

Expected<std::pair<Payload, Payload>> split_payload(const Payload& payload) {
  if (!splittable_kind(payload.kind)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "split: " + std::string(payload_kind_name(payload.kind)) + " is not splittable");
  }
  auto opened = open_body(payload);
  if (!opened) return opened.error();
  const std::string_view s = *opened;

  if (is_json(payload)) {
    auto arr = find_json_array(s);
    if (!arr) return arr.error().with_prefix("split: ");
    const auto& els = arr->elements;
    if (els.size() < 2) return make_error(ErrorCode::kTooLarge, "split: a single item");
    const std::size_t mid = els.size() / 2;
    auto build = [&](std::size_t from, std::size_t to) {
      std::string out;
      out.reserve(s.size() / 2 + 64);
      out.append(s.substr(0, arr->open + 1));
      for (std::size_t i = from; i < to; ++i) {
        if (i > from) out.push_back(',');
        out.append(s.substr(els[i].begin, els[i].end - els[i].begin));
      }
      out.push_back(']');
      out.append(s.substr(arr->close));
      return out;
    };
    const auto [a, b] = share_items(payload.items, mid, els.size());
    return std::make_pair(half_of(payload, build(0, mid), a),
                          half_of(payload, build(mid, els.size()), b));
  }

  auto fields = protobuf_fields(s, protobuf_item_field(payload.kind));
  if (!fields) return fields.error().with_prefix("split: ");
  std::size_t total = 0;
  for (const auto& f : *fields) total += f.item ? 1 : 0;
  if (total < 2) return make_error(ErrorCode::kTooLarge, "split: a single item");
  const std::size_t mid = total / 2;
  std::string first, second;
  first.reserve(s.size() / 2 + 64);
  second.reserve(s.size() / 2 + 64);
  std::size_t seen = 0;
  for (const auto& f : *fields) {
    const auto bytes = s.substr(f.begin, f.end - f.begin);
    if (!f.item) {  // shared top-level fields (e.g. metadata) go to both halves
      first.append(bytes);
      second.append(bytes);
    } else {
      (seen++ < mid ? first : second).append(bytes);
    }
  }
  const auto [a, b] = share_items(payload.items, mid, total);
  return std::make_pair(half_of(payload, std::move(first), a),
                        half_of(payload, std::move(second), b));
}

}  // namespace lc::forward
