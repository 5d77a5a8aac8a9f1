// core/mode.h — the three ways lastcall runs (architecture.md): Lambda extension, init wrapper,
// sidecar. Stages that behave differently per mode take a Mode next to their config part.
#pragma once

#include <string_view>

namespace lc {

enum class Mode { kExtension, kWrapper, kSidecar };
std::string_view mode_name(Mode mode);
inline constexpr Mode kAllModes[] = {Mode::kExtension, Mode::kWrapper, Mode::kSidecar};

}  // namespace lc
