// core/lambda_config.h — the Lambda platform and the extension's own listeners and margins.
// Filled by finalize_config() (core/config.h) from the rows of area lambda.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lc {

struct LambdaConfig {
  bool lmi{};  // extension mode and AWS_LAMBDA_INITIALIZATION_TYPE == lambda-managed-instances
  std::string runtime_api;
  std::string initialization_type;
  std::string region, function_name, function_version;
  int memory_size_mb{};
  std::string task_root;
  std::vector<std::string> custom_metrics_exclude_tags;  // keys (lambda-agent.md §3.5)
  std::string flush_strategy;
  std::int64_t shutdown_margin_ms{};
  std::string telemetry_host;
  int telemetry_port{};
};

}  // namespace lc
