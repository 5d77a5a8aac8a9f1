// core/config_registry.h — the one declaration of every configuration variable (conventions.md §8)
// and the raw sources: environment (DD_ > DATADOG_), datadog.yaml (extension mode), defaults.
// The Environment seam is the only way lastcall reads its environment; ProcessEnvironment is the
// only getenv in the tree (tests/unit/core/getenv_guard_test enforces it).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace lc {

enum class VarType { kString, kBool, kInt, kDouble, kList, kJson, kUrl, kLevel, kEnum };

struct VarSpec {
  std::string_view name;  // "DD_API_KEY"
  VarType type;
  std::string_view default_value;  // textual default; "" = unset; mode-dependent ones say so below
  std::string_view yaml_key;       // datadog.yaml key ("api_key"), "" = not read from YAML
  bool secret;                     // masked in every log line and in --check-config
  bool later_work;                 // recognised but not implemented: setting it warns once
  std::string_view description;
};

std::span<const VarSpec> all_variables();
const VarSpec* find_variable(std::string_view name);

class Environment {
 public:
  virtual ~Environment() = default;
  virtual std::optional<std::string> get(std::string_view name) const = 0;
  // Every NAME=value pair (for the sandbox, which passes an environment on to its children).
  virtual std::vector<std::pair<std::string, std::string>> all() const = 0;
};

class ProcessEnvironment final : public Environment {
 public:
  std::optional<std::string> get(std::string_view name) const override;
  std::vector<std::pair<std::string, std::string>> all() const override;
};

class MapEnvironment final : public Environment {
 public:
  MapEnvironment() = default;
  explicit MapEnvironment(const std::map<std::string, std::string>& vars)
      : vars_(vars.begin(), vars.end()) {}
  void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }
  std::optional<std::string> get(std::string_view name) const override;
  std::vector<std::pair<std::string, std::string>> all() const override;

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

enum class ConfigSource { kDefault, kYaml, kEnvDatadog, kEnvDd, kEnv };
std::string_view config_source_name(ConfigSource source);

struct RawValue {
  std::string value;
  ConfigSource source = ConfigSource::kDefault;
  std::string from;  // where exactly: "DATADOG_SITE", "datadog.yaml:site"
};

// Raw textual values by registry name, with their source. Only set variables appear.
struct RawConfig {
  std::map<std::string, RawValue, std::less<>> values;
  std::vector<std::string> problems;  // e.g. unreadable datadog.yaml; reported once at start

  const RawValue* find(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
};

// Reads every registry variable: env DD_X, then DATADOG_X, then YAML (if yaml_path is given and
// exists), never getenv directly.
RawConfig load_raw_config(const Environment& env, std::optional<std::string> yaml_path);

// Parses YAML text into flattened dotted keys ("logs_config.logs_dd_url"); sequences of scalars are
// joined with ','. Wraps yaml-cpp's exceptions (the one adapter for it).
Expected<std::map<std::string, std::string>> flatten_yaml(std::string_view text);

}  // namespace lc
