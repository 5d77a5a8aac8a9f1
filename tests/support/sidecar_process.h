// tests/support/sidecar_process.h — the real lastcall in sidecar mode for a test: DogStatsD and the
// local API on ephemeral loopback ports, sending to the given intake URL; forced flushes through
// /lambda/flush. Killed with the test. Used by the sidecar integration and e2e tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "support/fakeintake_client.h"
#include "support/process.h"

namespace lc::test {

struct SidecarProcess {
  std::unique_ptr<ChildProcess> process;
  std::string listening_line;  // as printed, e.g. "lastcall | INFO | listening: dogstatsd=… …"
  int dogstatsd = 0;
  int local_api = 0;
  int microvm = 0;  // the microVM lifecycle port, when the listening line has one

  // env adds to (or overrides) the defaults: a test API key, DD_DD_URL=intake_url, ports 0,
  // LASTCALL_BIND_HOST=127.0.0.1. Check started() (failures are reported through gtest).
  static SidecarProcess start(const std::string& intake_url,
                              const std::map<std::string, std::string>& env = {});
  bool started() const { return process && dogstatsd > 0 && local_api > 0; }
  // POST /lambda/flush: a forced flush, answered once it completed or after 90 ms.
  Expected<BlockingResponse> flush() const;
};

}  // namespace lc::test
