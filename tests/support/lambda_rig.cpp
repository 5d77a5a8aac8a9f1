#include "support/lambda_rig.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include "support/process.h"

namespace lc::test {

namespace json = boost::json;
using sandbox::BlockingResponse;
using sandbox::testing::find_entry;
using sandbox::testing::SandboxHarness;
using sandbox::testing::SandboxSetup;
using sandbox::testing::str;

double json_number(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* m = o != nullptr ? o->if_contains(key) : nullptr;
  return m != nullptr && m->is_number() ? m->to_number<double>() : std::nan("");
}

LambdaRig::LambdaRig(LambdaRigOptions options) : options_(std::move(options)) {
  std::string error;
  intake_ = FakeIntakeProcess::start(options_.intake_args, &error);
  if (!intake_) {
    ADD_FAILURE() << "cannot start lastcall-fakeintake: " << error;
    return;
  }
  // One retry: the picked ports can be taken by someone else before lastcall binds them.
  Attempt a = attempt();
  if (a == Attempt::kPortTaken) {
    std::cerr << "LambdaRig: lastcall could not bind a picked port; starting once more\n"
              << diagnostics() << "\n";
    sandbox_.reset();
    a = attempt();
  }
  if (a == Attempt::kPortTaken) {
    ADD_FAILURE() << "lastcall could not bind the picked ports twice:\n" << diagnostics();
  }
  started_ = a == Attempt::kStarted;
}

LambdaRig::~LambdaRig() = default;

std::string LambdaRig::intake_url() const {
  return intake_ ? "http://127.0.0.1:" + std::to_string(intake_->port()) : std::string();
}

LambdaRig::Attempt LambdaRig::attempt() {
  std::map<std::string, std::string> env = {
      {"DD_API_KEY", "lambda-rig-test-key-0123456789"},
      {"DD_DD_URL", intake_url()},
      {"DD_LOGS_CONFIG_LOGS_DD_URL", intake_url()},
      {"DD_APM_DD_URL", intake_url()},
      {"LASTCALL_BIND_HOST", "127.0.0.1"},
      {"LASTCALL_TELEMETRY_PORT", "0"},
      {"DD_APM_RECEIVER_PORT", "0"},
      {"DD_LOG_LEVEL", "debug"},
  };
  for (const auto& [k, v] : options_.env) env[k] = v;
  const bool own_dsd = !env.contains("DD_DOGSTATSD_PORT");
  const bool own_api = !env.contains("LASTCALL_LOCAL_API_PORT");
  if (own_dsd) env["DD_DOGSTATSD_PORT"] = std::to_string(pick_free_port(SOCK_DGRAM));
  if (own_api) env["LASTCALL_LOCAL_API_PORT"] = std::to_string(pick_free_port(SOCK_STREAM));
  dogstatsd_port_ = static_cast<std::uint16_t>(std::stoi(env["DD_DOGSTATSD_PORT"]));
  local_api_port_ = static_cast<std::uint16_t>(std::stoi(env["LASTCALL_LOCAL_API_PORT"]));

  SandboxSetup setup;
  setup.extensions = options_.fake_extensions;
  setup.binaries[options_.extension_name] = built_binary("lastcall");
  for (const auto& [k, v] : env) {
    setup.args.push_back("--env");
    setup.args.push_back(k + "=" + v);
  }
  setup.args.insert(setup.args.end(), options_.sandbox_args.begin(), options_.sandbox_args.end());
  setup.runtime = options_.runtime;
  setup.runtime_args = options_.runtime_args;
  sandbox_ = std::make_unique<SandboxHarness>(std::move(setup));
  if (!sandbox_->started()) return Attempt::kFailed;

  // lastcall binds before it registers and prints one `listening:` line (lambda-agent.md §1.2
  // step 2); poll the timeline for that line or for lastcall's exit.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  listening_line_.clear();
  bool cannot_bind = false;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto tl = sandbox_->timeline();
    for (const auto& e : tl) {
      const std::string event = str(e.at("event"));
      const auto* name = e.if_contains("name");
      if (name == nullptr || str(*name) != options_.extension_name) continue;
      if (event == "exit") exited = true;
      if (event != "log") continue;
      const std::string line = str(e.at("line"));
      if (line.find("cannot listen") != std::string::npos ||
          line.find("cannot bind") != std::string::npos) {
        cannot_bind = true;
      }
      if (listening_line_.empty() && line.find("listening:") != std::string::npos) {
        listening_line_ = line;
      }
    }
    if (!listening_line_.empty() || exited) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, not a wait
  }
  if (listening_line_.empty()) {
    ADD_FAILURE() << "lastcall printed no listening: line:\n" << diagnostics();
    return Attempt::kFailed;
  }
  listening_ = parse_listening_line(
      std::string_view(listening_line_).substr(listening_line_.find("listening:")));
  const auto port_of = [this](const char* key) {
    const auto it = listening_.find(key);
    return it == listening_.end() ? -1 : it->second;
  };
  // A receiver lastcall does not bind in this mode yet is absent from the line; one it bound
  // elsewhere, or a "cannot listen" line, means the picked port was taken.
  const bool api_moved = own_api && port_of("local_api") != local_api_port_;
  const bool dsd_moved =
      own_dsd && port_of("dogstatsd") != -1 && port_of("dogstatsd") != dogstatsd_port_;
  if (cannot_bind || api_moved || dsd_moved) return Attempt::kPortTaken;
  return Attempt::kStarted;
}

