// lambda/tracer_calls.h — what a tracer tells the local API's start-invocation and end-invocation
// routes (lambda-agent.md §7.1), as plain values: LocalApi parses the HTTP calls into these, the
// InvocationProcessor pairs them with an invocation and uses the error evidence; the rest (trace
// headers, error details, the event and response bodies) is kept, unread, for the aws.lambda span
// of the traces work, which receives a TracerInvocation per end-invocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lc::lambda {

// The x-datadog-* trace headers of one call, as received (empty when absent).
struct TraceHeaders {
  std::string trace_id;           // x-datadog-trace-id
  std::string span_id;            // x-datadog-span-id
  std::string parent_id;          // x-datadog-parent-id
  std::string sampling_priority;  // x-datadog-sampling-priority
  std::string tags;               // x-datadog-tags
};

// POST /lambda/start-invocation.
struct StartInvocation {
  // The request body: the invocation event JSON, unparsed. "{}" when the body was over the cap
  // (event_too_large): the invocation is still opened from the request-id header.
  std::string event;
  bool event_too_large = false;
  std::string lang;  // Datadog-Meta-Lang
  TraceHeaders trace;
  std::int64_t time_ms = 0;  // wall clock at receipt (epoch ms)
};

// POST /lambda/end-invocation.
struct EndInvocation {
  std::string response;  // the function's response body, read fully; may be anything (not JSON)
  TraceHeaders trace;
  bool error_header = false;  // x-datadog-invocation-error: true
  // x-datadog-invocation-error-msg / -type / -stack: base64-decoded when valid base64, else raw.
  std::string error_msg;
  std::string error_type;
  std::string error_stack;
  // The response body's statusCode (a JSON object with an integer, or a string of one), when any.
  std::optional<std::int64_t> status_code;
  std::int64_t time_ms = 0;  // wall clock at receipt (epoch ms)

  // Error evidence (§7.1): the error header, or a 5xx statusCode.
  bool is_error() const {
    return error_header || (status_code && *status_code >= 500 && *status_code <= 599);
  }
};

// One tracer-backed invocation, handed on at its end-invocation (the traces work builds the
// aws.lambda span from it).
struct TracerInvocation {
  std::string request_id;                // empty: not paired (LMI without the request-id header)
  std::optional<StartInvocation> start;  // nullopt: no start-invocation was paired with it
  EndInvocation end;
};

}  // namespace lc::lambda
