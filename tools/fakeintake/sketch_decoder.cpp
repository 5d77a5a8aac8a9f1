// SketchPayload decoding: datadog-wire.md §4.4.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "decoders.h"
#include "proto_reader.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Packed (or, leniently, one unpacked) repeated varints.
bool read_varints(ProtoReader& r, WireType t, std::vector<std::uint64_t>& out) {
  if (t == WireType::kVarint) {
    std::uint64_t v;
    if (!r.read_varint(v)) return false;
    out.push_back(v);
    return true;
  }
  if (t != WireType::kLen) return r.fail("expected packed varints");
  std::string_view bytes;
  if (!r.read_bytes(bytes)) return false;
  ProtoReader pr(bytes);
  while (!pr.done()) {
    std::uint64_t v;
    if (!pr.read_varint(v)) return r.fail(pr.error());
    out.push_back(v);
  }
  return true;
}

bool read_double_field(ProtoReader& r, WireType t, double& out) {
  if (t != WireType::kFixed64) return r.fail("expected a double (fixed64)");
  return r.read_double(out);
}

bool read_int_field(ProtoReader& r, WireType t, std::int64_t& out) {
  if (t != WireType::kVarint) return r.fail("expected a varint");
  std::uint64_t v;
  if (!r.read_varint(v)) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

bool read_string_field(ProtoReader& r, WireType t, std::string& out) {
  if (t != WireType::kLen) return r.fail("expected a string");
  std::string_view v;
  if (!r.read_bytes(v)) return false;
  out.assign(v);
  return true;
}

void note_problems(SketchPoint& p) {
  std::uint64_t total = 0;
  for (auto c : p.n) total += c;
  if (total != static_cast<std::uint64_t>(p.cnt)) {
    p.problems.push_back("sum(n)=" + std::to_string(total) + " != cnt=" + std::to_string(p.cnt));
  }
  if (p.min > p.max) p.problems.push_back("min > max");
  // avg is a running mean (§3.3), not sum/cnt: with a non-integer 1/rate, cnt takes trunc(1/rate)
  // while sum takes v/rate. It still lies within [min, max].
  const double slack = 1e-9 * std::max({1.0, std::fabs(p.min), std::fabs(p.max)});
  if (p.avg < p.min - slack || p.avg > p.max + slack)
    p.problems.push_back("avg outside [min, max]");
  // Keys ascend; a key repeats only through u16 overflow (§3.3).
  for (std::size_t i = 1; i < p.k.size(); ++i) {
    if (p.k[i] < p.k[i - 1]) {
      p.problems.push_back("keys not ascending");
      break;
    }
  }
}

Expected<void> decode_dogsketch(std::string_view bytes, SketchPoint& p) {
  ProtoReader r(bytes);
  std::uint32_t f;
  WireType t;
  std::vector<std::uint64_t> k, n;
  while (r.next(f, t)) {
    switch (f) {
      case 1:
        read_int_field(r, t, p.ts);
        break;
      case 2:
        read_int_field(r, t, p.cnt);
        break;
      case 3:
        read_double_field(r, t, p.min);
        break;
      case 4:
        read_double_field(r, t, p.max);
        break;
      case 5:
        read_double_field(r, t, p.avg);
        break;
      case 6:
        read_double_field(r, t, p.sum);
        break;
      case 7:
        read_varints(r, t, k);
        break;
      case 8:
        read_varints(r, t, n);
        break;
      default:
        r.skip(t);
        break;
    }
  }
  if (r.failed()) return bad(std::string("dogsketch: ") + r.error());
  for (std::uint64_t v : k) {
    const std::int64_t key = zigzag_decode64(v);
    if (key < std::numeric_limits<std::int32_t>::min() ||
        key > std::numeric_limits<std::int32_t>::max()) {
      return bad("dogsketch: key out of sint32 range");
    }
    p.k.push_back(static_cast<std::int32_t>(key));
  }
  for (std::uint64_t v : n) {
    if (v > std::numeric_limits<std::uint32_t>::max())
      return bad("dogsketch: count out of uint32 range");
    p.n.push_back(static_cast<std::uint32_t>(v));
  }
  if (p.k.size() != p.n.size()) {
    return bad("dogsketch: len(k)=" + std::to_string(p.k.size()) +
               " != len(n)=" + std::to_string(p.n.size()));
  }
  if (p.ts <= 0) return bad("dogsketch: ts must be > 0");
  if (p.cnt <= 0) return bad("dogsketch: cnt must be > 0");
  if (!std::isfinite(p.min) || !std::isfinite(p.max) || !std::isfinite(p.avg) ||
      !std::isfinite(p.sum)) {
    return bad("dogsketch: non-finite summary");
  }
  note_problems(p);
  return {};
}

}  // namespace

