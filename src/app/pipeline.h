// app/pipeline.h — one wiring for every mode (architecture.md "Layout"): the receivers (DogStatsD
// UDP + unix datagram socket; later traces on 8126), the DogStatsD server and its aggregator, the
// enhanced-metrics aggregator (its own context cap, the enhanced tag set), the log processor (when
// logs are on), the forward stage (HTTP
// client, exporters, forwarder), SelfReport, and the FlushScheduler whose collect/send/cut run
// through them. Built once by a composition root (sidecar, extension, next the init wrapper), which
// binds and announces the listeners, starts them, and decides when to flush. Building it does no
// network I/O: TLS and DNS wait for the first flush (lambda-agent.md §1.2). Used and destroyed on
// the loop thread; the loop, clock and self-metrics outlive it.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "app/flush_scheduler.h"
#include "app/listeners.h"
#include "app/self_report.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/event_loop.h"
#include "core/memory_budget.h"
#include "core/metric_sink.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "forward/forward_stage.h"
#include "logs/log_processor.h"
#include "metrics/aggregator.h"
#include "metrics/dogstatsd_server.h"
#include "net/http_client.h"
#include "net/udp_receiver.h"

namespace lc::app {

// The DogStatsD sockets, bound before the Pipeline that will read them exists. The init wrapper
// binds, spawns its child and only then builds the rest (serverless-init.md §2 steps 2–3): the
// child never waits for aggregators or the forward stage, and the kernel queues what it sends until
// Pipeline::start_receivers(). Other modes bind through Pipeline::bind_receivers().
class BoundReceivers {
 public:
  // Binds the sockets of config.metrics and adds "dogstatsd" to `listeners` (call before
  // announce()). A socket that cannot be bound is logged naming the port; the mode runs without
  // it. The self-metrics must outlive the receivers.
  // `post` hands the receiver's batches to the loop thread (EventLoop::post); it is called only
  // once the receiver started, so the loop may be built after this call.
  static BoundReceivers bind(const FinalConfig& config, net::UdpReceiver::Poster post,
                             SelfMetrics& self, Listeners& listeners);

 private:
  friend class Pipeline;
  std::unique_ptr<net::UdpReceiver> dogstatsd_;
  // Where the receiver hands datagrams: set by the Pipeline that adopts it, before it starts.
  std::shared_ptr<metrics::DogStatsdServer*> target_;
};

class Pipeline {
 public:
  // The enhanced-metrics aggregator's own cap on live contexts (datadog-wire.md §2.2 per
  // aggregator); lastcall's own names and tags keep it far below.
  static constexpr std::size_t kEnhancedMaxContexts = 10240;

  Pipeline(const FinalConfig& config, EventLoop& loop, const Clock& clock, SelfMetrics& self);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Binds the DogStatsD sockets and adds "dogstatsd" to `listeners` (call before announce()). A
  // socket that cannot be bound is logged naming the port; the mode runs without it.
  void bind_receivers(Listeners& listeners);
  // Takes sockets bound before this pipeline was built (the same config, loop and self-metrics);
  // their queued datagrams are charged to this pipeline's memory budget. Before start_receivers().
  void adopt_receivers(BoundReceivers bound);
  // Starts receiving (after the announcement).
  void start_receivers();
  // Stops receiving; datagrams already received reach the aggregator first, so a final flush
  // right after holds them. Idempotent.
  void stop_receivers();

  // A forced flush (open bucket included) by now + DD_FLUSH_TIMEOUT: what /lambda/flush asks.
  void request_forced(std::function<void()> done);
  // A lifecycle flush (microVM hooks, serverless-init.md §7.6): open bucket included, what every
  // client sent before the call included, by `deadline`; done() once it ended or was cut.
  void request_lifecycle(Deadline deadline, std::function<void()> done);
  // A microVM clone started or resumed (serverless-init.md §7.9): no pooled intake connection is
  // reused, the jitter RNG is reseeded from the kernel, the periodic timer is re-armed from now.
  void snapshot_resumed();
  // Stops the receivers, then the final flush by `deadline`: a running flush is cut, everything
  // (open bucket, retry queue) goes out fresh data first; done() once it ended.
  void final_flush(Deadline deadline, std::function<void()> done);

