#include "endpoints.h"

#include <algorithm>

namespace lc::fakeintake {

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

}  // namespace

const std::vector<EndpointSpec>& endpoint_specs() {
  static const std::vector<EndpointSpec> kSpecs = {
      {"/api/v2/series",
       {{"application/x-protobuf", decode_series_v2_protobuf},
        {"application/json", decode_series_v2_json}},
       512000,
       5242880,
       10000,
       "points"},
      {"/api/v1/series", {{"application/json", decode_series_v1_json}}, 2621440, 4194304, 0, ""},
      {"/api/beta/sketches",
       {{"application/x-protobuf", decode_sketches}},
       2621440,
       4194304,
       0,
       ""},
      {"/api/v2/logs", {{"application/json", decode_logs}}, 5242880, 5242880, 1000, "entries"},
      // Hard cap 12 MB (§4.0; the Agent's 3.2 MB writer threshold is a SHOULD, not enforced here).
      {"/api/v0.2/traces",
       {{"application/x-protobuf", decode_traces}},
       12 * kMiB,
       12 * kMiB,
       0,
       ""},
      {"/api/v0.2/stats", {{"application/msgpack", decode_stats}}, 4 * kMiB, 4 * kMiB, 0, ""},
      {"/api/v1/events", {{"application/json", decode_events}}, 4 * kMiB, 4 * kMiB, 0, ""},
      {"/api/v1/check_run", {{"application/json", decode_check_runs}}, 4 * kMiB, 4 * kMiB, 0, ""},
  };
  return kSpecs;
}

const EndpointSpec* find_endpoint(std::string_view path) {
  for (const auto& spec : endpoint_specs()) {
    if (spec.path == path) return &spec;
  }
  return nullptr;
}

std::size_t largest_request_body() {
  std::size_t largest = 0;
  for (const auto& spec : endpoint_specs()) largest = std::max(largest, spec.max_compressed);
  return largest;
}

}  // namespace lc::fakeintake
