// fakeintake/decoders.h — one decoder per intake body format (datadog-wire.md §4.1–4.8), written
// from the wire spec independently of lastcall's encoders. Each takes an uncompressed body and
// returns the decoded document plus normalised records, or kInvalidArgument with a one-line
// reason (the intake answers 400). Called by Intake and the fuzz target. Stateless, never throws.
#pragma once

#include <string_view>

#include "core/expected.h"
#include "records.h"

namespace lc::fakeintake {

Expected<DecodedPayload> decode_series_v2_protobuf(std::string_view body);  // §4.1
Expected<DecodedPayload> decode_series_v2_json(std::string_view body);      // §4.2
Expected<DecodedPayload> decode_series_v1_json(std::string_view body);      // §4.3
Expected<DecodedPayload> decode_sketches(std::string_view body);            // §4.4
Expected<DecodedPayload> decode_logs(std::string_view body);                // §4.5
Expected<DecodedPayload> decode_traces(std::string_view body);              // §4.6
Expected<DecodedPayload> decode_stats(std::string_view body);               // §4.7 (msgpack)
Expected<DecodedPayload> decode_events(std::string_view body);              // §4.8
Expected<DecodedPayload> decode_check_runs(std::string_view body);          // §4.8

// The v2 MetricType enum name: 0 "unspecified", 1 "count", 2 "rate", 3 "gauge"; "" otherwise.
std::string_view metric_type_name(std::int64_t type);

}  // namespace lc::fakeintake
