#include "app/extension_app.h"

#include <unistd.h>

#include <chrono>
#include <memory>

#include "app/invocation_flow.h"
#include "app/listeners.h"
#include "app/pipeline.h"
#include "app/startup.h"
#include "core/config.h"
#include "core/event_loop.h"
#include "core/logger.h"
#include "core/proc_reader.h"
#include "core/self_metrics.h"
#include "core/version.h"
#include "lambda/extensions_client.h"
#include "lambda/flush_control.h"
#include "lambda/invocation_processor.h"
#include "lambda/lambda_tags.h"
#include "lambda/local_api.h"
#include "lambda/oom_detector.h"
#include "lambda/telemetry.h"
#include "lambda/telemetry_logs.h"
#include "lambda/usage_metrics.h"
#include "net/http_client.h"

namespace lc::app {
namespace {

// §6.5 step 2: the trailing quiet interval after the last report, and how often the wait looks.
constexpr Millis kTrailingQuiet{50};
constexpr Millis kWaitTick{5};

// `architecture`: the run-time one LambdaTags read from uname (lambda-agent.md §3.4 prices
// arm64 and x86_64; anything else is priced as x86_64).
lambda::InvocationProcessorOptions invocation_options(const FinalConfig& config,
                                                      std::string_view architecture,
                                                      std::int64_t start_ms) {
  lambda::InvocationProcessorOptions o;
  o.enhanced_metrics = config.metrics.enhanced_metrics;
  o.lmi = config.lambda.lmi;
  o.architecture = architecture == "arm64" ? "arm64" : "x86_64";
  if (config.metrics.price_per_gb_second > 0) {
    o.price_per_gb_second = config.metrics.price_per_gb_second;
  }
  if (config.metrics.price_per_request > 0) o.price_per_request = config.metrics.price_per_request;
  o.start_ms = start_ms;
  o.init_type = config.lambda.initialization_type;
  return o;
}

lambda::FlushControlOptions flush_control_options(const FinalConfig& config) {
  lambda::FlushControlOptions o;
  o.strategy = config.lambda.flush_strategy;
  o.lmi = config.lambda.lmi;
  o.flush_timeout = Millis(config.forward.flush_timeout_s * 1000);
  o.shutdown_margin = Millis(config.lambda.shutdown_margin_ms);
  return o;
}

class ExtensionApp {
 public:
  ExtensionApp(std::string name, FinalConfig config)
      : name_(std::move(name)), config_(std::move(config)) {}

