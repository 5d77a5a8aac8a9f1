#include "init/command.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::init {
namespace {

// ASCII whitespace as Go's strings.Fields sees it in the ASCII range.
constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// Go serverless-init's values (cmd/serverless-init tracer set-up), so the tracers behave as they
// do under /datadog-init.
constexpr std::string_view kNodeDir = "/dd_tracer/node/";
constexpr std::string_view kJavaDir = "/dd_tracer/java/";
constexpr std::string_view kDotnetDir = "/dd_tracer/dotnet/";
constexpr std::string_view kPythonDir = "/dd_tracer/python/";

struct Default {
  std::string_view name;
  std::string_view value;
};
constexpr std::array<Default, 4> kDefaults = {{
    {"DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false"},
    // lastcall serves no Remote Config endpoint; tracers would poll 404s (§3.1).
    {"DD_REMOTE_CONFIGURATION_ENABLED", "false"},
    {"DD_APM_ENABLED", "true"},
    {"DD_TRACE_ENABLED", "true"},
}};

// The environment while it is being built: order kept, lookup by name.
class EnvBuilder {
 public:
  explicit EnvBuilder(const std::vector<std::pair<std::string, std::string>>& parent)
      : vars_(parent) {}

  std::pair<std::string, std::string>* find(std::string_view name) {
    auto it =
        std::find_if(vars_.begin(), vars_.end(), [&](const auto& kv) { return kv.first == name; });
    return it == vars_.end() ? nullptr : &*it;
  }
  void set_if_unset(std::string_view name, std::string_view value) {
    if (find(name) == nullptr) vars_.emplace_back(std::string(name), std::string(value));
  }
  // Appends `token` after `separator` (or sets it when unset or empty): never replaces.
  void append(std::string_view name, std::string_view separator, std::string_view token) {
    auto* kv = find(name);
    if (kv == nullptr) {
      vars_.emplace_back(std::string(name), std::string(token));
    } else if (kv->second.empty()) {
      kv->second = std::string(token);
    } else {
      kv->second.append(separator).append(token);
    }
  }
  void prepend(std::string_view name, std::string_view separator, std::string_view token) {
    auto* kv = find(name);
    if (kv == nullptr) {
      vars_.emplace_back(std::string(name), std::string(token));
    } else if (kv->second.empty()) {
      kv->second = std::string(token);
    } else {
      std::string joined(token);
      joined.append(separator).append(kv->second);
      kv->second = std::move(joined);
    }
  }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    out.reserve(vars_.size());
    for (const auto& [name, value] : vars_) {
      std::string& line = out.emplace_back();
      line.reserve(name.size() + 1 + value.size());
      line.append(name).append(1, '=').append(value);
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

void instrument_tracer(EnvBuilder& env, const PathPredicate& dir_exists) {
  // §3.1: only the first tracer directory that exists is used.
  if (dir_exists(std::string(kNodeDir))) {
    env.append("NODE_PATH", ":", kNodeDir);
    env.append("NODE_PATH", ":", "/dd_tracer/node/node_modules");
    env.append("NODE_OPTIONS", " ", "--require dd-trace/init");
  } else if (dir_exists(std::string(kJavaDir))) {
    env.append("JAVA_TOOL_OPTIONS", " ", "-javaagent:/dd_tracer/java/dd-java-agent.jar");
  } else if (dir_exists(std::string(kDotnetDir))) {
    env.set_if_unset("CORECLR_ENABLE_PROFILING", "1");
    env.set_if_unset("CORECLR_PROFILER", "{846F5F1C-F9AE-4B07-969E-05C26BC060D8}");
    env.set_if_unset("CORECLR_PROFILER_PATH",
                     "/dd_tracer/dotnet/Datadog.Trace.ClrProfiler.Native.so");
    env.set_if_unset("DD_DOTNET_TRACER_HOME", kDotnetDir);
  } else if (dir_exists(std::string(kPythonDir))) {
    env.prepend("PYTHONPATH", ":", kPythonDir);
  }
}

}  // namespace

PreparedCommand prepare_command(std::vector<std::string> argv, const PathPredicate& file_exists) {
  PreparedCommand out;
  if (argv.size() != 1 || argv[0].find_first_of(kWhitespace) == std::string::npos ||
      file_exists(argv[0])) {
    out.argv = std::move(argv);
    return out;
  }
  std::vector<std::string> pieces;
  for (std::string_view piece : split_any(argv[0], kWhitespace)) pieces.emplace_back(piece);
  if (pieces.empty()) {
    out.argv = std::move(argv);
    return out;
  }
  LC_INFO("command \"{}\" split into {} arguments", escape_for_log(argv[0], 200), pieces.size());
  out.argv = std::move(pieces);
  out.was_split = true;
  return out;
}

PreparedCommand prepare_command(std::vector<std::string> argv) {
  return prepare_command(std::move(argv), [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  });
}

std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& parent,
    const PathPredicate& dir_exists) {
  EnvBuilder env(parent);
  instrument_tracer(env, dir_exists);
  for (const auto& d : kDefaults) env.set_if_unset(d.name, d.value);
  return env.strings();
}

std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& parent) {
  return child_environment(parent, [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  });
}

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

}  // namespace lc::init
