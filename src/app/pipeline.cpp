#include "app/pipeline.h"

#include <sys/random.h>

#include <chrono>
#include <span>
#include <utility>

#include "core/logger.h"

namespace lc::app {
namespace {

// A seed from the kernel (getrandom): cheaper than std::random_device's start-up, and what a
// microVM clone must reseed from (serverless-init.md §7.9).
std::uint64_t kernel_seed() {
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    // Not expected (the pool is initialised long before an app runs); the clock still differs
    // between clones.
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return seed;
}

net::HttpClientOptions intake_http_options(const ForwardConfig& forward) {
  net::HttpClientOptions o;
  o.proxy = forward.proxy;
  o.skip_ssl_validation = forward.skip_ssl_validation;
  o.ca_file = forward.tls_cert_file;
  return o;
}

// The enhanced metrics' aggregator: the DogStatsD one's encoding, its own context cap, the
// enhanced-metrics tag set (clarifications.md "aggregation").
metrics::AggregatorConfig enhanced_aggregator_config(const FinalConfig& config) {
  auto c = metrics::AggregatorConfig::from(config.metrics, config.common, config.mode);
  c.tag_set = TagSetId::kEnhancedMetrics;
  c.max_contexts = Pipeline::kEnhancedMaxContexts;
  c.drop_kind = "enhanced";  // its refusals are not the app's DogStatsD traffic
  return c;
}

}  // namespace

Pipeline::Pipeline(const FinalConfig& config, EventLoop& loop, const Clock& clock,
                   SelfMetrics& self)
    : config_(config),
      loop_(loop),
      clock_(clock),
      self_(self),
      flush_timeout_(Millis(config.forward.flush_timeout_s * 1000)),
      budget_(static_cast<std::size_t>(config.common.memory_budget_bytes), &self),
      tags_(config.common, config.lambda),
      dogstatsd_(metrics::DogStatsdServer::create(config.metrics, config.common, tags_, config.mode,
                                                  self, clock, &budget_)),
      enhanced_(std::make_unique<metrics::MetricAggregator>(enhanced_aggregator_config(config),
                                                            self, clock, tags_, &budget_)),
      logs_(config.logs.enabled
                ? std::make_unique<logs::LogProcessor>(
                      logs::LogProcessorOptions::from(config.logs, config.common, config.mode),
                      self, tags_, &budget_)
                : nullptr),
      http_(net::make_http_client(loop.io(), clock, loop, intake_http_options(config.forward))),
      rng_(kernel_seed()),
      stage_(forward::make_forward_stage(
          config.forward, config.common, *http_, clock, loop, self,
          [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }, &budget_)),
      report_(self, config.common.self_metrics, &budget_),
      flush_started_(clock.steady_now()) {
  scheduler_ = std::make_unique<FlushScheduler>(
      clock, loop, Millis(config.init.flush_interval_ms), flush_timeout_,
      [this](const FlushStart& start) { return collect(start); },
      [this](std::vector<Payload> payloads, const FlushStart& start, std::function<void()> done) {
        send(std::move(payloads), start, std::move(done));
      },
      // The final flush does not wait for a running one (architecture.md "Layout").
      [this](bool for_final) {
        stage_.forwarder->abort(for_final ? forward::Forwarder::AbortMode::kKeepExchanges
                                          : forward::Forwarder::AbortMode::kStopExchanges);
      });
}

Pipeline::~Pipeline() {
  // The receiver's handler feeds the DogStatsD server: stop it before anything else goes.
  receiver_.reset();
}

BoundReceivers BoundReceivers::bind(const FinalConfig& config, net::UdpReceiver::Poster post,
                                    SelfMetrics& self, Listeners& listeners) {
  const MetricsConfig& m = config.metrics;
  net::UdpReceiver::Options udp;
  udp.host = m.dogstatsd_host;
  udp.port = m.dogstatsd_port;
  udp.unix_path = m.dogstatsd_socket;
  udp.buffer_size = static_cast<std::size_t>(m.dogstatsd_buffer_size);
  udp.so_rcvbuf = m.dogstatsd_so_rcvbuf;
  udp.queue_datagrams = static_cast<std::size_t>(m.dogstatsd_queue_size);
  BoundReceivers bound;
  bound.target_ = std::make_shared<metrics::DogStatsdServer*>(nullptr);
  auto created = net::UdpReceiver::create(
      udp, self, std::move(post),
      [target = bound.target_](std::span<const net::ReceivedDatagram> batch) {
        metrics::DogStatsdServer* server = *target;
        for (const auto& d : batch) server->handle_datagram(d.data, d.truncated);
      });
  if (!created) {
    LC_ERROR("cannot listen for DogStatsD on {}:{}: {}; running without it", udp.host, udp.port,
             created.error().message);
    return bound;
  }
  bound.dogstatsd_ = std::move(created).value();
  listeners.add("dogstatsd", bound.dogstatsd_->port());
  return bound;
}

void Pipeline::bind_receivers(Listeners& listeners) {
  adopt_receivers(BoundReceivers::bind(
      config_, [&loop = loop_](std::function<void()> task) { loop.post(std::move(task)); }, self_,
      listeners));
}

void Pipeline::adopt_receivers(BoundReceivers bound) {
  if (!bound.dogstatsd_) return;
  // Not started yet: the queue's datagrams are charged from the first one read.
  bound.dogstatsd_->charge_to(budget_);
  *bound.target_ = dogstatsd_.get();
  receiver_ = std::move(bound.dogstatsd_);
}

void Pipeline::start_receivers() {
  if (receiver_) receiver_->start();
}

void Pipeline::stop_receivers() {
  if (receiver_) receiver_->stop();
}

void Pipeline::request_forced(std::function<void()> done) {
  request_with_receivers(FlushKind::kForced, Deadline::after(clock_, flush_timeout_),
                         std::move(done));
}

void Pipeline::request_lifecycle(Deadline deadline, std::function<void()> done) {
  request_with_receivers(FlushKind::kLifecycle, deadline, std::move(done));
}

void Pipeline::request_with_receivers(FlushKind kind, Deadline deadline,
                                      std::function<void()> done) {
  // lambda-agent.md §7.1: a metric emitted just before /lambda/flush (or a hook) is in it. The
  // receive thread may not have read it yet: the request is made once every datagram sent so far
  // was handled.
  auto request = [this, kind, deadline, done = std::move(done)]() mutable {
    scheduler_->request(kind, deadline, std::move(done));
  };
  if (receiver_) {
    receiver_->sync(std::move(request));
  } else {
    request();
  }
}

void Pipeline::snapshot_resumed() {
  close_intake_connections();
  // The clones of one snapshot must not draw the same retry jitter.
  rng_.seed(kernel_seed());
  scheduler_->stop();
  scheduler_->start();
}

void Pipeline::drain_receivers() {
  if (receiver_) receiver_->drain_now();
}

void Pipeline::close_intake_connections() {
  // A running flush keeps its exchanges (a request in flight when a freeze comes fails after the
  // thaw and its payload goes back to the retry queue); otherwise nothing is left: not the idle
  // connections, not the requests a flush left behind at its deadline.
  if (scheduler_->flushing()) {
    http_->close_idle();
  } else {
    http_->abort_all();
  }
}

void Pipeline::final_flush(Deadline deadline, std::function<void()> done) {
  // Stop receiving first so the final flush holds everything that arrived.
  stop_receivers();
  scheduler_->request_final(deadline, std::move(done));
}

std::vector<Payload> Pipeline::collect(const FlushStart& start) {
  flush_started_ = clock_.steady_now();
  // lastcall.* go out like any series (LASTCALL_SELF_METRICS), in the bucket of now.
  if (on_collect_) on_collect_(start);
  report_.feed(dogstatsd_->aggregator(), clock_.wall_s());
  std::vector<Payload> payloads = dogstatsd_->flush(start.scope);
  for (auto& p : enhanced_->flush(start.scope)) payloads.push_back(std::move(p));
  // Log lines have no buckets: every flush, periodic ones too, takes all that is buffered.
  if (logs_) {
    for (auto& p : logs_->flush()) payloads.push_back(std::move(p));
  }
  return payloads;
}

void Pipeline::send(std::vector<Payload> payloads, const FlushStart& start,
                    std::function<void()> done) {
  const bool is_final = start.kind == FlushKind::kFinal;
  const SteadyTime started = flush_started_;
  stage_.forwarder->flush(
      std::move(payloads), start.deadline,
      [this, is_final, started, start,
       done = std::move(done)](const forward::FlushSummary& summary) {
        // What the final flush could not deliver leaves with the process: count it and say so
        // once (serverless-init.md §9, lambda-agent.md §6.5 step 6), never silently.
        if (is_final && summary.queued.payloads > 0) {
          for (const auto& [kind, count] : summary.queued_by_kind) {
            self_.dropped(kind, "shutdown", count.items);
          }
          LC_WARN("shutdown: {}; not sent: {}",
                  summary.deadline_reached ? "deadline reached" : "final flush ended",
                  summary.not_sent_text());
        }
        if (is_final) {
          // One line at exit: what the final flush delivered, what it dropped and why.
          LC_INFO("shutdown: final flush {}", summary.to_string());
        }
        report_.flush_done(summary,
                           std::chrono::duration_cast<Millis>(clock_.steady_now() - started));
        if (on_flush_done_) on_flush_done_(start);
        done();
      },
      is_final ? forward::FlushOrder::kFreshFirst : forward::FlushOrder::kRetryFirst);
}

std::string Pipeline::describe() const {
  return "{\"dogstatsd\":" + dogstatsd_->describe() +
         ",\"enhanced\":{\"max_contexts\":" + std::to_string(enhanced_->config().max_contexts) +
         ",\"tag_set\":\"" + std::string(tag_set_name(enhanced_->config().tag_set)) + "\"}" +
         ",\"logs\":" + (logs_ ? logs_->describe() : std::string("null")) +
         ",\"receiver\":" + (receiver_ ? receiver_->describe() : std::string("null")) +
         ",\"forward\":" + stage_.describe() + "}";
}

}  // namespace lc::app
