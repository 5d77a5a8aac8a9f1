// Series v2 (protobuf and JSON) and v1 (JSON) decoding: datadog-wire.md §4.1–4.3.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <cmath>

#include "decoders.h"
#include "json_util.h"
#include "proto_reader.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

struct RawSeries {
  std::string metric;
  std::int64_t type = 0;
  std::string type_text;  // v1 only
  std::int64_t interval = 0;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> resources;
  std::string host;
  bool has_host = false;
  std::vector<std::pair<std::int64_t, double>> points;
};

// The checks every series passes, whatever its encoding, then its points become records.
Expected<void> add_points(const RawSeries& s, std::string_view type_name, std::size_t index,
                          DecodedPayload& out) {
  const std::string where = "series[" + std::to_string(index) + "]";
  if (s.metric.empty()) return bad(where + ": empty metric name");
  if (s.points.empty()) return bad(where + " '" + s.metric + "': no points");
  if ((type_name == "rate" || type_name == "count") && s.interval <= 0) {
    return bad(where + " '" + s.metric + "': type " + std::string(type_name) +
               " requires interval > 0");
  }
  if (s.interval < 0) return bad(where + " '" + s.metric + "': negative interval");
  std::string host = s.host;
  if (!s.has_host) {
    for (const auto& [type, name] : s.resources) {
      if (type == "host") {
        host = name;
        break;
      }
    }
  }
  for (const auto& [ts, value] : s.points) {
    if (!std::isfinite(value)) return bad(where + " '" + s.metric + "': non-finite point value");
    if (ts <= 0) return bad(where + " '" + s.metric + "': point timestamp must be > 0");
    MetricPoint p;
    p.name = s.metric;
    p.type = std::string(type_name);
    p.tags = s.tags;
    p.host = host;
    p.resources = s.resources;
    p.timestamp = ts;
    p.value = value;
    p.interval = s.interval;
    out.points.push_back(std::move(p));
  }
  return {};
}

bool read_string(ProtoReader& r, WireType t, std::string& out) {
  if (t != WireType::kLen) return r.fail("expected a length-delimited string");
  std::string_view v;
  if (!r.read_bytes(v)) return false;
  out.assign(v);
  return true;
}

bool read_int(ProtoReader& r, WireType t, std::int64_t& out) {
  if (t != WireType::kVarint) return r.fail("expected a varint");
  std::uint64_t v = 0;
  if (!r.read_varint(v)) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

bool read_sub(ProtoReader& r, WireType t, std::string_view& out) {
  if (t != WireType::kLen) return r.fail("expected an embedded message");
  return r.read_bytes(out);
}

Expected<json::object> decode_origin_metadata(std::string_view bytes) {
  json::object meta;
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (f == 1) {
      std::string_view sub;
      if (!read_sub(r, t, sub)) break;
      json::object origin;
      ProtoReader o(sub);
      std::uint32_t of;
      WireType ot;
      while (o.next(of, ot)) {
        std::int64_t v = 0;
        if (of == 4 || of == 5 || of == 6) {
          if (!read_int(o, ot, v)) break;
          origin[of == 4 ? "origin_product" : of == 5 ? "origin_category" : "origin_service"] = v;
        } else if (!o.skip(ot)) {
          break;
        }
      }
      if (o.failed()) return bad(std::string("metadata.origin: ") + o.error());
      meta["origin"] = std::move(origin);
    } else if (!r.skip(t)) {
      break;
    }
  }
  if (r.failed()) return bad(std::string("metadata: ") + r.error());
  return meta;
}

