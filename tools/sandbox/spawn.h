// tools/sandbox/spawn.h — the one hardened way the tools and the tests start a child process
// (conventions.md §16b): fork/exec into its own process group, PR_SET_PDEATHSIG(SIGKILL) so it
// dies with its parent, a clean signal mask and default dispositions, stdin from /dev/null,
// stdout/stderr into pipes, and no inherited descriptor beyond those three. Used by the sandbox's
// ProcessSupervisor and by tests/support's ChildProcess; the caller owns the returned pipe ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/expected.h"

namespace lc::sandbox {

struct SpawnSpec {
  std::string path;               // executed as is
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value": the child's whole environment
  std::string cwd;                // empty: the parent's
  // Written to the child's stderr, followed by the reason, when exec fails (the child then exits
  // 127). Empty: nothing is written.
  std::string exec_failure_prefix;
};

struct Spawned {
  pid_t pid = -1;
  int stdout_fd = -1;  // read ends, close-on-exec
  int stderr_fd = -1;
  int exec_errno = 0;  // non-zero: exec failed with this errno (the child exits 127)
};

// Errors: kInvalidArgument (empty argv), kIo (pipe or fork failed).
Expected<Spawned> spawn(const SpawnSpec& spec);

}  // namespace lc::sandbox