  // Called at the start of every flush's collect, before the aggregators are drained: a mode
  // releases what it holds back until a flush decision (lambda-agent.md §3.2 note a).
  void on_collect(std::function<void(const FlushStart&)> hook) { on_collect_ = std::move(hook); }
  // Called when a flush's send ended (completed, or cut and its payloads back in the retry queue).
  void on_flush_done(std::function<void(const FlushStart&)> hook) {
    on_flush_done_ = std::move(hook);
  }

  // Every DogStatsD datagram sent before this call has reached the aggregator when it returns
  // (UdpReceiver::drain_now): what a client sent before runtimeDone is in the end-of-invocation
  // flush.
  void drain_receivers();
  // Right before /next (lambda-agent.md §6.3): no intake connection is kept across it, where the
  // sandbox may freeze for minutes and connections go stale. A running flush keeps its exchanges.
  void close_intake_connections();

  FlushScheduler& scheduler() { return *scheduler_; }
  metrics::DogStatsdServer& dogstatsd() { return *dogstatsd_; }
  // Where lastcall's own enhanced metrics go (aws.lambda.enhanced.*, cloud and lifecycle metrics):
  // an aggregator of its own, flushed with the DogStatsD one in every flush.
  MetricSink& enhanced_metrics() { return *enhanced_; }
  metrics::MetricAggregator& enhanced_aggregator() { return *enhanced_; }
  // Where log lines go (telemetry records, the child's output): null when logs are off
  // (lambda-agent.md §5.1, serverless-init.md §4.1). Every flush takes all it buffered.
  logs::LogProcessor* logs() { return logs_.get(); }
  // The tags every encoder reads at flush; late tags (account id, runtime, ...) are set here.
  TagSets& tags() { return tags_; }
  forward::Forwarder& forwarder() { return *stage_.forwarder; }
  net::HttpClient& intake_http() { return *http_; }
  SelfReport& report() { return report_; }
  Millis flush_timeout() const { return flush_timeout_; }
  bool receiving() const { return receiver_ != nullptr; }

  // The components and their settings, for the one debug line at start (conventions.md §20).
  std::string describe() const;

 private:
  std::vector<Payload> collect(const FlushStart& start);
  void request_with_receivers(FlushKind kind, Deadline deadline, std::function<void()> done);
  void send(std::vector<Payload> payloads, const FlushStart& start, std::function<void()> done);

  const FinalConfig& config_;
  EventLoop& loop_;
  const Clock& clock_;
  SelfMetrics& self_;
  Millis flush_timeout_;
  // LASTCALL_MEMORY_BUDGET_BYTES (lambda-agent.md §6.4): the aggregators and the retry queue charge
  // it. Before them, like the tags their encoders read.
  MemoryBudget budget_;
  TagSets tags_;
  std::unique_ptr<metrics::DogStatsdServer> dogstatsd_;
  std::unique_ptr<metrics::MetricAggregator> enhanced_;
  std::unique_ptr<logs::LogProcessor> logs_;  // null when logs are off
  std::function<void(const FlushStart&)> on_collect_;
  std::function<void(const FlushStart&)> on_flush_done_;
  std::unique_ptr<net::UdpReceiver> receiver_;  // after dogstatsd_: its handler feeds it
  std::unique_ptr<net::HttpClient> http_;
  std::mt19937_64 rng_;
  forward::ForwardStage stage_;
  SelfReport report_;
  SteadyTime flush_started_;
  std::unique_ptr<FlushScheduler> scheduler_;
};

}  // namespace lc::app
