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
  std::vector<std::string> tags;       // DD_TAGS + DD_EXTRA_TAGS
  std::vector<std::string> base_tags;  // env:, service:, version: + tags (serialisation order)
  LogLevel log_level{};
  bool self_metrics{};
  std::int64_t memory_budget_bytes{};
  std::string local_api_host;
  int local_api_port{};
};

}  // namespace lc
