// core/common_config.h — the configuration part every mode and most stages share: identity for
// tagging, own behaviour, the local listeners. Filled by finalize_config() (core/config.h) from
// the rows of area common; no field carries a default of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/logger.h"

namespace lc {

struct CommonConfig {
  std::string env, service, version, hostname, source;
  // DD_TAGS + DD_EXTRA_TAGS as given; the env:/service:/version: items give way to DD_ENV/
  // DD_SERVICE/DD_VERSION when those are set (core/tag_sets.h builds the tags sent).
  std::vector<std::string> tags;
  LogLevel log_level{};
  bool self_metrics{};
  std::int64_t memory_budget_bytes{};
  std::string local_api_host;
  int local_api_port{};
};

}  // namespace lc