BlockingResponse LambdaRig::invoke(const std::string& payload, const std::string& request_id) {
  return sandbox_->invoke(payload, request_id);
}

bool LambdaRig::wait(const std::string& event, int count,
                     const std::map<std::string, std::string>& filters, int timeout_ms) {
  return sandbox_->wait(event, count, filters, timeout_ms);
}

Expected<BlockingResponse> LambdaRig::flush() const {
  return http_request(local_api_port_, {"POST", "/lambda/flush", {}, "{}"});
}

bool LambdaRig::send_statsd(std::string_view datagram) const {
  return send_udp(dogstatsd_port_, datagram);
}

LastcallExit LambdaRig::shutdown(std::string_view reason) {
  LastcallExit out;
  const auto r = sandbox_->control("POST", "/shutdown?reason=" + std::string(reason));
  out.status = r.status;
  boost::system::error_code ec;
  out.summary = json::parse(r.body, ec);
  if (ec) out.summary = nullptr;
  const auto* procs =
      out.summary.is_object() ? out.summary.get_object().if_contains("processes") : nullptr;
  if (procs != nullptr && procs->is_array()) {
    for (const auto& p : procs->get_array()) {
      if (!p.is_object() || str(p.at("name")) != options_.extension_name) continue;
      const auto& o = p.get_object();
      out.seen = true;
      if (const auto* c = o.if_contains("exit_code"); c != nullptr && c->is_number()) {
        out.exit_code = c->to_number<int>();
      }
      if (const auto* s = o.if_contains("signal"); s != nullptr && s->is_string()) {
        out.signal = str(*s);
      }
      if (const auto* k = o.if_contains("sigkilled"); k != nullptr && k->is_bool()) {
        out.sigkilled = k->get_bool();
      }
      if (const auto* b = o.if_contains("exited_before_deadline"); b != nullptr && b->is_bool()) {
        out.exited_before_deadline = b->get_bool();
      }
    }
  }
  // The SHUTDOWN lastcall was given (its deadlineMs) and its exit after it.
  const auto tl = sandbox_->timeline();
  int shut = -1;
  for (int from = 0;;) {
    const int i = find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}}, from);
    if (i < 0) break;
    shut = i;  // the last one: a sandbox may have been shut down before
    from = i + 1;
  }
  if (shut >= 0) {
    const int ex = find_entry(tl, "exit", {{"name", options_.extension_name}}, shut);
    const auto* dl = tl[static_cast<std::size_t>(shut)].if_contains("deadline_ms");
    if (ex >= 0 && dl != nullptr && dl->is_number()) {
      out.ms_before_deadline =
          dl->to_number<double>() - tl[static_cast<std::size_t>(ex)].at("t_ms").to_number<double>();
    }
  }
  last_exit_ = out;
  return out;
}

