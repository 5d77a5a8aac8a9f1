// The real lastcall, installed as /opt/extensions/datadog-agent would be, inside the real
// lastcall-sandbox with freeze on: cold start, three invocations, SHUTDOWN. Asserted from the
// sandbox's timeline: registered under its file name, subscribed to telemetry (and answered the
// deliveries 200), received every event, exited before the deadline (issue: lastcall-sandbox).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>

#include "support/fakeintake_client.h"
#include "support/process.h"

namespace lc::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

class SandboxedExtension {
 public:
  explicit SandboxedExtension(std::vector<std::string> sandbox_args = {}) {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("lastcall-in-sandbox-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_ / "extensions");
    fs::create_symlink(built_binary("lastcall"), dir_ / "extensions" / "datadog-agent");
    const std::string sandbox = built_binary("lastcall-sandbox");
    ProcessOptions o;
    o.argv = {sandbox, "run", "--extensions-dir", (dir_ / "extensions").string()};
    for (const char* env :
         {"LASTCALL_BIND_HOST=127.0.0.1", "LASTCALL_LOCAL_API_PORT=0", "LASTCALL_TELEMETRY_PORT=0",
          "DD_DOGSTATSD_PORT=0", "DD_APM_RECEIVER_PORT=0", "DD_API_KEY=sandbox-test-key-0123456789",
          "DD_LOG_LEVEL=debug"}) {
      o.argv.push_back("--env");
      o.argv.push_back(env);
    }
    o.argv.insert(o.argv.end(), sandbox_args.begin(), sandbox_args.end());
    o.argv.insert(o.argv.end(), {"--runtime", sandbox, "fake-runtime"});
    std::string error;
    proc_ = ChildProcess::start(o, &error);
    if (!proc_) {
      ADD_FAILURE() << error;
      return;
    }
    auto line = proc_->wait_for_line_containing("\"control_port\"", 30s);
    if (!line) {
      ADD_FAILURE() << "no port line from lastcall-sandbox";
      return;
    }
    control_ = static_cast<std::uint16_t>(json::parse(*line).at("control_port").to_number<int>());
  }
  ~SandboxedExtension() {
    proc_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::uint16_t control() const { return control_; }

  Expected<RawResponse> call(std::string method, std::string target, std::string body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return http_request(
        control_, {std::move(method), std::move(target), std::move(headers), std::move(body)}, 30s);
  }

  bool wait(const std::string& event, int count) {
    auto r = call("GET",
                  "/wait?event=" + event + "&count=" + std::to_string(count) + "&timeout_ms=20000");
    return r && r->status == 200;
  }

  std::vector<json::object> timeline() {
    auto r = call("GET", "/timeline");
    return r ? json_object_lines(r->body) : std::vector<json::object>{};
  }

  std::string output() const {
    return proc_ ? proc_->output(ChildProcess::Stream::kStdout) + "\n" +
                       proc_->output(ChildProcess::Stream::kStderr)
                 : "";
  }

 private:
  fs::path dir_;
  std::unique_ptr<ChildProcess> proc_;
  std::uint16_t control_ = 0;
};

int find(const std::vector<json::object>& tl, std::string_view event,
         const std::map<std::string, std::string>& fields = {}, int from = 0) {
  for (int i = from; i < static_cast<int>(tl.size()); ++i) {
    const auto* ev = tl[i].if_contains("event");
    if (ev == nullptr || str(*ev) != event) continue;
    bool ok = true;
    for (const auto& [k, v] : fields) {
      const auto* f = tl[i].if_contains(k);
      ok = ok && f != nullptr && str(*f) == v;
    }
    if (ok) return i;
  }
  return -1;
}

TEST(ExtensionInSandbox, ColdStartThreeInvokesShutdownWithFreeze) {
  SandboxedExtension sb;
  ASSERT_NE(sb.control(), 0);
  ASSERT_TRUE(sb.wait("frozen", 1)) << sb.output();  // init done: everyone parked in next
  const std::vector<std::string> ids = {"req-1", "req-2", "req-3"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = sb.call("POST", "/invoke", R"({"respond":{"n":)" + std::to_string(i) + "}}",
                     {{"X-Request-Id", ids[i]}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(sb.wait("frozen", static_cast<int>(i) + 2)) << sb.output();
  }
  auto down = sb.call("POST", "/shutdown");
  ASSERT_TRUE(down);
  ASSERT_EQ(down->status, 200) << down->body;
  bool saw = false;
  const json::value summary = json::parse(down->body);
  for (const auto& p : summary.at("processes").as_array()) {
    if (str(p.at("name")) != "datadog-agent") continue;
    saw = true;
    EXPECT_EQ(p.at("exit_code").to_number<int>(), 0) << sb.output();
    EXPECT_FALSE(p.at("sigkilled").as_bool());
    EXPECT_TRUE(p.at("exited_before_deadline").as_bool());
  }
  EXPECT_TRUE(saw) << down->body;

  const auto tl = sb.timeline();
  const int reg = find(tl, "extension.register", {{"name", "datadog-agent"}, {"status", "200"}});
  ASSERT_GE(reg, 0) << sb.output();
  EXPECT_TRUE(tl[reg].at("account_id_feature").as_bool());
  EXPECT_FALSE(tl[reg].at("internal").as_bool());
  const int sub = find(tl, "telemetry.subscribe", {{"status", "200"}});
  ASSERT_GT(sub, reg);
  // The platform's batches reached lastcall's listener and were answered 200.
  const int delivered = find(tl, "telemetry.delivered", {{"status", "200"}});
  EXPECT_GT(delivered, sub);
  for (const auto& id : ids) {
    EXPECT_GE(find(tl, "extension.event", {{"event_type", "INVOKE"}, {"request_id", id}}), 0) << id;
  }
  const int shutdown = find(tl, "extension.event", {{"event_type", "SHUTDOWN"}});
  ASSERT_GE(shutdown, 0);
  const int exited = find(tl, "exit", {{"name", "datadog-agent"}}, shutdown);
  ASSERT_GT(exited, shutdown);
  EXPECT_LT(tl[exited].at("t_ms").to_number<double>(),
            tl[shutdown].at("deadline_ms").to_number<double>());
  // Every /next after the first was answered: lastcall called next once per event, plus the last.
  int nexts = 0;
  for (const auto& e : tl) {
    if (str(e.at("event")) == "extension.next" && e.contains("name") &&
        str(e.at("name")) == "datadog-agent") {
      ++nexts;
    }
  }
  EXPECT_GE(nexts, 4);
}

TEST(ExtensionInSandbox, LmiRegistersShutdownOnly) {
  SandboxedExtension sb({"--mode", "lmi"});
  ASSERT_NE(sb.control(), 0);
  ASSERT_TRUE(sb.wait("init.done", 1)) << sb.output();
  auto r = sb.call("POST", "/invoke", R"({"respond":{"ok":true}})", {{"X-Request-Id", "lmi-1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto down = sb.call("POST", "/shutdown");
  ASSERT_TRUE(down);
  const auto tl = sb.timeline();
  const int reg = find(tl, "extension.register", {{"name", "datadog-agent"}, {"status", "200"}});
  ASSERT_GE(reg, 0) << sb.output();
  EXPECT_GE(find(tl, "telemetry.subscribe", {{"status", "200"}}), 0);
  EXPECT_LT(find(tl, "extension.event", {{"event_type", "INVOKE"}}), 0);
  const int shutdown = find(tl, "extension.event", {{"event_type", "SHUTDOWN"}});
  ASSERT_GE(shutdown, 0);
  EXPECT_GT(find(tl, "exit", {{"name", "datadog-agent"}}, shutdown), shutdown);
}

}  // namespace
}  // namespace lc::testing
