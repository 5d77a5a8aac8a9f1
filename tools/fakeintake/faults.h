// fakeintake/faults.h — fault plans per endpoint (datadog-wire.md §7.1): a sequence of statuses
// answered to successive requests, a delay per request, hang, close mid-response, a required
// API key. Parsed from `--fault ENDPOINT=503,503,200` and from POST /fakeintake/faults bodies;
// held and consumed by Intake. Plain values.
#pragma once

#include <boost/json/value.hpp>

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/expected.h"

namespace lc::fakeintake {

struct FaultPlan {
  std::deque<int> statuses;  // consumed one per request; then normal behaviour
  int delay_ms = 0;          // every request on the endpoint
  bool hang = false;         // never answer; the client's timeout ends it
  bool close_mid_response = false;
  std::optional<std::string> require_key;  // a different DD-API-KEY gets 403
  int retry_after_s = -1;  // ≥ 0: a Retry-After header on injected statuses (429/503 tests)

  bool empty() const {
    return statuses.empty() && delay_ms == 0 && !hang && !close_mid_response && !require_key &&
           retry_after_s < 0;
  }
};

// What to do with one request, taken from its endpoint's plan.
struct FaultAction {
  int status = 0;  // 0: none; a 2xx still processes the body normally
  int delay_ms = 0;
  bool hang = false;
  bool close_mid_response = false;
  int retry_after_s = -1;
};

// "/api/v2/series=503,503,200" → ("/api/v2/series", statuses). Statuses are 100..599.
Expected<std::pair<std::string, FaultPlan>> parse_fault_flag(std::string_view text);
// {"endpoint":…,"statuses":[…],"delay_ms":…,"hang":…,"close_mid_response":…,"require_key":…,
//  "retry_after_s":…}
Expected<std::pair<std::string, FaultPlan>> parse_fault_json(std::string_view body);

boost::json::value to_json_value(const FaultPlan& plan);

}  // namespace lc::fakeintake
