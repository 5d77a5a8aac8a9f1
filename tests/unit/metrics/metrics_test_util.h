// tests/unit/metrics/metrics_test_util.h — helpers for the metrics tests: a visitor that copies
// parsed samples; MetricPayload / SketchPayload decoded by the fake intake's decoders (linked as a
// library, independent of the encoders under test) into plain structs tests assert on; and the one
// Harness (DogStatsdServer on a FakeClock) the aggregator and golden tests drive.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_metric_sink.h"
#include "metrics/dogstatsd_parser.h"
#include "metrics/dogstatsd_server.h"
#include "tools/fakeintake/decoders.h"

namespace lc::metrics::testing {

using OwnedSample = fakes::OwnedMetricPoint;

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
    samples.push_back(fakes::OwnedMetricPoint::copy_of(s));
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

// Decoded by the fake intake's own decoder (written from the wire spec, not from our encoders); a
// payload it refuses fails the test and decodes to nothing.
inline std::vector<DecodedSeries> decode_series_v2(const std::string& body) {
  std::vector<DecodedSeries> out;
  auto decoded = fakeintake::decode_series_v2_protobuf(body);
  EXPECT_TRUE(decoded) << decoded.error().message;
  if (!decoded) return out;
  for (const auto& js : decoded->decoded.at("series").as_array()) {
    DecodedSeries d;
    d.metric = std::string(js.at("metric").as_string());
    d.type = js.at("type").to_number<int>();
    d.interval = js.at("interval").to_number<std::int64_t>();
    for (const auto& t : js.at("tags").as_array()) d.tags.emplace_back(t.as_string());
    for (const auto& r : js.at("resources").as_array()) {
      d.resources.emplace_back(std::string(r.at("type").as_string()),
                               std::string(r.at("name").as_string()));
    }
    for (const auto& p : js.at("points").as_array()) {
      d.points.push_back(
          {p.at("timestamp").to_number<std::int64_t>(), p.at("value").to_number<double>()});
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
  auto decoded = fakeintake::decode_sketches(body);
  EXPECT_TRUE(decoded) << decoded.error().message;
  if (!decoded) return out;
  std::size_t next = 0;  // the dogsketches, flattened in payload order
  for (const auto& js : decoded->decoded.at("sketches").as_array()) {
    DecodedSketch d;
    d.metric = std::string(js.at("metric").as_string());
    d.host = std::string(js.at("host").as_string());
    for (const auto& t : js.at("tags").as_array()) d.tags.emplace_back(t.as_string());
    for (std::size_t i = 0; i < js.at("dogsketches").as_array().size(); ++i) {
      const auto& p = decoded->sketches.at(next++);
      d.dogsketches.push_back({p.ts, p.cnt, p.min, p.max, p.avg, p.sum, p.k, p.n});
    }
    out.push_back(std::move(d));
  }
  return out;
}

// ---- the harness of the aggregator and golden tests
// A DogStatsdServer (parser → aggregator → encoders) on a FakeClock: datagrams in, payloads out,
// and the payloads decoded. Starts at kT0 (bucket 1700000000) unless told otherwise.
inline constexpr std::int64_t kT0 = 1700000003000;  // ms

struct Harness {
  explicit Harness(AggregatorConfig config = {}, ParserOptions parser = {},
                   std::int64_t wall_ms = kT0, MemoryBudget* budget = nullptr)
      : clock(wall_ms),
        server(std::move(parser), std::move(config), self, clock, TagSets::none(), budget) {}

  void send(std::string_view datagram) { server.handle_datagram(datagram); }
  void at(std::int64_t epoch_s) { clock.set_wall_ms(epoch_s * 1000); }
  std::vector<Payload> flush(FlushScope scope = FlushScope::kAll) { return server.flush(scope); }
  // The decoded series (sketches) of one flush, across its payloads.
  std::vector<DecodedSeries> series(FlushScope scope = FlushScope::kAll) {
    return decoded(scope, PayloadKind::kSeriesV2, decode_series_v2);
  }
  std::vector<DecodedSketch> sketches(FlushScope scope = FlushScope::kAll) {
    return decoded(scope, PayloadKind::kSketches, decode_sketches);
  }
  template <typename Decode>
  std::invoke_result_t<Decode, const std::string&> decoded(FlushScope scope, PayloadKind kind,
                                                           Decode decode) {
    std::invoke_result_t<Decode, const std::string&> out;
    for (const auto& p : flush(scope)) {
      if (p.kind != kind) continue;
      for (auto& d : decode(p.body)) out.push_back(std::move(d));
    }
    return out;
  }

  lc::fakes::FakeClock clock;
  SelfMetrics self;
  DogStatsdServer server;
};

// The first payload of this kind; nullptr when none.
inline const Payload* find_payload(const std::vector<Payload>& payloads, PayloadKind kind) {
  for (const auto& p : payloads) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

}  // namespace lc::metrics::testing
