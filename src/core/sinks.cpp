#include <algorithm>

#include "core/log_sink.h"
#include "core/metric_sink.h"
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
  if (level.size() > 11) return std::nullopt;  // longer than "INFORMATION": none of the names
  char buf[12];
  for (std::size_t i = 0; i < level.size(); ++i) {
    const char c = level[i];
    buf[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  const std::string_view upper(buf, level.size());
  if (upper == "FATAL" || upper == "CRITICAL") return LogStatus::kCritical;
  if (upper == "ERROR" || upper == "ERR") return LogStatus::kError;
  if (upper == "WARN" || upper == "WARNING") return LogStatus::kWarn;
  if (upper == "INFO" || upper == "INFORMATION") return LogStatus::kInfo;
  if (upper == "DEBUG") return LogStatus::kDebug;
  if (upper == "TRACE") return LogStatus::kTrace;
  return std::nullopt;
}

void sort_unique_tags(std::vector<std::string_view>& tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
}

}  // namespace lc
