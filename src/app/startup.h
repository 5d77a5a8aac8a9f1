// app/startup.h — the first step of every long-running mode: load the configuration, set up the
// logger for the mode (conventions.md §21), register secrets, and report each configuration
// problem once. Called by the composition roots before they bind anything.
#pragma once

#include "core/config.h"
#include "core/config_registry.h"
#include "core/expected.h"

namespace lc::app {

Expected<FinalConfig> start_mode(const Environment& env, Mode mode);

}  // namespace lc::app
