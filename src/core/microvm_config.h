// core/microvm_config.h — the microVM platform and its lifecycle server (serverless-init.md §5.1,
// §7.3). The platform is selected by AWS_LAMBDA_MICROVM_IMAGE_ARN being present, even empty: the
// composition root asks the Environment for presence; this part holds the value. Filled by
// finalize_config() (core/config.h) from the rows of area microvm; each bad value falls back to
// its own default alone (§7.3: never the whole configuration), with one warning.
#pragma once

#include <cstdint>
#include <string>

namespace lc {

enum class MicrovmHook : std::uint8_t { kReady, kValidate, kRun, kResume, kSuspend, kTerminate };
inline constexpr std::size_t kMicrovmHookCount = 6;

struct MicrovmConfig {
  std::string image_arn;       // empty when unset or set empty
  std::string lifecycle_host;  // LASTCALL_BIND_HOST, else 0.0.0.0 (§7.2)
  int lifecycle_port{};        // DD_AWS_MICROVM_LIFECYCLE_PORT (0 = ephemeral)
  int user_app_port{};         // 0: no valid app port, nothing is forwarded
  // DD_AWS_MICROVM_ENABLE_<HOOK>, indexed by MicrovmHook; a hook is forwarded only when this is
  // true and user_app_port is valid (forwarded()).
  bool enable[kMicrovmHookCount]{};
  std::int64_t forward_timeout_ms{};  // T_f
  std::int64_t ready_timeout_ms{};
  std::int64_t validate_timeout_ms{};
  bool send_run_signal{};
  std::int64_t flush_timeout_ms{};  // T_F (LASTCALL_MICROVM_FLUSH_TIMEOUT_MS)
  std::int64_t heartbeat_ms{};      // LASTCALL_MICROVM_HEARTBEAT_MS

  bool forwarded(MicrovmHook hook) const {
    return user_app_port > 0 && enable[static_cast<std::size_t>(hook)];
  }
};

}  // namespace lc