std::vector<std::string> LambdaRig::lastcall_output() {
  return sandbox_ ? sandbox_->lines_of(options_.extension_name, "stdout")
                  : std::vector<std::string>{};
}

std::vector<std::string> LambdaRig::runtime_output(std::string_view stream) {
  return sandbox_ ? sandbox_->lines_of("runtime", stream) : std::vector<std::string>{};
}

std::string LambdaRig::diagnostics() {
  std::string out;
  if (sandbox_ && sandbox_->started()) {
    out += "--- lastcall (" + options_.extension_name + ") stdout:\n";
    for (const auto& l : lastcall_output()) out += l + "\n";
    out += "--- runtime stderr:\n";
    for (const auto& l : runtime_output("stderr")) out += l + "\n";
  }
  if (sandbox_) out += "--- lastcall-sandbox:\n" + sandbox_->output() + "\n";
  return out;
}

bool context_has_tag(const json::object& context, std::string_view tag) {
  const auto* tags = context.if_contains("tags");
  if (tags == nullptr || !tags->is_array()) return false;
  for (const auto& t : tags->get_array()) {
    if (t.is_string() && t.get_string() == tag) return true;
  }
  return false;
}

double sketch_count(const json::value& metric, std::string_view tag) {
  const auto* o = metric.if_object();
  const auto* contexts = o != nullptr ? o->if_contains("contexts") : nullptr;
  if (contexts == nullptr || !contexts->is_array()) return 0;
  double n = 0;
  for (const auto& c : contexts->get_array()) {
    if (!c.is_object()) continue;
    if (tag.empty() || context_has_tag(c.get_object(), tag)) n += json_number(c, "cnt");
  }
  return n;
}

json::value enhanced_metric(const FakeIntakeClient& intake, std::string_view name) {
  return intake.metrics(std::string(kEnhancedPrefix) + std::string(name));
}

void await_enhanced_invocations(LambdaRig& rig, double n) {
  const auto intake = rig.intake();
  const auto got = intake.wait_for_metric(
      std::string(kEnhancedPrefix) + "invocations",
      [n](const json::value& m) { return sketch_count(m) >= n; }, std::chrono::seconds(10));
  ASSERT_TRUE(got.has_value()) << json::serialize(enhanced_metric(intake, "invocations")) << "\n"
                               << rig.diagnostics();
}

std::string IntakeLogEntry::text() const {
  const auto& m = inner().at("message");
  return m.is_string() ? std::string(m.get_string()) : json::serialize(m);
}

std::string IntakeLogEntry::request_id() const {
  const auto* l = inner().if_contains("lambda");
  const auto* id =
      l != nullptr && l->is_object() ? l->as_object().if_contains("request_id") : nullptr;
  return id != nullptr && id->is_string() ? std::string(id->get_string()) : std::string();
}

std::string IntakeLogEntry::status() const {
  const auto* s = inner().if_contains("status");
  return s != nullptr && s->is_string() ? std::string(s->get_string()) : std::string();
}

std::string IntakeLogEntry::str(std::string_view key) const {
  const auto* v = entry.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<IntakeLogEntry> intake_log_entries(const FakeIntakeClient& intake) {
  std::vector<IntakeLogEntry> out;
  const json::value logs = intake.logs();
  const auto* arr = logs.is_object() ? logs.as_object().if_contains("entries") : nullptr;
  if (arr == nullptr || !arr->is_array()) return out;
  for (const auto& e : arr->get_array()) {
    if (e.is_object() && e.as_object().contains("message") &&
        e.as_object().at("message").is_object()) {
      out.push_back({e.as_object()});
    }
  }
  return out;
}

std::vector<const IntakeLogEntry*> entries_containing(const std::vector<IntakeLogEntry>& all,
                                                      std::string_view part) {
  std::vector<const IntakeLogEntry*> out;
  for (const auto& e : all) {
    if (e.text().find(part) != std::string::npos) out.push_back(&e);
  }
  return out;
}

}  // namespace lc::test
