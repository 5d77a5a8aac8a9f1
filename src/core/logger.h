// core/logger.h — lastcall's own log lines: one line per event, fixed prefix, secrets masked.
// Configured once by the composition root (app/); called from any thread (one write(2) per line).
// Prefix/stream per mode (conventions.md §21): extension `DD_EXTENSION | LEVEL | ` on stdout,
// wrapper and sidecar `lastcall | LEVEL | ` on stderr. A write to a stream nobody reads any more
// fails quietly (the process must ignore SIGPIPE; app/ does) and later lines are not written.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "core/mutex.h"

namespace lc {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kCritical, kOff };

std::string_view log_level_name(LogLevel level);            // "INFO"
Expected<LogLevel> parse_log_level(std::string_view text);  // case-insensitive; "warning" = warn

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // receives the full line incl. '\n'

  static Logger& instance();

  // prefix_name: "DD_EXTENSION" or "lastcall"; fd: 1 or 2.
  void configure(std::string prefix_name, int fd, LogLevel level) LC_EXCLUDES(mu_);
  void set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }
  bool enabled(LogLevel level) const { return level >= this->level() && level != LogLevel::kOff; }

  // Every occurrence of a registered secret (API keys, proxy passwords) is masked in every line.
  void add_secret(std::string secret) LC_EXCLUDES(mu_);
  // Tests capture lines instead of writing to the fd.
  void set_sink(Sink sink) LC_EXCLUDES(mu_);

  void log(LogLevel level, std::string_view message) LC_EXCLUDES(mu_);
  // Printed at every level but off (the `listening:` line), with the given level's label.
  void log_always(LogLevel label, std::string_view message) LC_EXCLUDES(mu_);

  std::string mask(std::string_view text) const LC_EXCLUDES(mu_);

 private:
  void write_line(LogLevel label, std::string_view message) LC_EXCLUDES(mu_);
  std::string mask_locked(std::string_view text) const LC_REQUIRES(mu_);

  std::atomic<LogLevel> level_{LogLevel::kInfo};
  mutable Mutex mu_;
  std::string prefix_ LC_GUARDED_BY(mu_) = "lastcall";
  int fd_ LC_GUARDED_BY(mu_) = 2;
  bool fd_gone_ LC_GUARDED_BY(mu_) = false;  // the fd's reader is gone (EPIPE) or the fd is closed
  std::vector<std::string> secrets_ LC_GUARDED_BY(mu_);
  Sink sink_ LC_GUARDED_BY(mu_);
};

// Masks all but the last 5 characters: "****abcde" (datadog-wire.md §4.0).
std::string mask_secret(std::string_view secret);

}  // namespace lc

#define LC_LOG(level, ...)                                             \
  do {                                                                 \
    if (::lc::Logger::instance().enabled(level))                       \
      ::lc::Logger::instance().log(level, ::fmt::format(__VA_ARGS__)); \
  } while (0)
#define LC_TRACE(...) LC_LOG(::lc::LogLevel::kTrace, __VA_ARGS__)
#define LC_DEBUG(...) LC_LOG(::lc::LogLevel::kDebug, __VA_ARGS__)
#define LC_INFO(...) LC_LOG(::lc::LogLevel::kInfo, __VA_ARGS__)
#define LC_WARN(...) LC_LOG(::lc::LogLevel::kWarn, __VA_ARGS__)
#define LC_ERROR(...) LC_LOG(::lc::LogLevel::kError, __VA_ARGS__)
#define LC_CRITICAL(...) LC_LOG(::lc::LogLevel::kCritical, __VA_ARGS__)
