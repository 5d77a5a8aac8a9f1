// core/config_registry.h — the one declaration of every configuration variable (conventions.md §8)
// and the raw sources: environment (DD_ > DATADOG_), datadog.yaml (extension mode), defaults.
// The rows live in core/config_variables.def; each becomes a VarSpec in LastcallVars::kRows and a
// typed handle var::kName whose type carries the value type, so reading an undeclared variable
// does not compile. The tools (lastcall-sandbox) keep their own table the same way
// (tools/sandbox/tool_variables.h), which never appears in lastcall's --check-config.
// The Environment seam is the only way lastcall reads its environment; ProcessEnvironment is the
// only getenv in the tree (tests/unit/core/getenv_guard_test enforces it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "core/logger.h"
#include "core/mode.h"

namespace lc {

enum class VarType { kString, kBool, kInt, kDouble, kList, kJson, kUrl, kLevel, kEnum };

// The FinalConfig part a variable belongs to (and the finalize_<area>() that reads it).
enum class Area { kCommon, kMetrics, kForward, kTraces, kLambda, kLogs, kInit, kMicrovm, kTool };
std::string_view area_name(Area area);

// A textual default: one for every mode, or one per mode {extension, wrapper, sidecar}.
class ModeDefaults {
 public:
  constexpr ModeDefaults() = default;
  constexpr ModeDefaults(const char* all) : v_{all, all, all} {}  // NOLINT: implicit on purpose
  constexpr ModeDefaults(std::string_view extension, std::string_view wrapper,
                         std::string_view sidecar)
      : v_{extension, wrapper, sidecar} {}
  constexpr std::string_view operator[](Mode mode) const {
    return v_[static_cast<std::size_t>(mode)];
  }
  constexpr bool per_mode() const { return v_[0] != v_[1] || v_[1] != v_[2]; }

 private:
  std::string_view v_[3]{};
};

struct VarSpec {
  std::string_view name{};  // "DD_API_KEY"
  Area area = Area::kCommon;
  ModeDefaults defaults{};          // parsed like a set value; "" = unset
  std::string_view yaml_key{};      // datadog.yaml key ("api_key"), "" = not read from YAML
  bool secret = false;              // masked in every log line and in --check-config
  bool url_credentials = false;     // secret: only a URL's "user:pass@" is masked
  bool later_work = false;          // recognised but not implemented: setting it warns once
  std::int64_t lo = 0, hi = 0;      // kInt: accepted range (inclusive); kDouble: must be > lo
  std::string_view choices{};       // kEnum: "a|b|c"
  std::string_view default_from{};  // the variable whose final value is the default
  std::string_view description{};
  VarType type = VarType::kString;  // set from the row's second field
};

constexpr VarSpec with_type(VarType type, VarSpec spec) {
  spec.type = type;
  return spec;
}

// The C++ type a variable's value has once parsed.
template <VarType T>
struct VarValue {
  using type = std::string;  // kString, kJson, kUrl, kEnum
};
template <>
struct VarValue<VarType::kBool> {
  using type = bool;
};
template <>
struct VarValue<VarType::kInt> {
  using type = std::int64_t;
};
template <>
struct VarValue<VarType::kDouble> {
  using type = double;
};
template <>
struct VarValue<VarType::kList> {
  using type = std::vector<std::string>;
};
template <>
struct VarValue<VarType::kLevel> {
  using type = LogLevel;
};

// A typed handle to one row of Table (LastcallVars or the tools' ToolVars).
template <class Table, VarType T>
struct Var {
  using value_type = typename VarValue<T>::type;
  static constexpr VarType kType = T;
  std::size_t index;
  constexpr const VarSpec& spec() const { return Table::kRows[index]; }
  constexpr std::string_view name() const { return spec().name; }
};

// lastcall's own table.
struct LastcallVars {
  static constexpr VarSpec kRows[] = {
#define LC_VAR(id, type, ...) with_type(VarType::type, VarSpec{__VA_ARGS__}),
#include "core/config_variables.def"
#undef LC_VAR
  };
};

enum class VarId : std::size_t {
#define LC_VAR(id, type, ...) id,
#include "core/config_variables.def"
#undef LC_VAR
  kCount
};

namespace var {
#define LC_VAR(id, type, ...) \
  inline constexpr Var<LastcallVars, VarType::type> id{static_cast<std::size_t>(VarId::id)};
#include "core/config_variables.def"
#undef LC_VAR
}  // namespace var

template <class T>
inline constexpr bool kIsLastcallVar = false;
template <VarType T>
inline constexpr bool kIsLastcallVar<Var<LastcallVars, T>> = true;

std::span<const VarSpec> all_variables();
// The row of a declared name (a binary search over the names, sorted at compile time); nullptr
// for any other name.
const VarSpec* find_variable(std::string_view name);

// Parses text as a value of the row's type (bounds and choices checked); nullopt with *why set
// when it is not one. The same parser reads set values and the row's textual defaults.
template <VarType T>
std::optional<typename VarValue<T>::type> parse_var_value(const VarSpec& spec,
                                                          std::string_view text, std::string* why);
// The canonical text of a value ("8125", "true", "info", the trimmed list text).
template <VarType T>
std::string format_var_value(const typename VarValue<T>::type& value);

// The row's default in a mode, parsed (value-initialised when the row has none). Rows with
// default_from have no default of their own.
template <class Table, VarType T>
typename VarValue<T>::type default_value(Var<Table, T> v, Mode mode) {
  const std::string_view text = v.spec().defaults[mode];
  if (text.empty()) return {};
  std::string why;
  auto parsed = parse_var_value<T>(v.spec(), text, &why);
  return parsed ? std::move(*parsed) : typename VarValue<T>::type{};
}

class Environment {
 public:
  virtual ~Environment() = default;
  // Reads one declared variable (raw text); an undeclared name does not compile.
  template <class Table, VarType T>
  std::optional<std::string> get(Var<Table, T> v) const {
    return lookup(v.name());
  }
  // Every NAME=value pair, in environment order (the sandbox passes them on to its children).
  virtual std::vector<std::pair<std::string, std::string>> all() const = 0;
  // The same pairs, in the same order, as views valid during the call only: the config loader and
  // the child's environment read the environment once without copying it (serverless-init.md §2
  // step 1 is on the child's critical path).
  virtual void for_each(
      const std::function<void(std::string_view name, std::string_view value)>& visit) const;

