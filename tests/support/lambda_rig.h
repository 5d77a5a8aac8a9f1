// tests/support/lambda_rig.h — the one rig of the Lambda integration tests: the real lastcall
// installed as the extension `datadog-agent` inside the real lastcall-sandbox (scripted
// fake-runtime by default), sending to a real lastcall-fakeintake.
//
//   LambdaRig rig({.env = {{"DD_ENV", "prod"}}});
//   ASSERT_TRUE(rig.started()) << rig.diagnostics();
//   rig.invoke(R"({"statsd":["a:1|c"],"flush":true})", "req-1");
//   auto exit = rig.shutdown();            // SHUTDOWN; who exited, and how long before deadlineMs
//   rig.intake().metrics("a");             // decoded records at the fake intake
//
// What it sets (every value can be overridden through LambdaRigOptions::env):
// - lastcall and the function both get, through the sandbox's `--env`: DD_API_KEY, DD_DD_URL,
//   DD_LOGS_CONFIG_LOGS_DD_URL and DD_APM_DD_URL pointed at the fake intake, DD_DOGSTATSD_PORT and
//   LASTCALL_LOCAL_API_PORT on ports the rig picked (so the function's `statsd` and `flush`
//   instructions reach lastcall), LASTCALL_BIND_HOST=127.0.0.1, the telemetry and trace ports 0
//   (lastcall's own choice, read from its `listening:` line), DD_LOG_LEVEL=debug.
// - The two picked ports are found by binding port 0 (UDP for DogStatsD, TCP for the local API),
//   reading the port and closing the socket. Another process can take such a port before lastcall
//   binds it (a small race, conventions.md §13 asks for port 0 but the function must know the port
//   before lastcall starts). When lastcall then says it cannot listen (or its `listening:` line
//   shows other ports), the rig tears everything down and starts once more with new ports.
//
// Owns the fake intake and the sandbox; both (and lastcall, and the function) die with the rig.
// Blocking calls with time limits; test code only.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "support/fakeintake_client.h"
#include "support/sandbox_harness.h"

namespace lc::test {

struct LambdaRigOptions {
  // More variables for lastcall and the function (DD_ENV, DD_TAGS, DD_SITE …); they override the
  // rig's own (a test may even set DD_DOGSTATSD_PORT itself; the rig then uses that value).
  std::map<std::string, std::string> env = {};
  // Sandbox options before --runtime: {"--mode","lmi"}, {"--memory-mb","1024"},
  // {"--function-timeout-ms","10000"}, {"--shutdown-budget-ms","2000"}, {"--no-freeze"} …
  std::vector<std::string> sandbox_args = {};
  // Arguments after `fake-runtime` (e.g. {"--init-sleep-ms","50"}), or after `runtime` below.
  std::vector<std::string> runtime_args = {};
  // Another runtime command instead of `lastcall-sandbox fake-runtime` (e.g. a Node handler).
  std::vector<std::string> runtime = {};
  // lastcall-fakeintake options, e.g. {"--fault","/api/v2/series=503,200"}.
  std::vector<std::string> intake_args = {};
  // Scripted fake extensions next to lastcall (file name → LASTCALL_FAKE_EXTENSIONS script).
  std::map<std::string, boost::json::object> fake_extensions = {};
  // Install lastcall under this file name (the name it registers under).
  std::string extension_name = "datadog-agent";

  // The sandbox's fault knobs (`--faults`, lambda-platform.md §7.6); "" adds nothing.
  LambdaRigOptions& with_faults(const std::string& faults) {
    if (!faults.empty()) {
      sandbox_args.push_back("--faults");
      sandbox_args.push_back(faults);
    }
    return *this;
  }
};

// How lastcall ended at a SHUTDOWN, from the sandbox's answer and its timeline.
struct LastcallExit {
  int status = 0;                // HTTP status of POST /shutdown
  boost::json::value summary;    // the sandbox's answer as sent
  bool seen = false;             // the answer named lastcall
  std::optional<int> exit_code;  // nullopt when killed by a signal
  std::optional<std::string> signal;
  bool sigkilled = false;
  bool exited_before_deadline = false;
  // deadlineMs of the SHUTDOWN event lastcall received minus the time of its exit (timeline
  // t_ms, epoch ms); nullopt when the timeline holds either entry.
  std::optional<double> ms_before_deadline;
};

class LambdaRig {
 public:
  explicit LambdaRig(LambdaRigOptions options = {});
  ~LambdaRig();
  LambdaRig(const LambdaRig&) = delete;
  LambdaRig& operator=(const LambdaRig&) = delete;

  // True when the intake runs, the sandbox runs and lastcall printed its `listening:` line with the
  // ports the rig gave it. Failures were reported through gtest.
  bool started() const { return started_; }

