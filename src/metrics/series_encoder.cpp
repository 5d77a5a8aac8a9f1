#include "metrics/series_encoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <protozero/pbf_writer.hpp>
#include <protozero/varint.hpp>

#include "core/logger.h"
#include "core/strings.h"
#include "metrics/payload_packer.h"

namespace lc::metrics {

// ---- PayloadPacker

std::size_t PayloadPacker::cost(std::size_t item_size, bool first) const {
  if (format_.protobuf) {
    return 1 + static_cast<std::size_t>(protozero::length_of_varint(item_size)) + item_size;
  }
  return item_size + (first ? 0 : format_.separator.size());
}

bool PayloadPacker::add(std::string_view item, std::size_t points) {
  if (empty_size() + cost(item.size(), true) > max_bytes_ || points > max_points_) return false;
  if (open_ &&
      (current_.body.size() + format_.suffix.size() + cost(item.size(), current_.items == 0) >
           max_bytes_ ||
       points_ + points > max_points_)) {
    finish();
  }
  if (!open_) {
    current_ = Payload{};
    current_.kind = format_.kind;
    current_.path = format_.path;
    current_.content_type = format_.content_type;
    current_.body.append(format_.prefix);
    open_ = true;
    points_ = 0;
  }
  if (format_.protobuf) {
    current_.body.push_back(static_cast<char>(0x0a));  // field 1, length-delimited
    protozero::add_varint_to_buffer(&current_.body, item.size());
  } else if (current_.items != 0) {
    current_.body.append(format_.separator);
  }
  current_.body.append(item);
  current_.items += 1;
  points_ += points;
  return true;
}

void PayloadPacker::finish() {
  if (!open_) return;
  current_.body.append(format_.suffix);
  done_.push_back(std::move(current_));
  current_ = Payload{};
  open_ = false;
}

std::vector<Payload> PayloadPacker::take() {
  finish();
  return std::move(done_);
}

// ---- helpers

std::vector<std::string> merge_tags(const std::vector<std::string>& context_tags,
                                    const std::vector<std::string>& base_tags) {
  std::vector<std::string> out;
  out.reserve(context_tags.size() + base_tags.size());
  out = context_tags;
  for (const auto& t : base_tags) {
    if (std::binary_search(context_tags.begin(), context_tags.end(), t)) continue;
    if (std::find(out.begin() + static_cast<std::ptrdiff_t>(context_tags.size()), out.end(), t) !=
        out.end()) {
      continue;
    }
    out.push_back(t);
  }
  return out;
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {  // never produced by the aggregator; keep the JSON valid anyway
    out += "0";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

namespace {
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  append_json_escaped(out, s);
  out.push_back('"');
}

bool is_zero_bits(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits == 0;
}
}  // namespace

// ---- SeriesEncoder

SeriesEncoder::SeriesEncoder(EncoderLimits limits, const TagSets& tags, TagSetId tag_set,
                             SelfMetrics& self)
    : limits_(limits), tags_(tags), tag_set_(tag_set), self_(self) {}

void SeriesEncoder::filter_points(const Series& s, std::int64_t now_s,
                                  std::vector<SeriesPoint>& out) {
  out.clear();
  for (const auto& p : s.points) {
    if (p.ts < now_s - limits_.max_age_s || p.ts > now_s + limits_.max_future_s) {
      self_.dropped(kDropKind, "too_old");
      LC_DEBUG("metrics: point of {} at {} outside the intake window (now {}), dropped", s.name,
               p.ts, now_s);
      continue;
    }
    out.push_back(p);
  }
}

void SeriesEncoder::encode_v2_series(const Series& s, const std::vector<SeriesPoint>& points,
                                     std::string& out) const {
  out.clear();
  protozero::pbf_writer w{out};
  {
    protozero::pbf_writer r{w, 1};
    r.add_string(1, "host");
    if (!s.host.empty()) r.add_string(2, s.host);
  }
  w.add_string(2, s.name);
  for (const auto& t : merge_tags(s.tags, base_tags())) w.add_string(3, t);
  for (const auto& p : points) {
    protozero::pbf_writer pw{w, 4};
    if (!is_zero_bits(p.value)) pw.add_double(1, p.value);
    if (p.ts != 0) pw.add_int64(2, p.ts);
  }
  w.add_enum(5, s.type == SeriesType::kGauge ? 3 : 2);  // GAUGE = 3, RATE = 2 (§4.1 enum trap)
  if (s.interval != 0) w.add_int64(8, s.interval);
}

void SeriesEncoder::encode_v1_series(const Series& s, const std::vector<SeriesPoint>& points,
                                     std::string& out) const {
  out.clear();
  out += "{\"metric\":";
  append_json_string(out, s.name);
  out += ",\"points\":[";
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('[');
    out += std::to_string(points[i].ts);
    out.push_back(',');
    append_json_number(out, points[i].value);
    out.push_back(']');
  }
  out += "],\"type\":";
  out += s.type == SeriesType::kGauge ? "\"gauge\"" : "\"rate\"";
  out += ",\"interval\":";
  out += std::to_string(s.interval);
  out += ",\"host\":";
  append_json_string(out, s.host);
  out += ",\"tags\":[";
  bool first = true;
  for (const auto& t : merge_tags(s.tags, base_tags())) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, t);
  }
  out += "]}";
}

std::vector<Payload> SeriesEncoder::encode_v2(const std::vector<Series>& series,
                                              std::int64_t now_s) {
  PayloadPacker packer(
      {PayloadKind::kSeriesV2, "/api/v2/series", "application/x-protobuf", "", "", "", true},
      limits_.series_v2_bytes, limits_.series_v2_points);
  std::vector<SeriesPoint> points;
  std::string item;
  for (const auto& s : series) {
    filter_points(s, now_s, points);
    if (points.empty()) continue;
    encode_v2_series(s, points, item);
    if (!packer.add(item, points.size())) {
      self_.dropped(kDropKind, "item_too_big");
      LC_WARN("metrics: series {} ({} bytes, {} points) exceeds the payload limit, dropped", s.name,
              item.size(), points.size());
    }
  }
  return packer.take();
}

std::vector<Payload> SeriesEncoder::encode_v1(const std::vector<Series>& series,
                                              std::int64_t now_s) {
  PayloadPacker packer({PayloadKind::kSeriesV1, "/api/v1/series", "application/json",
                        "{\"series\":[", ",", "]}", false},
                       limits_.series_v1_bytes, SIZE_MAX);
  std::vector<SeriesPoint> points;
  std::string item;
  for (const auto& s : series) {
    filter_points(s, now_s, points);
    if (points.empty()) continue;
    encode_v1_series(s, points, item);
    if (!packer.add(item, points.size())) {
      self_.dropped(kDropKind, "item_too_big");
      LC_WARN("metrics: series {} ({} bytes) exceeds the payload limit, dropped", s.name,
              item.size());
    }
  }
  return packer.take();
}

}  // namespace lc::metrics
