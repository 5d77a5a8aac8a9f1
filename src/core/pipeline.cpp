#include "core/pipeline.h"

namespace lc {

std::string_view payload_kind_name(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kSeriesV2:
      return "series_v2";
    case PayloadKind::kSeriesV1:
      return "series_v1";
    case PayloadKind::kSketches:
      return "sketches";
    case PayloadKind::kLogs:
      return "logs";
    case PayloadKind::kTraces:
      return "traces";
    case PayloadKind::kTraceStats:
      return "trace_stats";
    case PayloadKind::kEvents:
      return "events";
    case PayloadKind::kServiceChecks:
      return "service_checks";
  }
  return "unknown";
}

std::string_view payload_drop_kind(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kLogs:
      return "logs";
    case PayloadKind::kTraces:
    case PayloadKind::kTraceStats:
      return "traces";
    default:
      return "metrics";
  }
}

}  // namespace lc
