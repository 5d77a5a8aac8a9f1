// app/modes.h — argv + environment → which mode runs (architecture.md "Modes",
// serverless-init.md §1.1). Pure; main.cpp calls select_mode() and then the mode's run().
#pragma once

#include <string>
#include <vector>

#include "core/config_registry.h"

namespace lc::app {

enum class Command { kVersion, kHelp, kCheckConfig, kExtension, kWrapper, kSidecar, kUsageError };

struct Selection {
  Command command = Command::kSidecar;
  std::vector<std::string> child_argv;  // wrapper mode: the command to run
  std::string error;                    // kUsageError: the message
  bool check_wrapper = false;           // kCheckConfig: `--check-config -- ...` (wrapper mode)
};

Selection select_mode(const std::vector<std::string>& args, const Environment& env);

// basename(argv[0]); /proc/self/exe only when argv[0] is empty (lambda-platform.md §2.1).
std::string own_name(const char* argv0);

int run_main(int argc, char** argv, const Environment& env);

}  // namespace lc::app
