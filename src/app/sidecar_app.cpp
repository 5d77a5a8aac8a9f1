#include "app/sidecar_app.h"

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <memory>

#include "app/listeners.h"
#include "app/microvm_lifecycle.h"
#include "app/pipeline.h"
#include "app/startup.h"
#include "core/config.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "core/version.h"
#include "lambda/local_api.h"

namespace lc::app {

int run_sidecar(const Environment& env) {
  // serverless-init.md §3.2: with no child to forward them to, these have no effect at all (by
  // default each would end the process without its final flush).
  neutralize_signals({SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2});
  auto finalized = start_mode(env, Mode::kSidecar);
  if (!finalized) return 1;
  const FinalConfig config = std::move(finalized).value();

  SystemClock& clock = SystemClock::instance();
  EventLoop loop;
  SelfMetrics self;
  Listeners listeners;
  listeners.self_metrics = &self;
  // Installed before any port is announced, so a SIGTERM right after start is a clean final flush.
  boost::asio::signal_set signals(loop.io(), SIGTERM, SIGINT);

  // Receivers first: bind, then announce the ports (serverless-init.md §2, §9).
  Pipeline pipeline(config, loop, clock, self);
  pipeline.bind_receivers(listeners);
  listeners.bind_local_api(loop, config);
  // serverless-init.md §7: on a microVM the sidecar serves the hooks too (/ready: 200 once the
  // receivers are bound; nothing to signal).
  auto lifecycle = MicrovmLifecycle::bind(config, env, self, listeners);
  listeners.announce();

  std::unique_ptr<lambda::LocalApi> local_api;
  if (listeners.local_api) {
    local_api = std::make_unique<lambda::LocalApi>(
        *listeners.local_api, loop, self,
        [&pipeline](std::function<void()> done) { pipeline.request_forced(std::move(done)); });
  }
  listeners.start_all();
  pipeline.start_receivers();
  if (lifecycle) lifecycle->start(loop, pipeline, clock, {});
  pipeline.scheduler().start();
  LC_DEBUG("lastcall {} sidecar: {}; microvm={}", kVersion, pipeline.describe(),
           lifecycle ? lifecycle->describe() : std::string("null"));

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    LC_INFO("signal {}: final flush, then exit", sig);
    if (listeners.local_api) listeners.local_api->stop();
    if (lifecycle) lifecycle->stop_heartbeat();
    // serverless-init.md §3.4: the final flush ends by t_term + G (LASTCALL_SHUTDOWN_GRACE_MS).
    pipeline.final_flush(Deadline::after(clock, Millis(config.init.shutdown_grace_ms)), [&] {
      const std::string all = self.summary();
      if (!all.empty()) LC_DEBUG("self-metrics at exit: {}", all);
      loop.stop();
    });
  });
  loop.run();
  return 0;
}

}  // namespace lc::app
