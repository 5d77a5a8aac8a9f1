// fakeintake/records.h — the normalised records the fake intake keeps from accepted payloads:
// metric points, sketch points, and the decoded document of each payload. Produced by the
// decoders (decoders.h), stored and queried by Intake (intake.h). Plain values.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lc::fakeintake {

// One series point as sent (datadog-wire.md §4.1–4.3). `type` is "rate", "gauge", "count" or
// "unspecified"; `host` is the v1 host or the name of the v2 resource of type "host".
struct MetricPoint {
  std::string name;
  std::string type;
  std::vector<std::string> tags;
  std::string host;
  std::vector<std::pair<std::string, std::string>> resources;  // (type, name), v2 only
  std::int64_t timestamp = 0;
  double value = 0;
  std::int64_t interval = 0;
};

// One Dogsketch of a Sketch (datadog-wire.md §4.4).
struct SketchPoint {
  std::string name;
  std::string host;
  std::vector<std::string> tags;
  std::int64_t ts = 0;
  std::int64_t cnt = 0;
  double min = 0, max = 0, avg = 0, sum = 0;
  std::vector<std::int32_t> k;
  std::vector<std::uint32_t> n;
  // Inconsistencies the intake would not refuse but lastcall must never produce (datadog-wire.md
  // §3.3): Σn ≠ cnt, min > max, avg outside [min, max], keys descending. Empty when well-formed.
  std::vector<std::string> problems;
};

// What one accepted request decodes to.
struct DecodedPayload {
  boost::json::value decoded;  // the whole body as JSON (protobuf and msgpack converted)
  std::vector<MetricPoint> points;
  std::vector<SketchPoint> sketches;
  std::vector<boost::json::value> log_entries;
  std::size_t items = 0;  // series / sketches / entries / chunks, for the record
  // Log entries over 1 MiB serialised: the real intake truncates them and still answers 2xx;
  // lastcall must have truncated them before sending (datadog-wire.md §4.5).
  std::size_t oversize_entries = 0;
};

boost::json::value to_json_value(const MetricPoint& p);
boost::json::value to_json_value(const SketchPoint& s);

}  // namespace lc::fakeintake
