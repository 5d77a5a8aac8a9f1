// core/lambda_config.h — the Lambda platform and the extension's own listeners and margins.
// Filled by finalize_config() (core/config.h) from the rows of area lambda.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lc {

// DD_SERVERLESS_FLUSH_STRATEGY, parsed (lambda-agent.md §6.1). interval_ms is N for the kinds that
// take one (kEndPeriodically, kPeriodically, kContinuously; always > 0 there) and 0 otherwise.
struct FlushStrategy {
  enum class Kind : std::uint8_t { kDefault, kEnd, kEndPeriodically, kPeriodically, kContinuously };
  Kind kind = Kind::kDefault;
  std::int64_t interval_ms = 0;

  friend bool operator==(const FlushStrategy&, const FlushStrategy&) = default;
};

// "default", "end", "end_periodically", "periodically", "continuously".
std::string_view flush_strategy_kind_name(FlushStrategy::Kind kind);
// The value in the variable's own syntax: "default", "end", "end,5000", "continuously,30000".
std::string describe_flush_strategy(const FlushStrategy& strategy);
// `end`, `end,N`, `periodically,N`, `continuously,N`, `default` (words case-insensitive, blanks
// around the comma allowed; N a positive integer of milliseconds). nullopt for anything else, with
// the reason in *why when given.
std::optional<FlushStrategy> parse_flush_strategy(std::string_view text, std::string* why);

struct LambdaConfig {
  bool lmi{};  // extension mode and AWS_LAMBDA_INITIALIZATION_TYPE == lambda-managed-instances
  std::string runtime_api;
  std::string initialization_type;
  std::string region, function_name, function_version;
  int memory_size_mb{};
  std::string task_root;
  std::vector<std::string> custom_metrics_exclude_tags;  // keys (lambda-agent.md §3.5)
  // DD_SERVERLESS_FLUSH_STRATEGY; in LMI always kContinuously (a bad or other value is replaced
  // by continuously,30000, lambda-agent.md §6.1).
  FlushStrategy flush_strategy;
  std::int64_t shutdown_margin_ms{};
  std::string telemetry_host;
  int telemetry_port{};
};

}  // namespace lc
