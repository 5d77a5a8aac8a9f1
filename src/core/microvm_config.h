// core/microvm_config.h — the microVM lifecycle server (serverless-init.md §7.3): no variables
// yet; the part exists so the stage takes only its own configuration when it comes.
#pragma once

namespace lc {

struct MicrovmConfig {};

}  // namespace lc
