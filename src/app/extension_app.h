// app/extension_app.h — composition root of Lambda extension mode (lambda-agent.md §1.2):
// config → bind listeners (telemetry, DogStatsD, local API) → register → subscribe telemetry →
// /next loop (closed buckets flushed at each INVOKE) → final flush and exit 0 on SHUTDOWN.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/config_registry.h"

namespace lc::app {

// The final flush's budget from SHUTDOWN receipt (lambda-agent.md §6.5): D − t_s with
// D = deadlineMs − margin; when deadlineMs (absolute epoch ms, 0 = missing) is missing, in the past
// or more than 10 s after t_s, 1500 ms and a warning. Never negative.
Millis final_flush_budget(std::int64_t deadline_ms, std::int64_t t_s, std::int64_t margin_ms);

// §6.5 step 2 bound: min(t_s + 800 ms, D − 600 ms) − t_s for a final flush budget `to_d` = D − t_s;
// never negative.
inline constexpr Millis kShutdownReportWait{800};
inline constexpr Millis kShutdownFlushReserve{600};
Millis shutdown_report_wait(Millis to_d);

// Returns the process exit status: 0 after SHUTDOWN, 1 when registration failed.
int run_extension(const std::string& name, const Environment& env);

}  // namespace lc::app
