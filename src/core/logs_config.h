// core/logs_config.h — log forwarding (lambda-agent.md §5.1, serverless-init.md §4.1). Filled by
// finalize_config() (core/config.h) from the rows of area logs.
#pragma once

#include <string>

namespace lc {

struct LogsConfig {
  bool enabled{};
  std::string additional_endpoints_json;  // secret; DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS as given
};

}  // namespace lc
