// lastcall-sandbox fake-extension: a scripted external extension. It registers under its own file
// name, subscribes a telemetry listener and loops on `next`. Its behaviour comes from the JSON in
// LASTCALL_FAKE_EXTENSIONS, keyed by extension name ("*" for every name):
//   {"events":["INVOKE","SHUTDOWN"], "account_id":true, "register_name":"x",
//    "subscribe":true, "types":["platform","function","extension"], "schema":"2022-12-13",
//    "buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}, "path":"/telemetry",
//    "listener_statuses":[503,503], "log":["line at start"], "init_error":"Extension.X",
//    "invoke_sleep_ms":0, "crash_on_invoke":N, "on_shutdown":"exit"|"ignore",
//    "shutdown_sleep_ms":0, "exit_code":0, "exit_error":false, "await_reports":false,
//    "await_limit_ms":10000,
//    "record_file":"/path"}  (every received batch body appended as one line, before the answer)
// "await_reports": at SHUTDOWN, before exiting, wait until the listener has received a
// platform.report for every invocation the extension was given (the last report comes in the
// shutdown window), at most await_limit_ms — what lastcall itself does before its final flush.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/config_registry.h"
#include "core/mutex.h"
#include "core/strings.h"
#include "tools/sandbox/blocking_http.h"
#include "tools/sandbox/common.h"
#include "tools/sandbox/scripted.h"
#include "tools/sandbox/tool_variables.h"

namespace lc::sandbox {
namespace {

void say(const std::string& line) {
  const std::string out = line + "\n";
  (void)!::write(1, out.data(), out.size());
}

boost::json::object script_for(const std::string& name, const std::optional<std::string>& text) {
  boost::json::object out;
  if (!text) return out;
  auto parsed = parse_json(*text);
  if (!parsed || !parsed->is_object()) {
    say("fake-extension: LASTCALL_FAKE_EXTENSIONS is not a JSON object; using defaults");
    return out;
  }
  const auto& all = parsed->get_object();
  for (const char* key : {"*", name.c_str()}) {
    if (const auto* v = all.if_contains(key); v && v->is_object()) {
      for (const auto& kv : v->get_object()) out[kv.key()] = kv.value();
    }
  }
  return out;
}

bool flag(const boost::json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

}  // namespace

int fake_extension_main(const std::string& name, const std::vector<std::string>& args) {
  signal(SIGPIPE, SIG_IGN);
  ProcessEnvironment env;
  const auto api = env.get(tool_var::kAwsLambdaRuntimeApi);
  if (!api) {
    say("fake-extension: AWS_LAMBDA_RUNTIME_API is not set");
    return 2;
  }
  auto hp = split_host_port(*api);
  if (!hp) return 2;
  const auto [host, port] = *hp;
  const bool lmi =
      env.get(tool_var::kAwsLambdaInitializationType).value_or("") == "lambda-managed-instances";
  std::optional<std::string> script_text = env.get(tool_var::kLastcallFakeExtensions);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    // --script JSON: this extension's script (the sandbox's own dummy extensions use it)
    if (args[i] == "--script") script_text = "{\"" + name + "\":" + args[i + 1] + "}";
  }
  const auto script = script_for(name, script_text);

  if (const auto* l = script.if_contains("log"); l && l->is_array()) {
    for (const auto& line : l->get_array()) {
      if (line.is_string()) say(std::string(line.get_string().data(), line.get_string().size()));
    }
  }

  // register
  BlockingRequest reg;
  reg.method = "POST";
  reg.target = "/2020-01-01/extension/register";
  reg.headers = {
      {"Lambda-Extension-Name", std::string(get_string(script, "register_name").value_or(name))}};
  if (flag(script, "account_id", true))
    reg.headers.emplace_back("Lambda-Extension-Accept-Feature", "accountId");
  boost::json::object reg_body;
  if (const auto* ev = script.if_contains("events"); ev && ev->is_array()) {
    reg_body["events"] = ev->get_array();
  } else {
    reg_body["events"] =
        lmi ? boost::json::array{"SHUTDOWN"} : boost::json::array{"INVOKE", "SHUTDOWN"};
  }
  reg.body = boost::json::serialize(reg_body);
  auto r = http_call(host, port, reg);
  if (!r || r->status != 200 || !r->header("Lambda-Extension-Identifier")) {
    say(fmt::format("fake-extension {}: register failed: {} {}", name, r ? r->status : 0,
                    r ? r->body : r.error().message));
    return 1;
  }
  const std::string id(*r->header("Lambda-Extension-Identifier"));
  const net::Headers ident = {{"Lambda-Extension-Identifier", id}};

  if (auto t = get_string(script, "init_error")) {
    BlockingRequest e;
    e.method = "POST";
    e.target = "/2020-01-01/extension/init/error";
    e.headers = ident;
    e.headers.emplace_back("Lambda-Extension-Function-Error-Type", std::string(*t));
    e.body = R"({"errorMessage":"scripted init failure","errorType":"Scripted","stackTrace":[]})";
    (void)http_call(host, port, e);
    return 1;
  }

