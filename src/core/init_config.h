// core/init_config.h — the wrapper and sidecar modes (serverless-init.md). Filled by
// finalize_config() (core/config.h) from the rows of area init.
#pragma once

#include <cstdint>

namespace lc {

struct InitConfig {
  std::int64_t flush_interval_ms{};
  std::int64_t shutdown_grace_ms{};  // G: SIGTERM → exit (serverless-init.md §3.5)
};

}  // namespace lc