  int run() {
    const auto t0 = clock_.steady_now();
    // Step 2: bind every listener before register; the runtime may start right after it, and a
    // function may send DogStatsD during its init.
    listeners_.self_metrics = &self_;
    pipeline_ = std::make_unique<Pipeline>(config_, loop_, clock_, self_);
    // lambda-agent.md §3.5: the environment's base tags now; account and runtime arrive later.
    lambda_tags_ = std::make_unique<lambda::LambdaTags>(config_.lambda, proc_, etc_,
                                                        pipeline_->tags(), ::getpid());
    invocations_ = std::make_unique<lambda::InvocationProcessor>(
        invocation_options(config_, pipeline_->tags().value("architecture"), clock_.wall_ms()),
        pipeline_->enhanced_metrics(), clock_, self_);
    // lambda-agent.md §4: exactly one out_of_memory per failed invocation. The processor feeds
    // the detector what it parses; a hit comes back as the processor's point, with the
    // invocation's tags while its context is known.
    oom_late_ = self_.counter("lastcall.lambda.oom_late");
    oom_ = std::make_unique<lambda::OomDetector>(
        config_.lambda.lmi, clock_, loop_, self_, [this](const lambda::OomDetector::Hit& hit) {
          const auto where =
              invocations_->emit_out_of_memory(hit.request_id, hit.time_ms, hit.cold_start);
          if (where == lambda::InvocationProcessor::OomAttribution::kContextGone) {
            oom_late_.add();
            LC_DEBUG("oom: {} emitted after its context was gone (base tags only)", hit.request_id);
          }
        });
    invocations_->attach_oom_detector(oom_.get());
    // §3.2 usage metrics from /proc, driven by the invocations' lifecycle.
    usage_ = std::make_unique<lambda::UsageMetrics>(
        lambda::UsageOptions::from(config_.metrics, config_.lambda), proc_,
        pipeline_->enhanced_metrics(), loop_);
    invocations_->attach_usage_metrics(usage_.get());
    // lambda-agent.md §5: function, extension and platform records as log lines, when logs are
    // on (off, the subscription still carries function records for OOM detection, §1.3).
    if (pipeline_->logs() != nullptr) {
      lambda::TelemetryLogsOptions logs_options;
      logs_options.lmi = config_.lambda.lmi;
      telemetry_logs_ =
          std::make_unique<lambda::TelemetryLogs>(logs_options, *pipeline_->logs(), clock_, self_);
    }
    // A flush that takes the open bucket is a flush decision: the held first invocation goes
    // with it (lambda-agent.md §3.2 note a). The final flush (after SHUTDOWN's wait for reports)
    // sends the log lines that never got a request id without one (§5.4).
    pipeline_->on_collect([this](const FlushStart& start) {
      if (start.scope == metrics::FlushScope::kAll) invocations_->release_held_invocation();
      if (start.kind == FlushKind::kFinal && telemetry_logs_) telemetry_logs_->release_orphans();
      flush_control_->flush_started();
    });
    pipeline_->on_flush_done([this](const FlushStart& start) {
      flush_control_->flush_finished();
      // Nothing older than this stays buffered after a flush that took every bucket: the age
      // cap of §6.3 counts from here.
      if (start.scope == metrics::FlushScope::kAll) last_full_flush_ms_ = clock_.wall_ms();
    });
    // lambda-agent.md §6: when to flush, decided per event; executed through the scheduler.
    flush_control_ = std::make_unique<lambda::FlushControl>(clock_, flush_control_options(config_));
    last_full_flush_ms_ = clock_.wall_ms();
    InvocationFlowHooks hooks;
    hooks.next = [this] { next(); };
    hooks.drain_receivers = [this] { pipeline_->drain_receivers(); };
    hooks.close_intake_connections = [this] { pipeline_->close_intake_connections(); };
    hooks.last_full_flush_ms = [this] { return last_full_flush_ms_; };
    flow_ = std::make_unique<InvocationFlow>(*flush_control_, pipeline_->scheduler(), clock_, loop_,
                                             Millis(config_.lambda.shutdown_margin_ms),
                                             std::move(hooks));
    telemetry_server_ = bind_http(loop_, "telemetry", config_.lambda.telemetry_host,
                                  config_.lambda.telemetry_port, listeners_);
    pipeline_->bind_receivers(listeners_);
    listeners_.bind_local_api(loop_, config_);
    listeners_.announce();
    LC_DEBUG("pipeline: {} invocations: {}", pipeline_->describe(), invocations_->describe());
    if (listeners_.local_api) {
      local_api_ = std::make_unique<lambda::LocalApi>(
          *listeners_.local_api, loop_, self_,
          [this](std::function<void()> done) { pipeline_->request_forced(std::move(done)); },
          lambda::LocalApiOptions{invocations_.get()});
    }
    if (telemetry_server_) {
      telemetry_ = std::make_unique<lambda::TelemetryListener>(
          *telemetry_server_, self_, [this](const lambda::TelemetryEvent& event) {
            invocations_->on_telemetry(event);
            if (telemetry_logs_) telemetry_logs_->on_telemetry(event);
            flow_->on_telemetry(event);
          });
    }
    listeners_.start_all();
    if (telemetry_server_) telemetry_server_->start();
    pipeline_->start_receivers();

    runtime_http_ = net::make_http_client(loop_.io(), clock_, loop_, net::HttpClientOptions{});
    client_ = std::make_unique<lambda::ExtensionsClient>(*runtime_http_, clock_, loop_, self_,
                                                         config_.lambda.runtime_api);
    // Step 3: register under our own file name.
    client_->register_extension(
        name_, config_.lambda.lmi,
        [this, t0](Expected<lambda::RegisterReply> reply, lambda::ApiError err) {
          if (!reply) {
            if (err.status == 0) {
              LC_ERROR("register with the Lambda Runtime API at {} failed: {}",
                       config_.lambda.runtime_api, err.message);
            } else {
              LC_ERROR(
                  "register with the Lambda Runtime API at {} answered {} errorType={} "
                  "errorMessage={}",
                  config_.lambda.runtime_api, err.status,
                  err.error_type.empty() ? "-" : err.error_type, err.message);
            }
            finish(1);
            return;
          }
          LC_DEBUG("registered as {} (id {}), function={} account={}", name_, reply->extension_id,
                   reply->function_name, reply->account_id.empty() ? "-" : reply->account_id);
          // Encoders read the tag sets at every flush: points already aggregated carry it too.
          lambda_tags_->set_account(reply->account_id);
          subscribe(false, 0, [this, t0] {
            LC_DEBUG("ready in {} ms",
                     std::chrono::duration_cast<Millis>(clock_.steady_now() - t0).count());
            flow_->start();
            next();
          });
        });
    loop_.run();
    return exit_code_;
  }

