// Trace stats decoding (datadog-wire.md §4.7): a msgpack StatsPayload converted to JSON.
// msgpuck decodes the values; every header is bounds-checked here first, because mp_check's
// element counter can wrap on a forged 32-bit count and call a short buffer valid.
#include <msgpuck.h>
#include <boost/json.hpp>

#include "core/strings.h"
#include "decoders.h"
#include "json_util.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

constexpr int kMaxDepth = 64;

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

class MsgpackToJson {
 public:
  MsgpackToJson(const char* p, const char* end) : p_(p), end_(end) {}

  Expected<json::value> value(int depth) {
    if (depth > kMaxDepth) return bad("msgpack nested too deeply");
    if (p_ >= end_) return bad("msgpack truncated");
    const auto c = static_cast<std::uint8_t>(*p_);
    if (c == 0xc1) return bad("msgpack: reserved byte 0xc1");
    const mp_type type = mp_typeof(*p_);
    if (type == MP_ARRAY || type == MP_MAP) {
      const ptrdiff_t missing =
          type == MP_ARRAY ? mp_check_array(p_, end_) : mp_check_map(p_, end_);
      if (missing > 0) return bad("msgpack truncated header");
      const std::uint32_t count = type == MP_ARRAY ? mp_decode_array(&p_) : mp_decode_map(&p_);
      // Every element takes at least one byte: a count the rest of the body cannot hold is forged.
      const std::uint64_t need = type == MP_ARRAY ? count : 2ull * count;
      if (need > static_cast<std::uint64_t>(end_ - p_)) return bad("msgpack count exceeds body");
      if (type == MP_ARRAY) {
        json::array arr;
        for (std::uint32_t i = 0; i < count; ++i) {
          auto v = value(depth + 1);
          if (!v) return v;
          arr.push_back(std::move(*v));
        }
        return json::value(std::move(arr));
      }
      json::object obj;
      for (std::uint32_t i = 0; i < count; ++i) {
        if (p_ >= end_) return bad("msgpack truncated");
        const mp_type kt = mp_typeof(*p_);
        if (kt != MP_STR) return bad("msgpack map key is not a string");
        auto key = value(depth + 1);
        if (!key) return key;
        auto v = value(depth + 1);
        if (!v) return v;
        obj[key->get_string()] = std::move(*v);
      }
      return json::value(std::move(obj));
    }
    // A scalar: mp_check validates exactly one element here, so its count cannot wrap.
    const char* probe = p_;
    if (mp_check(&probe, end_) != 0) return bad("msgpack truncated value");
    switch (type) {
      case MP_NIL:
        mp_decode_nil(&p_);
        return json::value(nullptr);
      case MP_BOOL:
        return json::value(mp_decode_bool(&p_));
      case MP_UINT:
        return json::value(mp_decode_uint(&p_));
      case MP_INT:
        return json::value(mp_decode_int(&p_));
      case MP_FLOAT:
        return json::value(static_cast<double>(mp_decode_float(&p_)));
      case MP_DOUBLE:
        return json::value(mp_decode_double(&p_));
      case MP_STR: {
        std::uint32_t len = 0;
        const char* s = mp_decode_str(&p_, &len);
        return json::value(json::string(s, len));
      }
      case MP_BIN: {
        std::uint32_t len = 0;
        const char* s = mp_decode_bin(&p_, &len);
        return json::value(json::string(base64_encode(std::string_view(s, len))));
      }
      default:
        p_ = probe;
        return bad("msgpack extension types are not expected in stats");
    }
  }

  bool at_end() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

// Shape checks: the keys that hold lists must hold lists of maps.
Expected<std::size_t> check_list_of_maps(const json::value& obj, std::string_view key,
                                         const std::string& where) {
  const auto* v = json_field(obj, key);
  if (v == nullptr || v->is_null()) return std::size_t{0};
  const auto* arr = v->if_array();
  if (arr == nullptr) return bad(where + "." + std::string(key) + " must be an array");
  for (const auto& item : *arr) {
    if (!item.is_object()) return bad(where + "." + std::string(key) + " must hold maps");
  }
  return arr->size();
}

}  // namespace

Expected<DecodedPayload> decode_stats(std::string_view body) {
  MsgpackToJson reader(body.data(), body.data() + body.size());
  auto doc = reader.value(0);
  if (!doc) return doc.error().with_prefix("StatsPayload: ");
  if (!reader.at_end()) return bad("StatsPayload: trailing bytes after the msgpack map");
  if (!doc->is_object()) return bad("StatsPayload must be a msgpack map");
  auto clients = check_list_of_maps(*doc, "Stats", "StatsPayload");
  if (!clients) return clients.error();
  for (const char* key : {"AgentHostname", "AgentEnv", "AgentVersion"}) {
    const auto* v = json_field(*doc, key);
    if (v != nullptr && !v->is_string())
      return bad(std::string("StatsPayload.") + key + " must be a string");
  }
  if (const auto* stats = json_field(*doc, "Stats"); stats != nullptr && stats->is_array()) {
    std::size_t ci = 0;
    for (const auto& client : stats->get_array()) {
      const std::string where = "Stats[" + std::to_string(ci++) + "]";
      auto buckets = check_list_of_maps(client, "Stats", where);
      if (!buckets) return buckets.error();
      const auto* bl = json_field(client, "Stats");
      if (bl == nullptr || !bl->is_array()) continue;
      std::size_t bi = 0;
      for (const auto& bucket : bl->get_array()) {
        auto grouped =
            check_list_of_maps(bucket, "Stats", where + ".Stats[" + std::to_string(bi++) + "]");
        if (!grouped) return grouped.error();
      }
    }
  }
  DecodedPayload out;
  out.items = *clients;
  out.decoded = std::move(*doc);
  return out;
}

}  // namespace lc::fakeintake