  // --- the parts ---
  sandbox::testing::SandboxHarness& sandbox() { return *sandbox_; }
  FakeIntakeClient intake() const { return intake_->client(); }
  FakeIntakeProcess& intake_process() { return *intake_; }
  std::string intake_url() const;
  std::uint16_t dogstatsd_port() const { return dogstatsd_port_; }
  std::uint16_t local_api_port() const { return local_api_port_; }
  // lastcall's `listening:` line as printed, e.g. "DD_EXTENSION | INFO | listening: …", and its
  // ports by name ({"local_api":…,"telemetry":…,"dogstatsd":…}).
  const std::string& listening_line() const { return listening_line_; }
  const std::map<std::string, int>& listening() const { return listening_; }

  // --- driving it ---
  // POST /invoke on the control port (blocks until the runtime answered).
  sandbox::BlockingResponse invoke(const std::string& payload, const std::string& request_id = "");
  // GET /wait on the control port; true when matched.
  bool wait(const std::string& event, int count = 1,
            const std::map<std::string, std::string>& filters = {}, int timeout_ms = 20000);
  // POST /lambda/flush to lastcall from the test (the function's own is the `flush` instruction).
  // Between invocations the sandbox freezes lastcall (SIGSTOP) unless it runs with --no-freeze;
  // a frozen lastcall answers nothing and this call times out.
  Expected<sandbox::BlockingResponse> flush() const;
  // One UDP datagram to lastcall's DogStatsD port from the test.
  bool send_statsd(std::string_view datagram) const;
  // POST /shutdown?reason=…; also kept for last_exit().
  LastcallExit shutdown(std::string_view reason = "spindown");
  const std::optional<LastcallExit>& last_exit() const { return last_exit_; }

  // --- reading it ---
  std::vector<boost::json::object> timeline() { return sandbox_->timeline(); }
  // lastcall's stdout lines as the sandbox captured them (`DD_EXTENSION | LEVEL | …`).
  std::vector<std::string> lastcall_output();
  // The function's lines (stdout and stderr), e.g. `fake-runtime: flush -> 200`.
  std::vector<std::string> runtime_output(std::string_view stream = "stderr");
  // Everything useful when a test fails: lastcall's lines and the sandbox's own output.
  std::string diagnostics();

 private:
  enum class Attempt { kStarted, kPortTaken, kFailed };
  Attempt attempt();

  LambdaRigOptions options_;
  std::unique_ptr<FakeIntakeProcess> intake_;
  std::unique_ptr<sandbox::testing::SandboxHarness> sandbox_;
  std::uint16_t dogstatsd_port_ = 0;
  std::uint16_t local_api_port_ = 0;
  std::string listening_line_;
  std::map<std::string, int> listening_;
  std::optional<LastcallExit> last_exit_;
  bool started_ = false;
};

// A numeric member of a JSON object; NaN when absent or not a number.
double json_number(const boost::json::value& v, std::string_view key);

// ---- lastcall's enhanced metrics at the fake intake (distributions → merged sketch contexts)
inline constexpr std::string_view kEnhancedPrefix = "aws.lambda.enhanced.";
// True when a sketch context of a /fakeintake/metrics answer carries `tag`.
bool context_has_tag(const boost::json::object& context, std::string_view tag);
// The merged sketch count of the contexts of `metric` carrying `tag` ("" = every context).
double sketch_count(const boost::json::value& metric, std::string_view tag = "");
// /fakeintake/metrics of aws.lambda.enhanced.<name>.
boost::json::value enhanced_metric(const FakeIntakeClient& intake, std::string_view name);
// ---- log entries at the fake intake (Lambda shape: the line and its attributes under
// `message`, the envelope around it; datadog-wire.md §4.5)
struct IntakeLogEntry {
  boost::json::object entry;
  const boost::json::object& inner() const { return entry.at("message").as_object(); }
  // The line: a string message as is, an object message serialized.
  std::string text() const;
  std::string request_id() const;               // message.lambda.request_id; "" when absent
  std::string status() const;                   // message.status
  std::string str(std::string_view key) const;  // an envelope string ("" when absent)
};
// Every Lambda-shaped entry of /fakeintake/logs, in arrival order.
std::vector<IntakeLogEntry> intake_log_entries(const FakeIntakeClient& intake);
// The entries whose line contains `part`.
std::vector<const IntakeLogEntry*> entries_containing(const std::vector<IntakeLogEntry>& all,
                                                      std::string_view part);

// Waits (10 s) until the intake holds `n` invocations points — the final flush of the lastcall
// process that saw them arrived; a gtest failure (fatal) otherwise.
void await_enhanced_invocations(LambdaRig& rig, double n);

}  // namespace lc::test