 private:
  // Step 5: one subscription, with the single retries of lambda-agent.md §1.2.
  void subscribe(bool alternate, int attempt, std::function<void()> then) {
    if (!telemetry_server_) {
      LC_WARN("telemetry listener not bound; running without telemetry");
      then();
      return;
    }
    lambda::SubscriptionOptions options;
    options.lmi = config_.lambda.lmi;
    options.port = telemetry_server_->port();
    options.alternate_schema = alternate;
    options.enhanced_metrics = config_.metrics.enhanced_metrics;
    options.logs_enabled = config_.logs.enabled;
    client_->subscribe_telemetry(
        lambda::telemetry_subscription_body(options),
        [this, alternate, attempt, then = std::move(then)](int status,
                                                           const std::string& body) mutable {
          if (status == 200) {
            LC_DEBUG("subscribed to the Telemetry API");
            subscribed_ = true;
          } else if (status == 202 || status == 404) {
            LC_INFO(
                "the Telemetry API is not supported here (status {}); running without "
                "telemetry",
                status);
          } else if (status == 400 && attempt == 0 && body.find("chema") != std::string::npos) {
            subscribe(!alternate, 1, std::move(then));
            return;
          } else if (status == 500 && attempt == 0) {
            subscribe(alternate, 1, std::move(then));
            return;
          } else {
            LC_ERROR("telemetry subscription failed: status {} {}; running without telemetry",
                     status, body.substr(0, 200));
          }
          then();
        });
  }

  void next() {
    client_->next([this](Expected<lambda::ExtensionEvent> event, lambda::ApiError err) {
      if (!event) {
        if (err.status == 0) {
          LC_WARN("the Lambda Runtime API went away ({}); exiting", err.message);
          finish(0);
        } else {
          LC_ERROR("next answered {} errorType={} errorMessage={}; exiting", err.status,
                   err.error_type.empty() ? "-" : err.error_type, err.message);
          finish(1);
        }
        return;
      }
      lambda_tags_->resolve_runtime();  // once, after the first /next returned (§3.5)
      switch (event->type) {
        case lambda::ExtensionEvent::Type::kInvoke:
          lambda_tags_->note_function_arn(event->invoked_function_arn);
          invocations_->on_extension_event(*event);
          flow_->on_invoke(*event, telemetry_ != nullptr && subscribed_);
          return;
        case lambda::ExtensionEvent::Type::kShutdown:
          shutdown(*event);
          return;
        case lambda::ExtensionEvent::Type::kUnknown:
          LC_DEBUG("unknown event type '{}' ignored", event->event_type);
          next();
          return;
      }
    });
  }

  // lambda-agent.md §6.5: step 1 (shutdowns, unused_init, the held invocation), step 2 (the
  // telemetry listener stays open for the reports still due), then stop receiving and the final
  // flush by D = deadlineMs − margin, then exit 0 before deadlineMs.
  void shutdown(const lambda::ExtensionEvent& event) {
    flow_->stop();
    const std::int64_t t_s = clock_.wall_ms();
    const Millis to_d =
        final_flush_budget(event.deadline_ms, t_s, config_.lambda.shutdown_margin_ms);
    const Deadline final_deadline = Deadline::after(clock_, to_d);
    invocations_->on_extension_event(event);
    const Millis wait = shutdown_report_wait(to_d);
    LC_DEBUG("shutdown ({}): waiting up to {} ms for {} report(s), final flush within {} ms",
             event.shutdown_reason, wait.count(), invocations_->awaiting_reports(), to_d.count());
    wait_for_reports(Deadline::after(clock_, wait), [this, final_deadline] {
      if (listeners_.local_api) listeners_.local_api->stop();
      pipeline_->final_flush(final_deadline, [this] {
        const std::string all = self_.summary();
        if (!all.empty()) LC_DEBUG("self-metrics at exit: {}", all);
        finish(0);
      });
    });
  }

