#include "app/microvm_lifecycle.h"

#include <utility>

#include "app/pipeline.h"
#include "core/logger.h"

namespace lc::app {

bool MicrovmLifecycle::on_microvm(const Environment& env) {
  return env.get(var::kAwsLambdaMicrovmImageArn).has_value();
}

std::unique_ptr<MicrovmLifecycle> MicrovmLifecycle::bind(const FinalConfig& config,
                                                         const Environment& env, SelfMetrics& self,
                                                         Listeners& listeners) {
  if (!on_microvm(env)) return nullptr;
  for (const auto& w : microvm::startup_warnings(config.microvm)) LC_WARN("{}", w);
  auto socket = reserve_http(microvm::http_options(config.microvm, &self), listeners);
  if (!socket) return nullptr;  // logged; the child runs without hooks (§7.2)
  return std::unique_ptr<MicrovmLifecycle>(new MicrovmLifecycle(config, self, std::move(*socket)));
}

MicrovmLifecycle::MicrovmLifecycle(const FinalConfig& config, SelfMetrics& self,
                                   ReservedHttp socket)
    : config_(config), self_(self), socket_(std::move(socket)) {}

void MicrovmLifecycle::start(EventLoop& loop, Pipeline& pipeline, const Clock& clock,
                             ModeHooks hooks) {
  if (!socket_) return;
  http_ = serve_http(loop, std::move(*socket_));
  socket_.reset();
  if (!http_) return;  // logged; the mode runs without hooks (§7.2)
  const MicrovmConfig& m = config_.microvm;
  bool any_forwarded = false;
  for (std::size_t i = 0; i < kMicrovmHookCount; ++i) {
    any_forwarded = any_forwarded || m.forwarded(static_cast<MicrovmHook>(i));
  }
  if (any_forwarded) {
    forwarder_ =
        std::make_unique<microvm::HookForwarder>(loop.io(), clock, loop, m.user_app_port, self_);
  }
  std::function<void(Deadline, std::function<void()>)> run_flush = std::move(hooks.flush);
  if (!run_flush) {
    run_flush = [&pipeline](Deadline deadline, std::function<void()> done) {
      pipeline.request_lifecycle(deadline, std::move(done));
    };
  }
  microvm::LifecycleHooks h;
  h.child_alive = std::move(hooks.child_alive);
  h.signal_run = std::move(hooks.signal_run);
  // §7.6: after a lifecycle flush no intake connection is kept — a snapshot (ready, suspend) or
  // the VM's end (terminate) follows, and a pooled connection would be stale after a restore.
  h.flush = [&pipeline, run_flush = std::move(run_flush)](Deadline deadline,
                                                          std::function<void()> done) {
    run_flush(deadline, [&pipeline, done = std::move(done)] {
      pipeline.close_intake_connections();
      done();
    });
  };
  h.snapshot_resumed = [&pipeline] { pipeline.snapshot_resumed(); };
  MetricSink& sink = config_.metrics.enhanced_metrics ? pipeline.enhanced_metrics()
                                                      : static_cast<MetricSink&>(discard_);
  server_ = std::make_unique<microvm::LifecycleServer>(*http_, loop, clock, m, forwarder_.get(),
                                                       sink, pipeline.tags(), self_, std::move(h));
  server_->start();
}

void MicrovmLifecycle::stop_heartbeat() {
  if (server_) server_->stop_heartbeat();
}

std::string MicrovmLifecycle::describe() const {
  return "{\"server\":" + (server_ ? server_->describe() : std::string("null")) +
         ",\"forwarder\":" + (forwarder_ ? forwarder_->describe() : std::string("null")) + "}";
}

}  // namespace lc::app
