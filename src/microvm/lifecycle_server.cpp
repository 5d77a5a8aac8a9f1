// microvm/lifecycle_server.cpp — the lifecycle hooks of serverless-init.md §7.4–7.11.
#include "microvm/lifecycle_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"
#include "core/tags.h"

namespace lc::microvm {

// One hook being handled. Shared by the callbacks of its forward and flush; answered once.
struct LifecycleServer::Call {
  MicrovmHook hook{};
  std::shared_ptr<net::Responder> responder;
  std::int64_t received_s = 0;  // wall clock at receipt: the lifecycle metric's timestamp
  HookRequest request;
  bool forwarded = false;
  HookResponse response;
  bool forward_done = false;
  bool flush_done = false;
  bool answered = false;
  Timer flush_timer;  // the flush's deadline, kept even when the flush hook does not keep it
  Timer backstop;     // handler_backstop()
};

namespace {

constexpr std::array<MicrovmHook, kMicrovmHookCount> kHooks = {
    MicrovmHook::kReady,  MicrovmHook::kValidate, MicrovmHook::kRun,
    MicrovmHook::kResume, MicrovmHook::kSuspend,  MicrovmHook::kTerminate};

// Why the dial check and the ready flush count in the backstop: §7.7's handler budget table.
constexpr Millis kDialCheck{200};
constexpr Millis kBackstopHeadroom{1000};  // Go's "+ 1 s" (heartbeat stop bound, kept)

net::HttpResponse with_close(net::HttpResponse response) {
  response.with_header("Connection", "close");
  return response;
}

net::HttpResponse method_not_allowed(std::string_view method) {
  return with_close(
      net::HttpResponse::text(405, fmt::format("method {} not allowed; use POST\n", method))
          .with_header("Allow", "POST"));
}

// §7.8: only a top-level string `microvmId` counts.
std::string microvm_id_of(std::string_view body) {
  auto parsed = parse_json(body);
  if (!parsed) {
    LC_DEBUG("microvm: /run body is not JSON ({}); no microVM id", parsed.error().message);
    return {};
  }
  const auto* object = parsed.value().if_object();
  if (object == nullptr) {
    LC_DEBUG("microvm: /run body is not a JSON object; no microVM id");
    return {};
  }
  const auto id = json::string_member(*object, "microvmId");
  if (!id || id->empty()) {
    LC_DEBUG("microvm: /run body has no string microvmId; no microVM id");
    return {};
  }
  return std::string(*id);
}

void add_distribution(MetricSink& sink, std::string_view name, std::int64_t timestamp,
                      std::vector<std::string_view> tags) {
  sort_unique_tags(tags);
  const double values[] = {1.0};
  MetricPoint point;
  point.name = name;
  point.type = MetricType::kDistribution;
  point.values = values;
  point.timestamp = timestamp;
  point.tags = tags;
  sink.add(point);
}

std::string_view lifecycle_metric(MicrovmHook hook) {
  switch (hook) {
    case MicrovmHook::kRun:
      return kRunMetric;
    case MicrovmHook::kResume:
      return kResumeMetric;
    case MicrovmHook::kSuspend:
      return kSuspendMetric;
    case MicrovmHook::kTerminate:
      return kTerminateMetric;
    case MicrovmHook::kValidate:
      return kValidateMetric;
    case MicrovmHook::kReady:
      break;
  }
  return {};
}

}  // namespace

net::HttpServerOptions http_options(const MicrovmConfig& config, SelfMetrics* self) {
  net::HttpServerOptions o;
  o.host = config.lifecycle_host.empty() ? "0.0.0.0" : config.lifecycle_host;
  o.port = static_cast<std::uint16_t>(config.lifecycle_port);
  o.default_max_body = kMaxHookBody;
  o.read_timeout = kHookReadTimeout;
  o.first_byte_timeout = kHookReadTimeout;
  o.write_timeout = kMirrorWriteTimeout;
  o.name = "microvm";
  o.self_metrics = self;
  return o;
}

Millis handler_backstop(const MicrovmConfig& config) {
  const Millis forward(config.forward_timeout_ms);
  const Millis flush(config.flush_timeout_ms);
  const Millis ready(config.ready_timeout_ms);
  const Millis validate(config.validate_timeout_ms);
  return std::max({flush, forward + flush, kDialCheck + ready + kReadyFlushBudget,
                   kDialCheck + validate}) +
         kBackstopHeadroom;
}

std::vector<std::string> startup_warnings(const MicrovmConfig& config) {
  std::vector<std::string> lines;
  std::string enabled;
  for (const MicrovmHook hook : kHooks) {
    if (!config.enable[static_cast<std::size_t>(hook)]) continue;
    if (!enabled.empty()) enabled += ", ";
    enabled += hook_name(hook);
  }
  if (config.user_app_port > 0 && enabled.empty()) {
    lines.push_back(fmt::format(
        "microvm: DD_AWS_MICROVM_USER_APP_PORT={} is set but no DD_AWS_MICROVM_ENABLE_* toggle is "
        "on: all hooks use built-in handling",
        config.user_app_port));
  }
  if (config.user_app_port <= 0 && !enabled.empty()) {
    lines.push_back(fmt::format(
        "microvm: hook(s) {} enabled but DD_AWS_MICROVM_USER_APP_PORT is not set: they use "
        "built-in handling",
        enabled));
  }
  const std::int64_t terminate_ms = config.forward_timeout_ms + config.flush_timeout_ms;
  if (config.forwarded(MicrovmHook::kTerminate) && terminate_ms > 5000) {
    lines.push_back(fmt::format(
        "microvm: a forwarded /terminate may take forward + flush = {} + {} = {} ms (plus the "
        "answer), over 5 s; lower LASTCALL_MICROVM_FLUSH_TIMEOUT_MS or set a larger "
        "terminateTimeoutInSeconds on the image",
        config.forward_timeout_ms, config.flush_timeout_ms, terminate_ms));
  }
  return lines;
}

// --- LifecycleServer -----------------------------------------------------------------------

LifecycleServer::LifecycleServer(net::HttpServer& server, EventLoop& loop, const Clock& clock,
                                 const MicrovmConfig& config, HookUpstream* upstream,
                                 MetricSink& enhanced, TagSets& tags, SelfMetrics& self,
                                 LifecycleHooks hooks)
    : server_(server),
      loop_(loop),
      clock_(clock),
      config_(config),
      upstream_(upstream),
      enhanced_(enhanced),
      tags_(tags),
      self_(self),
      hooks_(std::move(hooks)),
      backstop_(handler_backstop(config)),
      alive_(std::make_shared<LifecycleServer*>(this)) {}

LifecycleServer::~LifecycleServer() {
  // Calls may still be held by a pending forward or flush callback: their timers must not outlive
  // the loop, and nothing may call back into this object.
  alive_.reset();
  heartbeat_timer_.cancel();
  for (const auto& call : calls_) {
    call->flush_timer.cancel();
    call->backstop.cancel();
  }
}

void LifecycleServer::start() {
  for (const MicrovmHook hook : kHooks) {
    net::RouteOptions options;
    options.max_body = kMaxHookBody;
    options.on_too_large = [this, hook](const net::HttpRequest& headers_only) {
      return too_large(hook, headers_only);
    };
    // Any method: another one than POST on a known path is a 405, not a 404 (§7.2).
    server_.route(
        "", hook_path(hook),
        [this, hook](net::HttpRequest& request, std::shared_ptr<net::Responder> r) {
          handle(hook, request, std::move(r));
        },
        std::move(options));
  }
  server_.set_fallback([](net::HttpRequest& request, const std::shared_ptr<net::Responder>& r) {
    r->respond(with_close(
        net::HttpResponse::text(404, fmt::format("no lifecycle hook at {}\n", request.path))));
  });
  server_.start();
}

net::HttpResponse LifecycleServer::too_large(MicrovmHook hook,
                                             const net::HttpRequest& headers_only) {
  if (headers_only.method != "POST") return method_not_allowed(headers_only.method);
  // §7.8: the run signal is the very first action, before the body is read.
  if (hook == MicrovmHook::kRun && config_.send_run_signal && !config_.forwarded(hook) &&
      hooks_.signal_run) {
    hooks_.signal_run();
  }
  LC_WARN("microvm: /{} body over {} bytes; answered 500, nothing changed", hook_name(hook),
          kMaxHookBody);
  self_.increment(kHookSelfMetric,
                  {fmt::format("hook:{}", hook_name(hook)), std::string("outcome:500")});
  return with_close(
      net::HttpResponse::text(500, fmt::format("hook body exceeds {} bytes\n", kMaxHookBody)));
}

void LifecycleServer::handle(MicrovmHook hook, net::HttpRequest& request,
                             std::shared_ptr<net::Responder> responder) {
  if (request.method != "POST") {
    responder->respond(method_not_allowed(request.method));
    return;
  }
  ++hooks_received_;
  auto call = std::make_shared<Call>();
  call->hook = hook;
  call->responder = std::move(responder);
  call->received_s = clock_.wall_s();
  call->request.hook = hook;
  call->request.body = std::move(request.body);
  if (auto type = request.header("Content-Type")) call->request.content_type = std::string(*type);
  call->forwarded = upstream_ != nullptr && config_.forwarded(hook);
  calls_.push_back(call);
  std::weak_ptr<Call> weak = call;
  call->backstop = loop_.schedule_after(backstop_, [this, weak] {
    auto c = weak.lock();
    if (!c || c->answered) return;
    const bool build_hook = c->hook == MicrovmHook::kReady || c->hook == MicrovmHook::kValidate;
    const int status = build_hook ? 503 : 504;  // §7.5: a 504 would fail the image build
    LC_WARN("microvm: /{} not answered within {} ms; answering {}", hook_name(c->hook),
            backstop_.count(), status);
    answer(c, with_close(net::HttpResponse{status, {}, {}}), build_hook ? "503" : "504");
  });

  switch (hook) {
    case MicrovmHook::kReady:
      on_ready(call);
      return;
    case MicrovmHook::kValidate:
      on_validate(call);
      return;
    case MicrovmHook::kRun:
      on_run(call);
      return;
    case MicrovmHook::kResume:
      on_resume(call);
      return;
    case MicrovmHook::kSuspend:
    case MicrovmHook::kTerminate:
      on_suspend_or_terminate(call);
      return;
  }
}

void LifecycleServer::on_ready(const std::shared_ptr<Call>& call) {
  // §7.9: a 200 snapshots the VM; flush first so build-time telemetry is not cloned.
  if (call->forwarded) {
    forward(call, Millis(config_.ready_timeout_ms), [this](const std::shared_ptr<Call>& c) {
      if (c->response.status != 200) {
        mirror(c);
        return;
      }
      flush(c, kReadyFlushBudget, [this](const std::shared_ptr<Call>& c2) { mirror(c2); });
    });
    return;
  }
  const bool alive = !hooks_.child_alive || hooks_.child_alive();
  if (!alive) {
    answer_builtin(call, 503);
    return;
  }
  flush(call, kReadyFlushBudget,
        [this](const std::shared_ptr<Call>& c) { answer_builtin(c, 200); });
}

void LifecycleServer::on_validate(const std::shared_ptr<Call>& call) {
  emit_lifecycle(kValidateMetric, call->received_s);
  if (call->forwarded) {
    forward(call, Millis(config_.validate_timeout_ms),
            [this](const std::shared_ptr<Call>& c) { mirror(c); });
    return;
  }
  answer_builtin(call, 200);
}

void LifecycleServer::on_run(const std::shared_ptr<Call>& call) {
  // §7.8: the run signal first (only when lastcall answers /run itself; a forwarded /run lets the
  // app reseed on its own).
  if (config_.send_run_signal && !call->forwarded && hooks_.signal_run) hooks_.signal_run();
  if (hooks_.snapshot_resumed) hooks_.snapshot_resumed();
  std::string id = microvm_id_of(call->request.body);
  if (!id.empty()) {
    microvm_id_ = std::move(id);
    // §7.8: logs and traces only; custom metrics never get the id (cardinality). set() replaces
    // the value of an earlier /run.
    tags_.set("lambda_microvm_id", microvm_id_,
              TagSetMask::of({TagSetId::kLogs, TagSetId::kTraces}));
  }
  suspend_emitted_ = false;
  terminate_emitted_ = false;
  start_heartbeat();  // after the id: its first point carries it
  emit_lifecycle(kRunMetric, call->received_s);
  if (call->forwarded) {
    forward(call, Millis(config_.forward_timeout_ms),
            [this](const std::shared_ptr<Call>& c) { mirror(c); });
    return;
  }
  answer_builtin(call, 200);
}

void LifecycleServer::on_resume(const std::shared_ptr<Call>& call) {
  if (hooks_.snapshot_resumed) hooks_.snapshot_resumed();  // §7.9, before any network use
  suspend_emitted_ = false;
  terminate_emitted_ = false;
  start_heartbeat();
  emit_lifecycle(kResumeMetric, call->received_s);
  if (call->forwarded) {
    forward(call, Millis(config_.forward_timeout_ms),
            [this](const std::shared_ptr<Call>& c) { mirror(c); });
    return;
  }
  answer_builtin(call, 200);
}

void LifecycleServer::on_suspend_or_terminate(const std::shared_ptr<Call>& call) {
  const bool suspend = call->hook == MicrovmHook::kSuspend;
  stop_heartbeat();
  // §7.4: the platform retries these hooks; the metric counts state transitions, not calls.
  bool& emitted = suspend ? suspend_emitted_ : terminate_emitted_;
  if (emitted) {
    self_.increment(kDuplicateSelfMetric, {fmt::format("hook:{}", hook_name(call->hook))});
  } else {
    // Before the flush starts: the flush's aggregator snapshot holds it (§6.2).
    emit_lifecycle(lifecycle_metric(call->hook), call->received_s);
    emitted = true;
  }
  const Millis flush_budget(config_.flush_timeout_ms);
  const Millis forward_budget(config_.forward_timeout_ms);
  if (!call->forwarded) {
    // Answered 200 even when the flush hit its deadline: the freeze must not fail on a slow
    // intake.
    flush(call, flush_budget, [this](const std::shared_ptr<Call>& c) { answer_builtin(c, 200); });
    return;
  }
  if (suspend) {
    // §7.6 parallel: the flush gets its own deadline, independent of the platform connection.
    const auto both = [this](const std::shared_ptr<Call>& c) {
      if (c->forward_done && c->flush_done) mirror(c);
    };
    flush(call, flush_budget, both);
    forward(call, forward_budget, both);
    return;
  }
  // §7.6 sequential: the app's answer (body buffered) first, then the flush, so what the app logged
  // while handling /terminate is in it.
  forward(call, forward_budget, [this, flush_budget](const std::shared_ptr<Call>& c) {
    flush(c, flush_budget, [this](const std::shared_ptr<Call>& c2) { mirror(c2); });
  });
}

void LifecycleServer::forward(const std::shared_ptr<Call>& call, Millis timeout,
                              std::function<void(const std::shared_ptr<Call>&)> then) {
  std::weak_ptr<LifecycleServer*> alive = alive_;
  HookRequest request = std::move(call->request);
  call->request = HookRequest{call->hook, {}, {}};
  upstream_->forward(std::move(request), timeout,
                     [alive, call, then = std::move(then)](HookResponse response) {
                       if (alive.expired() || call->forward_done) return;
                       call->response = std::move(response);
                       call->forward_done = true;
                       then(call);
                     });
}

void LifecycleServer::flush(const std::shared_ptr<Call>& call, Millis budget,
                            std::function<void(const std::shared_ptr<Call>&)> then) {
  if (!hooks_.flush) {
    call->flush_done = true;
    then(call);
    return;
  }
  std::weak_ptr<LifecycleServer*> alive = alive_;
  // Whichever comes first, the flush's done() or its deadline, continues the hook; once only.
  auto finish = std::make_shared<std::function<void()>>();
  *finish = [alive, call, then = std::move(then)] {
    if (alive.expired() || call->flush_done) return;
    call->flush_done = true;
    call->flush_timer.cancel();
    then(call);
  };
  call->flush_timer = loop_.schedule_after(budget, [finish] { (*finish)(); });
  hooks_.flush(Deadline::after(clock_, budget), [finish] { (*finish)(); });
}

void LifecycleServer::mirror(const std::shared_ptr<Call>& call) {
  HookResponse& r = call->response;
  net::HttpResponse response;
  response.status = r.status > 0 ? r.status : 503;
  if (!r.content_type.empty()) response.headers.emplace_back("Content-Type", r.content_type);
  response.body = std::move(r.body);
  const std::string outcome = r.outcome.empty() ? std::string("mirrored") : r.outcome;
  answer(call, with_close(std::move(response)), outcome);
}

void LifecycleServer::answer_builtin(const std::shared_ptr<Call>& call, int status) {
  answer(call, with_close(net::HttpResponse{status, {}, {}}), "builtin");
}

void LifecycleServer::answer(const std::shared_ptr<Call>& call, net::HttpResponse response,
                             std::string_view outcome) {
  if (call->answered) return;
  call->answered = true;
  call->backstop.cancel();
  self_.increment(kHookSelfMetric, {fmt::format("hook:{}", hook_name(call->hook)),
                                    fmt::format("outcome:{}", outcome)});
  auto responder = std::move(call->responder);
  forget(call.get());
  if (responder) responder->respond(std::move(response));
}

void LifecycleServer::forget(const Call* call) {
  calls_.erase(std::remove_if(calls_.begin(), calls_.end(),
                              [call](const auto& c) { return c.get() == call; }),
               calls_.end());
}

void LifecycleServer::emit_lifecycle(std::string_view name, std::int64_t timestamp) {
  std::string id_tag;
  std::vector<std::string_view> tags;
  if (!microvm_id_.empty()) {
    id_tag = "lambda_microvm_id:" + microvm_id_;
    tags.push_back(id_tag);
  }
  add_distribution(enhanced_, name, timestamp, std::move(tags));
}

void LifecycleServer::start_heartbeat() {
  if (heartbeat_running_) {
    // Idempotent: no second point, but the period restarts from now (§7.9: timers re-armed from
    // the current clock after a snapshot).
    heartbeat_timer_ = loop_.schedule_after(Millis(config_.heartbeat_ms), [this] { beat(); });
    return;
  }
  heartbeat_running_ = true;
  beat();
}

void LifecycleServer::stop_heartbeat() {
  heartbeat_running_ = false;
  heartbeat_timer_.cancel();
}

void LifecycleServer::beat() {
  // §7.10: `microvm_id`, not `lambda_microvm_id` (Go's key, kept for dashboards).
  const std::string arn = fmt::format("microvm_image_arn:{}",
                                      config_.image_arn.empty() ? "unknown" : config_.image_arn);
  const std::string id =
      fmt::format("microvm_id:{}", microvm_id_.empty() ? "unknown" : microvm_id_);
  add_distribution(enhanced_, kHeartbeatMetric, clock_.wall_s(), {arn, id});
  heartbeat_timer_ = loop_.schedule_after(Millis(config_.heartbeat_ms), [this] { beat(); });
}

Millis LifecycleServer::forward_timeout(MicrovmHook hook) const {
  switch (hook) {
    case MicrovmHook::kReady:
      return Millis(config_.ready_timeout_ms);
    case MicrovmHook::kValidate:
      return Millis(config_.validate_timeout_ms);
    default:
      return Millis(config_.forward_timeout_ms);
  }
}

std::string LifecycleServer::describe() const {
  std::string forwarded;
  for (const MicrovmHook hook : kHooks) {
    if (upstream_ == nullptr || !config_.forwarded(hook)) continue;
    if (!forwarded.empty()) forwarded += ',';
    forwarded += json_quote(hook_name(hook));
  }
  return fmt::format(
      "{{\"port\":{},\"user_app_port\":{},\"forwarded\":[{}],\"forward_timeout_ms\":{},"
      "\"ready_timeout_ms\":{},\"validate_timeout_ms\":{},\"flush_timeout_ms\":{},"
      "\"heartbeat_ms\":{},\"send_run_signal\":{},\"backstop_ms\":{},\"microvm_id\":{},"
      "\"heartbeat\":{},\"hooks_received\":{}}}",
      server_.port(), config_.user_app_port, forwarded, forward_timeout(MicrovmHook::kRun).count(),
      forward_timeout(MicrovmHook::kReady).count(), forward_timeout(MicrovmHook::kValidate).count(),
      config_.flush_timeout_ms, config_.heartbeat_ms, config_.send_run_signal ? "true" : "false",
      backstop_.count(), json_quote(microvm_id_), heartbeat_running_ ? "true" : "false",
      hooks_received_);
}

}  // namespace lc::microvm
