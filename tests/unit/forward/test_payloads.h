// tests/unit/forward/test_payloads.h — builds real payload bodies for the forward tests (series v2
// and sketches protobuf with protozero, v1 JSON, logs arrays) and decodes them back with the fake
// intake's decoders, so tests assert on what an intake would read.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>
#include <protozero/pbf_writer.hpp>

#include <string>
#include <vector>

#include "core/pipeline.h"
#include "tools/fakeintake/decoders.h"
#include "tools/fakeintake/proto_reader.h"

namespace lc::forward::test {

// MetricPayload{series: [{metric: name, points: [{value, ts}], type: GAUGE}]}; `extra_field2`
// adds an unrelated top-level field 2 that a split must copy into both halves.
inline Payload series_v2(const std::vector<std::string>& names, bool extra_field2 = false) {
  std::string body;
  protozero::pbf_writer payload(body);
  for (const auto& name : names) {
    protozero::pbf_writer series(payload, 1);
    {
      protozero::pbf_writer resource(series, 1);
      resource.add_string(1, "host");
    }
    series.add_string(2, name);
    series.add_string(3, "env:test");
    {
      protozero::pbf_writer point(series, 4);
      point.add_double(1, 1.5);
      point.add_int64(2, 1700000000);
    }
    series.add_enum(5, 3);
  }
  if (extra_field2) payload.add_string(2, "shared-metadata");
  Payload p;
  p.kind = PayloadKind::kSeriesV2;
  p.path = "/api/v2/series";
  p.content_type = "application/x-protobuf";
  p.body = std::move(body);
  p.items = static_cast<std::uint32_t>(names.size());
  return p;
}

struct DecodedSeries {
  std::vector<std::string> names;
  std::vector<std::string> field2;  // top-level field 2 values
};

// The series names as the fake intake's decoder reads them, and top-level field 2 (which the intake
// ignores) read with the intake's wire reader.
inline DecodedSeries decode_series_v2(const std::string& body) {
  DecodedSeries out;
  auto decoded = fakeintake::decode_series_v2_protobuf(body);
  EXPECT_TRUE(decoded) << decoded.error().message;
  if (decoded) {
    for (const auto& s : decoded->decoded.at("series").as_array()) {
      out.names.emplace_back(s.at("metric").as_string());
    }
  }
  fakeintake::ProtoReader r(body);
  std::uint32_t field;
  fakeintake::WireType type;
  while (r.next(field, type)) {
    std::string_view value;
    if (field == 2 && type == fakeintake::WireType::kLen) {
      if (!r.read_bytes(value)) break;
      out.field2.emplace_back(value);
    } else if (!r.skip(type)) {
      break;
    }
  }
  return out;
}

inline Payload series_v1(const std::vector<std::string>& names) {
  std::string body = R"({"series":[)";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) body += ",";
    body += R"({"metric":")" + names[i] +
            R"(","points":[[1700000000,33.333333333333336]],"type":"rate","interval":10,)"
            R"("host":"","tags":["q:\"]},[","k:v"]})";
  }
  body += "]}";
  Payload p;
  p.kind = PayloadKind::kSeriesV1;
  p.path = "/api/v1/series";
  p.content_type = "application/json";
  p.body = std::move(body);
  p.items = static_cast<std::uint32_t>(names.size());
  return p;
}

inline Payload logs(const std::vector<std::string>& messages) {
  std::string body = "[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) body += ",";
    body += R"({"message":")" + messages[i] + R"(","status":"info","timestamp":1761055503165})";
  }
  body += "]";
  Payload p;
  p.kind = PayloadKind::kLogs;
  p.path = "/api/v2/logs";
  p.content_type = "application/json";
  p.body = std::move(body);
  p.items = static_cast<std::uint32_t>(messages.size());
  return p;
}

inline Payload traces(std::size_t bytes) {
  Payload p;
  p.kind = PayloadKind::kTraces;
  p.path = "/api/v0.2/traces";
  p.content_type = "application/x-protobuf";
  // Incompressible filler, so its queued (compressed) size stays close to `bytes`.
  std::string filler(bytes, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : filler) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  protozero::pbf_writer w(p.body);
  w.add_string(5, filler);
  p.items = 1;
  return p;
}

inline std::string zstd_open(const std::string& in) {
  const auto size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) return "<bad zstd>";
  std::string out(size, '\0');
  const auto n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) return "<bad zstd>";
  out.resize(n);
  return out;
}

// window_bits 15: zlib wrapper only; 31: gzip wrapper only.
inline std::string zlib_open(const std::string& in, int window_bits) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return "<bad zlib>";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "<bad zlib>";
}

}  // namespace lc::forward::test
