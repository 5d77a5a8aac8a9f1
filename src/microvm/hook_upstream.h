// microvm/hook_upstream.h — the seam between the lifecycle server and the forwarder to the user
// app (serverless-init.md §7.5): the server hands one buffered hook request over and receives the
// answer to mirror. microvm/hook_forwarder.* implements it; tests use a fake.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/microvm_config.h"

namespace lc::microvm {

// Largest hook body kept in either direction (§7.2 inbound cap, §7.5 response cap).
inline constexpr std::size_t kMaxHookBody = 1024 * 1024;

// "ready", "validate", "run", "resume", "suspend", "terminate".
std::string_view hook_name(MicrovmHook hook);
// "/aws/lambda-microvms/runtime/v1/<name>" (§7.1).
std::string hook_path(MicrovmHook hook);
// ready and validate: dial check first, and never 504 (§7.5: a 504 would fail the image build).
bool is_build_hook(MicrovmHook hook);

struct HookRequest {
  MicrovmHook hook = MicrovmHook::kReady;
  std::string body;          // the inbound body, read completely by the caller (≤ 1 MiB)
  std::string content_type;  // empty: none sent
};

struct HookResponse {
  int status = 0;            // what the platform must get (mirrored, or 503/504 per §7.5)
  std::string content_type;  // only if the app sent one
  std::string body;          // ≤ 1 MiB
  bool truncated = false;    // app body > 1 MiB (first 1 MiB kept)
  std::string outcome;  // "mirrored" | "503" | "504" — for lastcall.microvm.hook{hook,outcome}
  // Why the answer is 503/504, or why a mirrored body is partial or cut; empty when the app
  // answered in full. Already logged at warn by the forwarder: for the caller's own lines only.
  std::string detail;
};

// The seam the lifecycle server uses; tests fake it.
class HookUpstream {
 public:
  virtual ~HookUpstream() = default;
  // `done` runs exactly once, later, on the loop thread (never inside forward()).
  virtual void forward(HookRequest request, Millis timeout,
                       std::function<void(HookResponse)> done) = 0;
};

}  // namespace lc::microvm
