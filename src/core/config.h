// core/config.h — the finalized, typed configuration every component copies from.
// Built once at start by finalize_config() from the raw sources of config_registry.h; a bad value
// becomes a warning naming the variable and the default used, never a failure (lambda-agent.md
// §8.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/common_config.h"
#include "core/config_registry.h"
#include "core/expected.h"
#include "core/forward_config.h"
#include "core/init_config.h"
#include "core/lambda_config.h"
#include "core/logger.h"
#include "core/logs_config.h"
#include "core/metrics_config.h"
#include "core/microvm_config.h"
#include "core/mode.h"
#include "core/proxy_config.h"
#include "core/traces_config.h"

namespace lc {

// One part per area of the registry (core/config_variables.def), each in its own header so a
// stage includes only its part; each is filled by its own finalize_<area>() from the rows of that
// area. No field carries a default of its own: every default comes from the row, through
// finalize_config() (an empty environment gives the defaults of a mode). Only the composition
// roots (app/) and core/config.* see the whole FinalConfig.

struct FinalConfig {
  Mode mode{};
  CommonConfig common;
  ForwardConfig forward;
  MetricsConfig metrics;
  TracesConfig traces;
  LambdaConfig lambda;
  LogsConfig logs;
  InitConfig init;
  MicrovmConfig microvm;

  // What --check-config prints: every variable, every source that set it in precedence order
  // (default < datadog.yaml < DATADOG_* < DD_*), the winner marked.
  struct Layer {
    ConfigSource source = ConfigSource::kDefault;
    std::string from;     // "default", "datadog.yaml:site", "DATADOG_SITE", "DD_SITE"
    std::string display;  // masked for secrets; "(unset)" for a default that is none
    bool winner = false;
    bool rejected = false;
  };
  struct Entry {
    std::string name;
    Area area = Area::kCommon;
    std::string display;  // the final value, masked for secrets; "(unset)" when nothing applies
    std::string source;  // the winner: default / datadog.yaml:key / env NAME / default (… rejected)
                         // / derived (…)
    std::vector<Layer> layers;
    // Set when the value used is not any layer's but follows a rule from other variables (v1
    // series → zlib; lambda-agent.md §5.1 for logs): the rule and its inputs. No layer is then
    // marked as the winner.
    std::string derived;
    bool read = false;  // read by a finalize_<area>() (every row that is not later work is)
  };
  std::vector<Entry> entries;         // empty unless finalized with ConfigDetail::kSources
  std::vector<std::string> warnings;  // reported once at start
  bool rejected_values = false;       // a value was rejected (--check-config exits 1)

  const Entry* entry(std::string_view name) const;
};

// The one start-up line about a missing API key (lambda-agent.md §8.3), empty when a key is set.
std::string missing_api_key_message(const FinalConfig& config);

// How much finalize_config() records besides the typed values and the warnings.
enum class ConfigDetail {
  kSources,  // also FinalConfig::entries: every variable with its sources (--check-config, tests)
  kValues,   // the values only: what a mode starts with (serverless-init.md §2 step 1 is on the
             // child's critical path; the entries cost more than the values)
};

// Mode-specific defaults apply (serverless-init.md §8, lambda-agent.md §8.2), each from its row.
// Never fails on a bad value; the Expected is for future hard failures (none today).
Expected<FinalConfig> finalize_config(const RawConfig& raw, Mode mode,
                                      ConfigDetail detail = ConfigDetail::kSources);

// The defaults of a mode, every one from its row: finalize_config() of an empty environment.
FinalConfig default_config(Mode mode = Mode::kSidecar);

// The sources a mode reads, finalized: the environment, plus $LAMBDA_TASK_ROOT/datadog.yaml
// (default /var/task) in extension mode only (clarifications: wrapper and sidecar read the
// environment alone).
Expected<FinalConfig> load_config(const Environment& env, Mode mode,
                                  ConfigDetail detail = ConfigDetail::kSources);

// Secrets to register with the logger (API keys, proxy password, additional endpoint keys).
std::vector<std::string> config_secrets(const FinalConfig& config);

// The text --check-config prints.
std::string render_check_config(const FinalConfig& config);

}  // namespace lc
