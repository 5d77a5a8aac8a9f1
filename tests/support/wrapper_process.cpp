#include "support/wrapper_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <fstream>
#include <sstream>
#include <thread>

namespace lc::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> wait_in_file(const fs::path& p, std::string_view needle,
                                        std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = read_file(p);
    const size_t at = text.find(needle);
    if (at != std::string::npos) {
      const size_t begin = text.rfind('\n', at);
      const size_t end = text.find('\n', at);
      const size_t b = begin == std::string::npos ? 0 : begin + 1;
      return text.substr(b, end == std::string::npos ? std::string::npos : end - b);
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::unique_ptr<WrapperProcess> WrapperProcess::start(const std::string& intake_url,
                                                      WrapperOptions options, bool wait_listening) {
  std::unique_ptr<WrapperProcess> w(new WrapperProcess());
  char tmpl[] = "/tmp/lastcall-wrapper-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  w->dir_ = dir;
  ProcessOptions o;
  // `exec` keeps the pid: lastcall's parent is the test, its fds 1 and 2 are the files.
  o.argv = {"/bin/sh", "-c", "exec \"$@\" >\"$LC_TEST_OUT\" 2>\"$LC_TEST_ERR\"", "sh"};
  for (const auto& p : options.prefix) o.argv.push_back(p);
  o.argv.push_back(built_binary("lastcall"));
  if (options.use_double_dash) o.argv.push_back("--");
  for (const auto& c : options.command) o.argv.push_back(c);
  o.env = {{"DD_API_KEY", "wrapper-test-key-0123456789"},
           {"DD_DD_URL", intake_url},
           {"DD_LOGS_CONFIG_LOGS_DD_URL", intake_url},
           {"DD_DOGSTATSD_PORT", "0"},
           {"DD_APM_RECEIVER_PORT", "0"},
           {"LASTCALL_LOCAL_API_PORT", "0"},
           {"LASTCALL_BIND_HOST", "127.0.0.1"},
           {"DD_LOGS_ENABLED", "true"},
           {"DD_LOG_LEVEL", "debug"},
           {"LC_TEST_OUT", (w->dir_ / "stdout").string()},
           {"LC_TEST_ERR", (w->dir_ / "stderr").string()}};
  for (const auto& [k, v] : options.env) o.env[k] = v;
  std::string error;
  w->process_ = ChildProcess::start(o, &error);
  if (!w->process_) {
    ADD_FAILURE() << "cannot start lastcall: " << error;
    return nullptr;
  }
  if (!wait_listening) return w;
  auto line = wait_in_file(w->dir_ / "stderr", "listening:", std::chrono::seconds(20));
  if (!line) {
    ADD_FAILURE() << "no listening line from lastcall:\n" << w->stderr_bytes();
    return w;
  }
  const auto ports = parse_listening_line(*line);
  w->dogstatsd_ = ports.count("dogstatsd") ? ports.at("dogstatsd") : 0;
  w->local_api_ = ports.count("local_api") ? ports.at("local_api") : 0;
  w->microvm_ = ports.count("microvm") ? ports.at("microvm") : 0;
  return w;
}

WrapperProcess::~WrapperProcess() {
  process_.reset();  // kills the group if still running
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string WrapperProcess::stdout_bytes() const { return read_file(dir_ / "stdout"); }
std::string WrapperProcess::stderr_bytes() const { return read_file(dir_ / "stderr"); }

std::optional<std::string> WrapperProcess::wait_for_stderr(
    std::string_view needle, std::chrono::milliseconds timeout) const {
  return wait_in_file(dir_ / "stderr", needle, timeout);
}
std::optional<std::string> WrapperProcess::wait_for_stdout(
    std::string_view needle, std::chrono::milliseconds timeout) const {
  return wait_in_file(dir_ / "stdout", needle, timeout);
}

std::vector<json::object> intake_flat_logs(const FakeIntakeClient& intake) {
  std::vector<json::object> out;
  const json::value logs = intake.logs();
  const auto* arr = logs.is_object() ? logs.as_object().if_contains("entries") : nullptr;
  if (arr == nullptr || !arr->is_array()) return out;
  for (const auto& e : arr->get_array()) {
    if (e.is_object()) out.push_back(e.as_object());
  }
  return out;
}

std::vector<json::object> wait_for_flat_logs(const FakeIntakeClient& intake, std::size_t n,
                                             std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto all = intake_flat_logs(intake);
    if (all.size() >= n || std::chrono::steady_clock::now() >= until) return all;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string message_of(const json::object& entry) {
  const auto* m = entry.if_contains("message");
  if (m == nullptr) return {};
  if (m->is_string()) return std::string(m->get_string());
  return json::serialize(*m);
}

}  // namespace lc::test