  // telemetry listener + subscription
  std::atomic<std::uint64_t> batches{0}, statuses_used{0};
  std::vector<int> statuses;
  if (const auto* s = script.if_contains("listener_statuses"); s && s->is_array()) {
    for (const auto& v : s->get_array()) {
      if (v.is_int64()) statuses.push_back(static_cast<int>(v.get_int64()));
    }
  }
  // Request ids whose platform.report reached the listener, for await_reports.
  Mutex reports_mu;
  CondVar reports_cv;
  std::set<std::string> reported;  // guarded by reports_mu
  const auto note_reports = [&](const std::string& body) {
    auto batch = parse_json(body);
    if (!batch || !batch->is_array()) return;
    MutexLock lock(reports_mu);
    for (const auto& item : batch->get_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.get_object();
      if (get_string(o, "type").value_or("") != "platform.report") continue;
      const auto* rec = o.if_contains("record");
      if (rec == nullptr || !rec->is_object()) continue;
      if (auto id = get_string(rec->get_object(), "requestId")) reported.insert(std::string(*id));
    }
    reports_cv.notify_all();
  };
  std::set<std::string> invoked;  // main thread only

  BlockingListener listener;
  const std::string record_file(get_string(script, "record_file").value_or(""));
  if (flag(script, "subscribe", true)) {
    auto lp =
        listener.start(0, [&](const std::string&, const std::string&, const std::string& body) {
          ++batches;
          note_reports(body);
          if (!record_file.empty()) {
            std::ofstream out(record_file, std::ios::app);
            out << body << '\n';
          }
          const auto i = statuses_used.fetch_add(1);
          return i < statuses.size() ? statuses[i] : 200;
        });
    if (!lp) {
      say("fake-extension: listener: " + lp.error().message);
      return 1;
    }
    boost::json::object sub;
    sub["schemaVersion"] =
        std::string(get_string(script, "schema").value_or(lmi ? "2025-01-29" : "2022-12-13"));
    if (const auto* t = script.if_contains("types"); t && t->is_array()) {
      sub["types"] = t->get_array();
    } else {
      sub["types"] = boost::json::array{"platform", "function", "extension"};
    }
    if (const auto* b = script.if_contains("buffering"); b && b->is_object()) {
      sub["buffering"] = b->get_object();
    } else {
      sub["buffering"] = {{"maxItems", 1000}, {"maxBytes", 262144}, {"timeoutMs", 25}};
    }
    sub["destination"] = {{"protocol", "HTTP"},
                          {"URI", fmt::format("http://sandbox.localdomain:{}{}", *lp,
                                              get_string(script, "path").value_or("/telemetry"))}};
    BlockingRequest s;
    s.method = "PUT";
    s.target = "/2022-07-01/telemetry";
    s.headers = ident;
    s.headers.emplace_back("Content-Type", "application/json");
    s.body = boost::json::serialize(sub);
    auto sr = http_call(host, port, s);
    if (!sr || sr->status != 200) {
      say(fmt::format("fake-extension {}: subscribe answered {}", name, sr ? sr->status : 0));
    }
  }

  const auto crash_on = get_int(script, "crash_on_invoke").value_or(0);
  const auto invoke_sleep = get_int(script, "invoke_sleep_ms").value_or(0);
  std::int64_t invokes = 0;
  for (;;) {
    BlockingRequest next;
    next.target = "/2020-01-01/extension/event/next";
    next.headers = ident;
    auto ev = http_call(host, port, next);
    if (!ev || ev->status != 200) {
      say(fmt::format("fake-extension {}: next failed: {}", name,
                      ev ? std::to_string(ev->status) : ev.error().message));
      return 1;
    }
    auto parsed = parse_json(ev->body);
    if (!parsed || !parsed->is_object()) continue;
    const auto type = to_lower(get_string(parsed->get_object(), "eventType").value_or(""));
    if (type == "invoke") {
      ++invokes;
      if (auto id = get_string(parsed->get_object(), "requestId")) invoked.insert(std::string(*id));
      if (crash_on > 0 && invokes == crash_on) _exit(3);
      if (invoke_sleep > 0) std::this_thread::sleep_for(std::chrono::milliseconds(invoke_sleep));
      continue;
    }
    if (type == "shutdown") {
      if (get_string(script, "on_shutdown").value_or("exit") == "ignore") {
        for (;;) pause();  // waits for the SIGKILL at the deadline
      }
      if (auto ms = get_int(script, "shutdown_sleep_ms"); ms && *ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
      }
      if (flag(script, "await_reports", false)) {
        const auto limit =
            std::chrono::milliseconds(get_int(script, "await_limit_ms").value_or(10000));
        const auto deadline = SystemClock::instance().steady_now() + limit;
        MutexLock lock(reports_mu);
        bool all = false;
        for (bool in_time = true;; in_time = lock.wait_until(reports_cv, deadline)) {
          all = std::includes(reported.begin(), reported.end(), invoked.begin(), invoked.end());
          if (all || !in_time) break;
        }
        if (!all) say(fmt::format("fake-extension {}: reports still missing at exit", name));
      }
      if (flag(script, "exit_error", false)) {
        BlockingRequest e;
        e.method = "POST";
        e.target = "/2020-01-01/extension/exit/error";
        e.headers = ident;
        e.headers.emplace_back("Lambda-Extension-Function-Error-Type", "Extension.ScriptedExit");
        (void)http_call(host, port, e);
      }
      say(fmt::format("fake-extension {}: shutdown after {} invokes, {} telemetry batches", name,
                      invokes, batches.load()));
      listener.stop();
      return static_cast<int>(get_int(script, "exit_code").value_or(0));
    }
  }
}

}  // namespace lc::sandbox
