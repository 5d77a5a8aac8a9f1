// microvm/lifecycle_server.h — the AWS Lambda MicroVM lifecycle server (serverless-init.md §7):
// the six hook routes on the listener app/ binds, the per-hook behaviour of §7.4 (built-in answer,
// or forwarded through a HookUpstream and mirrored), the flush modes of §7.6, the lifecycle
// metrics and the heartbeat of §7.10–7.11, the microVM id tag of §7.8 and the snapshot recovery
// call of §7.9. Everything runs on the loop thread; answers are given asynchronously through the
// server's Responder once the forward and/or the flush ended.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/metric_sink.h"
#include "core/microvm_config.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "microvm/hook_upstream.h"
#include "net/http_server.h"

namespace lc::microvm {

inline constexpr std::string_view kHookPathPrefix = "/aws/lambda-microvms/runtime/v1/";
inline constexpr Millis kHookReadTimeout{30000};    // §7.2
inline constexpr Millis kMirrorWriteTimeout{5000};  // §7.7
inline constexpr Millis kReadyFlushBudget{2000};    // §7.9: flush before a 200 to /ready

inline constexpr std::string_view kRunMetric = "aws.lambda.enhanced.microvm.run";
inline constexpr std::string_view kResumeMetric = "aws.lambda.enhanced.microvm.resume";
inline constexpr std::string_view kSuspendMetric = "aws.lambda.enhanced.microvm.suspend";
inline constexpr std::string_view kTerminateMetric = "aws.lambda.enhanced.microvm.terminate";
inline constexpr std::string_view kValidateMetric = "aws.lambda.enhanced.microvm.validate";
inline constexpr std::string_view kHeartbeatMetric = "aws.lambda.enhanced.microvm.active_instances";
inline constexpr std::string_view kHookSelfMetric = "lastcall.microvm.hook";
inline constexpr std::string_view kDuplicateSelfMetric = "lastcall.microvm.duplicate_hook";

// The options app/ binds the lifecycle listener with: config's host and port, 30 s read timeout,
// 5 s write timeout (the mirror write of §7.7), 1 MiB body cap, name "microvm".
net::HttpServerOptions http_options(const MicrovmConfig& config, SelfMetrics* self);

// How long a hook may take before its answer is forced (§7.7): Go's server-wide write timeout W
// without its 5 s write part, max(T_F, T_f + T_F, T_ready + dial + ready flush, T_validate + dial)
// + 1 s. Only reached when a forward or a flush does not keep its own bound.
Millis handler_backstop(const MicrovmConfig& config);

// The start-up warnings of §7.3 and §7.7, one line each (empty when the configuration is
// coherent): app port without any toggle, toggles without an app port, T_f + T_F > 5 s with
// terminate forwarding.
std::vector<std::string> startup_warnings(const MicrovmConfig& config);

// Provided by app/.
struct LifecycleHooks {
  // Built-in /ready (§7.4): the child is spawned and not reaped (sidecar: receivers are bound).
  std::function<bool()> child_alive;
  // A lifecycle flush (open bucket included, §6.2) bounded by `deadline`; done() when it ended or
  // was cut, on the loop thread. The server also stops waiting at the deadline on its own.
  std::function<void(Deadline deadline, std::function<void()> done)> flush;
  // SIGUSR2 to the child pid (§7.8).
  std::function<void()> signal_run;
  // §7.9: drop pooled intake connections and cached DNS answers, reseed the RNG.
  std::function<void()> snapshot_resumed;
};

class LifecycleServer {
 public:
  // `server` is bound by app/ on lifecycle_host:lifecycle_port (with http_options()); this
  // registers its routes and fallback. `upstream` null: nothing is forwarded. `enhanced` is the
  // enhanced-metrics sink (its encoder adds the enhanced tag set). Every reference must outlive
  // this object; the loop must outlive it too.
  LifecycleServer(net::HttpServer& server, EventLoop& loop, const Clock& clock,
                  const MicrovmConfig& config, HookUpstream* upstream, MetricSink& enhanced,
                  TagSets& tags, SelfMetrics& self, LifecycleHooks hooks);
  ~LifecycleServer();
  LifecycleServer(const LifecycleServer&) = delete;
  LifecycleServer& operator=(const LifecycleServer&) = delete;

  // Registers the routes (before the loop serves) and starts accepting.
  void start();
  // Shutdown: stops the heartbeat (§7.10). Hooks still in progress keep their answer.
  void stop_heartbeat();

  const std::string& microvm_id() const { return microvm_id_; }
  bool heartbeat_running() const { return heartbeat_running_; }
  std::string describe() const;

 private:
  struct Call;

  void handle(MicrovmHook hook, net::HttpRequest& request,
              std::shared_ptr<net::Responder> responder);
  net::HttpResponse too_large(MicrovmHook hook, const net::HttpRequest& headers_only);

  void on_ready(const std::shared_ptr<Call>& call);
  void on_validate(const std::shared_ptr<Call>& call);
  void on_run(const std::shared_ptr<Call>& call);
  void on_resume(const std::shared_ptr<Call>& call);
  void on_suspend_or_terminate(const std::shared_ptr<Call>& call);

  // Forwards the call's request; then(response) on the loop thread.
  void forward(const std::shared_ptr<Call>& call, Millis timeout,
               std::function<void(const std::shared_ptr<Call>&)> then);
  // Starts a lifecycle flush bounded by `budget`; then() once it ended or its deadline passed.
  void flush(const std::shared_ptr<Call>& call, Millis budget,
             std::function<void(const std::shared_ptr<Call>&)> then);
  void answer(const std::shared_ptr<Call>& call, net::HttpResponse response,
              std::string_view outcome);
  void mirror(const std::shared_ptr<Call>& call);
  void answer_builtin(const std::shared_ptr<Call>& call, int status);

  void emit_lifecycle(std::string_view name, std::int64_t timestamp);
  void start_heartbeat();
  void beat();
  Millis forward_timeout(MicrovmHook hook) const;
  void forget(const Call* call);

  net::HttpServer& server_;
  EventLoop& loop_;
  const Clock& clock_;
  const MicrovmConfig& config_;
  HookUpstream* upstream_;
  MetricSink& enhanced_;
  TagSets& tags_;
  SelfMetrics& self_;
  LifecycleHooks hooks_;
  Millis backstop_;

  std::string microvm_id_;
  // §7.4: /suspend and /terminate emit their metric once per state transition; /run and /resume
  // clear these.
  bool suspend_emitted_ = false;
  bool terminate_emitted_ = false;
  bool heartbeat_running_ = false;
  Timer heartbeat_timer_;
  std::vector<std::shared_ptr<Call>> calls_;  // hooks not answered yet
  // Weak copies of this token in callbacks tell them the server is gone.
  std::shared_ptr<LifecycleServer*> alive_;
  std::uint64_t hooks_received_ = 0;
};

}  // namespace lc::microvm
