// tests/support/wrapper_process.h — the real lastcall as an init wrapper in a test
// (`lastcall -- cmd args`), beside SidecarProcess: DogStatsD and the local API on ephemeral
// loopback ports, sending to the given intake URL. Its stdout and stderr go to files, so a test can
// compare the passthrough byte for byte (serverless-init.md §4.2) and read lastcall's own lines.
// Killed with the test (process group) if it is still running.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/fakeintake_client.h"
#include "support/process.h"

namespace lc::test {

struct WrapperOptions {
  std::vector<std::string> command;        // what follows `--`
  std::map<std::string, std::string> env;  // added to (or overriding) the defaults
  bool use_double_dash = true;             // false: `lastcall cmd args` (no `--`)
  // Runs lastcall through this prefix (e.g. {"unshare", "--pid", "--fork", "--kill-child"} to be
  // PID 1 of a new PID namespace).
  std::vector<std::string> prefix;
};

// Options with the command and extra environment set (designated initializers would leave the other
// members to -Wmissing-field-initializers).
inline WrapperOptions wrapped(std::vector<std::string> command,
                              std::map<std::string, std::string> env = {}) {
  WrapperOptions o;
  o.command = std::move(command);
  o.env = std::move(env);
  return o;
}

class WrapperProcess {
 public:
  // Defaults: a test API key, DD_DD_URL and DD_LOGS_CONFIG_LOGS_DD_URL = intake_url, ports 0,
  // LASTCALL_BIND_HOST=127.0.0.1, DD_LOGS_ENABLED=true, DD_LOG_LEVEL=debug. Waits (20 s) for the
  // `listening:` line unless wait_listening is false (exec failures print none).
  static std::unique_ptr<WrapperProcess> start(const std::string& intake_url,
                                               WrapperOptions options, bool wait_listening = true);
  ~WrapperProcess();

  pid_t pid() const { return process_->pid(); }
  int dogstatsd() const { return dogstatsd_; }
  int local_api() const { return local_api_; }
  // The microVM lifecycle port from the `listening:` line; 0 when it has none (not a microVM).
  int microvm() const { return microvm_; }
  bool started() const { return dogstatsd_ > 0 && local_api_ > 0; }

  // Everything lastcall wrote to its fd 1 / fd 2 so far, byte for byte.
  std::string stdout_bytes() const;
  std::string stderr_bytes() const;
  // Polls stderr (lastcall's own lines and the child's stderr) for a line containing needle.
  std::optional<std::string> wait_for_stderr(std::string_view needle,
                                             std::chrono::milliseconds timeout) const;
  std::optional<std::string> wait_for_stdout(std::string_view needle,
                                             std::chrono::milliseconds timeout) const;

  void signal(int sig) { process_->signal(sig); }
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    return process_->wait_exit(timeout);
  }
  // POST /lambda/flush (a forced flush, open bucket included).
  void flush() const { expect_lambda_flush(local_api_); }

 private:
  WrapperProcess() = default;
  std::unique_ptr<ChildProcess> process_;
  std::filesystem::path dir_;
  int dogstatsd_ = 0;
  int local_api_ = 0;
  int microvm_ = 0;
};

// The flat log entries at the intake (serverless-init.md §4.1: message, status, service,
// ddsource, hostname, ddtags).
std::vector<boost::json::object> intake_flat_logs(const FakeIntakeClient& intake);
// Polls until at least n entries arrived (10 s); what arrived.
std::vector<boost::json::object> wait_for_flat_logs(
    const FakeIntakeClient& intake, std::size_t n,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));
std::string message_of(const boost::json::object& entry);

}  // namespace lc::test
