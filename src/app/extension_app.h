// app/extension_app.h — composition root of Lambda extension mode (lambda-agent.md §1.2):
// config → bind listeners → register → subscribe telemetry → /next loop → clean exit on SHUTDOWN.
#pragma once

#include <string>

#include "core/config_registry.h"

namespace lc::app {

// Returns the process exit status: 0 after SHUTDOWN, 1 when registration failed.
int run_extension(const std::string& name, const Environment& env);

}  // namespace lc::app