Expected<json::object> decode_series_message(std::string_view bytes, RawSeries& s) {
  json::object js;
  json::array points, resources, tags;
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    switch (f) {
      case 1: {  // Resource
        std::string_view sub;
        if (!read_sub(r, t, sub)) break;
        std::string type, name;
        ProtoReader rr(sub);
        std::uint32_t rf;
        WireType rt;
        while (rr.next(rf, rt)) {
          if (rf == 1) {
            read_string(rr, rt, type);
          } else if (rf == 2) {
            read_string(rr, rt, name);
          } else {
            rr.skip(rt);
          }
        }
        if (rr.failed()) return bad(std::string("resource: ") + rr.error());
        resources.push_back(json::object{{"type", type}, {"name", name}});
        s.resources.emplace_back(std::move(type), std::move(name));
        break;
      }
      case 2:
        read_string(r, t, s.metric);
        break;
      case 3: {
        std::string tag;
        if (read_string(r, t, tag)) {
          tags.push_back(json::string(tag));
          s.tags.push_back(std::move(tag));
        }
        break;
      }
      case 4: {  // MetricPoint
        std::string_view sub;
        if (!read_sub(r, t, sub)) break;
        double value = 0;
        std::int64_t ts = 0;
        ProtoReader pr(sub);
        std::uint32_t pf;
        WireType pt;
        while (pr.next(pf, pt)) {
          if (pf == 1) {
            if (pt != WireType::kFixed64) {
              pr.fail("point value must be a double (fixed64)");
              break;
            }
            pr.read_double(value);
          } else if (pf == 2) {
            read_int(pr, pt, ts);
          } else {
            pr.skip(pt);
          }
        }
        if (pr.failed()) return bad(std::string("point: ") + pr.error());
        points.push_back(json::object{{"timestamp", ts}, {"value", value}});
        s.points.emplace_back(ts, value);
        break;
      }
      case 5:
        if (read_int(r, t, s.type)) js["type"] = s.type;
        break;
      case 6: {
        std::string unit;
        if (read_string(r, t, unit)) js["unit"] = unit;
        break;
      }
      case 7: {
        std::string stn;
        if (read_string(r, t, stn)) js["source_type_name"] = stn;
        break;
      }
      case 8:
        if (read_int(r, t, s.interval)) js["interval"] = s.interval;
        break;
      case 9: {
        std::string_view sub;
        if (!read_sub(r, t, sub)) break;
        auto meta = decode_origin_metadata(sub);
        if (!meta) return meta.error();
        js["metadata"] = std::move(*meta);
        break;
      }
      default:
        r.skip(t);
        break;
    }
  }
  if (r.failed()) return bad(std::string("series: ") + r.error());
  js["metric"] = s.metric;
  if (!js.contains("type")) js["type"] = 0;
  if (!js.contains("interval")) js["interval"] = 0;
  js["points"] = std::move(points);
  js["resources"] = std::move(resources);
  js["tags"] = std::move(tags);
  return js;
}

Expected<std::vector<std::string>> string_array(const json::value* v, const std::string& where) {
  std::vector<std::string> out;
  if (v == nullptr || v->is_null()) return out;
  const auto* arr = v->if_array();
  if (arr == nullptr) return bad(where + " must be an array of strings");
  for (const auto& item : *arr) {
    const auto* s = item.if_string();
    if (s == nullptr) return bad(where + " must be an array of strings");
    out.emplace_back(s->data(), s->size());
  }
  return out;
}

Expected<const json::array*> series_array(const json::value& doc) {
  const auto* series = json_field(doc, "series");
  if (series == nullptr) return bad("body has no \"series\" array");
  const auto* arr = series->if_array();
  if (arr == nullptr) return bad("\"series\" must be an array");
  return arr;
}

}  // namespace

std::string_view metric_type_name(std::int64_t type) {
  switch (type) {
    case 0:
      return "unspecified";
    case 1:
      return "count";
    case 2:
      return "rate";
    case 3:
      return "gauge";
    default:
      return "";
  }
}

Expected<DecodedPayload> decode_series_v2_protobuf(std::string_view body) {
  DecodedPayload out;
  json::array series;
  ProtoReader r(body);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (f != 1) {
      r.skip(t);
      continue;
    }
    std::string_view sub;
    if (!read_sub(r, t, sub)) break;
    RawSeries s;
    auto js = decode_series_message(sub, s);
    if (!js) return js.error().with_prefix("series[" + std::to_string(series.size()) + "]: ");
    const auto type_name = metric_type_name(s.type);
    if (type_name.empty()) {
      return bad("series[" + std::to_string(series.size()) + "] '" + s.metric +
                 "': unknown metric type " + std::to_string(s.type));
    }
    auto ok = add_points(s, type_name, series.size(), out);
    if (!ok) return ok.error();
    series.push_back(std::move(*js));
  }
  if (r.failed()) return bad(std::string("MetricPayload: ") + r.error());
  out.items = series.size();
  out.decoded = json::object{{"series", std::move(series)}};
  return out;
}

