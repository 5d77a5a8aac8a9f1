#include "support/sandbox_harness.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <random>
#include <sstream>

#include "support/fakeintake_client.h"

namespace lc::sandbox::testing {

namespace fs = std::filesystem;

std::string str(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string().data(), v.get_string().size());
  return boost::json::serialize(v);
}

SandboxHarness::SandboxHarness(SandboxSetup setup) {
  std::random_device rd;
  dir_ = fs::temp_directory_path() /
         ("lastcall-sandbox-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(dir_ / "extensions");
  const std::string bin = lc::test::built_binary("lastcall-sandbox");
  boost::json::object scripts;
  for (auto& [name, script] : setup.extensions) {
    fs::create_symlink(bin, dir_ / "extensions" / name);
    script["record_file"] = (dir_ / (name + ".jsonl")).string();
    scripts[name] = script;
  }
  for (const auto& [name, path] : setup.binaries) {
    fs::create_symlink(path, dir_ / "extensions" / name);
  }
  lc::test::ProcessOptions opt;
  opt.argv = {bin,
              "run",
              "--extensions-dir",
              (dir_ / "extensions").string(),
              "--timeline-file",
              (dir_ / "timeline.jsonl").string(),
              "--env",
              "LASTCALL_FAKE_EXTENSIONS=" + boost::json::serialize(scripts)};
  opt.argv.insert(opt.argv.end(), setup.args.begin(), setup.args.end());
  opt.argv.push_back("--runtime");
  if (setup.runtime.empty()) {
    opt.argv.push_back(bin);
    opt.argv.push_back("fake-runtime");
  } else {
    opt.argv.insert(opt.argv.end(), setup.runtime.begin(), setup.runtime.end());
  }
  opt.argv.insert(opt.argv.end(), setup.runtime_args.begin(), setup.runtime_args.end());
  std::string error;
  proc_ = lc::test::ChildProcess::start(opt, &error);
  if (!proc_) {
    ADD_FAILURE() << "cannot start lastcall-sandbox: " << error;
    return;
  }
  auto line = proc_->wait_for_line_containing("\"control_port\"", std::chrono::seconds(30));
  if (!line) {
    ADD_FAILURE() << "no port line from lastcall-sandbox:\n" << output();
    return;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(*line, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "bad port line: " << *line;
    return;
  }
  api_port_ = static_cast<std::uint16_t>(v.at("api_port").to_number<int>());
  control_port_ = static_cast<std::uint16_t>(v.at("control_port").to_number<int>());
}

SandboxHarness::~SandboxHarness() {
  proc_.reset();  // SIGKILLs the sandbox's group; its children die with it (PDEATHSIG)
  std::error_code ec;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir_, ec);
}

std::string SandboxHarness::output() const {
  if (!proc_) return "";
  return proc_->output(lc::test::ChildProcess::Stream::kStdout) + "\n" +
         proc_->output(lc::test::ChildProcess::Stream::kStderr);
}

namespace {

// One request to 127.0.0.1:port; a failed call fails the test and reads as status 0.
BlockingResponse call(std::uint16_t port, int timeout_ms, const std::string& method,
                      const std::string& target, const std::string& body, net::Headers headers) {
  BlockingRequest req(method, target, std::move(headers), body);
  req.timeout_ms = timeout_ms;
  auto r = http_call("127.0.0.1", port, req);
  EXPECT_TRUE(r.has_value()) << method << " " << target << ": " << r.error().message;
  return r ? *r : BlockingResponse{};
}

}  // namespace

BlockingResponse SandboxHarness::control(const std::string& method, const std::string& target,
                                         const std::string& body, net::Headers headers) {
  return call(control_port_, 60000, method, target, body, std::move(headers));
}

BlockingResponse SandboxHarness::api(const std::string& method, const std::string& target,
                                     const std::string& body, net::Headers headers) {
  return call(api_port_, 10000, method, target, body, std::move(headers));
}

bool SandboxHarness::wait(const std::string& event, int count,
                          const std::map<std::string, std::string>& filters, int timeout_ms) {
  std::string target = "/wait?event=" + event + "&count=" + std::to_string(count) +
                       "&timeout_ms=" + std::to_string(timeout_ms);
  for (const auto& [k, v] : filters)
    target += "&" + lc::test::query_escape(k) + "=" + lc::test::query_escape(v);
  auto r = control("GET", target);
  return r.status == 200;
}

BlockingResponse SandboxHarness::invoke(const std::string& payload, const std::string& request_id,
                                        net::Headers headers) {
  if (!request_id.empty()) headers.emplace_back("X-Request-Id", request_id);
  return control("POST", "/invoke", payload, std::move(headers));
}

std::vector<boost::json::object> SandboxHarness::timeline() {
  std::vector<boost::json::object> out;
  auto r = control("GET", "/timeline");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

std::vector<std::string> SandboxHarness::lines_of(const std::string& name,
                                                  std::string_view stream) {
  std::vector<std::string> out;
  for (const auto& e : timeline()) {
    if (str(e.at("event")) != "log") continue;
    const auto* n = e.if_contains("name");
    const auto* s = e.if_contains("stream");
    const auto* l = e.if_contains("line");
    if (n == nullptr || s == nullptr || l == nullptr) continue;
    if (str(*n) == name && str(*s) == stream) out.push_back(str(*l));
  }
  return out;
}

std::vector<boost::json::object> SandboxHarness::received(const std::string& extension) const {
  std::vector<boost::json::object> out;
  std::ifstream in(dir_ / (extension + ".jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "listener got a body that is not JSON: " << line;
    if (ec || !v.is_array()) {
      ADD_FAILURE() << "batch is not a JSON array: " << line;
      continue;
    }
    for (const auto& e : v.as_array()) {
      EXPECT_TRUE(e.is_object());
      if (e.is_object()) out.push_back(e.as_object());
    }
  }
  return out;
}

static bool entry_matches(const boost::json::object& e, std::string_view event,
                          const std::map<std::string, std::string>& fields) {
  const auto* ev = e.if_contains("event");
  if (ev == nullptr || str(*ev) != event) return false;
  for (const auto& [k, v] : fields) {
    const auto* f = e.if_contains(k);
    if (f == nullptr || str(*f) != v) return false;
  }
  return true;
}

int find_entry(const std::vector<boost::json::object>& tl, std::string_view event,
               const std::map<std::string, std::string>& fields, int from) {
  for (int i = std::max(from, 0); i < static_cast<int>(tl.size()); ++i) {
    if (entry_matches(tl[static_cast<size_t>(i)], event, fields)) return i;
  }
  return -1;
}

::testing::AssertionResult in_order(std::initializer_list<int> positions) {
  int previous = -1;
  int n = 0;
  for (const int p : positions) {
    if (p < 0) return ::testing::AssertionFailure() << "event #" << n << " is missing";
    if (p <= previous) {
      return ::testing::AssertionFailure()
             << "event #" << n << " at " << p << " is not after the one at " << previous;
    }
    previous = p;
    ++n;
  }
  return ::testing::AssertionSuccess();
}

int count_entries(const std::vector<boost::json::object>& tl, std::string_view event,
                  const std::map<std::string, std::string>& fields) {
  int n = 0;
  for (const auto& e : tl) n += entry_matches(e, event, fields) ? 1 : 0;
  return n;
}

std::vector<boost::json::object> of_type(const std::vector<boost::json::object>& events,
                                         std::string_view type, std::string_view request_id) {
  std::vector<boost::json::object> out;
  for (const auto& e : events) {
    if (str(e.at("type")) != type) continue;
    if (!request_id.empty()) {
      const auto* rec = e.at("record").if_object();
      if (rec == nullptr || !rec->contains("requestId") ||
          str(rec->at("requestId")) != request_id) {
        continue;
      }
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace lc::sandbox::testing
