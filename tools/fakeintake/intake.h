// fakeintake/intake.h — the fake intake's core, free of HTTP: validates a request as strictly as
// the real intake (API key, content type, encoding, size limits, decodable body), keeps what it
// accepts as normalised records, counts duplicate points, answers the query API, and holds the
// per-endpoint fault plans. Driven by FakeIntakeServer on the loop thread and by unit tests.
// Owns every stored payload, record and fault plan (capped; evictions counted in SelfMetrics).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/self_metrics.h"
#include "faults.h"
#include "records.h"

namespace lc::fakeintake {

struct IntakeRequest {
  std::string path;
  std::optional<std::string> api_key;  // DD-API-KEY, absent when not sent
  std::string content_type;            // raw header value, "" when absent
  std::string content_encoding;        // raw header value, "" when absent
  std::string body;
  // Every other request header, listed with the payload (User-Agent, DD-Agent-Version, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Verdict {
  int status = 202;
  std::string reason;  // one line; empty when accepted
  bool accepted() const { return status >= 200 && status < 300; }
  // {"status":"ok"} or {"errors":["<reason>"]}
  std::string body() const;
};

struct IntakeLimits {
  std::size_t max_payloads = 20000;  // stored payload records; the oldest is evicted beyond
  std::size_t max_payload_bytes = 256u << 20;  // their decompressed sizes summed; same policy
  std::size_t max_points = 1000000;  // stored metric + sketch points; newer ones dropped beyond
  std::size_t max_log_entries = 500000;
};

class Intake {
 public:
  // `record` receives one JSON object per accepted payload and per rejection (--record FILE).
  using RecordSink = std::function<void(const boost::json::value& line)>;

  Intake(SelfMetrics& self, IntakeLimits limits = {}, RecordSink record = {});

  // Strict validation, decoding and storing of one request (no fault handling). An accepted
  // request is answered (and listed) with `accept_status`.
  Verdict submit(const IntakeRequest& request, int accept_status = 202);
  // A request answered otherwise (fault, server-level 413): listed under rejections and recorded.
  void record_rejection(std::string_view endpoint, int status, std::string_view reason);

  // Faults: the action for the next request on `endpoint` (pops one status).
  FaultAction take_fault(std::string_view endpoint);
  void set_fault(std::string endpoint, FaultPlan plan);  // replaces; an empty plan removes
  void clear_faults();
  boost::json::value faults_json() const;

  // Query API (datadog-wire.md §7.1). `endpoint` empty = every endpoint.
  boost::json::value payloads_json(std::string_view endpoint) const;
  boost::json::value metrics_json(std::string_view name) const;
  boost::json::value metric_names_json() const;
  boost::json::value logs_json() const;
  boost::json::value traces_json() const;
  void reset();  // forgets payloads, rejections and records; faults stay

 private:
  struct StoredPayload {
    std::string endpoint;
    int status = 0;
    std::string content_type, content_encoding;
    std::size_t compressed_bytes = 0, bytes = 0, items = 0, oversize_entries = 0;
    std::string api_key;
    boost::json::value headers;
    boost::json::value decoded;
  };
  struct Rejection {
    std::string endpoint;
    int status = 0;
    std::string reason;
  };
  struct MetricState {
    std::vector<MetricPoint> points;
    std::vector<SketchPoint> sketches;
    std::unordered_map<std::string, std::size_t> point_index;  // identity → position
    std::unordered_map<std::string, std::size_t> sketch_index;
    std::uint64_t duplicates = 0;
  };

  Verdict reject(const IntakeRequest& request, int status, std::string reason);
  const FaultPlan* plan_for(std::string_view endpoint) const;
  void store(const IntakeRequest& request, std::string_view media_type, std::size_t bytes,
             DecodedPayload decoded, int status);

  SelfMetrics& self_;
  IntakeLimits limits_;
  RecordSink record_;
  std::deque<StoredPayload> payloads_;
  std::deque<Rejection> rejections_;
  std::map<std::string, MetricState> metrics_;
  std::vector<boost::json::value> log_entries_;
  std::size_t stored_points_ = 0;
  std::size_t stored_payload_bytes_ = 0;
  std::map<std::string, FaultPlan, std::less<>> faults_;
};

}  // namespace lc::fakeintake
