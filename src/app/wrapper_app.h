// app/wrapper_app.h — composition root of the init wrapper (serverless-init.md §2–§6): lastcall as
// a container ENTRYPOINT. The child is spawned first (after the receivers are bound, before
// anything slow), supervised (signals forwarded to its group, every zombie reaped, its exit status
// returned), its stdout/stderr passed through unchanged and captured as logs; the cloud is detected
// from the environment, its metadata fetched off the critical path; periodic flushes, an early
// flush at SIGTERM, and a final flush bounded by the platform's grace.
#pragma once

#include <string>
#include <vector>

#include "core/config_registry.h"

namespace lc::app {

// child_argv: the command as selected (serverless-init.md §1.1); never empty.
int run_wrapper(const std::vector<std::string>& child_argv, const Environment& env);

}  // namespace lc::app
