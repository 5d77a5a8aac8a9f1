// lastcall-sandbox: picks the sub-command (the emulator, fake-runtime, fake-extension) and runs it.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/asio/signal_set.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/config_registry.h"
#include "core/event_loop.h"
#include "core/logger.h"
#include "tools/sandbox/options.h"
#include "tools/sandbox/sandbox.h"
#include "tools/sandbox/scripted.h"
#include "tools/sandbox/tool_variables.h"

namespace {

void print(int fd, const std::string& s) { (void)!::write(fd, s.data(), s.size()); }

std::string basename_of(const char* argv0) {
  if (argv0 == nullptr) return "";
  const std::string s(argv0);
  const auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lc::sandbox;
  const std::string self = basename_of(argc > 0 ? argv[0] : nullptr);
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  lc::ProcessEnvironment env;

  if (!args.empty() && args[0] == "fake-runtime") {
    return fake_runtime_main({args.begin() + 1, args.end()});
  }
  if (!args.empty() && args[0] == "fake-extension") {
    std::string name = self;
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (args[i] == "--name") name = args[i + 1];
    }
    return fake_extension_main(name, {args.begin() + 1, args.end()});
  }
  // Installed under another name in an extensions dir and started by a sandbox: the scripted
  // extension, registering under that file name (lambda-platform.md §2.1).
  if (args.empty() && self != "lastcall-sandbox" &&
      env.get(lc::sandbox::tool_var::kAwsLambdaRuntimeApi)) {
    return fake_extension_main(self, {});
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    print(1, usage());
    return 0;
  }

  auto options = parse_options(args);
  if (!options) {
    print(2, fmt::format("lastcall-sandbox: {}\n\n{}", options.error().message, usage()));
    return 2;
  }
  options->base_env = env.all();
  std::error_code ec;
  options->self_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  lc::Logger::instance().configure("lastcall-sandbox", 2, lc::LogLevel::kInfo);
  signal(SIGPIPE, SIG_IGN);

  lc::EventLoop loop;
  auto sandbox = Sandbox::create(loop, std::move(*options));
  if (!sandbox) {
    print(2, fmt::format("lastcall-sandbox: {}\n", sandbox.error().message));
    return 1;
  }
  boost::asio::signal_set stop_signals(loop.io(), SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& e, int) {
    if (e) return;
    (*sandbox)->stop();
    loop.stop();
  });
  (*sandbox)->start();
  print(1, fmt::format("{{\"api_port\":{},\"control_port\":{}}}\n", (*sandbox)->api_port(),
                       (*sandbox)->control_port()));
  loop.run();
  sandbox->reset();
  return 0;
}
