// app/startup.h — the first step of every long-running mode: load the configuration, set up the
// logger for the mode (conventions.md §21), register secrets, and report each configuration
// problem once. Called by the composition roots before they bind anything.
#pragma once

#include <initializer_list>

#include "core/config.h"
#include "core/config_registry.h"
#include "core/expected.h"

namespace lc::app {

Expected<FinalConfig> start_mode(const Environment& env, Mode mode);

// Makes each signal harmless: delivered to a handler that does nothing (SA_RESTART), so it neither
// kills lastcall nor interrupts its system calls. Unlike SIG_IGN, a handled signal is back to its
// default in a program lastcall execs (a wrapped child must not inherit an ignored SIGPIPE).
// SIGPIPE is made harmless in every mode (serverless-init.md §3.2): a write to a closed stdout or
// stderr then fails with EPIPE instead of killing the process.
void neutralize_signals(std::initializer_list<int> signals);

// Opens /dev/null on whichever of fds 0, 1 and 2 is closed (`lastcall 2>&-`), so no socket lastcall
// opens later becomes its stdout or stderr and receives its log lines.
void keep_standard_fds_open();

}  // namespace lc::app
