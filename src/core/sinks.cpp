#include <algorithm>

#include "core/log_sink.h"
#include "core/metric_sink.h"
#include "core/strings.h"
#include "core/tags.h"

namespace lc {

std::string_view metric_type_symbol(MetricType type) {
  switch (type) {
    case MetricType::kCount:
      return "c";
    case MetricType::kGauge:
      return "g";
    case MetricType::kSet:
      return "s";
    case MetricType::kHistogram:
      return "h";
    case MetricType::kTimer:
      return "ms";
    case MetricType::kDistribution:
      return "d";
  }
  return "?";
}

std::string_view log_status_name(LogStatus status) {
  switch (status) {
    case LogStatus::kTrace:
      return "trace";
    case LogStatus::kDebug:
      return "debug";
    case LogStatus::kInfo:
      return "info";
    case LogStatus::kWarn:
      return "warn";
    case LogStatus::kError:
      return "error";
    case LogStatus::kCritical:
      return "critical";
  }
  return "info";
}

std::optional<LogStatus> log_status_from_level(std::string_view level) {
  struct Row {
    std::string_view name;
    LogStatus status;
  };
  static constexpr Row kRows[] = {
      {"fatal", LogStatus::kCritical}, {"critical", LogStatus::kCritical},
      {"error", LogStatus::kError},    {"err", LogStatus::kError},
      {"warn", LogStatus::kWarn},      {"warning", LogStatus::kWarn},
      {"info", LogStatus::kInfo},      {"information", LogStatus::kInfo},
      {"debug", LogStatus::kDebug},    {"trace", LogStatus::kTrace},
  };
  for (const Row& row : kRows) {
    if (iequals(level, row.name)) return row.status;
  }
  return std::nullopt;
}

void sort_unique_tags(std::vector<std::string_view>& tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
}

}  // namespace lc
