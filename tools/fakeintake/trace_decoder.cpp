// AgentPayload decoding (datadog-wire.md §4.6): payload → tracer payloads → chunks → spans.
#include <boost/json.hpp>

#include <cstring>
#include <span>

#include "core/strings.h"
#include "decoders.h"
#include "json_util.h"
#include "proto_reader.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

enum class MapValue { kString, kDouble, kBytes };

bool want(ProtoReader& r, WireType t, WireType expected, const char* what) {
  if (t == expected) return true;
  return r.fail(what);
}

bool get_string(ProtoReader& r, WireType t, json::object& o, const char* key) {
  if (!want(r, t, WireType::kLen, "expected a string")) return false;
  std::string_view v;
  if (!r.read_bytes(v)) return false;
  o[key] = json::string(v.data(), v.size());
  return true;
}

bool get_uint(ProtoReader& r, WireType t, json::object& o, const char* key) {
  if (!want(r, t, WireType::kVarint, "expected a varint")) return false;
  std::uint64_t v;
  if (!r.read_varint(v)) return false;
  o[key] = v;
  return true;
}

bool get_int(ProtoReader& r, WireType t, json::object& o, const char* key, bool int32 = false) {
  if (!want(r, t, WireType::kVarint, "expected a varint")) return false;
  std::uint64_t v;
  if (!r.read_varint(v)) return false;
  if (int32) {
    o[key] = static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(v)));
  } else {
    o[key] = static_cast<std::int64_t>(v);
  }
  return true;
}

bool get_bool(ProtoReader& r, WireType t, json::object& o, const char* key) {
  if (!want(r, t, WireType::kVarint, "expected a bool")) return false;
  std::uint64_t v;
  if (!r.read_varint(v)) return false;
  o[key] = v != 0;
  return true;
}

bool get_double(ProtoReader& r, WireType t, json::object& o, const char* key) {
  if (!want(r, t, WireType::kFixed64, "expected a double")) return false;
  double d;
  if (!r.read_double(d)) return false;
  o[key] = d;
  return true;
}

// One map<string, V> entry (a message with key = 1, value = 2) into `o[key]`.
bool get_map_entry(ProtoReader& r, WireType t, json::object& o, const char* key, MapValue kind) {
  if (!want(r, t, WireType::kLen, "expected a map entry")) return false;
  std::string_view entry;
  if (!r.read_bytes(entry)) return false;
  ProtoReader er(entry);
  std::string_view k;
  json::value v;
  switch (kind) {
    case MapValue::kString:
    case MapValue::kBytes:
      v = json::string();
      break;
    case MapValue::kDouble:
      v = 0.0;
      break;
  }
  std::uint32_t f;
  WireType et;
  while (er.next(f, et)) {
    if (f == 1) {
      if (!want(er, et, WireType::kLen, "map key must be a string")) break;
      er.read_bytes(k);
    } else if (f == 2) {
      if (kind == MapValue::kDouble) {
        double d;
        if (!want(er, et, WireType::kFixed64, "map value must be a double")) break;
        if (er.read_double(d)) v = d;
      } else {
        std::string_view s;
        if (!want(er, et, WireType::kLen, "map value must be length-delimited")) break;
        if (er.read_bytes(s)) {
          v = kind == MapValue::kBytes ? json::string(base64_encode(s))
                                       : json::string(s.data(), s.size());
        }
      }
    } else {
      er.skip(et);
    }
  }
  if (er.failed()) return r.fail(er.error());
  auto& slot = o[key];
  if (!slot.is_object()) slot = json::object();
  slot.as_object()[json::string_view(k.data(), k.size())] = std::move(v);
  return true;
}

// One row of a message's field table: the field number, how to read it, and its JSON key.
enum class Kind { kString, kUint, kInt, kInt32, kBool, kDouble, kStringMap, kDoubleMap, kBytesMap };
struct Field {
  std::uint32_t number;
  Kind kind;
  const char* key;
};