  // §6.5 step 2: until every context that saw INVOKE has its report, then until no telemetry
  // batch arrived for 50 ms; `until` bounds the whole step. Polls on the loop, which also serves
  // the telemetry listener.
  void wait_for_reports(Deadline until, std::function<void()> then) {
    if (!telemetry_ || !subscribed_) {  // no report will come
      then();
      return;
    }
    wait_until_ = until;
    wait_then_ = std::move(then);
    wait_batches_ = telemetry_->batches();
    wait_quiet_since_ = clock_.steady_now();
    wait_tick();
  }

  void wait_tick() {
    const SteadyTime now = clock_.steady_now();
    if (telemetry_->batches() != wait_batches_) {
      wait_batches_ = telemetry_->batches();
      wait_quiet_since_ = now;
    }
    const std::size_t missing = invocations_->awaiting_reports();
    const bool quiet = now - wait_quiet_since_ >= kTrailingQuiet;
    if (!wait_until_.expired(clock_) && (missing > 0 || !quiet)) {
      wait_timer_ = loop_.schedule_after(kWaitTick, [this] { wait_tick(); });
      return;
    }
    if (missing > 0) LC_DEBUG("shutdown: {} report(s) still missing after the wait", missing);
    auto then = std::move(wait_then_);
    wait_then_ = nullptr;
    then();
  }

  void finish(int code) {
    exit_code_ = code;
    loop_.stop();
  }

  std::string name_;
  FinalConfig config_;
  SystemClock clock_;
  EventLoop loop_;
  SelfMetrics self_;
  Listeners listeners_;
  SystemProcReader proc_{"/proc"};
  SystemProcReader etc_{"/etc"};  // /etc/os-release, the runtime tag's fallback
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<lambda::LambdaTags> lambda_tags_;
  std::unique_ptr<lambda::InvocationProcessor> invocations_;
  std::unique_ptr<lambda::OomDetector> oom_;               // fed by invocations_, emits through it
  std::unique_ptr<lambda::UsageMetrics> usage_;            // driven by invocations_
  std::unique_ptr<lambda::TelemetryLogs> telemetry_logs_;  // null when logs are off
  std::unique_ptr<lambda::FlushControl> flush_control_;
  std::int64_t last_full_flush_ms_ = 0;   // wall ms of the last flush that took every bucket
  std::unique_ptr<InvocationFlow> flow_;  // §6.3 sequencing: the flushes around /next
  SelfMetrics::Counter oom_late_;         // lastcall.lambda.oom_late, registered in run()
  bool subscribed_ = false;               // the Telemetry API accepted the subscription
  // §6.5 step 2 state.
  Deadline wait_until_;
  std::function<void()> wait_then_;
  std::uint64_t wait_batches_ = 0;
  SteadyTime wait_quiet_since_;
  Timer wait_timer_;
  std::unique_ptr<net::HttpServer> telemetry_server_;
  std::unique_ptr<lambda::LocalApi> local_api_;
  std::unique_ptr<lambda::TelemetryListener> telemetry_;
  std::unique_ptr<net::HttpClient> runtime_http_;
  std::unique_ptr<lambda::ExtensionsClient> client_;
  int exit_code_ = 0;
};

}  // namespace

Millis shutdown_report_wait(Millis to_d) {
  const Millis bound = std::min(kShutdownReportWait, to_d - kShutdownFlushReserve);
  return bound < Millis(0) ? Millis(0) : bound;
}

Millis final_flush_budget(std::int64_t deadline_ms, std::int64_t t_s, std::int64_t margin_ms) {
  constexpr std::int64_t kFallbackMs = 1500;
  constexpr std::int64_t kFarMs = 10000;
  if (deadline_ms <= 0 || deadline_ms <= t_s || deadline_ms - t_s > kFarMs) {
    LC_WARN("shutdown: deadlineMs {} is {}; final flush bounded to {} ms", deadline_ms,
            deadline_ms <= 0     ? "missing"
            : deadline_ms <= t_s ? "in the past"
                                 : "more than 10 s away",
            kFallbackMs);
    return Millis(kFallbackMs);
  }
  const std::int64_t left = deadline_ms - margin_ms - t_s;
  return Millis(left < 0 ? 0 : left);
}

int run_extension(const std::string& name, const Environment& env) {
  auto config = start_mode(env, Mode::kExtension);
  if (!config) return 1;
  LC_DEBUG("lastcall {} starting in extension mode{} as {}", kVersion,
           config->lambda.lmi ? " (lmi)" : "", name);
  ExtensionApp app(name, std::move(config).value());
  return app.run();
}

}  // namespace lc::app
