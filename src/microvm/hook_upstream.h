// microvm/hook_upstream.h — the seam between the lifecycle server and the forwarder to the user
// app (serverless-init.md §7.5): the server hands one buffered hook request over and receives the
// answer to mirror. microvm/hook_forwarder.* implements it; tests use a fake.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/microvm_config.h"

namespace lc::microvm {

// "ready", "validate", "run", "resume", "suspend", "terminate": the last path segment of the hook.
std::string_view hook_name(MicrovmHook hook);

struct HookRequest {
  MicrovmHook hook;
  std::string body;          // the whole inbound body (≤ 1 MiB), re-sent with its exact length
  std::string content_type;  // empty: the platform sent none
};

struct HookResponse {
  int status = 0;
  std::string content_type;  // empty: the app sent none (never sniffed)
  std::string body;          // ≤ 1 MiB
  bool truncated = false;
  std::string outcome;  // mirrored|503|504
};

class HookUpstream {
 public:
  virtual ~HookUpstream() = default;
  // Forwards within `timeout`; done() is called exactly once, on the loop thread.
  virtual void forward(HookRequest request, Millis timeout,
                       std::function<void(HookResponse)> done) = 0;
};

}  // namespace lc::microvm
