// AgentPayload decoding (datadog-wire.md §4.6): payload → tracer payloads → chunks → spans.
#include <boost/json.hpp>

#include <cstring>

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

bool decode_span_link(ProtoReader& r, WireType t, json::array& out) {
  if (!want(r, t, WireType::kLen, "span link must be a message")) return false;
  std::string_view bytes;
  if (!r.read_bytes(bytes)) return false;
  json::object o;
  ProtoReader lr(bytes);
  std::uint32_t f;
  WireType lt;
  while (lr.next(f, lt)) {
    switch (f) {
      case 1:
        get_uint(lr, lt, o, "traceID");
        break;
      case 2:
        get_uint(lr, lt, o, "traceID_high");
        break;
      case 3:
        get_uint(lr, lt, o, "spanID");
        break;
      case 4:
        get_map_entry(lr, lt, o, "attributes", MapValue::kString);
        break;
      case 5:
        get_string(lr, lt, o, "tracestate");
        break;
      case 6:
        get_uint(lr, lt, o, "flags");
        break;
      default:
        lr.skip(lt);
        break;
    }
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
    switch (f) {
      case 1:
        get_string(r, t, o, "service");
        break;
      case 2:
        get_string(r, t, o, "name");
        break;
      case 3:
        get_string(r, t, o, "resource");
        break;
      case 4:
        get_uint(r, t, o, "traceID");
        break;
      case 5:
        get_uint(r, t, o, "spanID");
        break;
      case 6:
        get_uint(r, t, o, "parentID");
        break;
      case 7:
        get_int(r, t, o, "start");
        break;
      case 8:
        get_int(r, t, o, "duration");
        break;
      case 9:
        get_int(r, t, o, "error", true);
        break;
      case 10:
        get_map_entry(r, t, o, "meta", MapValue::kString);
        break;
      case 11:
        get_map_entry(r, t, o, "metrics", MapValue::kDouble);
        break;
      case 12:
        get_string(r, t, o, "type");
        break;
      case 13:
        get_map_entry(r, t, o, "meta_struct", MapValue::kBytes);
        break;
      case 14:
        decode_span_link(r, t, links);
        break;
      default:
        r.skip(t);
        break;
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
    switch (f) {
      case 1:
        get_int(r, t, o, "priority", true);
        break;
      case 2:
        get_string(r, t, o, "origin");
        break;
      case 3: {
        if (!want(r, t, WireType::kLen, "span must be a message")) break;
        std::string_view sb;
        if (!r.read_bytes(sb)) break;
        auto span = decode_span(sb);
        if (!span) return span.error().with_prefix("spans[" + std::to_string(spans.size()) + "]: ");
        spans.push_back(std::move(*span));
        break;
      }
      case 4:
        get_map_entry(r, t, o, "tags", MapValue::kString);
        break;
      case 5:
        get_bool(r, t, o, "droppedTrace");
        break;
      default:
        r.skip(t);
        break;
    }
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
    switch (f) {
      case 1:
        get_string(r, t, o, "containerID");
        break;
      case 2:
        get_string(r, t, o, "languageName");
        break;
      case 3:
        get_string(r, t, o, "languageVersion");
        break;
      case 4:
        get_string(r, t, o, "tracerVersion");
        break;
      case 5:
        get_string(r, t, o, "runtimeID");
        break;
      case 6: {
        if (!want(r, t, WireType::kLen, "chunk must be a message")) break;
        std::string_view cb;
        if (!r.read_bytes(cb)) break;
        auto chunk = decode_chunk(cb, spans_out);
        if (!chunk) {
          return chunk.error().with_prefix("chunks[" + std::to_string(chunks.size()) + "]: ");
        }
        chunks.push_back(std::move(*chunk));
        break;
      }
      case 7:
        get_map_entry(r, t, o, "tags", MapValue::kString);
        break;
      case 8:
        get_string(r, t, o, "env");
        break;
      case 9:
        get_string(r, t, o, "hostname");
        break;
      case 10:
        get_string(r, t, o, "appVersion");
        break;
      default:
        r.skip(t);
        break;
    }
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
    switch (f) {
      case 1:
        get_string(r, t, o, "hostName");
        break;
      case 2:
        get_string(r, t, o, "env");
        break;
      case 5: {
        if (!want(r, t, WireType::kLen, "tracer payload must be a message")) break;
        std::string_view pb;
        if (!r.read_bytes(pb)) break;
        auto tp = decode_tracer_payload(pb, chunks, spans);
        if (!tp) {
          return tp.error().with_prefix("tracerPayloads[" + std::to_string(payloads.size()) +
                                        "]: ");
        }
        payloads.push_back(std::move(*tp));
        break;
      }
      case 6:
        get_map_entry(r, t, o, "tags", MapValue::kString);
        break;
      case 7:
        get_string(r, t, o, "agentVersion");
        break;
      case 8:
        get_double(r, t, o, "targetTPS");
        break;
      case 9:
        get_double(r, t, o, "errorTPS");
        break;
      case 10:
        get_bool(r, t, o, "rareSamplerEnabled");
        break;
      default:
        r.skip(t);
        break;
    }
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
