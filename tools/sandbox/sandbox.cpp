// Lifecycle of the emulated environment: init, invocations, freeze, shutdown and reset
// (lambda-platform.md §3, §7.5). HTTP handlers are in sandbox_api.cpp.
#include "tools/sandbox/sandbox.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/logger.h"
#include "core/strings.h"
#include "tools/sandbox/common.h"

namespace lc::sandbox {

namespace {

double ms_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

// Variables a runtime sees and an extension does not (§3.6).
bool runtime_only(std::string_view name) {
  static constexpr std::string_view kNames[] = {"_HANDLER",
                                                "AWS_EXECUTION_ENV",
                                                "AWS_LAMBDA_LOG_GROUP_NAME",
                                                "AWS_LAMBDA_LOG_STREAM_NAME",
                                                "LAMBDA_TASK_ROOT",
                                                "LAMBDA_RUNTIME_DIR",
                                                "_X_AMZN_TRACE_ID",
                                                "AWS_XRAY_CONTEXT_MISSING",
                                                "_AWS_XRAY_DAEMON_ADDRESS",
                                                "_AWS_XRAY_DAEMON_PORT",
                                                "AWS_LAMBDA_MAX_CONCURRENCY"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

}  // namespace

Sandbox::Sandbox(EventLoop& loop, const Clock& clock, TimerService& timers, SandboxOptions options)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      opt_(std::move(options)),
      faults_(opt_.faults),
      timeline_(clock, timers) {}

Sandbox::~Sandbox() { stop(); }

Expected<std::unique_ptr<Sandbox>> Sandbox::create(EventLoop& loop, SandboxOptions options) {
  return create(loop, SystemClock::instance(), loop, std::move(options));
}

Expected<std::unique_ptr<Sandbox>> Sandbox::create(EventLoop& loop, const Clock& clock,
                                                   TimerService& timers, SandboxOptions options) {
  std::unique_ptr<Sandbox> s(new Sandbox(loop, clock, timers, std::move(options)));
  if (!s->opt_.timeline_file.empty()) {
    s->timeline_file_.open(s->opt_.timeline_file, std::ios::app);
    if (!s->timeline_file_) {
      return make_error(ErrorCode::kIo, "cannot open timeline file " + s->opt_.timeline_file);
    }
  }
  s->timeline_.set_observer([raw = s.get()](const boost::json::object& e) {
    if (raw->timeline_file_.is_open()) {
      raw->timeline_file_ << boost::json::serialize(e) << '\n';
      raw->timeline_file_.flush();
    }
    if (raw->opt_.echo_timeline) {
      const std::string line = "timeline " + boost::json::serialize(e) + "\n";
      (void)!::write(2, line.data(), line.size());
    }
  });
  s->delivery_ = make_delivery_client(loop.io(), timers);
  s->hub_ = std::make_unique<TelemetryHub>(clock, timers, *s->delivery_, s->timeline_, s->self_,
                                           s->faults_);
  s->hub_->set_on_progress([raw = s.get()] { raw->on_telemetry_progress(); });
  auto sup = ProcessSupervisor::create(
      loop.io(),
      [raw = s.get()](pid_t pid, bool is_stderr, std::string_view line) {
        raw->on_line(pid, is_stderr, line);
      },
      [raw = s.get()](pid_t pid, ExitStatus st) { raw->on_process_exit(pid, st); });
  if (!sup) return std::move(sup).error();
  s->procs_sup_ = std::move(*sup);
  if (auto r = s->init_servers(); !r) return r.error();
  return s;
}

void Sandbox::start() {
  api_->start();
  control_->start();
  boost::json::object e;
  e["api_port"] = api_port();
  e["control_port"] = control_port();
  e["mode"] = opt_.mode == SandboxMode::kLmi          ? "lmi"
              : opt_.mode == SandboxMode::kRieClassic ? "rie-classic"
                                                      : "ondemand";
  e["freeze"] = opt_.freeze && opt_.mode == SandboxMode::kOnDemand;
  e["faults"] = describe_faults(faults_);
  timeline_.add("listening", std::move(e));
  start_init("init");
}

void Sandbox::stop() {
  if (procs_sup_) procs_sup_->kill_all();
  timeline_.cancel_waiters();
  if (api_) api_->stop();
  if (control_) control_->stop();
}

// ---- helpers -------------------------------------------------------------------------------

std::string Sandbox::current_request_id() const {
  if (opt_.lmi() || active_.size() != 1) return "";
  return active_.begin()->first;
}

std::string Sandbox::shutdown_reason_text(const std::string& reason) const {
  if (!faults_.shutdown_reason_upper) return reason;
  std::string up = reason;
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up;
}

void Sandbox::emit(std::string_view type, boost::json::object record) {
  const auto now = now_epoch_ms_int(clock_);
  boost::json::object e;
  e["type"] = type;
  if (auto rid = get_string(record, "requestId")) e["request_id"] = *rid;
  if (auto st = get_string(record, "status")) e["status"] = *st;
  timeline_.add("telemetry.emit", std::move(e));
  hub_->emit(type, std::move(record), now);
}

boost::json::object Sandbox::tracing_for(const Invocation& inv) const {
  boost::json::object t;
  if (!inv.span_id.empty()) t["spanId"] = inv.span_id;
  t["type"] = "X-Amzn-Trace-Id";
  t["value"] = inv.trace;
  return t;
}

void Sandbox::signal_proc(Proc& p, int sig) {
  if (p.exited) return;
  procs_sup_->signal_group(p.pid, sig);
  boost::json::object e;
  e["pid"] = p.pid;
  e["name"] = p.name;
  e["signal"] = signal_name(sig);
  timeline_.add("signal", std::move(e));
  if (sig == SIGKILL) p.sigkilled = true;
}

std::vector<std::string> Sandbox::extension_env() const {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : opt_.base_env) {
    if (!runtime_only(k)) env[k] = v;
  }
  env["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", api_->port());
  env["AWS_LAMBDA_FUNCTION_NAME"] = opt_.function_name;
  env["AWS_LAMBDA_FUNCTION_VERSION"] = opt_.function_version;
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(opt_.memory_mb);
  env["AWS_REGION"] = opt_.region;
  env["AWS_DEFAULT_REGION"] = opt_.region;
  env["AWS_LAMBDA_INITIALIZATION_TYPE"] = opt_.lmi() ? "lambda-managed-instances" : "on-demand";
  if (!env.count("AWS_ACCESS_KEY_ID")) {
    env["AWS_ACCESS_KEY_ID"] = "ASIASANDBOXEXAMPLEKEY";
    env["AWS_SECRET_ACCESS_KEY"] = "sandbox/secret/access/key/example";
    env["AWS_SESSION_TOKEN"] = "sandbox-session-token";
  }
  if (!env.count("TZ")) env["TZ"] = ":UTC";
  if (!env.count("LANG")) env["LANG"] = "en_US.UTF-8";
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/opt/bin";
  for (const auto& [k, v] : opt_.env) {
    if (k != "AWS_LAMBDA_RUNTIME_API" && !runtime_only(k)) env[k] = v;
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(fmt::format("{}={}", k, v));
  return out;
}

std::vector<std::string> Sandbox::runtime_env() const {
  std::map<std::string, std::string> env;
  for (const auto& kv : extension_env()) {
    const auto eq = kv.find('=');
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["_HANDLER"] = opt_.handler;
  env["AWS_EXECUTION_ENV"] = "AWS_Lambda_lastcall_sandbox";
  env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + opt_.function_name;
  env["AWS_LAMBDA_LOG_STREAM_NAME"] = "2025/01/01/[$LATEST]" + make_uuid().substr(0, 8);
  std::error_code ec;
  env["LAMBDA_TASK_ROOT"] = std::filesystem::current_path(ec).string();
  env["LAMBDA_RUNTIME_DIR"] = "/var/runtime";
  env["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR";
  if (opt_.lmi()) env["AWS_LAMBDA_MAX_CONCURRENCY"] = std::to_string(opt_.concurrency);
  for (const auto& [k, v] : opt_.env) {
    if (k != "AWS_LAMBDA_RUNTIME_API") env[k] = v;
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(fmt::format("{}={}", k, v));
  return out;
}

// ---- init ----------------------------------------------------------------------------------

void Sandbox::start_init(const std::string& phase) {
  phase_ = Phase::kInit;
  init_phase_ = phase;
  registration_open_ = true;
  runtime_launched_ = false;
  runtime_init_done_ = false;
  launched_names_.clear();
  extensions_.clear();
  runtime_parked_.clear();
  hub_->clear();
  hub_->set_init_phase(true);
  init_start_wall_ms_ = now_epoch_ms_int(clock_);
  init_start_ = clock_.steady_now();
  boost::json::object e;
  e["phase"] = phase;
  timeline_.add("init.start", std::move(e));

  boost::json::object rec;
  rec["initializationType"] = opt_.lmi() ? "lambda-managed-instances" : "on-demand";
  rec["phase"] = phase;
  rec["runtimeVersion"] = "sandbox:1";
  rec["runtimeVersionArn"] =
      "arn:aws:lambda:" + opt_.region + "::runtime:lastcallsandbox0000000000000000000000000000";
  rec["functionName"] = opt_.function_name;
  rec["functionVersion"] = opt_.function_version;
  if (opt_.lmi()) {
    rec["functionArn"] = opt_.function_arn();
    rec["instanceId"] = make_uuid();
    rec["instanceMaxMemory"] = static_cast<std::int64_t>(opt_.memory_mb) * 1024 * 1024;
  }
  emit("platform.initStart", std::move(rec));

  const int timeout = phase == "invoke" ? opt_.function_timeout_ms
                                        : faults_.init_timeout_ms.value_or(opt_.init_timeout_ms);
  init_timer_ = timers_.schedule_after(Millis(timeout), [this] {
    if (phase_ != Phase::kInit) return;
    timeline_.add("init.timeout", {});
    fail_init("timeout", "Sandbox.Timeout");
  });
  launch_extensions();
  if (launched_names_.empty()) launch_runtime();
}

void Sandbox::launch_extensions() {
  if (opt_.extensions_dir.empty()) {
    launch_dummy_extensions(extension_env());
    return;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(opt_.extensions_dir, ec)) {
    std::error_code ec2;
    const auto st = fs::status(entry.path(), ec2);  // follows symlinks: the target must be a file
    if (ec2 || !fs::is_regular_file(st)) continue;
    if (::access(entry.path().c_str(), X_OK) != 0) continue;
    names.push_back(entry.path().filename().string());
  }
  if (ec) {
    timeline_.add("error", {{"message", "cannot read extensions dir: " + ec.message()}});
  }
  std::sort(names.begin(), names.end());
  const auto env = extension_env();
  launch_dummy_extensions(env);
  for (const auto& name : names) {
    const std::string path = (fs::path(opt_.extensions_dir) / name).string();
    auto pid = procs_sup_->launch(LaunchSpec{path, {path}, env});
    boost::json::object e;
    e["name"] = name;
    e["path"] = path;
    if (!pid) {
      e["error"] = pid.error().message;
      timeline_.add("launch.error", std::move(e));
      continue;
    }
    e["pid"] = *pid;
    e["role"] = "extension";
    timeline_.add("launch", std::move(e));
    procs_[*pid] = Proc{*pid, name, false, false, {}, false, 0};
    launched_names_.insert(name);
  }
}

// Knobs that need a second extension start this binary as a scripted one (§7.6).
void Sandbox::launch_dummy_extensions(const std::vector<std::string>& env) {
  if (opt_.self_exe.empty()) return;
  std::vector<std::pair<std::string, std::string>> dummies;
  if (faults_.no_shutdown_registration) {
    dummies.emplace_back("sandbox-invoke-only", R"({"events":["INVOKE"],"subscribe":false})");
  }
  if (faults_.extension_crash) {
    dummies.emplace_back("sandbox-crasher", R"({"crash_on_invoke":1,"subscribe":false})");
  }
  for (const auto& [name, script] : dummies) {
    auto pid = procs_sup_->launch(LaunchSpec{
        opt_.self_exe, {opt_.self_exe, "fake-extension", "--name", name, "--script", script}, env});
    if (!pid) {
      timeline_.add("launch.error", {{"name", name}, {"error", pid.error().message}});
      continue;
    }
    timeline_.add("launch",
                  {{"name", name}, {"pid", *pid}, {"role", "extension"}, {"dummy", true}});
    procs_[*pid] = Proc{*pid, name, false, false, {}, false, 0};
    launched_names_.insert(name);
  }
}

void Sandbox::launch_runtime() {
  if (runtime_launched_) return;
  runtime_launched_ = true;
  const auto env = runtime_env();
  for (int i = 0; i < opt_.concurrency; ++i) {
    const std::string name = opt_.concurrency > 1 ? fmt::format("runtime-{}", i) : "runtime";
    auto pid = procs_sup_->launch(LaunchSpec{opt_.runtime_cmd[0], opt_.runtime_cmd, env});
    boost::json::object e;
    e["name"] = name;
    e["path"] = opt_.runtime_cmd[0];
    if (!pid) {
      e["error"] = pid.error().message;
      timeline_.add("launch.error", std::move(e));
      continue;
    }
    e["pid"] = *pid;
    e["role"] = "runtime";
    timeline_.add("launch", std::move(e));
    procs_[*pid] = Proc{*pid, name, true, false, {}, false, 0};
  }
}

void Sandbox::maybe_finish_init() {
  if (phase_ != Phase::kInit || !runtime_init_done_) return;
  for (const auto& name : launched_names_) {
    bool registered = false;
    for (const auto& [id, ext] : extensions_) registered = registered || ext.name == name;
    if (!registered) return;
  }
  for (const auto& [id, ext] : extensions_) {
    if (!ext.gone && !ext.errored && !ext.parked) return;
  }
  if (runtime_parked_.empty()) return;
  init_timer_.cancel();
  if (faults_.suppressed_init && init_phase_ == "init") {
    timeline_.add("fault", {{"knob", "suppressed_init"}});
    fail_init("timeout", "Sandbox.Timeout");
    return;
  }
  const double duration = ms_between(init_start_, clock_.steady_now());
  boost::json::object rec;
  rec["initializationType"] = opt_.lmi() ? "lambda-managed-instances" : "on-demand";
  rec["phase"] = init_phase_;
  rec["status"] = "success";
  boost::json::object metrics;
  metrics["durationMs"] = round3(duration);
  rec["metrics"] = std::move(metrics);
  emit("platform.initReport", std::move(rec));
  pending_init_duration_ms_ = round3(duration);
  next_init_phase_ = "init";
  registration_open_ = false;
  hub_->set_init_phase(false);
  phase_ = Phase::kReady;
  timeline_.add("init.done", {{"phase", init_phase_}, {"duration_ms", round3(duration)}});
  pump_invokes();
  check_freeze();
}

void Sandbox::fail_init(const std::string& status, const std::string& error_type) {
  if (phase_ != Phase::kInit) return;
  init_timer_.cancel();
  const std::string init_type = opt_.lmi() ? "lambda-managed-instances" : "on-demand";
  if (!runtime_init_done_) {
    boost::json::object rec;
    rec["initializationType"] = init_type;
    rec["status"] = status;
    rec["errorType"] = error_type;
    emit("platform.initRuntimeDone", std::move(rec));
    runtime_init_done_ = true;
  }
  boost::json::object rec;
  rec["initializationType"] = init_type;
  rec["phase"] = init_phase_;
  rec["status"] = status;
  rec["errorType"] = error_type;
  boost::json::object metrics;
  metrics["durationMs"] = round3(ms_between(init_start_, clock_.steady_now()));
  rec["metrics"] = std::move(metrics);
  emit("platform.initReport", std::move(rec));
  timeline_.add("init.failed",
                {{"phase", init_phase_}, {"status", status}, {"error_type", error_type}});
  registration_open_ = false;
  hub_->set_init_phase(false);
  next_init_phase_ = "invoke";
  // A failed invoke-phase init fails the invocations that waited for it.
  if (init_phase_ == "invoke") {
    auto waiting = std::move(pending_);
    pending_.clear();
    for (auto& p : waiting) {
      if (p.caller) {
        net::HttpResponse resp =
            net::HttpResponse::json(200, error_body(error_type, "init failed: " + status));
        resp.with_header("X-Amz-Function-Error", "Unhandled");
        p.caller->respond(std::move(resp));
      }
    }
  }
  begin_shutdown(status == "timeout" ? "timeout" : "failure", nullptr);
}

// ---- invocations ---------------------------------------------------------------------------

void Sandbox::pump_invokes() {
  if (pending_.empty()) return;
  if (phase_ == Phase::kIdle) {
    start_init(next_init_phase_);
    return;
  }
  if (phase_ != Phase::kReady) return;
  if (opt_.lmi()) {
    while (!pending_.empty()) {
      auto p = std::move(pending_.front());
      pending_.pop_front();
      begin_invocation(std::move(p));
    }
    return;
  }
  if (!active_.empty()) return;
  auto p = std::move(pending_.front());
  pending_.pop_front();
  thaw_then([this, p = std::move(p)]() mutable {
    // A shutdown may have started during the freeze dwell: the invoke waits for the next init.
    if (phase_ != Phase::kReady || !active_.empty()) {
      pending_.push_front(std::move(p));
      return;
    }
    begin_invocation(std::move(p));
  });
}

void Sandbox::begin_invocation(PendingInvoke p) {
  Invocation inv;
  inv.id = p.request_id.empty() ? make_uuid() : p.request_id;
  if (active_.count(inv.id)) inv.id = make_uuid();
  inv.payload = std::move(p.payload);
  inv.trace = std::move(p.trace);
  inv.caller = std::move(p.caller);
  inv.start_wall_ms = now_epoch_ms_int(clock_);
  inv.start = clock_.steady_now();
  const int timeout = faults_.function_timeout_ms.value_or(opt_.function_timeout_ms);
  inv.deadline_ms = p.deadline_ms.value_or(inv.start_wall_ms + timeout);
  if (!inv.trace.empty()) inv.span_id = make_uuid().substr(0, 8) + make_uuid().substr(0, 8);
  if (pending_init_duration_ms_) {
    inv.cold = true;
    inv.init_duration_ms = *pending_init_duration_ms_;
    pending_init_duration_ms_.reset();
  }
  // The scripted runtime's OOM flavour is read from the payload; the knob applies to any runtime.
  inv.oom = faults_.oom;
  inv.oom_from_knob = !inv.oom.empty();
  if (auto parsed = parse_json(inv.payload); parsed && parsed->is_object()) {
    if (auto f = get_string(parsed->get_object(), "oom"); f && is_oom_flavour(*f)) {
      inv.oom = std::string(*f);
      inv.oom_from_knob = false;
    }
  }
  inv.reset_on_end = !inv.oom.empty();
  ++invoke_counter_;
  const std::string id = inv.id;
  auto& ref = active_.emplace(id, std::move(inv)).first->second;

  timeline_.add("event.invoke", {{"request_id", id}, {"deadline_ms", ref.deadline_ms}});
  boost::json::object start;
  start["requestId"] = id;
  start["version"] = opt_.function_version;
  if (opt_.lmi()) start["functionArn"] = opt_.function_arn();
  if (!ref.trace.empty() && !faults_.omits("tracing")) start["tracing"] = tracing_for(ref);
  if (faults_.unknown_types) {
    start["futureKey"] = boost::json::object{{"nested", true}};
  }
  emit("platform.start", std::move(start));
  if (faults_.unknown_types) {
    emit("platform.futureThing", {{"requestId", id}, {"futureField", "lastcall-sandbox"}});
  }

  if (!opt_.lmi()) {
    boost::json::object ev;
    ev["eventType"] = "INVOKE";
    ev["deadlineMs"] =
        faults_.deadline_relative ? ref.deadline_ms - ref.start_wall_ms : ref.deadline_ms;
    ev["requestId"] = id;
    ev["invokedFunctionArn"] = opt_.function_arn();
    if (!ref.trace.empty()) {
      boost::json::object t;
      t["type"] = "X-Amzn-Trace-Id";
      t["value"] = ref.trace;
      ev["tracing"] = std::move(t);
    }
    const std::string body = boost::json::serialize(ev);
    for (auto& [eid, ext] : extensions_) {
      if (!ext.invoke || ext.gone || ext.errored) continue;
      ref.extensions_pending.insert(eid);
      give_event(ext, body);
    }
    // late_report=after_next_invoke: reports held back are produced once INVOKE N+1 is out.
    auto held = std::move(held_reports_);
    held_reports_.clear();
    for (auto& h : held) {
      timeline_.add("fault", {{"knob", "late_report"}, {"released", "after_next_invoke"}});
      emit("platform.report", std::move(h.record));
    }
  }
  dispatch_to_runtime(ref);
  ref.timeout_timer = timers_.schedule_after(
      Millis(std::max<std::int64_t>(0, ref.deadline_ms - now_epoch_ms_int(clock_))),
      [this, id] { on_timeout(id); });
}

void Sandbox::dispatch_to_runtime(Invocation& inv) {
  if (inv.dispatched) return;
  while (!runtime_parked_.empty() && !runtime_parked_.front()->connected()) {
    runtime_parked_.pop_front();
  }
  if (runtime_parked_.empty()) return;  // dispatched when a worker calls next
  auto r = std::move(runtime_parked_.front());
  runtime_parked_.pop_front();
  inv.dispatched = true;
  net::HttpResponse resp;
  resp.status = 200;
  resp.body = inv.payload;
  resp.with_header("Content-Type", "application/json");
  resp.with_header("Lambda-Runtime-Aws-Request-Id", inv.id);
  resp.with_header("Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_ms));
  resp.with_header("Lambda-Runtime-Invoked-Function-Arn", opt_.function_arn());
  if (!inv.trace.empty()) resp.with_header("Lambda-Runtime-Trace-Id", inv.trace);
  timeline_.add("runtime.event", {{"request_id", inv.id}});
  r->respond(std::move(resp));
}

void Sandbox::answer_caller(Invocation& inv, int status, const std::string& body,
                            bool function_error, const std::string& content_type) {
  if (!inv.caller) return;
  net::HttpResponse resp;
  resp.status = status;
  resp.body = body;
  resp.with_header("Content-Type", content_type);
  resp.with_header("X-Request-Id", inv.id);
  if (function_error) resp.with_header("X-Amz-Function-Error", "Unhandled");
  inv.caller->respond(std::move(resp));
  inv.caller.reset();
}

void Sandbox::maybe_end_invocation(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Invocation& inv = it->second;
  if (!inv.responded) return;
  if (!opt_.lmi() && !inv.extensions_pending.empty()) return;
  end_invocation(id);
}

void Sandbox::emit_report(Invocation& inv, SteadyTime end) {
  const double duration = round3(ms_between(inv.start, end));  // billed rounds this value up
  boost::json::object rec;
  rec["requestId"] = inv.id;
  rec["status"] = inv.status;
  if (!inv.error_type.empty() || (inv.status != "success" && faults_.omits("errorType"))) {
    rec["errorType"] = faults_.omits("errorType") ? std::string() : inv.error_type;
  }
  boost::json::object metrics;
  metrics["durationMs"] = duration;
  if (!opt_.lmi()) {
    metrics["billedDurationMs"] = static_cast<std::int64_t>(std::ceil(duration));
    metrics["memorySizeMB"] = opt_.memory_mb;
    std::uint64_t used_mb = (peak_rss_kb_ + 1023) / 1024;
    if (!inv.oom.empty()) used_mb = static_cast<std::uint64_t>(opt_.memory_mb);
    metrics["maxMemoryUsedMB"] = used_mb;
    if (inv.cold && !faults_.omits("initDurationMs"))
      metrics["initDurationMs"] = inv.init_duration_ms;
  }
  rec["metrics"] = std::move(metrics);
  if (inv.responded && inv.response_wall_ms > 0 && !faults_.omits("spans")) {
    boost::json::array spans;
    const double latency = ms_between(inv.start, inv.response_at);
    spans.push_back({{"name", "responseLatency"},
                     {"start", iso8601_ms(inv.start_wall_ms)},
                     {"durationMs", round3(latency)}});
    spans.push_back({{"name", "responseDuration"},
                     {"start", iso8601_ms(inv.response_wall_ms)},
                     {"durationMs", 0.0}});
    rec["spans"] = std::move(spans);
  }
  if (!inv.trace.empty() && !faults_.omits("tracing")) rec["tracing"] = tracing_for(inv);
  if (!opt_.lmi() && faults_.late_report != LateReport::kNone) {
    timeline_.add("fault", {{"knob", "late_report"}, {"held", inv.id}});
    held_reports_.push_back(HeldReport{std::move(rec), now_epoch_ms_int(clock_)});
    return;
  }
  emit("platform.report", std::move(rec));
}

// The `oom` knob turns any runtime's answer into the OOM shape of the flavour (§7.6 table).
void Sandbox::apply_oom_knob(Invocation& inv) {
  if (!inv.oom_from_knob) return;
  std::vector<std::string> lines;
  const std::string& f = inv.oom;
  if (f == "node")
    lines = {"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"};
  if (f == "node_sigkill")
    lines = {"RequestId: " + inv.id + " Error: Runtime exited with error: signal: killed"};
  if (f == "python") lines = {"[ERROR] MemoryError"};
  if (f == "java")
    lines = {"Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"};
  if (f == "go") lines = {"fatal error: runtime: out of memory"};
  if (f == "ruby") lines = {"failed to allocate memory (NoMemoryError)"};
  if (f == "dotnet") {
    lines = {
        "Unhandled exception. System.OutOfMemoryException: Exception of type "
        "'System.OutOfMemoryException' was thrown."};
  }
  for (const auto& l : lines)
    hub_->emit("function", boost::json::value(l), now_epoch_ms_int(clock_));
  if (f == "memory_only") {
    inv.status = "timeout";
    return;
  }
  inv.status = "error";
  inv.error_type = (f == "python" || f == "ruby") ? "Runtime.OutOfMemory" : "Runtime.ExitError";
}

void Sandbox::end_invocation(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Invocation& inv = it->second;
  const SteadyTime end = clock_.steady_now();
  inv.timeout_timer.cancel();
  std::uint64_t rss = 0;
  for (const auto& [pid, p] : procs_) {
    if (p.runtime && !p.exited) rss += process_tree_peak_rss_kb(pid);
  }
  peak_rss_kb_ = std::max(peak_rss_kb_, rss);
  emit_report(inv, end);
  const double duration = ms_between(inv.start, end);
  timeline_.add("invoke.end",
                {{"request_id", id}, {"status", inv.status}, {"duration_ms", round3(duration)}});
  const bool oom = inv.reset_on_end;
  answer_caller(
      inv, 200,
      R"({"errorType":"Sandbox.NoResponse","errorMessage":"the invocation ended without a response"})",
      true);
  active_.erase(it);
  if (oom && !opt_.lmi()) {
    begin_shutdown("failure", nullptr);
    return;
  }
  pump_invokes();
  check_freeze();
}

void Sandbox::on_timeout(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Invocation& inv = it->second;
  timeline_.add("invoke.timeout", {{"request_id", id}});
  const int timeout_ms = static_cast<int>(inv.deadline_ms - inv.start_wall_ms);
  answer_caller(inv, 200,
                error_body("Sandbox.Timedout", fmt::format("{} Task timed out after {:.2f} seconds",
                                                           id, timeout_ms / 1000.0)),
                true);
  inv.status = "timeout";
  inv.error_type = "Sandbox.Timeout";
  if (!opt_.lmi() && !inv.responded) {
    boost::json::object rec;
    rec["requestId"] = id;
    rec["status"] = "timeout";
    emit("platform.runtimeDone", std::move(rec));
  }
  inv.responded = true;
  inv.extensions_pending.clear();
  end_invocation(id);
  if (!opt_.lmi() && phase_ != Phase::kShutdown) begin_shutdown("timeout", nullptr);
}

// ---- freeze --------------------------------------------------------------------------------

void Sandbox::check_freeze() {
  if (frozen_ || !opt_.freeze || opt_.mode != SandboxMode::kOnDemand) return;
  if (phase_ != Phase::kReady || !active_.empty() || !pending_.empty() || thaw_scheduled_) return;
  bool runtime_parked = false;
  for (const auto& r : runtime_parked_) runtime_parked = runtime_parked || r->connected();
  if (!runtime_parked) return;
  for (const auto& [id, ext] : extensions_) {
    if (ext.gone || ext.internal) continue;
    if (!ext.parked || !ext.events.empty()) return;
  }
  if (hub_->in_flight()) return;
  frozen_ = true;
  hub_->set_frozen(true);
  for (auto& [pid, p] : procs_) signal_proc(p, SIGSTOP);
  // The dwell counts from the `frozen` entry, so the timeline shows at least the dwell.
  frozen_at_ = clock_.steady_now();
  timeline_.add("frozen", {});
}

void Sandbox::do_thaw() {
  if (!frozen_) return;
  frozen_ = false;
  for (auto& [pid, p] : procs_) signal_proc(p, SIGCONT);
  timeline_.add("thawed", {{"frozen_ms", round3(ms_between(frozen_at_, clock_.steady_now()))}});
  hub_->set_frozen(false);
}

void Sandbox::thaw_then(std::function<void()> fn) {
  if (!frozen_) {
    fn();
    return;
  }
  after_thaw_.push_back(std::move(fn));
  if (thaw_scheduled_) return;
  thaw_scheduled_ = true;
  const double dwell_left = opt_.freeze_dwell_ms - ms_between(frozen_at_, clock_.steady_now());
  auto run = [this] {
    thaw_scheduled_ = false;
    do_thaw();
    auto fns = std::move(after_thaw_);
    after_thaw_.clear();
    for (auto& f : fns) f();
  };
  if (dwell_left > 0) {
    thaw_timer_ =
        timers_.schedule_after(Millis(static_cast<std::int64_t>(std::ceil(dwell_left))), run);
  } else {
    run();
  }
}

// ---- shutdown ------------------------------------------------------------------------------

void Sandbox::begin_shutdown(const std::string& reason, ResponderPtr responder) {
  if (responder) shutdown_waiters_.push_back(std::move(responder));
  if (phase_ == Phase::kShutdown) return;
  if (phase_ == Phase::kIdle) {
    finish_shutdown();
    return;
  }
  init_timer_.cancel();
  // Shutdown does not wait for the freeze dwell.
  if (frozen_) do_thaw();
  hub_->flush_now();  // streams flush when their inputs close
  phase_ = Phase::kShutdown;
  shutdown_reason_ = reason;
  shutdown_start_wall_ms_ = now_epoch_ms_int(clock_);
  shutdown_start_ = clock_.steady_now();
  bool any_extension = false;
  for (const auto& [pid, p] : procs_) any_extension = any_extension || (!p.runtime && !p.exited);
  const int budget = any_extension ? opt_.shutdown_budget_ms : 0;
  shutdown_deadline_ms_ = shutdown_start_wall_ms_ + budget;
  shutdown_extensions_started_ = false;
  shutdown_events_sent_ = false;
  timeline_.add("shutdown.start", {{"reason", reason}, {"deadline_ms", shutdown_deadline_ms_}});

  // Invocations still open end now.
  std::vector<std::string> open;
  for (auto& [id, inv] : active_) open.push_back(id);
  for (const auto& id : open) {
    auto& inv = active_.at(id);
    inv.timeout_timer.cancel();
    if (!inv.responded) {
      inv.status = reason == "timeout" ? "timeout" : "failure";
      answer_caller(
          inv, 200,
          R"({"errorType":"Sandbox.Shutdown","errorMessage":"the environment shut down"})", true);
    }
    active_.erase(id);
  }

  bool runtime_alive = false;
  for (auto& [pid, p] : procs_) {
    if (p.runtime && !p.exited) {
      runtime_alive = true;
      signal_proc(p, budget == 0 ? SIGKILL : SIGTERM);
    }
  }
  if (!runtime_alive) {
    shutdown_runtime_stage();
    return;
  }
  const int share = std::min(opt_.runtime_share_ms, budget);
  shutdown_timer_ = timers_.schedule_after(Millis(share), [this] { shutdown_runtime_stage(); });
}

// The runtime is gone or its share is used up: SIGKILL it, then SHUTDOWN to the extensions.
void Sandbox::shutdown_runtime_stage() {
  if (phase_ != Phase::kShutdown || shutdown_extensions_started_) return;
  shutdown_timer_.cancel();
  for (auto& [pid, p] : procs_) {
    if (p.runtime && !p.exited) signal_proc(p, SIGKILL);
  }
  shutdown_extensions_started_ = true;
  if (opt_.lmi()) {
    // RIE-LMI delivers every telemetry buffer before SHUTDOWN (§3.4), within a bounded wait.
    hub_->flush_now();
    timeline_.add("telemetry.flush", {});
    if (!hub_->drained()) {
      lmi_flush_timer_ = timers_.schedule_after(Millis(kLmiFlushWaitMs), [this] {
        if (phase_ == Phase::kShutdown && !shutdown_events_sent_) shutdown_extensions_stage();
      });
      return;
    }
  }
  shutdown_extensions_stage();
}

// Telemetry progressed: an LMI shutdown waiting for the flush may go on.
void Sandbox::on_telemetry_progress() {
  if (phase_ == Phase::kShutdown && opt_.lmi() && shutdown_extensions_started_ &&
      !shutdown_events_sent_ && hub_->drained()) {
    lmi_flush_timer_.cancel();
    timeline_.add("telemetry.flushed", {});
    shutdown_extensions_stage();
    return;
  }
  check_freeze();
}

void Sandbox::shutdown_extensions_stage() {
  if (shutdown_events_sent_) return;
  shutdown_events_sent_ = true;
  boost::json::object ev;
  ev["eventType"] = "SHUTDOWN";
  ev["shutdownReason"] = shutdown_reason_text(shutdown_reason_);
  ev["deadlineMs"] = faults_.deadline_relative ? shutdown_deadline_ms_ - now_epoch_ms_int(clock_)
                                               : shutdown_deadline_ms_;
  const std::string body = boost::json::serialize(ev);
  timeline_.add("event.shutdown", {{"reason", shutdown_reason_text(shutdown_reason_)},
                                   {"deadline_ms", shutdown_deadline_ms_}});
  std::set<pid_t> receiving;
  for (auto& [id, ext] : extensions_) {
    if (ext.gone || !ext.shutdown || ext.errored) continue;
    give_event(ext, body);
    if (ext.pid != 0) receiving.insert(ext.pid);
  }
  for (auto& [pid, p] : procs_) {
    if (!p.runtime && !p.exited && !receiving.count(pid)) signal_proc(p, SIGKILL);
  }
  auto held = std::move(held_reports_);
  held_reports_.clear();
  for (auto& h : held) {
    timeline_.add("fault", {{"knob", "late_report"}, {"released", "at_shutdown"}});
    emit("platform.report", std::move(h.record));
  }
  const auto left = std::max<std::int64_t>(0, shutdown_deadline_ms_ - now_epoch_ms_int(clock_));
  shutdown_timer_ = timers_.schedule_after(Millis(left), [this] {
    timeline_.add("shutdown.deadline", {});
    for (auto& [pid, p] : procs_) {
      if (!p.exited) signal_proc(p, SIGKILL);
    }
    // A process that cannot be reaped (uninterruptible sleep) does not hold the sandbox forever.
    shutdown_guard_timer_ = timers_.schedule_after(Millis(2000), [this] {
      if (phase_ == Phase::kShutdown) finish_shutdown();
    });
  });
  check_shutdown_done();
}

void Sandbox::check_shutdown_done() {
  if (phase_ != Phase::kShutdown) return;
  for (const auto& [pid, p] : procs_) {
    if (!p.exited) return;
  }
  if (!shutdown_extensions_started_) {
    shutdown_runtime_stage();
    return;
  }
  if (!shutdown_events_sent_) return;  // LMI: still flushing telemetry
  finish_shutdown();
}

void Sandbox::finish_shutdown() {
  shutdown_timer_.cancel();
  shutdown_guard_timer_.cancel();
  lmi_flush_timer_.cancel();
  boost::json::array processes;
  for (const auto& [pid, p] : procs_) {
    boost::json::object o;
    o["name"] = p.name;
    o["pid"] = p.pid;
    o["role"] = p.runtime ? "runtime" : "extension";
    o["exit_code"] = p.status.code ? boost::json::value(*p.status.code) : nullptr;
    o["signal"] = p.status.signal ? boost::json::value(signal_name(*p.status.signal)) : nullptr;
    o["sigkilled"] = p.sigkilled;
    o["exited_before_deadline"] =
        p.exited && !p.sigkilled && p.exited_at_ms <= static_cast<double>(shutdown_deadline_ms_);
    processes.push_back(std::move(o));
  }
  boost::json::object summary;
  const double elapsed =
      phase_ == Phase::kShutdown ? ms_between(shutdown_start_, clock_.steady_now()) : 0;
  summary["elapsed_ms"] = round3(elapsed);
  summary["reason"] = shutdown_reason_;
  summary["processes"] = processes;
  timeline_.add("shutdown.done", summary);
  const std::string body = boost::json::serialize(summary);
  auto waiters = std::move(shutdown_waiters_);
  shutdown_waiters_.clear();
  for (auto& w : waiters) w->respond(net::HttpResponse::json(200, body));

  hub_->clear();
  procs_.clear();
  extensions_.clear();
  runtime_parked_.clear();
  held_reports_.clear();
  active_.clear();
  peak_rss_kb_ = 0;
  pending_init_duration_ms_.reset();
  frozen_ = false;
  phase_ = Phase::kIdle;
  pump_invokes();
}

// ---- children ------------------------------------------------------------------------------

void Sandbox::on_process_exit(pid_t pid, ExitStatus status) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  Proc& p = it->second;
  p.exited = true;
  p.status = status;
  p.exited_at_ms = now_epoch_ms(clock_);
  boost::json::object e;
  e["name"] = p.name;
  e["pid"] = pid;
  e["role"] = p.runtime ? "runtime" : "extension";
  if (status.code) e["code"] = *status.code;
  if (status.signal) e["signal"] = signal_name(*status.signal);
  timeline_.add("exit", std::move(e));

  if (!p.runtime) {
    for (auto& [id, ext] : extensions_) {
      if (ext.pid != pid) continue;
      ext.gone = true;
      ext.parked.reset();
      hub_->remove(ext.name);
      for (auto& [rid, inv] : active_) inv.extensions_pending.erase(id);
    }
  }
  if (phase_ == Phase::kShutdown) {
    bool runtimes_done = true;
    for (const auto& [q, proc] : procs_)
      runtimes_done = runtimes_done && (!proc.runtime || proc.exited);
    if (runtimes_done && !shutdown_extensions_started_) {
      shutdown_runtime_stage();
      return;
    }
    check_shutdown_done();
    return;
  }
  const std::string exit_text =
      status.signal
          ? "signal: " +
                std::string(*status.signal == SIGKILL ? "killed" : signal_name(*status.signal))
          : fmt::format("exit status {}", status.code.value_or(-1));
  if (p.runtime) {
    if (phase_ == Phase::kInit) {
      fail_init("error", "Runtime.ExitError");
      return;
    }
    std::vector<std::string> ids;
    for (auto& [id, inv] : active_) ids.push_back(id);
    for (const auto& id : ids) {
      auto& inv = active_.at(id);
      if (!inv.responded) {
        hub_->emit("function",
                   boost::json::value(fmt::format(
                       "RequestId: {} Error: Runtime exited with error: {}", id, exit_text)),
                   now_epoch_ms_int(clock_));
        inv.responded = true;
        inv.status = "error";
        inv.error_type = inv.oom.empty() || inv.oom == "node" || inv.oom == "node_sigkill"
                             ? "Runtime.ExitError"
                             : "Runtime.OutOfMemory";
        if (inv.oom == "java" || inv.oom == "go" || inv.oom == "dotnet") {
          inv.error_type = "Runtime.ExitError";
        }
        answer_caller(inv, 200,
                      error_body(inv.error_type,
                                 fmt::format("RequestId: {} Error: Runtime exited with error: {}",
                                             id, exit_text)),
                      true);
        if (!opt_.lmi()) {
          boost::json::object rec;
          rec["requestId"] = id;
          rec["status"] = "error";
          rec["errorType"] = inv.error_type;
          emit("platform.runtimeDone", std::move(rec));
        }
      }
      inv.extensions_pending.clear();
      inv.reset_on_end = false;  // the reset below is the one reset
      end_invocation(id);
    }
    if (phase_ != Phase::kShutdown && phase_ != Phase::kIdle) begin_shutdown("failure", nullptr);
    return;
  }
  // An extension crashed (Extension.Crash): the environment is reset with `failure`.
  if (phase_ == Phase::kInit) {
    fail_init("error", "Extension.Crash");
    return;
  }
  for (auto& [id, inv] : active_) {
    if (inv.status == "success") {
      inv.status = "error";
      inv.error_type = "Extension.Crash";
    }
  }
  begin_shutdown("failure", nullptr);
}

void Sandbox::drain_runtime_output() {
  if (!procs_sup_) return;
  std::vector<pid_t> runtimes;
  for (const auto& [pid, p] : procs_) {
    if (p.runtime && !p.exited) runtimes.push_back(pid);
  }
  for (const pid_t pid : runtimes) procs_sup_->drain_output(pid);
}

void Sandbox::on_line(pid_t pid, bool is_stderr, std::string_view line) {
  auto it = procs_.find(pid);
  const std::string name = it == procs_.end() ? fmt::format("pid-{}", pid) : it->second.name;
  const bool runtime = it != procs_.end() && it->second.runtime;
  boost::json::object e;
  e["name"] = name;
  e["stream"] = is_stderr ? "stderr" : "stdout";
  e["line"] = std::string(line);
  timeline_.add("log", std::move(e));

  const std::int64_t now = now_epoch_ms_int(clock_);
  const std::string rid = current_request_id();
  bool json_format = faults_.record_format != "text";
  for (const auto& [k, v] : opt_.base_env) {
    if (k == "AWS_LAMBDA_LOG_FORMAT" && iequals(v, "JSON")) json_format = true;
  }
  for (const auto& [k, v] : opt_.env) {
    if (k == "AWS_LAMBDA_LOG_FORMAT" && iequals(v, "JSON")) json_format = true;
  }
  static std::uint64_t mixed_counter = 0;
  if (faults_.record_format == "mixed") json_format = (++mixed_counter % 2) == 0;
  boost::json::value record;
  if (json_format) {
    auto parsed = parse_json(line);
    if (parsed && parsed->is_object()) {
      record = std::move(*parsed);
    } else {
      boost::json::object o;
      o["timestamp"] = iso8601_ms(now);
      o["level"] = is_stderr ? "ERROR" : "INFO";
      if (runtime && !rid.empty()) {
        o[faults_.record_format == "json_java" ? "AWSRequestId" : "requestId"] = rid;
      }
      o["message"] = std::string(line);
      record = std::move(o);
    }
  } else if (runtime && faults_.text_prefix == "managed" && !rid.empty()) {
    record = boost::json::value(
        fmt::format("{}\t{}\t{}\t{}", iso8601_ms(now), rid, is_stderr ? "ERROR" : "INFO", line));
  } else {
    record = boost::json::value(std::string(line));
  }
  hub_->emit(runtime ? "function" : "extension", std::move(record), now);
}

void Sandbox::give_event(Extension& ext, std::string body) {
  if (ext.parked && ext.parked->connected()) {
    auto r = std::move(ext.parked);
    ext.parked.reset();
    boost::json::object e;
    e["name"] = ext.name;
    auto parsed = parse_json(body);
    if (parsed && parsed->is_object()) {
      const auto& o = parsed->get_object();
      if (auto t = get_string(o, "eventType")) e["event_type"] = *t;
      if (auto rid = get_string(o, "requestId")) e["request_id"] = *rid;
      if (auto d = get_int(o, "deadlineMs")) e["deadline_ms"] = *d;
      if (auto s = get_string(o, "shutdownReason")) e["reason"] = *s;
    }
    timeline_.add("extension.event", std::move(e));
    net::HttpResponse resp = net::HttpResponse::json(200, std::move(body));
    resp.with_header("Lambda-Extension-Event-Identifier", make_uuid());
    r->respond(std::move(resp));
    return;
  }
  ext.parked.reset();
  ext.events.push_back(std::move(body));
}

}  // namespace lc::sandbox
