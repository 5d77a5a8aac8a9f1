#include "app/sidecar_app.h"

#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <csignal>
#include <random>

#include "app/flush_scheduler.h"
#include "app/listeners.h"
#include "app/self_report.h"
#include "app/startup.h"
#include "core/config.h"
#include "core/logger.h"
#include "core/memory_budget.h"
#include "core/self_metrics.h"
#include "core/version.h"
#include "forward/forward_stage.h"
#include "lambda/local_api.h"
#include "metrics/dogstatsd_server.h"
#include "net/http_client.h"
#include "net/udp_receiver.h"

namespace lc::app {
namespace {

// The final flush on SIGTERM/SIGINT must end in time for the orchestrator's kill.
constexpr Millis kFinalFlushBudget{5000};

}  // namespace

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
  MemoryBudget budget(static_cast<std::size_t>(config.common.memory_budget_bytes), &self);
  Listeners listeners;
  listeners.self_metrics = &self;
  // Installed before any port is announced, so a SIGTERM right after start is a clean final flush.
  boost::asio::signal_set signals(loop.io(), SIGTERM, SIGINT);

  // Receivers first: bind, then announce the ports (serverless-init.md §2, §9).
  auto dogstatsd = metrics::DogStatsdServer::create(config.metrics, config.common, config.mode,
                                                    self, clock, &budget);
  net::UdpReceiver::Options udp;
  udp.host = config.metrics.dogstatsd_host;
  udp.port = config.metrics.dogstatsd_port;
  udp.unix_path = config.metrics.dogstatsd_socket;
  udp.buffer_size = static_cast<std::size_t>(config.metrics.dogstatsd_buffer_size);
  udp.so_rcvbuf = config.metrics.dogstatsd_so_rcvbuf;
  udp.queue_datagrams = static_cast<std::size_t>(config.metrics.dogstatsd_queue_size);
  std::unique_ptr<net::UdpReceiver> receiver;
  {
    auto created = net::UdpReceiver::create(
        udp, self, [&loop](std::function<void()> task) { loop.post(std::move(task)); },
        [&dogstatsd](std::span<const net::ReceivedDatagram> batch) {
          for (const auto& d : batch) dogstatsd->handle_datagram(d.data, d.truncated);
        });
    if (created) {
      receiver = std::move(created).value();
      listeners.add("dogstatsd", receiver->port());
    } else {
      LC_ERROR("cannot listen for DogStatsD on {}:{}: {}; running without it", udp.host, udp.port,
               created.error().message);
    }
  }
  listeners.bind_local_api(loop, config);
  listeners.announce();

  net::HttpClientOptions http_options;
  http_options.proxy = config.forward.proxy;
  http_options.skip_ssl_validation = config.forward.skip_ssl_validation;
  http_options.ca_file = config.forward.tls_cert_file;
  auto http = net::make_http_client(loop.io(), clock, loop, http_options);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  forward::ForwardStage stage = forward::make_forward_stage(
      config.forward, config.common, *http, clock, loop, self, [&] { return uniform(rng); },
      &budget);
  LC_DEBUG("lastcall {} sidecar: {} {}", kVersion, dogstatsd->describe(), stage.describe());

  bool final_flush = false;
  SelfReport report(self, config.common.self_metrics, &budget);
  auto flush_started = clock.steady_now();
  FlushScheduler scheduler(
      clock, loop, Millis(config.init.flush_interval_ms),
      Millis(config.forward.flush_timeout_s * 1000),
      [&](bool include_open) {
        flush_started = clock.steady_now();
        // lastcall.* go out like any series (LASTCALL_SELF_METRICS), in the bucket of now.
        report.feed(dogstatsd->aggregator(), clock.wall_s());
        return dogstatsd->flush(include_open ? metrics::FlushScope::kAll
                                             : metrics::FlushScope::kClosedBuckets);
      },
      [&](std::vector<Payload> payloads, Deadline deadline, std::function<void()> done) {
        const bool is_final = final_flush;  // a flush already running when SIGTERM came is not
        stage.forwarder->flush(
            std::move(payloads), deadline,
            [&, is_final, done = std::move(done)](const forward::FlushSummary& summary) {
              // What the final flush could not deliver leaves with the process: count it and say
              // so once (serverless-init.md §9), never silently.
              if (is_final && summary.queued.payloads > 0) {
                for (const auto& [kind, count] : summary.queued_by_kind) {
                  self.dropped(kind, "shutdown", count.items);
                }
                LC_WARN("final flush ended with data not sent: {}", summary.not_sent_text());
              }
              report.flush_done(
                  summary, std::chrono::duration_cast<Millis>(clock.steady_now() - flush_started));
              done();
            },
            is_final ? forward::FlushOrder::kFreshFirst : forward::FlushOrder::kRetryFirst);
      });

  std::unique_ptr<lambda::LocalApi> local_api;
  if (listeners.local_api) {
    local_api = std::make_unique<lambda::LocalApi>(
        *listeners.local_api, loop, self,
        [&scheduler](std::function<void()> done) { scheduler.request_forced(std::move(done)); });
  }
  listeners.start_all();
  if (receiver) receiver->start();
  scheduler.start();

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    LC_INFO("signal {}: final flush, then exit", sig);
    // Stop receiving first so the final flush holds everything that arrived.
    if (receiver) receiver->stop();
    if (listeners.local_api) listeners.local_api->stop();
    final_flush = true;
    scheduler.request_final(Deadline::after(clock, kFinalFlushBudget), [&] {
      const std::string all = self.summary();
      if (!all.empty()) LC_DEBUG("self-metrics at exit: {}", all);
      loop.stop();
    });
  });
  loop.run();
  return 0;
}

}  // namespace lc::app
