// tools/sandbox/options.h — lastcall-sandbox's command line (lambda-platform.md §7.2) and the
// defaults of an emulated function. Parsed once by main(); the Sandbox copies what it needs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "tools/sandbox/faults.h"

namespace lc::sandbox {

enum class SandboxMode { kOnDemand, kLmi, kRieClassic };

struct SandboxOptions {
  std::string extensions_dir;            // "" = no external extensions
  std::vector<std::string> runtime_cmd;  // argv of the runtime; "" = none
  std::string host = "127.0.0.1";
  std::uint16_t api_port = 0;
  std::uint16_t control_port = 0;
  bool freeze = true;
  int freeze_dwell_ms = 0;
  SandboxMode mode = SandboxMode::kOnDemand;
  int concurrency = 1;
  int function_timeout_ms = 3000;
  int init_timeout_ms = 10000;
  int shutdown_budget_ms = 2000;
  int runtime_share_ms = 300;  // LMI: 600
  int memory_mb = 128;
  std::string function_name = "sandbox-fn";
  std::string function_version = "$LATEST";
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string handler = "index.handler";
  std::vector<std::pair<std::string, std::string>> env;       // --env K=V
  std::vector<std::pair<std::string, std::string>> base_env;  // the sandbox's own environment
  Faults faults;
  std::string self_exe;        // this binary (for the dummy extensions of some knobs)
  std::string timeline_file;   // --timeline-file: every entry also appended there
  bool echo_timeline = false;  // --verbose: every entry also on stderr

  bool lmi() const { return mode == SandboxMode::kLmi; }
  std::string function_arn() const {
    return "arn:aws:lambda:" + region + ":" + account_id + ":function:" + function_name;
  }
};

// argv after the program name (and an optional leading "run"). The runtime command is everything
// after --runtime.
Expected<SandboxOptions> parse_options(const std::vector<std::string>& args);
std::string usage();

}  // namespace lc::sandbox
