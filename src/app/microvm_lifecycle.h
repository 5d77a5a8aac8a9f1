// app/microvm_lifecycle.h — the Lambda microVM lifecycle server of a mode (serverless-init.md §7),
// wired: the listener bound with the other receivers (before the child exists), then, once the
// pipeline is built, the hook forwarder to the user app, the microvm::LifecycleServer and its hooks
// — lifecycle flushes through the pipeline's FlushScheduler (FlushKind::kLifecycle, open bucket and
// what clients sent before the hook included), intake connections closed after each of them, the
// snapshot recovery of §7.9 — and the lifecycle metrics into the enhanced-metrics aggregator (none
// with DD_ENHANCED_METRICS=false). Used by the init wrapper and the sidecar on the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/listeners.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_registry.h"
#include "core/event_loop.h"
#include "core/metric_sink.h"
#include "core/self_metrics.h"
#include "microvm/hook_forwarder.h"
#include "microvm/lifecycle_server.h"
#include "net/http_server.h"

namespace lc::app {

class Pipeline;

class MicrovmLifecycle {
 public:
  // §5.1: AWS_LAMBDA_MICROVM_IMAGE_ARN present in the environment, even empty.
  static bool on_microvm(const Environment& env);

  // On a microVM: binds the lifecycle listener's socket (microvm::http_options) and adds
  // "microvm" to `listeners` (call before announce()), and logs the start-up warnings of
  // §7.3/§7.7. No event loop is needed yet: the kernel queues the platform's connections until
  // start(). nullptr elsewhere, or when the port cannot be bound (logged at error; the mode runs
  // without hooks, §7.2). The config and self-metrics must outlive the result.
  static std::unique_ptr<MicrovmLifecycle> bind(const FinalConfig& config, const Environment& env,
                                                SelfMetrics& self, Listeners& listeners);

  // What the mode provides (both may be empty in sidecar mode: /ready answers 200 once the
  // receivers are bound, and there is no child to signal).
  struct ModeHooks {
    std::function<bool()> child_alive;  // spawned and not reaped (§7.4 built-in /ready)
    std::function<void()> signal_run;   // SIGUSR2 to the child pid (§7.8)
    // Runs a lifecycle flush by `deadline`: the mode may hold it back (the wrapper waits for its
    // metadata tags) and must end with pipeline.request_lifecycle(). Empty: the pipeline's own.
    std::function<void(Deadline deadline, std::function<void()> done)> flush;
  };

  // Once the pipeline exists: the server on the bound socket, the forwarder (when any hook is
  // forwarded), the server's routes and hooks; starts accepting. The loop and `pipeline` must
  // outlive this object.
  void start(EventLoop& loop, Pipeline& pipeline, const Clock& clock, ModeHooks hooks);
  // Shutdown (§7.10): the heartbeat stops; hooks in progress keep their answer.
  void stop_heartbeat();

  std::string describe() const;

 private:
  MicrovmLifecycle(const FinalConfig& config, SelfMetrics& self, ReservedHttp socket);

  const FinalConfig& config_;
  SelfMetrics& self_;
  DiscardMetricSink discard_;
  std::optional<ReservedHttp> socket_;                 // until start()
  std::unique_ptr<net::HttpServer> http_;              // from start()
  std::unique_ptr<microvm::HookForwarder> forwarder_;  // null: nothing forwarded
  std::unique_ptr<microvm::LifecycleServer> server_;   // after http_ and forwarder_
};

}  // namespace lc::app