Expected<DecodedPayload> decode_sketches(std::string_view body) {
  DecodedPayload out;
  json::array sketches;
  ProtoReader r(body);
  std::uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (f != 1) {  // 2 = CommonMetadata, not used
      r.skip(t);
      continue;
    }
    if (t != WireType::kLen) {
      r.fail("sketch must be an embedded message");
      break;
    }
    std::string_view bytes;
    if (!r.read_bytes(bytes)) break;
    const std::string where = "sketches[" + std::to_string(sketches.size()) + "]";
    std::string metric, host;
    std::vector<std::string> tags;
    std::vector<SketchPoint> points;
    ProtoReader sr(bytes);
    std::uint32_t sf;
    WireType st;
    while (sr.next(sf, st)) {
      if (sf == 1) {
        read_string_field(sr, st, metric);
      } else if (sf == 2) {
        read_string_field(sr, st, host);
      } else if (sf == 4) {
        std::string tag;
        if (read_string_field(sr, st, tag)) tags.push_back(std::move(tag));
      } else if (sf == 7) {
        if (st != WireType::kLen) {
          sr.fail("dogsketch must be an embedded message");
          break;
        }
        std::string_view ds;
        if (!sr.read_bytes(ds)) break;
        SketchPoint p;
        auto ok = decode_dogsketch(ds, p);
        if (!ok) return ok.error().with_prefix(where + ": ");
        points.push_back(std::move(p));
      } else {
        sr.skip(st);
      }
    }
    if (sr.failed()) return bad(where + ": " + sr.error());
    if (metric.empty()) return bad(where + ": empty metric name");
    if (points.empty()) return bad(fmt::format("{} '{}': no dogsketches", where, metric));
    json::array jtags;
    for (const auto& tag : tags) jtags.emplace_back(tag);
    json::array jpoints;
    for (auto& p : points) {
      p.name = metric;
      p.host = host;
      p.tags = tags;
      json::value v = to_json_value(p);
      auto& o = v.as_object();
      o.erase("name");
      o.erase("host");
      o.erase("tags");
      jpoints.push_back(std::move(v));
      out.sketches.push_back(std::move(p));
    }
    sketches.push_back(json::object{{"metric", metric},
                                    {"host", host},
                                    {"tags", std::move(jtags)},
                                    {"dogsketches", std::move(jpoints)}});
  }
  if (r.failed()) return bad(std::string("SketchPayload: ") + r.error());
  out.items = sketches.size();
  out.decoded = json::object{{"sketches", std::move(sketches)}};
  return out;
}

namespace {
json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}
}  // namespace

boost::json::value to_json_value(const SketchPoint& s) {
  json::array tags, k, n;
  for (const auto& t : s.tags) tags.emplace_back(t);
  for (auto v : s.k) k.emplace_back(v);
  for (auto v : s.n) n.emplace_back(v);
  return json::object{
      {"name", s.name},    {"host", s.host},    {"tags", std::move(tags)},
      {"ts", s.ts},        {"cnt", s.cnt},      {"min", s.min},
      {"max", s.max},      {"avg", s.avg},      {"sum", s.sum},
      {"k", std::move(k)}, {"n", std::move(n)}, {"problems", string_array(s.problems)}};
}

}  // namespace lc::fakeintake
