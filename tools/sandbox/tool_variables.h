// tools/sandbox/tool_variables.h — the tools' own variable table (tool_variables.def) and its
// typed handles tool_var::kName, built with core's registry machinery. Read with
// Environment::get(handle) or env_value(env, handle); an undeclared name does not compile.
#pragma once

#include "core/config_registry.h"

namespace lc::sandbox {

struct ToolVars {
  static constexpr VarSpec kRows[] = {
#define LC_VAR(id, type, ...) with_type(VarType::type, VarSpec{__VA_ARGS__}),
#include "tools/sandbox/tool_variables.def"
#undef LC_VAR
  };
};

enum class ToolVarId : std::size_t {
#define LC_VAR(id, type, ...) id,
#include "tools/sandbox/tool_variables.def"
#undef LC_VAR
  kCount
};

namespace tool_var {
#define LC_VAR(id, type, ...) \
  inline constexpr Var<ToolVars, VarType::type> id{static_cast<std::size_t>(ToolVarId::id)};
#include "tools/sandbox/tool_variables.def"
#undef LC_VAR
}  // namespace tool_var

}  // namespace lc::sandbox
