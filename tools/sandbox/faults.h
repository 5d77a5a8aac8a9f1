// tools/sandbox/faults.h — the fault knobs of lambda-platform.md §7.6, parsed from `--faults JSON`
// and `PUT /faults`. Owned by the Sandbox; read by its lifecycle and by TelemetryHub at the moment
// they act. A PUT updates only the knobs it names; an unknown knob or a bad value rejects the whole
// body.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace lc::sandbox {

enum class LateReport { kNone, kAfterNextInvoke, kAtShutdown };

struct Faults {
  LateReport late_report = LateReport::kNone;
  bool shutdown_reason_upper = false;  // shutdown_reason_case = upper
  bool deadline_relative = false;      // deadline_ms = relative
  double drop_probability = 0.0;       // drop_batches = <p in [0,1]>
  int drop_every_n = 0;                // drop_batches = "every_n:N"
  int listener_error_status = 0;       // listener_errors = "503:2" (0 with reset)
  bool listener_error_reset = false;   // listener_errors = "reset:1"
  int listener_error_count = 0;        // failures still to inject
  bool rie_lmi_delivery = false;
  std::string record_format = "text";   // text | json | json_java | mixed
  std::string text_prefix = "bare";     // managed | bare
  std::set<std::string> omit_optional;  // phase, metrics, spans, tracing, initDurationMs, errorType
  bool unknown_types = false;
  bool replay_init = true;
  bool batch_bytes_2x = false;
  bool suppressed_init = false;
  std::optional<int> init_timeout_ms;
  std::optional<int> function_timeout_ms;
  std::string oom;  // "" = none, else a flavour (node, python, ...)
  bool extension_crash = false;
  bool no_shutdown_registration = false;
  std::optional<int> subscribe_response;  // 200 | 202 | 400 | 404 | 500
  int delivery_delay_ms = 0;

  bool omits(std::string_view field) const { return omit_optional.count(std::string(field)) != 0; }
};

// Applies the knobs named in `body` (a JSON object) to a copy of `current`; the result replaces it
// only when every knob is valid.
Expected<Faults> apply_faults(const Faults& current, std::string_view body);

// The knobs as a JSON object (GET /faults, the timeline's `faults` entry).
boost::json::object describe_faults(const Faults& faults);

bool is_oom_flavour(std::string_view flavour);

}  // namespace lc::sandbox
