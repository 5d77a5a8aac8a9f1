#include "app/modes.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string_view>

#include "app/extension_app.h"
#include "app/sidecar_app.h"
#include "app/startup.h"
#include "app/wrapper_app.h"
#include "core/config.h"
#include "core/proc_reader.h"
#include "core/version.h"
#include "lambda/lambda_tags.h"

namespace lc::app {
namespace {

constexpr const char* kHelp =
    "usage: %s [--version | --help | --check-config]\n"
    "       %s [--] command [args...]\n"
    "\n"
    "Collects metrics, logs and traces where serverless code runs and ships them to Datadog.\n"
    "\n"
    "  (no arguments, AWS_LAMBDA_RUNTIME_API set)  Lambda extension; install the binary as\n"
    "                                              /opt/extensions/datadog-agent\n"
    "  (no arguments, not in Lambda)               sidecar: DogStatsD on 8125, local API on 8124,\n"
    "                                              periodic flush\n"
    "  [--] command [args...]                      init wrapper: runs the command and captures it\n"
    "  --check-config                              print the final configuration: each value and\n"
    "                                              every source that set it, lowest precedence\n"
    "                                              first, the one used marked * (secrets masked);\n"
    "                                              exit 1 if a value was rejected\n"
    "  --version, --help\n"
    "\n"
    "Configuration comes from DD_* / DATADOG_* environment variables (and datadog.yaml in "
    "Lambda).\n";

}  // namespace

Selection select_mode(const std::vector<std::string>& args, const Environment& env) {
  Selection s;
  if (args.size() >= 2) {
    const std::string& a1 = args[1];
    if (a1 == "--version") return {Command::kVersion, {}, {}};
    if (a1 == "--help") return {Command::kHelp, {}, {}};
    if (a1 == "--check-config") {
      // `--check-config -- cmd`: the wrapper's defaults (serverless-init.md §8); nothing is run.
      Selection c{Command::kCheckConfig, {}, {}};
      if (args.size() >= 3 && args[2] == "--") c.child_argv.assign(args.begin() + 3, args.end());
      c.check_wrapper = args.size() >= 3 && args[2] == "--";
      return c;
    }
  }
  const auto runtime_api = env.get(var::kAwsLambdaRuntimeApi);
  if (runtime_api && !runtime_api->empty() && args.size() == 1) {
    return {Command::kExtension, {}, {}};
  }
  if (args.size() == 2 && args[1] == "--") {
    return {Command::kUsageError, {}, "missing command after --"};
  }
  if (args.size() >= 2) {
    s.command = Command::kWrapper;
    s.child_argv.assign(args.begin() + (args[1] == "--" ? 2 : 1), args.end());
    return s;
  }
  return {Command::kSidecar, {}, {}};
}

std::string own_name(const char* argv0) {
  std::string_view path = argv0 != nullptr ? argv0 : "";
  if (path.empty()) {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) path = std::string_view(buf, static_cast<size_t>(n));
    std::string copy(path);
    const size_t slash = copy.rfind('/');
    return slash == std::string::npos ? copy : copy.substr(slash + 1);
  }
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

int run_main(int argc, char** argv, const Environment& env) {
  // Before the first line is written: a closed stdout or stderr must not kill lastcall.
  neutralize_signals({SIGPIPE});
  keep_standard_fds_open();
  std::vector<std::string> args(argv, argv + argc);
  const std::string name = own_name(argc > 0 ? argv[0] : nullptr);
  const Selection sel = select_mode(args, env);
  switch (sel.command) {
    case Command::kVersion:
      std::printf("lastcall %s\n", kVersion);
      return 0;
    case Command::kHelp:
      std::printf(kHelp, name.c_str(), name.c_str());
      return 0;
    case Command::kCheckConfig: {
      const auto api = env.get(var::kAwsLambdaRuntimeApi);
      const Mode mode = sel.check_wrapper      ? Mode::kWrapper
                        : api && !api->empty() ? Mode::kExtension
                                               : Mode::kSidecar;
      auto config = load_config(env, mode);
      if (!config) {
        std::fprintf(stderr, "%s | ERROR | %s\n", name.c_str(), config.error().message.c_str());
        return 1;
      }
      std::string text = render_check_config(*config);
      if (mode == Mode::kExtension) {
        const auto u = SystemProcReader().uname();
        text += lambda::render_lambda_tags_for_check_config(config->common, config->lambda,
                                                            u ? u->machine : std::string());
      }
      std::fwrite(text.data(), 1, text.size(), stdout);
      // A missing API key is reported, but it is not a rejected value.
      return config->rejected_values ? 1 : 0;
    }
    case Command::kUsageError:
      std::fprintf(stderr, "lastcall | ERROR | %s\n", sel.error.c_str());
      return 2;
    case Command::kExtension:
      return run_extension(name, env);
    case Command::kSidecar:
      return run_sidecar(env);
    case Command::kWrapper:
      return run_wrapper(sel.child_argv, env);
  }
  return 2;
}

}  // namespace lc::app
