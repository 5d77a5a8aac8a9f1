// init/command.h — what the wrapper runs and with which environment (serverless-init.md §1.2,
// §3.1, §3.4): the one-string compatibility split, the child's environment (defaults and tracer
// auto-instrumentation) and the exit status lastcall reports for a wait status.
// Called once by the wrapper's composition root before spawn_child(); pure functions whose
// filesystem questions go through the callbacks they are given, so tests use fakes.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config_registry.h"

namespace lc::init {

using PathPredicate = std::function<bool(const std::string& path)>;

struct PreparedCommand {
  std::vector<std::string> argv;
  bool was_split = false;  // the one-string compatibility rule applied
};

// §1.2: exactly one argument that contains ASCII whitespace and names no existing file is split
// on runs of whitespace (logged at info). Anything else is returned unchanged: no shell, no
// quoting, no expansion. An argument made only of whitespace is left as is (exec reports it).
PreparedCommand prepare_command(std::vector<std::string> argv, const PathPredicate& file_exists);
// The same, asking the real filesystem whether a file exists at the exact path.
PreparedCommand prepare_command(std::vector<std::string> argv);

// §3.1: the child's environment as "NAME=value" strings: the parent's variables in their order,
// with the tracer variables of the first existing /dd_tracer/{node,java,dotnet,python}/ extended
// (never replaced; the .NET ones only written when unset), then the defaults that are unset.
// "Unset" means absent: a variable set to the empty string is the user's choice and is kept.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& parent,
    const PathPredicate& dir_exists);
// The same, asking the real filesystem whether the tracer directories exist.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& parent);
// The same from lastcall's environment, read in one pass without a copy of it (the wrapper builds
// it right before the spawn, serverless-init.md §2 step 3).
std::vector<std::string> child_environment(const Environment& parent);

// §3.4: exited with n → n; killed by signal s → 128 + s. Anything else (a stopped or continued
// status, which waitpid without WUNTRACED never returns) → 255.
int exit_status_of(int wait_status);

}  // namespace lc::init