// Reads field f into o when the table has a row for it; false when it has none (the caller reads
// its embedded messages or skips it).
bool read_field(ProtoReader& r, std::uint32_t f, WireType t, json::object& o,
                std::span<const Field> table) {
  for (const auto& field : table) {
    if (field.number != f) continue;
    switch (field.kind) {
      case Kind::kString:
        get_string(r, t, o, field.key);
        break;
      case Kind::kUint:
        get_uint(r, t, o, field.key);
        break;
      case Kind::kInt:
        get_int(r, t, o, field.key);
        break;
      case Kind::kInt32:
        get_int(r, t, o, field.key, true);
        break;
      case Kind::kBool:
        get_bool(r, t, o, field.key);
        break;
      case Kind::kDouble:
        get_double(r, t, o, field.key);
        break;
      case Kind::kStringMap:
        get_map_entry(r, t, o, field.key, MapValue::kString);
        break;
      case Kind::kDoubleMap:
        get_map_entry(r, t, o, field.key, MapValue::kDouble);
        break;
      case Kind::kBytesMap:
        get_map_entry(r, t, o, field.key, MapValue::kBytes);
        break;
    }
    return true;
  }
  return false;
}

constexpr Field kSpanLinkFields[] = {
    {1, Kind::kUint, "traceID"},      {2, Kind::kUint, "traceID_high"},
    {3, Kind::kUint, "spanID"},       {4, Kind::kStringMap, "attributes"},
    {5, Kind::kString, "tracestate"}, {6, Kind::kUint, "flags"}};
constexpr Field kSpanFields[] = {{1, Kind::kString, "service"},
                                 {2, Kind::kString, "name"},
                                 {3, Kind::kString, "resource"},
                                 {4, Kind::kUint, "traceID"},
                                 {5, Kind::kUint, "spanID"},
                                 {6, Kind::kUint, "parentID"},
                                 {7, Kind::kInt, "start"},
                                 {8, Kind::kInt, "duration"},
                                 {9, Kind::kInt32, "error"},
                                 {10, Kind::kStringMap, "meta"},
                                 {11, Kind::kDoubleMap, "metrics"},
                                 {12, Kind::kString, "type"},
                                 {13, Kind::kBytesMap, "meta_struct"}};
constexpr Field kChunkFields[] = {{1, Kind::kInt32, "priority"},
                                  {2, Kind::kString, "origin"},
                                  {4, Kind::kStringMap, "tags"},
                                  {5, Kind::kBool, "droppedTrace"}};
constexpr Field kTracerPayloadFields[] = {{1, Kind::kString, "containerID"},
                                          {2, Kind::kString, "languageName"},
                                          {3, Kind::kString, "languageVersion"},
                                          {4, Kind::kString, "tracerVersion"},
                                          {5, Kind::kString, "runtimeID"},
                                          {7, Kind::kStringMap, "tags"},
                                          {8, Kind::kString, "env"},
                                          {9, Kind::kString, "hostname"},
                                          {10, Kind::kString, "appVersion"}};
constexpr Field kAgentPayloadFields[] = {
    {1, Kind::kString, "hostName"},         {2, Kind::kString, "env"},
    {6, Kind::kStringMap, "tags"},          {7, Kind::kString, "agentVersion"},
    {8, Kind::kDouble, "targetTPS"},        {9, Kind::kDouble, "errorTPS"},
    {10, Kind::kBool, "rareSamplerEnabled"}};

bool decode_span_link(ProtoReader& r, WireType t, json::array& out) {
  if (!want(r, t, WireType::kLen, "span link must be a message")) return false;
  std::string_view bytes;
  if (!r.read_bytes(bytes)) return false;
  json::object o;
  ProtoReader lr(bytes);
  std::uint32_t f;
  WireType lt;
  while (lr.next(f, lt)) {
    if (read_field(lr, f, lt, o, kSpanLinkFields)) continue;
    lr.skip(lt);
  }
  if (lr.failed()) return r.fail(lr.error());
  out.push_back(std::move(o));
  return true;
}

