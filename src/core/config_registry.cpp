#include "core/config_registry.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <cmath>

#include "core/json.h"
#include "core/strings.h"
#include "core/tags.h"

extern char** environ;  // NOLINT

namespace lc {
namespace {

std::optional<std::string> yaml_to_env_key_value(const std::map<std::string, std::string>& yaml,
                                                 std::string_view key) {
  auto it = yaml.find(std::string(key));
  if (it == yaml.end()) return std::nullopt;
  return it->second;
}

void flatten_node(const YAML::Node& node, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      flatten_node(kv.second, prefix.empty() ? key : std::string(prefix).append(".").append(key),
                   out);
    }
  } else if (node.IsSequence()) {
    std::string joined;
    bool scalars = true;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        scalars = false;
        break;
      }
      if (!joined.empty()) joined.push_back(',');
      joined += item.as<std::string>();
    }
    if (scalars) {
      out[prefix] = joined;
    } else {
      YAML::Emitter emitter;
      emitter << YAML::DoubleQuoted << YAML::Flow << YAML::BeginSeq;
      for (const auto& item : node) emitter << item;
      emitter << YAML::EndSeq;
      out[prefix] = emitter.c_str();
    }
  } else if (node.IsScalar()) {
    out[prefix] = node.as<std::string>();
  }
}

}  // namespace

std::span<const VarSpec> all_variables() { return LastcallVars::kRows; }

