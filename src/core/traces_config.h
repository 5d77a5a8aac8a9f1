// core/traces_config.h — the trace receiver's configuration part. Filled by finalize_config()
// (core/config.h) from the rows of area traces.
#pragma once

#include <string>

namespace lc {

struct TracesConfig {
  std::string apm_host;
  int apm_receiver_port{};
};

}  // namespace lc