Expected<json::object> decode_span(std::string_view bytes) {
  json::object o{{"service", ""},
                 {"name", ""},
                 {"resource", ""},
                 {"traceID", 0u},
                 {"spanID", 0u},
                 {"parentID", 0u},
                 {"start", 0},
                 {"duration", 0},
                 {"error", 0},
                 {"meta", json::object()},
                 {"metrics", json::object()},
                 {"type", ""}};
  json::array links;
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (read_field(r, f, t, o, kSpanFields)) continue;
    if (f == 14) {
      decode_span_link(r, t, links);
    } else {
      r.skip(t);
    }
  }
  if (r.failed()) return bad(std::string("span: ") + r.error());
  if (!links.empty()) o["spanLinks"] = std::move(links);
  return o;
}

Expected<json::object> decode_chunk(std::string_view bytes, std::size_t& span_count) {
  json::object o{{"priority", 0}, {"origin", ""}, {"droppedTrace", false}};
  json::array spans;
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (read_field(r, f, t, o, kChunkFields)) continue;
    if (f != 3) {
      r.skip(t);
      continue;
    }
    if (!want(r, t, WireType::kLen, "span must be a message")) break;
    std::string_view sb;
    if (!r.read_bytes(sb)) break;
    auto span = decode_span(sb);
    if (!span) return span.error().with_prefix("spans[" + std::to_string(spans.size()) + "]: ");
    spans.push_back(std::move(*span));
  }
  if (r.failed()) return bad(std::string("chunk: ") + r.error());
  if (spans.empty()) return bad("chunk has no spans");
  span_count += spans.size();
  o["spans"] = std::move(spans);
  return o;
}

Expected<json::object> decode_tracer_payload(std::string_view bytes, std::size_t& chunks_out,
                                             std::size_t& spans_out) {
  json::object o{{"containerID", ""},   {"languageName", ""}, {"languageVersion", ""},
                 {"tracerVersion", ""}, {"runtimeID", ""},    {"env", ""},
                 {"hostname", ""},      {"appVersion", ""}};
  json::array chunks;
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (read_field(r, f, t, o, kTracerPayloadFields)) continue;
    if (f != 6) {
      r.skip(t);
      continue;
    }
    if (!want(r, t, WireType::kLen, "chunk must be a message")) break;
    std::string_view cb;
    if (!r.read_bytes(cb)) break;
    auto chunk = decode_chunk(cb, spans_out);
    if (!chunk) {
      return chunk.error().with_prefix("chunks[" + std::to_string(chunks.size()) + "]: ");
    }
    chunks.push_back(std::move(*chunk));
  }
  if (r.failed()) return bad(std::string("tracer payload: ") + r.error());
  chunks_out += chunks.size();
  o["chunks"] = std::move(chunks);
  return o;
}

}  // namespace

Expected<DecodedPayload> decode_traces(std::string_view body) {
  json::object o{{"hostName", ""},   {"env", ""},       {"agentVersion", ""},
                 {"targetTPS", 0.0}, {"errorTPS", 0.0}, {"rareSamplerEnabled", false}};
  json::array payloads;
  std::size_t chunks = 0, spans = 0;
  ProtoReader r(body);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (read_field(r, f, t, o, kAgentPayloadFields)) continue;
    if (f != 5) {
      r.skip(t);
      continue;
    }
    if (!want(r, t, WireType::kLen, "tracer payload must be a message")) break;
    std::string_view pb;
    if (!r.read_bytes(pb)) break;
    auto tp = decode_tracer_payload(pb, chunks, spans);
    if (!tp) {
      return tp.error().with_prefix("tracerPayloads[" + std::to_string(payloads.size()) + "]: ");
    }
    payloads.push_back(std::move(*tp));
  }
  if (r.failed()) return bad(std::string("AgentPayload: ") + r.error());
  if (payloads.empty()) return bad("AgentPayload has no tracerPayloads");
  o["tracerPayloads"] = std::move(payloads);
  DecodedPayload out;
  out.items = chunks;
  out.decoded = std::move(o);
  return out;
}

}  // namespace lc::fakeintake