 protected:
  virtual std::optional<std::string> lookup(std::string_view name) const = 0;
};

// A declared variable's value from the environment alone, parsed, or the row's default for mode
// when unset or unparsable (the tools use this; lastcall goes through finalize_config()).
template <class Table, VarType T>
typename VarValue<T>::type env_value(const Environment& env, Var<Table, T> v,
                                     Mode mode = Mode::kSidecar) {
  if (auto text = env.get(v)) {
    std::string why;
    if (auto parsed = parse_var_value<T>(v.spec(), *text, &why)) return std::move(*parsed);
  }
  return default_value(v, mode);
}

class ProcessEnvironment final : public Environment {
 public:
  std::vector<std::pair<std::string, std::string>> all() const override;
  void for_each(
      const std::function<void(std::string_view, std::string_view)>& visit) const override;

 protected:
  std::optional<std::string> lookup(std::string_view name) const override;
};

class MapEnvironment final : public Environment {
 public:
  MapEnvironment() = default;
  explicit MapEnvironment(const std::map<std::string, std::string>& vars)
      : vars_(vars.begin(), vars.end()) {}
  void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }
  std::vector<std::pair<std::string, std::string>> all() const override;
  void for_each(
      const std::function<void(std::string_view, std::string_view)>& visit) const override;

 protected:
  std::optional<std::string> lookup(std::string_view name) const override;

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

// Sources in precedence order, lowest first: default < datadog.yaml < DATADOG_* < DD_* (and the
// plain environment for names without the DD_ prefix).
enum class ConfigSource { kDefault, kYaml, kEnvDatadog, kEnvDd, kEnv };
std::string_view config_source_name(ConfigSource source);

struct RawValue {
  std::string value;
  ConfigSource source = ConfigSource::kDefault;
  std::string from;  // where exactly: "DATADOG_SITE", "datadog.yaml:site"
};

// Raw textual values by registry name: every source that set each variable, in precedence order
// (the last one wins). Only set variables appear.
struct RawConfig {
  std::map<std::string, std::vector<RawValue>, std::less<>> values;
  std::vector<std::string> problems;  // e.g. unreadable datadog.yaml; reported once at start

  // The winning source, if any.
  const RawValue* find(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? nullptr : &it->second.back();
  }
  std::span<const RawValue> layers(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) return {};
    return it->second;
  }
};

// Reads every registry variable from YAML (if yaml_path is given and exists), DATADOG_X and DD_X
// (or the plain name), never getenv directly. When a name appears twice in the environment, the
// first one counts (as for getenv).
RawConfig load_raw_config(const Environment& env, std::optional<std::string> yaml_path);

// Parses YAML text into flattened dotted keys ("logs_config.logs_dd_url"); sequences of scalars are
// joined with ','. Wraps yaml-cpp's exceptions (the one adapter for it).
Expected<std::map<std::string, std::string>> flatten_yaml(std::string_view text);

// A secret value as logs and --check-config show it: masked, or for a URL with credentials
// (url_credentials) the URL with "user:pass@" replaced by "***@" so the rest stays readable.
std::string mask_value(const VarSpec& spec, std::string_view value);

// "http://h:1/p/" → "http://h:1/p"; a value without scheme is rejected.
std::optional<std::string> normalise_url(std::string_view url);

}  // namespace lc
