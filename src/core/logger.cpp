#include "core/logger.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/strings.h"

namespace lc {

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "TRACE";
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kCritical:
      return "CRITICAL";
    case LogLevel::kOff:
      return "OFF";
  }
  return "INFO";
}

Expected<LogLevel> parse_log_level(std::string_view text) {
  const std::string t = to_lower(trim(text));
  if (t == "trace") return LogLevel::kTrace;
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warn" || t == "warning") return LogLevel::kWarn;
  if (t == "error") return LogLevel::kError;
  if (t == "critical") return LogLevel::kCritical;
  if (t == "off") return LogLevel::kOff;
  return make_error(ErrorCode::kInvalidArgument,
                    "expected one of trace, debug, info, warn, error, critical, off");
}

Logger& Logger::instance() {
  static Logger logger;
  return logger;
}

void Logger::configure(std::string prefix_name, int fd, LogLevel level) {
  MutexLock lock(mu_);
  prefix_ = std::move(prefix_name);
  fd_ = fd;
  fd_gone_ = false;
  level_.store(level, std::memory_order_relaxed);
}

void Logger::add_secret(std::string secret) {
  if (secret.size() < 4) return;  // masking tiny strings would mangle ordinary text
  MutexLock lock(mu_);
  if (std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end()) {
    secrets_.push_back(std::move(secret));
  }
}

void Logger::set_sink(Sink sink) {
  MutexLock lock(mu_);
  sink_ = std::move(sink);
}

std::string Logger::mask(std::string_view text) const {
  MutexLock lock(mu_);
  return mask_locked(text);
}

std::string Logger::mask_locked(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    const std::string masked = mask_secret(secret);
    for (size_t pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + masked.size())) {
      out.replace(pos, secret.size(), masked);
    }
  }
  return out;
}

void Logger::log(LogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  write_line(level, message);
}

void Logger::log_always(LogLevel label, std::string_view message) {
  if (level() == LogLevel::kOff) return;
  write_line(label, message);
}

void Logger::write_line(LogLevel label, std::string_view message) {
  MutexLock lock(mu_);
  std::string line;
  line.reserve(prefix_.size() + message.size() + 16);
  line.append(prefix_).append(" | ").append(log_level_name(label)).append(" | ");
  // One event, one line: embedded newlines would split it into several records downstream.
  for (char c : mask_locked(message)) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  line.push_back('\n');
  if (sink_) {
    sink_(line);
    return;
  }
  if (fd_gone_) return;
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == EBADF)) {
      // Nobody reads this stream any more (SIGPIPE is neutralized by app/): lose log lines
      // quietly and stop trying, rather than fail at every line.
      fd_gone_ = true;
      return;
    }
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

std::string mask_secret(std::string_view secret) {
  if (secret.size() <= 5) return std::string(secret.size(), '*');
  return std::string(secret.size() - 5, '*') + std::string(secret.substr(secret.size() - 5));
}

}  // namespace lc