Expected<DecodedPayload> decode_series_v2_json(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  auto arr = series_array(*doc);
  if (!arr) return arr.error();
  DecodedPayload out;
  std::size_t index = 0;
  for (const auto& item : **arr) {
    const std::string where = "series[" + std::to_string(index) + "]";
    if (!item.is_object()) return bad(where + " must be an object");
    RawSeries s;
    const auto* metric = json_field(item, "metric");
    if (metric == nullptr || !metric->is_string())
      return bad(where + ": \"metric\" must be a string");
    s.metric = std::string(metric->get_string());
    if (const auto* type = json_field(item, "type")) {
      auto t = json_int(*type);
      if (!t) return bad(where + ": \"type\" must be an integer");
      s.type = *t;
    }
    if (const auto* interval = json_field(item, "interval")) {
      auto i = json_int(*interval);
      if (!i) return bad(where + ": \"interval\" must be an integer");
      s.interval = *i;
    }
    auto tags = string_array(json_field(item, "tags"), where + ".tags");
    if (!tags) return tags.error();
    s.tags = std::move(*tags);
    if (const auto* res = json_field(item, "resources")) {
      const auto* ra = res->if_array();
      if (ra == nullptr) return bad(where + ": \"resources\" must be an array");
      for (const auto& r : *ra) {
        const auto* rt = json_field(r, "type");
        const auto* rn = json_field(r, "name");
        if (rt == nullptr || !rt->is_string() || (rn != nullptr && !rn->is_string())) {
          return bad(where + ": each resource needs a string \"type\" and \"name\"");
        }
        s.resources.emplace_back(std::string(rt->get_string()),
                                 rn ? std::string(rn->get_string()) : std::string());
      }
    }
    const auto* points = json_field(item, "points");
    if (points == nullptr || !points->is_array())
      return bad(where + ": \"points\" must be an array");
    for (const auto& p : points->get_array()) {
      const auto* ts = json_field(p, "timestamp");
      const auto* value = json_field(p, "value");
      auto tsv = ts ? json_int(*ts) : std::nullopt;
      auto vv = value ? json_number(*value) : std::nullopt;
      if (!tsv || !vv) {
        return bad(where + ": each point needs an integer \"timestamp\" and a numeric \"value\"");
      }
      s.points.emplace_back(tsv.value_or(0), vv.value_or(0.0));  // both checked above
    }
    const auto type_name = metric_type_name(s.type);
    if (type_name.empty()) {
      return bad(where + " '" + s.metric + "': unknown metric type " + std::to_string(s.type));
    }
    auto ok = add_points(s, type_name, index, out);
    if (!ok) return ok.error();
    ++index;
  }
  out.items = index;
  out.decoded = std::move(*doc);
  return out;
}

Expected<DecodedPayload> decode_series_v1_json(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  auto arr = series_array(*doc);
  if (!arr) return arr.error();
  DecodedPayload out;
  std::size_t index = 0;
  for (const auto& item : **arr) {
    const std::string where = "series[" + std::to_string(index) + "]";
    if (!item.is_object()) return bad(where + " must be an object");
    RawSeries s;
    const auto* metric = json_field(item, "metric");
    if (metric == nullptr || !metric->is_string())
      return bad(where + ": \"metric\" must be a string");
    s.metric = std::string(metric->get_string());
    std::string type_name = "unspecified";
    if (const auto* type = json_field(item, "type"); type != nullptr && !type->is_null()) {
      if (!type->is_string()) return bad(where + ": \"type\" must be a string");
      type_name = std::string(type->get_string());
      if (type_name != "rate" && type_name != "gauge" && type_name != "count") {
        return bad(fmt::format("{} '{}': unknown type \"{}\"", where, s.metric, type_name));
      }
    }
    if (const auto* interval = json_field(item, "interval");
        interval != nullptr && !interval->is_null()) {
      auto i = json_int(*interval);
      if (!i) return bad(where + ": \"interval\" must be an integer");
      s.interval = *i;
    }
    if (const auto* host = json_field(item, "host"); host != nullptr && !host->is_null()) {
      if (!host->is_string()) return bad(where + ": \"host\" must be a string");
      s.host = std::string(host->get_string());
    }
    s.has_host = true;
    auto tags = string_array(json_field(item, "tags"), where + ".tags");
    if (!tags) return tags.error();
    s.tags = std::move(*tags);
    const auto* points = json_field(item, "points");
    if (points == nullptr || !points->is_array())
      return bad(where + ": \"points\" must be an array");
    for (const auto& p : points->get_array()) {
      const auto* pair = p.if_array();
      if (pair == nullptr || pair->size() != 2) {
        return bad(where + ": each point must be a [timestamp, value] pair");
      }
      auto tsv = json_int((*pair)[0]);
      auto vv = json_number((*pair)[1]);
      if (!tsv || !vv) return bad(where + ": point needs an integer timestamp and a numeric value");
      s.points.emplace_back(tsv.value_or(0), vv.value_or(0.0));  // both checked above
    }
    auto ok = add_points(s, type_name, index, out);
    if (!ok) return ok.error();
    ++index;
  }
  out.items = index;
  out.decoded = std::move(*doc);
  return out;
}

boost::json::value to_json_value(const MetricPoint& p) {
  json::array tags;
  for (const auto& t : p.tags) tags.emplace_back(t);
  json::array resources;
  for (const auto& [type, name] : p.resources) {
    resources.push_back(json::object{{"type", type}, {"name", name}});
  }
  return json::object{{"name", p.name},
                      {"type", p.type},
                      {"tags", std::move(tags)},
                      {"host", p.host},
                      {"resources", std::move(resources)},
                      {"timestamp", p.timestamp},
                      {"value", p.value},
                      {"interval", p.interval}};
}

}  // namespace lc::fakeintake
