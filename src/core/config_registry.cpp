#include "core/config_registry.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <cmath>

#include "core/deferred_init.h"
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

constexpr std::string_view kDatadogPrefix = "DATADOG_";
constexpr std::size_t kRowCount = std::size(LastcallVars::kRows);

// The rows' indices in the order of their names, sorted at compile time, so that a name is found
// by binary search without building anything at start.
constexpr auto kRowsByName = [] {
  std::array<std::uint16_t, kRowCount> order{};
  for (std::size_t i = 0; i < kRowCount; ++i) order[i] = static_cast<std::uint16_t>(i);
  std::sort(order.begin(), order.end(), [](std::uint16_t a, std::uint16_t b) {
    return LastcallVars::kRows[a].name < LastcallVars::kRows[b].name;
  });
  return order;
}();

constexpr bool names_are_unique_and_not_aliases() {
  for (std::size_t i = 0; i < kRowCount; ++i) {
    const std::string_view name = LastcallVars::kRows[kRowsByName[i]].name;
    // DATADOG_X is how DD_X is also read; a row of that name would be read twice.
    if (name.starts_with(kDatadogPrefix)) return false;
    if (i > 0 && LastcallVars::kRows[kRowsByName[i - 1]].name == name) return false;
  }
  return true;
}
static_assert(names_are_unique_and_not_aliases(),
              "a variable is declared twice, or a row is named DATADOG_*");

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
  const auto* it = std::lower_bound(
      kRowsByName.begin(), kRowsByName.end(), name,
      [](std::uint16_t row, std::string_view n) { return LastcallVars::kRows[row].name < n; });
  if (it == kRowsByName.end() || LastcallVars::kRows[*it].name != name) return nullptr;
  return &LastcallVars::kRows[*it];
}

void Environment::for_each(
    const std::function<void(std::string_view name, std::string_view value)>& visit) const {
  for (const auto& [name, value] : all()) visit(name, value);
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

void ProcessEnvironment::for_each(
    const std::function<void(std::string_view, std::string_view)>& visit) const {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    visit(entry.substr(0, eq), entry.substr(eq + 1));
  }
}

std::optional<std::string> MapEnvironment::lookup(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, std::string>> MapEnvironment::all() const {
  return {vars_.begin(), vars_.end()};
}

void MapEnvironment::for_each(
    const std::function<void(std::string_view, std::string_view)>& visit) const {
  for (const auto& [name, value] : vars_) visit(name, value);
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
  run_deferred_yaml_cpp_initializers();
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
  if (!yaml.empty()) {
    for (const auto& spec : LastcallVars::kRows) {
      if (spec.yaml_key.empty()) continue;
      if (auto v = yaml_to_env_key_value(yaml, spec.yaml_key)) {
        raw.values[std::string(spec.name)].push_back(
            {*v, ConfigSource::kYaml, "datadog.yaml:" + std::string(spec.yaml_key)});
      }
    }
  }
  // One pass over the environment, each name looked up among the sorted rows: only the values of
  // declared variables are copied (a getenv() per name and alias would scan the whole
  // environment a few hundred times at start, and a sorted copy of it costs more than the rest).
  std::string dd_name;
  env.for_each([&raw, &dd_name](std::string_view name, std::string_view value) {
    const VarSpec* spec = nullptr;
    ConfigSource source = ConfigSource::kEnv;
    if (name.starts_with(kDatadogPrefix)) {
      dd_name.assign("DD_").append(name.substr(kDatadogPrefix.size()));
      spec = find_variable(dd_name);
      source = ConfigSource::kEnvDatadog;
    } else {
      spec = find_variable(name);
      if (starts_with(name, "DD_")) source = ConfigSource::kEnvDd;
    }
    if (spec == nullptr) return;
    auto& layers = raw.values[std::string(spec->name)];
    for (const auto& layer : layers) {
      if (layer.source == source) return;  // a name set twice: the first one counts, as in getenv
    }
    layers.push_back({std::string(value), source, std::string(name)});
  });
  // Lowest precedence first (the environment's order is any): datadog.yaml < DATADOG_* < DD_*.
  for (auto& [name, layers] : raw.values) {
    std::stable_sort(layers.begin(), layers.end(),
                     [](const RawValue& a, const RawValue& b) { return a.source < b.source; });
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
