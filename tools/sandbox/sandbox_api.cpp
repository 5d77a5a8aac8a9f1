// The sandbox's HTTP surface: Extensions API (§2), Telemetry API subscribe (§4.1), Runtime API (§6)
// on the API port, and the control interface (§7.3) on the control port.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

#include "core/strings.h"
#include "tools/sandbox/common.h"
#include "tools/sandbox/requests.h"
#include "tools/sandbox/sandbox.h"

namespace lc::sandbox {

namespace {

constexpr std::size_t kMaxResponseBytes = 6 * 1024 * 1024;  // buffered response limit (§6)
constexpr std::size_t kMaxPayloadBytes = 6 * 1024 * 1024;
constexpr std::size_t kMaxPendingInvokes = 256;
constexpr std::size_t kMaxExtensions = 10;
constexpr std::string_view kInvocationPrefix = "/2018-06-01/runtime/invocation/";

double ms_since(const Clock& clock, SteadyTime a) {
  return std::chrono::duration<double, std::milli>(clock.steady_now() - a).count();
}

}  // namespace

Expected<void> Sandbox::init_servers() {
  net::HttpServerOptions api;
  api.host = opt_.host;
  api.port = opt_.api_port;
  api.name = "sandbox-api";
  api.default_max_body = 1024 * 1024;
  api.idle_timeout = std::chrono::milliseconds(3600 * 1000);  // frozen clients keep connections
  api.read_timeout = std::chrono::milliseconds(60000);
  auto a = net::HttpServer::create(loop_.io(), clock_, timers_, api);
  if (!a) return a.error().with_prefix("api server: ");
  api_ = std::move(*a);

  net::HttpServerOptions control;
  control.host = opt_.host;
  control.port = opt_.control_port;
  control.name = "sandbox-control";
  control.default_max_body = 64 * 1024;
  control.idle_timeout = std::chrono::milliseconds(600000);
  auto c = net::HttpServer::create(loop_.io(), clock_, timers_, control);
  if (!c) return c.error().with_prefix("control server: ");
  control_ = std::move(*c);
  install_api_routes();
  install_control_routes();
  return {};
}

void Sandbox::reject(ResponderPtr& r, int status, std::string_view type, std::string_view message,
                     std::string_view call) {
  boost::json::object e;
  e["status"] = status;
  e["error_type"] = type;
  e["message"] = message;
  timeline_.add(call, std::move(e));
  r->respond(net::HttpResponse::error(status, type, message));
}

void Sandbox::install_api_routes() {
  auto bind = [this](void (Sandbox::*fn)(net::HttpRequest&, ResponderPtr)) {
    return [this, fn](net::HttpRequest& req, ResponderPtr r) { (this->*fn)(req, std::move(r)); };
  };
  api_->route("POST", "/2020-01-01/extension/register", bind(&Sandbox::on_register));
  api_->route("GET", "/2020-01-01/extension/event/next", bind(&Sandbox::on_extension_next));
  api_->route("POST", "/2020-01-01/extension/init/error",
              [this](net::HttpRequest& req, ResponderPtr r) {
                on_extension_error(req, std::move(r), true);
              });
  api_->route("POST", "/2020-01-01/extension/exit/error",
              [this](net::HttpRequest& req, ResponderPtr r) {
                on_extension_error(req, std::move(r), false);
              });
  api_->route("PUT", "/2022-07-01/telemetry", bind(&Sandbox::on_subscribe));
  api_->route("PUT", "/2020-08-15/logs", [this](net::HttpRequest&, const ResponderPtr& r) {
    timeline_.add("logs.subscribe", {{"status", 202}});
    r->respond(net::HttpResponse::error(202, "Logs.NotSupported",
                                        "Logs API is not supported; use the Telemetry API"));
  });
  api_->route("GET", "/2018-06-01/runtime/invocation/next", bind(&Sandbox::on_runtime_next));
  net::RouteOptions big;
  big.max_body = kMaxResponseBytes;
  big.on_too_large = [](const net::HttpRequest&) {
    return net::HttpResponse::error(413, "RequestEntityTooLarge",
                                    "response payload exceeds 6291456 bytes");
  };
  api_->route("POST", std::string(kInvocationPrefix) + "*", bind(&Sandbox::on_runtime_invocation),
              big);
  api_->route("POST", "/2018-06-01/runtime/init/error", bind(&Sandbox::on_runtime_init_error));
  api_->route(
      "GET", "/2018-06-01/runtime/restore/next", [](net::HttpRequest&, const ResponderPtr& r) {
        r->respond(
            net::HttpResponse::error(403, "InvalidStateTransition", "not a SnapStart function"));
      });
  // Static credentials stub (SnapStart-style AWS_CONTAINER_CREDENTIALS_FULL_URI clients).
  api_->route("GET", "/2021-04-23/credentials", [](net::HttpRequest&, const ResponderPtr& r) {
    r->respond(net::HttpResponse::json(
        200,
        R"({"AccessKeyId":"ASIASANDBOXEXAMPLEKEY","SecretAccessKey":"sandbox/secret/access/key/example","Token":"sandbox-session-token","Expiration":"2099-01-01T00:00:00Z"})"));
  });
  api_->route("GET", "/ping", [](net::HttpRequest&, const ResponderPtr& r) {
    r->respond(net::HttpResponse::text(200, "pong"));
  });
  api_->set_fallback([this](net::HttpRequest& req, const ResponderPtr& r) {
    timeline_.add("api.unknown", {{"method", req.method}, {"path", req.path}});
    r->respond(net::HttpResponse::error(
        404, "NotFound", "no such API: " + req.method + " " + escape_for_log(req.path, 200)));
  });
}

// ---- Extensions API ------------------------------------------------------------------------

void Sandbox::on_register(net::HttpRequest& req, ResponderPtr r) {
  auto checked =
      parse_register(req.header("Lambda-Extension-Name"),
                     req.header("Lambda-Extension-Accept-Feature"), req.body, opt_.lmi());
  if (!checked.has_value()) {
    const auto& rej = checked.error();
    return reject(r, rej.status, rej.error_type, rej.message, "extension.register");
  }
  auto& reg = checked.value();
  if (!registration_open_ || phase_ != Phase::kInit) {
    return reject(r, 403, "Extension.RegistrationClosed",
                  "registration is closed once init has completed", "extension.register");
  }
  for (const auto& [id, ext] : extensions_) {
    if (ext.name == reg.name) {
      return reject(r, 403, "Extension.InvalidExtensionState",
                    "extension " + reg.name + " is already registered", "extension.register");
    }
  }
  if (extensions_.size() >= kMaxExtensions) {
    return reject(r, 403, "Extension.TooManyExtensions", "at most 10 extensions may register",
                  "extension.register");
  }
  const bool internal = launched_names_.count(reg.name) == 0;
  if (internal && reg.shutdown) {
    return reject(
        r, 403, "Extension.InvalidEventType",
        "internal extensions cannot register for SHUTDOWN (no launched extension is named " +
            reg.name + ")",
        "extension.register");
  }
  Extension ext;
  ext.name = reg.name;
  ext.id = make_uuid();
  ext.invoke = reg.invoke;
  ext.shutdown = reg.shutdown;
  ext.internal = internal;
  for (const auto& [pid, p] : procs_) {
    if (!p.runtime && p.name == reg.name) ext.pid = pid;
  }
  boost::json::array events;
  for (const auto& e : reg.events) events.emplace_back(e);
  boost::json::object tl;
  tl["status"] = 200;
  tl["name"] = ext.name;
  tl["id"] = ext.id;
  tl["events"] = events;
  tl["internal"] = internal;
  tl["account_id_feature"] = reg.want_account_id;
  timeline_.add("extension.register", std::move(tl));

  boost::json::object rec;
  rec["name"] = ext.name;
  rec["state"] = "Ready";
  rec["events"] = events;
  emit("platform.extension", std::move(rec));

  boost::json::object body;
  body["functionName"] = opt_.function_name;
  body["functionVersion"] = opt_.function_version;
  body["handler"] = opt_.handler;
  if (reg.want_account_id) body["accountId"] = opt_.account_id;
  net::HttpResponse resp = net::HttpResponse::json(200, boost::json::serialize(body));
  resp.with_header("Lambda-Extension-Identifier", ext.id);
  const std::string id = ext.id;
  extensions_.emplace(id, std::move(ext));
  r->respond(std::move(resp));

  bool all = true;
  for (const auto& name : launched_names_) {
    bool found = false;
    for (const auto& [eid, e] : extensions_) found = found || e.name == name;
    all = all && found;
  }
  if (all) launch_runtime();
}

Sandbox::Extension* Sandbox::extension_for(net::HttpRequest& req, ResponderPtr& r,
                                           std::string_view call) {
  const auto header = req.header("Lambda-Extension-Identifier");
  if (auto rej = check_identifier_header(header)) {
    reject(r, rej->status, rej->error_type, rej->message, call);
    return nullptr;
  }
  auto it = extensions_.find(std::string(trim(*header)));
  if (it == extensions_.end()) {
    reject(r, 403, "Extension.UnknownExtensionIdentifier", "no extension has this identifier",
           call);
    return nullptr;
  }
  if (it->second.errored) {
    reject(r, 403, "Extension.InvalidExtensionState",
           "the extension reported an error; every later call fails", call);
    return nullptr;
  }
  return &it->second;
}

void Sandbox::on_extension_next(net::HttpRequest& req, ResponderPtr r) {
  Extension* ext = extension_for(req, r, "extension.next");
  if (ext == nullptr) return;
  timeline_.add("extension.next", {{"name", ext->name}, {"id", ext->id}});
  const std::string id = ext->id;
  std::vector<std::string> ended;
  for (auto& [rid, inv] : active_) {
    if (inv.extensions_pending.erase(id) > 0) ended.push_back(rid);
  }
  ext->parked = std::move(r);
  if (!ext->events.empty()) {
    std::string body = std::move(ext->events.front());
    ext->events.pop_front();
    give_event(*ext, std::move(body));
  }
  maybe_finish_init();
  for (const auto& rid : ended) maybe_end_invocation(rid);
  check_freeze();
}

void Sandbox::on_extension_error(net::HttpRequest& req, ResponderPtr r, bool init) {
  const std::string call = init ? "extension.init_error" : "extension.exit_error";
  Extension* ext = extension_for(req, r, call);
  if (ext == nullptr) return;
  const auto type = req.header("Lambda-Extension-Function-Error-Type");
  if (!type || trim(*type).empty()) {
    return reject(r, 403, "Extension.MissingHeader",
                  "Lambda-Extension-Function-Error-Type header is required", call);
  }
  ext->errored = true;
  timeline_.add(call,
                {{"name", ext->name}, {"error_type", std::string(trim(*type))}, {"status", 202}});
  r->respond(net::HttpResponse::json(202, R"({"status":"OK"})"));
  if (init && phase_ == Phase::kInit) fail_init("error", "Extension.InitError");
}

void Sandbox::on_subscribe(net::HttpRequest& req, ResponderPtr r) {
  Extension* ext = extension_for(req, r, "telemetry.subscribe");
  if (ext == nullptr) return;
  if (opt_.mode == SandboxMode::kRieClassic || faults_.subscribe_response == 202) {
    return reject(r, 202, "Telemetry.NotSupported", "Telemetry API is not supported",
                  "telemetry.subscribe");
  }
  if (faults_.subscribe_response == 400) {
    return reject(r, 400, "ValidationError", "forced by the subscribe_response fault",
                  "telemetry.subscribe");
  }
  if (faults_.subscribe_response == 404) {
    timeline_.add("telemetry.subscribe", {{"status", 404}});
    return r->respond(net::HttpResponse::text(404, "404 page not found"));
  }
  if (faults_.subscribe_response == 500) {
    return reject(r, 500, "InternalServerError", "forced by the subscribe_response fault",
                  "telemetry.subscribe");
  }
  if (phase_ != Phase::kInit) {
    return reject(r, 403, "Telemetry.SubscriptionClosed", "subscriptions close when init completes",
                  "telemetry.subscribe");
  }
  auto checked = parse_subscribe(req.body, opt_.lmi());
  if (!checked.has_value()) {
    const auto& rej = checked.error();
    return reject(r, rej.status, rej.error_type, rej.message, "telemetry.subscribe");
  }
  const auto& sub = checked.value();
  boost::json::array types;
  for (const auto& t : sub.types) types.emplace_back(t);
  boost::json::object tl;
  tl["status"] = 200;
  tl["name"] = ext->name;
  tl["schema"] = sub.schema_version;
  tl["types"] = types;
  tl["port"] = sub.port;
  tl["path"] = sub.path;
  tl["max_items"] = sub.max_items;
  tl["max_bytes"] = sub.max_bytes;
  tl["timeout_ms"] = sub.timeout_ms;
  timeline_.add("telemetry.subscribe", std::move(tl));
  const std::string name = ext->name;
  hub_->subscribe(name, sub);
  boost::json::object rec;
  rec["name"] = name;
  rec["state"] = "Subscribed";
  rec["types"] = types;
  emit("platform.telemetrySubscription", std::move(rec));
  r->respond(net::HttpResponse::json(200, R"("OK")"));
}

// ---- Runtime API ---------------------------------------------------------------------------

void Sandbox::on_runtime_next(net::HttpRequest&, ResponderPtr r) {
  timeline_.add("runtime.next", {});
  runtime_parked_.push_back(std::move(r));
  if (phase_ == Phase::kInit && !runtime_init_done_) {
    runtime_init_done_ = true;
    boost::json::object rec;
    rec["initializationType"] = opt_.lmi() ? "lambda-managed-instances" : "on-demand";
    rec["status"] = "success";
    emit("platform.initRuntimeDone", std::move(rec));
  }
  maybe_finish_init();
  for (auto& [id, inv] : active_) {
    if (!inv.dispatched) dispatch_to_runtime(inv);
  }
  check_freeze();
}

void Sandbox::on_runtime_invocation(net::HttpRequest& req, ResponderPtr r) {
  std::string_view rest = std::string_view(req.path).substr(kInvocationPrefix.size());
  const auto slash = rest.find('/');
  const std::string_view id = slash == std::string_view::npos ? rest : rest.substr(0, slash);
  const std::string_view what = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (what != "response" && what != "error") {
    r->respond(net::HttpResponse::error(404, "NotFound", "unknown runtime invocation call"));
    return;
  }
  const std::string call = what == "response" ? "runtime.response" : "runtime.error";
  auto it = active_.find(std::string(id));
  if (it == active_.end() || !it->second.dispatched) {
    return reject(r, 400, "InvalidRequestID", "unknown or stale request id", call);
  }
  Invocation& inv = it->second;
  if (inv.responded) {
    return reject(r, 403, "InvalidStateTransition", "the invocation was already answered", call);
  }
  std::string content_type = "application/json";
  if (auto ct = req.header("Content-Type")) content_type = std::string(*ct);
  bool function_error = false;
  std::string caller_body = req.body;
  if (what == "response") {
    const auto mode = req.header("Lambda-Runtime-Function-Response-Mode");
    if (mode && !iequals(*mode, "streaming")) {
      return reject(r, 400, "InvalidFunctionResponseMode",
                    "Lambda-Runtime-Function-Response-Mode must be streaming", call);
    }
    if (mode) {
      // Streaming: a mid-stream error arrives as trailers (§5.2).
      if (auto t = req.header("Lambda-Runtime-Function-Error-Type")) {
        inv.status = "error";
        inv.error_type = std::string(*t);
        function_error = true;
      }
    }
  } else {
    const auto t = req.header("Lambda-Runtime-Function-Error-Type");
    inv.status = "error";
    inv.error_type = t && !t->empty() ? std::string(*t) : "Runtime.Unknown";
    function_error = true;
    if (caller_body.empty()) {
      caller_body = error_body(inv.error_type, "");
    }
  }
  if (inv.oom == "memory_only") inv.status = "timeout";
  apply_oom_knob(inv);
  // What the runtime printed before answering is delivered before its runtimeDone.
  drain_runtime_output();
  if (inv.oom_from_knob && inv.status == "error") function_error = true;
  inv.responded = true;
  inv.response_at = clock_.steady_now();
  inv.response_wall_ms = now_epoch_ms_int(clock_);
  inv.produced_bytes = req.body.size();
  boost::json::object tl;
  tl["request_id"] = inv.id;
  tl["status"] = 202;
  tl["bytes"] = req.body.size();
  if (function_error) tl["error_type"] = inv.error_type;
  timeline_.add(call, std::move(tl));
  r->respond(net::HttpResponse::json(202, R"({"status":"OK"})"));
  answer_caller(inv, 200, caller_body, function_error, content_type);

  if (!opt_.lmi()) {
    boost::json::object rec;
    rec["requestId"] = inv.id;
    rec["status"] = inv.status;
    if (inv.status != "success") {
      rec["errorType"] = faults_.omits("errorType") ? std::string() : inv.error_type;
    }
    const double duration = ms_since(clock_, inv.start);
    if (!faults_.omits("metrics")) {
      boost::json::object metrics;
      metrics["durationMs"] = std::round(duration * 1000.0) / 1000.0;
      metrics["producedBytes"] = inv.produced_bytes;
      rec["metrics"] = std::move(metrics);
    }
    if (!faults_.omits("spans")) {
      boost::json::array spans;
      spans.push_back({{"name", "responseLatency"},
                       {"start", iso8601_ms(inv.start_wall_ms)},
                       {"durationMs", std::round(duration * 1000.0) / 1000.0}});
      spans.push_back({{"name", "responseDuration"},
                       {"start", iso8601_ms(inv.response_wall_ms)},
                       {"durationMs", 0.0}});
      rec["spans"] = std::move(spans);
    }
    if (!inv.trace.empty() && !faults_.omits("tracing")) rec["tracing"] = tracing_for(inv);
    emit("platform.runtimeDone", std::move(rec));
  }
  maybe_end_invocation(inv.id);
}

void Sandbox::on_runtime_init_error(net::HttpRequest& req, ResponderPtr r) {
  if (phase_ != Phase::kInit) {
    return reject(r, 403, "InvalidStateTransition", "init/error is only valid during init",
                  "runtime.init_error");
  }
  const auto t = req.header("Lambda-Runtime-Function-Error-Type");
  const std::string type = t && !t->empty() ? std::string(*t) : "Runtime.Unknown";
  timeline_.add("runtime.init_error", {{"status", 202}, {"error_type", type}});
  r->respond(net::HttpResponse::json(202, R"({"status":"OK"})"));
  fail_init("error", type);
}

// ---- control interface ---------------------------------------------------------------------

void Sandbox::install_control_routes() {
  net::RouteOptions payload;
  payload.max_body = kMaxPayloadBytes;
  payload.on_too_large = [](const net::HttpRequest&) {
    return net::HttpResponse::error(413, "RequestEntityTooLarge",
                                    "invocation payload exceeds 6291456 bytes");
  };
  auto invoke = [this](net::HttpRequest& req, ResponderPtr r) { on_invoke(req, std::move(r)); };
  control_->route("POST", "/invoke", invoke, payload);
  control_->route("POST", "/2015-03-31/functions/function/invocations", invoke, payload);
  control_->route("POST", "/shutdown", [this](net::HttpRequest& req, ResponderPtr r) {
    on_shutdown(req, std::move(r));
  });
  control_->route("GET", "/wait", [this](net::HttpRequest& req, const ResponderPtr& r) {
    auto q = parse_wait_query(req.query);
    if (!q.has_value()) {
      r->respond(net::HttpResponse::error(400, q.error().error_type, q.error().message));
      return;
    }
    timeline_.wait(q.value(), [r](std::size_t matched, bool timed_out) {
      if (!r->connected()) return;
      r->respond(net::HttpResponse::json(timed_out ? 408 : 200,
                                         fmt::format(R"({{"matched":{}}})", matched)));
    });
  });
  control_->route("GET", "/timeline", [this](net::HttpRequest&, const ResponderPtr& r) {
    net::HttpResponse resp = net::HttpResponse::text(200, timeline_.dump());
    resp.headers.clear();
    resp.with_header("Content-Type", "application/x-ndjson");
    r->respond(std::move(resp));
  });
  control_->route("GET", "/faults", [this](net::HttpRequest&, const ResponderPtr& r) {
    r->respond(net::HttpResponse::json(200, boost::json::serialize(describe_faults(faults_))));
  });
  control_->route("PUT", "/faults", [this](net::HttpRequest& req, const ResponderPtr& r) {
    auto f = apply_faults(faults_, req.body);
    if (!f) {
      r->respond(net::HttpResponse::error(400, "ValidationError", f.error().message));
      return;
    }
    faults_ = std::move(*f);
    auto d = describe_faults(faults_);
    timeline_.add("faults", {{"faults", d}});
    r->respond(net::HttpResponse::json(200, boost::json::serialize(d)));
  });
  control_->route("GET", "/state", [this](net::HttpRequest&, const ResponderPtr& r) {
    boost::json::object o;
    o["phase"] = phase_ == Phase::kIdle    ? "idle"
                 : phase_ == Phase::kInit  ? "init"
                 : phase_ == Phase::kReady ? "ready"
                                           : "shutdown";
    o["frozen"] = frozen_;
    o["invocations"] = invoke_counter_;
    o["active_invocations"] = active_.size();
    o["pending_invocations"] = pending_.size();
    o["subscribers"] = hub_->subscriber_count();
    o["dropped"] = self_.dropped_total();
    r->respond(net::HttpResponse::json(200, boost::json::serialize(o)));
  });
}

void Sandbox::on_invoke(net::HttpRequest& req, ResponderPtr r) {
  PendingInvoke p;
  p.payload = req.body;
  if (auto id = req.header("X-Request-Id")) {
    const auto v = trim(*id);
    // It becomes part of the runtime's URL path: letters, digits, '-', '_', '.' only.
    const bool safe = std::all_of(v.begin(), v.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    });
    if (v.size() > 128 || !safe) {
      r->respond(net::HttpResponse::error(400, "InvalidRequestID",
                                          "X-Request-Id must be at most 128 of [A-Za-z0-9._-]"));
      return;
    }
    p.request_id = std::string(v);
  }
  if (auto t = req.header("X-Amzn-Trace-Id")) p.trace = std::string(trim(*t));
  if (auto d = req.header("X-Deadline-Ms")) {
    const auto n = parse_int(trim(*d));
    if (!n || *n <= 0) {
      r->respond(net::HttpResponse::error(400, "ValidationError",
                                          "X-Deadline-Ms must be a positive integer"));
      return;
    }
    // Epoch milliseconds, or a duration from now when it is too small to be an epoch time.
    p.deadline_ms = *n >= 1000000000000LL ? *n : now_epoch_ms_int(clock_) + *n;
  }
  if (pending_.size() >= kMaxPendingInvokes) {
    self_.dropped("invoke", "queue_full");
    r->respond(
        net::HttpResponse::error(429, "TooManyRequestsException", "too many invocations waiting"));
    return;
  }
  p.caller = std::move(r);
  timeline_.add("control.invoke", {{"request_id", p.request_id}, {"bytes", p.payload.size()}});
  pending_.push_back(std::move(p));
  pump_invokes();
}

void Sandbox::on_shutdown(net::HttpRequest& req, ResponderPtr r) {
  auto reason = parse_shutdown_reason(req.query_param("reason"));
  if (!reason.has_value()) {
    r->respond(net::HttpResponse::error(400, "ValidationError", reason.error().message));
    return;
  }
  if (opt_.lmi() && reason.value() == "timeout") {
    r->respond(net::HttpResponse::error(400, "ValidationError",
                                        "LMI shuts down with spindown or failure only"));
    return;
  }
  timeline_.add("control.shutdown", {{"reason", reason.value()}});
  begin_shutdown(reason.value(), std::move(r));
}

}  // namespace lc::sandbox
