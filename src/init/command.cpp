#include "init/command.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
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
constexpr std::string_view kTracerRoot = "/dd_tracer/";
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

// One change §3.1 makes to the parent's environment; they apply in the order they are made.
struct Edit {
  enum class Op { kAppend, kPrepend, kSetIfUnset };
  std::string_view name;
  Op op;
  std::string_view separator;
  std::string_view token;
};

// The value of `name` after every edit of it, from `value` (nullopt: unset). Append and prepend
// extend a value with `separator` (an unset or empty one is set to the token: never replaced);
// set-if-unset writes only an absent variable (an empty one is the user's choice).
std::optional<std::string> edited(const std::vector<Edit>& edits, std::string_view name,
                                  std::optional<std::string_view> value) {
  std::optional<std::string> v;
  if (value) v.emplace(*value);
  for (const auto& e : edits) {
    if (e.name != name) continue;
    switch (e.op) {
      case Edit::Op::kAppend:
        if (!v || v->empty()) {
          v.emplace(e.token);
        } else {
          v->append(e.separator).append(e.token);
        }
        break;
      case Edit::Op::kPrepend:
        if (!v || v->empty()) {
          v.emplace(e.token);
        } else {
          std::string joined(e.token);
          joined.append(e.separator).append(*v);
          v = std::move(joined);
        }
        break;
      case Edit::Op::kSetIfUnset:
        if (!v) v.emplace(e.token);
        break;
    }
  }
  return v;
}

std::vector<Edit> tracer_edits(const PathPredicate& dir_exists) {
  using Op = Edit::Op;
  // §3.1: only the first tracer directory that exists is used.
  if (dir_exists(std::string(kNodeDir))) {
    return {{"NODE_PATH", Op::kAppend, ":", kNodeDir},
            {"NODE_PATH", Op::kAppend, ":", "/dd_tracer/node/node_modules"},
            {"NODE_OPTIONS", Op::kAppend, " ", "--require dd-trace/init"}};
  }
  if (dir_exists(std::string(kJavaDir))) {
    return {
        {"JAVA_TOOL_OPTIONS", Op::kAppend, " ", "-javaagent:/dd_tracer/java/dd-java-agent.jar"}};
  }
  if (dir_exists(std::string(kDotnetDir))) {
    return {{"CORECLR_ENABLE_PROFILING", Op::kSetIfUnset, "", "1"},
            {"CORECLR_PROFILER", Op::kSetIfUnset, "", "{846F5F1C-F9AE-4B07-969E-05C26BC060D8}"},
            {"CORECLR_PROFILER_PATH", Op::kSetIfUnset, "",
             "/dd_tracer/dotnet/Datadog.Trace.ClrProfiler.Native.so"},
            {"DD_DOTNET_TRACER_HOME", Op::kSetIfUnset, "", kDotnetDir}};
  }
  if (dir_exists(std::string(kPythonDir))) {
    return {{"PYTHONPATH", Op::kPrepend, ":", kPythonDir}};
  }
  return {};
}

std::string entry(std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + 1 + value.size());
  line.append(name).append(1, '=').append(value);
  return line;
}

// The parent's variables in their order, the first occurrence of an edited one changed in place,
// then the edited ones the parent lacks, in the order of their first edit. `for_each_parent`
// calls its argument with every (name, value) of the parent.
template <class ForEachParent>
std::vector<std::string> build_environment(const ForEachParent& for_each_parent,
                                           const PathPredicate& dir_exists) {
  std::vector<Edit> edits = tracer_edits(dir_exists);
  for (const auto& d : kDefaults) edits.push_back({d.name, Edit::Op::kSetIfUnset, "", d.value});
  std::vector<std::string_view> names;  // edited, in the order of their first edit
  for (const auto& e : edits) {
    if (std::find(names.begin(), names.end(), e.name) == names.end()) names.push_back(e.name);
  }
  std::vector<bool> seen(names.size(), false);
  std::vector<std::string> out;
  for_each_parent([&](std::string_view name, std::string_view value) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (seen[i] || names[i] != name) continue;
      seen[i] = true;
      out.push_back(entry(name, *edited(edits, name, value)));
      return;
    }
    out.push_back(entry(name, value));
  });
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (seen[i]) continue;
    if (auto v = edited(edits, names[i], std::nullopt)) out.push_back(entry(names[i], *v));
  }
  return out;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The real filesystem's answer for the tracer directories. They all live under /dd_tracer/: where
// it is not a directory (most images), one stat() answers for the four.
PathPredicate tracer_directories() {
  const bool root = is_directory(std::string(kTracerRoot));
  return [root](const std::string& path) { return root && is_directory(path); };
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
  return build_environment(
      [&parent](const auto& visit) {
        for (const auto& [name, value] : parent) visit(name, value);
      },
      dir_exists);
}

std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& parent) {
  return child_environment(parent, tracer_directories());
}

std::vector<std::string> child_environment(const Environment& parent) {
  return build_environment([&parent](const auto& visit) { parent.for_each(visit); },
                           tracer_directories());
}

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

}  // namespace lc::init
