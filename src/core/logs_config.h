// core/logs_config.h — log forwarding (lambda-agent.md §5.1, serverless-init.md §4.1). Filled by
// finalize_config() (core/config.h) from the rows of area logs.
#pragma once

#include <string>

namespace lc {

struct LogsConfig {
  bool enabled{};
  // DD_LOGS_CONFIG_PROCESSING_RULES (datadog.yaml logs_config.processing_rules) as given: a JSON
  // array the log processor compiles once (lambda-agent.md §5.5). Empty when unset.
  std::string processing_rules_json;
};

}  // namespace lc
