#include "app/startup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/logger.h"

namespace lc::app {
namespace {

void ignore_signal(int) {}

}  // namespace

void neutralize_signals(std::initializer_list<int> signals) {
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (const int sig : signals) ::sigaction(sig, &sa, nullptr);
}

void keep_standard_fds_open() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int null = ::open("/dev/null", O_RDWR);  // the lowest free fd: this one
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

Expected<FinalConfig> start_mode(const Environment& env, Mode mode) {
  auto config = load_config(env, mode, ConfigDetail::kValues);
  const bool extension = mode == Mode::kExtension;
  Logger::instance().configure(
      extension ? "DD_EXTENSION" : "lastcall", extension ? 1 : 2,
      config ? config->common.log_level : default_value(var::kDdLogLevel, mode));
  if (!config) {
    LC_ERROR("{}", config.error().message);
    return config;
  }
  for (const auto& secret : config_secrets(*config)) Logger::instance().add_secret(secret);
  for (const auto& warning : config->warnings) LC_WARN("{}", warning);
  if (const std::string m = missing_api_key_message(*config); !m.empty()) {
    // lambda-agent.md §8.3: one error line in Lambda, where lastcall still registers and runs;
    // elsewhere a warning (serverless-init.md §8: no error spam).
    Logger::instance().log(extension ? LogLevel::kError : LogLevel::kWarn, m);
  }
  return config;
}

}  // namespace lc::app
