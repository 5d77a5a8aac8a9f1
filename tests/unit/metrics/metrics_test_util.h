// tests/unit/metrics/metrics_test_util.h — helpers for the metrics tests: a visitor that copies
// parsed samples, hex dumps, and small protobuf decoders for MetricPayload and SketchPayload so
// tests assert on decoded output (independent of the encoders under test).
#pragma once

#include <protozero/pbf_reader.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/dogstatsd_parser.h"

namespace lc::metrics::testing {

struct OwnedSample {
  std::string name;
  MetricType type = MetricType::kGauge;
  std::vector<double> values;
  std::string set_member;
  double rate = 1;
  std::int64_t timestamp = 0;
  std::vector<std::string> tags;
  std::string host;
  bool has_host = false;
};

struct OwnedEvent {
  std::string title, text, host, aggregation_key, source_type, priority, alert_type;
  std::int64_t date = 0;
  std::vector<std::string> tags;
};

struct OwnedCheck {
  std::string name, host, message;
  int status = -1;
  std::int64_t timestamp = 0;
  std::vector<std::string> tags;
};

class CollectingVisitor : public DogStatsdVisitor {
 public:
  void on_metric(const MetricSample& s) override {
    OwnedSample o;
    o.name = std::string(s.name);
    o.type = s.type;
    o.values.assign(s.values.begin(), s.values.end());
    o.set_member = std::string(s.set_member);
    o.rate = s.rate;
    o.timestamp = s.timestamp;
    for (auto t : s.tags) o.tags.emplace_back(t);
    o.host = std::string(s.host);
    o.has_host = s.has_host;
    samples.push_back(std::move(o));
  }
  void on_event(const EventMessage& e) override {
    OwnedEvent o{std::string(e.title),
                 std::string(e.text),
                 std::string(e.host),
                 std::string(e.aggregation_key),
                 std::string(e.source_type),
                 std::string(e.priority),
                 std::string(e.alert_type),
                 e.date,
                 {}};
    for (auto t : e.tags) o.tags.emplace_back(t);
    events.push_back(std::move(o));
  }
  void on_service_check(const ServiceCheckMessage& c) override {
    OwnedCheck o{std::string(c.name),
                 std::string(c.host),
                 std::string(c.message),
                 c.status,
                 c.timestamp,
                 {}};
    for (auto t : c.tags) o.tags.emplace_back(t);
    checks.push_back(std::move(o));
  }
  std::vector<OwnedSample> samples;
  std::vector<OwnedEvent> events;
  std::vector<OwnedCheck> checks;
};

inline std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// ---- decoded MetricPayload (agent-payload proto, datadog-wire.md §4.1)
struct DecodedPoint {
  std::int64_t ts = 0;
  double value = 0;
};
struct DecodedSeries {
  std::string metric;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> resources;
  std::vector<DecodedPoint> points;
  int type = 0;
  std::int64_t interval = 0;
};

inline std::vector<DecodedSeries> decode_series_v2(const std::string& body) {
  std::vector<DecodedSeries> out;
  protozero::pbf_reader payload{body};
  while (payload.next(1)) {
    protozero::pbf_reader s = payload.get_message();
    DecodedSeries d;
    while (s.next()) {
      switch (s.tag()) {
        case 1: {
          protozero::pbf_reader r = s.get_message();
          std::pair<std::string, std::string> res;
          while (r.next()) {
            if (r.tag() == 1)
              res.first = r.get_string();
            else if (r.tag() == 2)
              res.second = r.get_string();
            else
              r.skip();
          }
          d.resources.push_back(res);
          break;
        }
        case 2:
          d.metric = s.get_string();
          break;
        case 3:
          d.tags.push_back(s.get_string());
          break;
        case 4: {
          protozero::pbf_reader p = s.get_message();
          DecodedPoint pt;
          while (p.next()) {
            if (p.tag() == 1)
              pt.value = p.get_double();
            else if (p.tag() == 2)
              pt.ts = p.get_int64();
            else
              p.skip();
          }
          d.points.push_back(pt);
          break;
        }
        case 5:
          d.type = s.get_enum();
          break;
        case 8:
          d.interval = s.get_int64();
          break;
        default:
          s.skip();
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

// ---- decoded SketchPayload (§4.4)
struct DecodedDogsketch {
  std::int64_t ts = 0, cnt = 0;
  double min = 0, max = 0, avg = 0, sum = 0;
  std::vector<std::int32_t> k;
  std::vector<std::uint32_t> n;
};
struct DecodedSketch {
  std::string metric, host;
  std::vector<std::string> tags;
  std::vector<DecodedDogsketch> dogsketches;
};

inline std::vector<DecodedSketch> decode_sketches(const std::string& body) {
  std::vector<DecodedSketch> out;
  protozero::pbf_reader payload{body};
  while (payload.next(1)) {
    protozero::pbf_reader s = payload.get_message();
    DecodedSketch d;
    while (s.next()) {
      switch (s.tag()) {
        case 1:
          d.metric = s.get_string();
          break;
        case 2:
          d.host = s.get_string();
          break;
        case 4:
          d.tags.push_back(s.get_string());
          break;
        case 7: {
          protozero::pbf_reader g = s.get_message();
          DecodedDogsketch ds;
          while (g.next()) {
            switch (g.tag()) {
              case 1:
                ds.ts = g.get_int64();
                break;
              case 2:
                ds.cnt = g.get_int64();
                break;
              case 3:
                ds.min = g.get_double();
                break;
              case 4:
                ds.max = g.get_double();
                break;
              case 5:
                ds.avg = g.get_double();
                break;
              case 6:
                ds.sum = g.get_double();
                break;
              case 7: {
                auto r = g.get_packed_sint32();
                ds.k.assign(r.begin(), r.end());
                break;
              }
              case 8: {
                auto r = g.get_packed_uint32();
                ds.n.assign(r.begin(), r.end());
                break;
              }
              default:
                g.skip();
            }
          }
          d.dogsketches.push_back(std::move(ds));
          break;
        }
        default:
          s.skip();
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace lc::metrics::testing
