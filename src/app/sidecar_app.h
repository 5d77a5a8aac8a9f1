// app/sidecar_app.h — composition root of sidecar mode (serverless-init.md §6.1): the receivers and
// the flusher only; local API on 8124; final flush on SIGTERM/SIGINT, then exit 0.
#pragma once

#include "core/config_registry.h"

namespace lc::app {

int run_sidecar(const Environment& env);

}  // namespace lc::app