const VarSpec* find_variable(std::string_view name) {
  for (const auto& v : LastcallVars::kRows) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> ProcessEnvironment::lookup(std::string_view name) const {
  const std::string key(name);
  const char* value = std::getenv(key.c_str());  // the only getenv in lastcall
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::vector<std::pair<std::string, std::string>> ProcessEnvironment::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> MapEnvironment::lookup(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, std::string>> MapEnvironment::all() const {
  return {vars_.begin(), vars_.end()};
}

std::string_view config_source_name(ConfigSource source) {
  switch (source) {
    case ConfigSource::kDefault:
      return "default";
    case ConfigSource::kYaml:
      return "datadog.yaml";
    case ConfigSource::kEnvDatadog:
      return "env DATADOG_*";
    case ConfigSource::kEnvDd:
      return "env DD_*";
    case ConfigSource::kEnv:
      return "env";
  }
  return "default";
}

Expected<std::map<std::string, std::string>> flatten_yaml(std::string_view text) {
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    std::map<std::string, std::string> out;
    if (root.IsNull()) return out;
    if (!root.IsMap()) {
      return make_error(ErrorCode::kInvalidArgument, "top level is not a mapping");
    }
    flatten_node(root, "", out);
    return out;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, e.what());
  }
}

RawConfig load_raw_config(const Environment& env, std::optional<std::string> yaml_path) {
  RawConfig raw;
  std::map<std::string, std::string> yaml;
  if (yaml_path) {
    std::ifstream in(*yaml_path);
    if (in) {
      std::stringstream buf;
      buf << in.rdbuf();
      auto parsed = flatten_yaml(buf.str());
      if (parsed) {
        yaml = std::move(*parsed);
      } else {
        raw.problems.push_back("config: " + *yaml_path + " is not valid YAML (" +
                               parsed.error().message + "); ignoring it");
      }
    }
  }
  // One pass over the environment, then a binary search per name: a getenv() per name and alias
  // would scan the whole environment a few hundred times at start.
  auto env_vars = env.all();
  std::stable_sort(env_vars.begin(), env_vars.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto read = [&env_vars](std::string_view name) -> const std::string* {
    auto it = std::lower_bound(env_vars.begin(), env_vars.end(), name,
                               [](const auto& e, std::string_view n) { return e.first < n; });
    return it != env_vars.end() && it->first == name ? &it->second : nullptr;
  };
  std::string alt;
  for (const auto& spec : LastcallVars::kRows) {
    const std::string_view name = spec.name;
    std::vector<RawValue> layers;  // lowest precedence first
    if (!spec.yaml_key.empty()) {
      if (auto v = yaml_to_env_key_value(yaml, spec.yaml_key)) {
        layers.push_back({*v, ConfigSource::kYaml, "datadog.yaml:" + std::string(spec.yaml_key)});
      }
    }
    const bool dd = starts_with(name, "DD_");
    if (dd) {
      alt.assign("DATADOG_").append(name.substr(3));
      if (const std::string* v = read(alt)) layers.push_back({*v, ConfigSource::kEnvDatadog, alt});
    }
    if (const std::string* v = read(name)) {
      layers.push_back({*v, dd ? ConfigSource::kEnvDd : ConfigSource::kEnv, std::string(name)});
    }
    if (!layers.empty()) raw.values[std::string(name)] = std::move(layers);
  }
  return raw;
}

std::string_view area_name(Area area) {
  switch (area) {
    case Area::kCommon:
      return "common";
    case Area::kMetrics:
      return "metrics";
    case Area::kForward:
      return "forward";
    case Area::kTraces:
      return "traces";
    case Area::kLambda:
      return "lambda";
    case Area::kLogs:
      return "logs";
    case Area::kInit:
      return "init";
    case Area::kMicrovm:
      return "microvm";
    case Area::kTool:
      return "tool";
  }
  return "common";
}

std::string mask_value(const VarSpec& spec, std::string_view value) {
  if (!spec.secret || value.empty()) return std::string(value);
  if (!spec.url_credentials) return mask_secret(value);
  const size_t at = value.rfind('@');
  if (at == std::string_view::npos) return std::string(value);
  const size_t scheme = value.find("://");
  const size_t start = scheme == std::string_view::npos || scheme > at ? 0 : scheme + 3;
  return std::string(value.substr(0, start)) + "***@" + std::string(value.substr(at + 1));
}

std::optional<std::string> normalise_url(std::string_view url) {
  std::string u(trim(url));
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (!starts_with(u, "http://") && !starts_with(u, "https://")) return std::nullopt;
  if (u.size() <= std::string_view("https://").size()) return std::nullopt;
  return u;
}

template <VarType T>
std::optional<typename VarValue<T>::type> parse_var_value(const VarSpec& spec,
                                                          std::string_view text, std::string* why) {
  const std::string_view t = trim(text);
  std::string ignored;
  std::string& reason = why != nullptr ? *why : ignored;
  if constexpr (T == VarType::kBool) {
    if (auto b = parse_bool(t)) return *b;
    reason = "expected true/false/1/0/yes/no/on/off";
  } else if constexpr (T == VarType::kInt) {
    auto v = parse_int(t);
    if (v && *v >= spec.lo && *v <= spec.hi) return *v;
    reason = fmt::format("expected an integer from {} to {}", spec.lo, spec.hi);
  } else if constexpr (T == VarType::kDouble) {
    auto v = parse_double(t);
    if (v && *v > static_cast<double>(spec.lo)) return *v;
    reason = fmt::format("expected a number greater than {}", spec.lo);
  } else if constexpr (T == VarType::kList) {
    return parse_tag_list(t);
  } else if constexpr (T == VarType::kLevel) {
    auto lvl = parse_log_level(t);
    if (lvl) return *lvl;
    reason = lvl.error().message;
  } else if constexpr (T == VarType::kUrl) {
    if (auto u = normalise_url(t)) return *u;
    reason = "expected scheme://host[:port][/prefix]";
  } else if constexpr (T == VarType::kJson) {
    const auto parsed = parse_json(t);
    if (parsed) return std::string(t);
    reason = "expected JSON (" + parsed.error().message + ")";
  } else if constexpr (T == VarType::kEnum) {
    const std::string lower = to_lower(t);
    std::string_view rest = spec.choices;
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      if (rest.substr(0, bar) == lower) return lower;
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    std::string list(spec.choices);
    for (auto& ch : list) {
      if (ch == '|') ch = ',';
    }
    reason = "expected one of " + list;
  } else {
    return std::string(t);
  }
  return std::nullopt;
}

template <VarType T>
std::string format_var_value(const typename VarValue<T>::type& value) {
  if constexpr (T == VarType::kBool) {
    return value ? "true" : "false";
  } else if constexpr (T == VarType::kInt) {
    return std::to_string(value);
  } else if constexpr (T == VarType::kDouble) {
    return fmt::format("{}", value);
  } else if constexpr (T == VarType::kList) {
    std::string out;
    for (const auto& item : value) out += (out.empty() ? "" : ",") + item;
    return out;
  } else if constexpr (T == VarType::kLevel) {
    return to_lower(log_level_name(value));
  } else {
    return value;
  }
}

#define LC_INSTANTIATE(T)                                                         \
  template std::optional<VarValue<VarType::T>::type> parse_var_value<VarType::T>( \
      const VarSpec&, std::string_view, std::string*);                            \
  template std::string format_var_value<VarType::T>(const VarValue<VarType::T>::type& value);
LC_INSTANTIATE(kString)
LC_INSTANTIATE(kBool)
LC_INSTANTIATE(kInt)
LC_INSTANTIATE(kDouble)
LC_INSTANTIATE(kList)
LC_INSTANTIATE(kJson)
LC_INSTANTIATE(kUrl)
LC_INSTANTIATE(kLevel)
LC_INSTANTIATE(kEnum)
#undef LC_INSTANTIATE

}  // namespace lc
