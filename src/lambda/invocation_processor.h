// lambda/invocation_processor.h — the invocation processor (lambda-agent.md §2, §3.1–3.4, §4.5):
// per-request contexts keyed by requestId, fed by INVOKE/SHUTDOWN from /next and by the typed
// telemetry events, emitting the enhanced metrics (aws.lambda.enhanced.*) through a MetricSink.
// Called on the loop thread by the extension composition root; owns its contexts (a bounded
// buffer, lambda/context_buffer.h). Base tags are not its business: the aggregator it feeds reads
// the enhanced-metrics tag set at flush; it adds only the dynamic tags of §2.4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/metric_sink.h"
#include "core/self_metrics.h"
#include "lambda/context_buffer.h"
#include "lambda/extension_events.h"
#include "lambda/oom_detector.h"
#include "lambda/telemetry.h"
#include "lambda/tracer_calls.h"
#include "lambda/usage_metrics.h"

namespace lc::lambda {

struct InvocationProcessorOptions {
  bool enhanced_metrics = true;  // DD_ENHANCED_METRICS: false → no aws.lambda.enhanced.* at all
  bool lmi = false;              // lifecycle from platform.start / platform.report only
  std::string architecture = "x86_64";  // run-time uname (§3.4): "arm64" or "x86_64"
  // LASTCALL_PRICE_PER_GB_SECOND / LASTCALL_PRICE_PER_REQUEST; nullopt: the §3.4 table.
  std::optional<double> price_per_gb_second;
  std::optional<double> price_per_request;
  std::size_t capacity = ContextBuffer::kDefaultCapacity;
  // Extension start (epoch ms): the reference of proactive initialization (§2.4). 0 = the clock
  // when the processor is built.
  std::int64_t start_ms = 0;
  // AWS_LAMBDA_INITIALIZATION_TYPE: the init_type of init_duration when it comes from a report
  // (the initReport's own initializationType wins).
  std::string init_type;
};

// lambda-agent.md §3.4, rounded to 12 decimals.
double estimated_cost_usd(double billed_duration_ms, double memory_size_mb,
                          std::string_view architecture, std::optional<double> price_per_gb_second,
                          std::optional<double> price_per_request);

class InvocationProcessor {
 public:
  static constexpr std::string_view kPrefix = "aws.lambda.enhanced.";
  // More than this between start (or restoreStart) and the first INVOKE: proactive init (§2.4).
  static constexpr std::int64_t kProactiveInitMs = 10000;
  // On-demand, a context whose tracer called start-invocation stays open after its report until
  // its end-invocation, at most this long (§2.2).
  static constexpr std::int64_t kTracerEndWaitMs = 5000;

  InvocationProcessor(InvocationProcessorOptions options, MetricSink& sink, const Clock& clock,
                      SelfMetrics& self);

  // --- inputs ------------------------------------------------------------------------------
  // An event from /next: INVOKE (on-demand) or SHUTDOWN; unknown events are ignored.
  void on_extension_event(const ExtensionEvent& event);
  void on_invoke(std::string_view request_id, std::int64_t deadline_ms);
  // §6.5 step 1: shutdowns, unused_init (no invocation seen), the held invocations point.
  // Idempotent.
  void on_shutdown();
  // SHUTDOWN `timeout` (on-demand): the running invocation without runtimeDone/report timed out.
  void on_shutdown_timeout();
  // Every telemetry event (platform.*, function, extension).
  void on_telemetry(const TelemetryEvent& event);
  // Error evidence from outside the telemetry (end-invocation error header, 5xx statusCode):
  // one `errors` point per invocation whatever the number of sources (§3.2).
  void on_invocation_error(std::string_view request_id, std::int64_t time_ms);
  // A flush decision (§3.2 note a): the held first `invocations` point goes out now.
  void release_held_invocation();

  // --- the tracer's 8124 calls (lambda-agent.md §7.1; LocalApi calls these on the loop thread) --
  // `header_id` is the call's lambda-runtime-aws-request-id header, empty when absent.
  // Pairing: with the header, the call belongs to that id (a start may come before its INVOKE: it
  // makes the context, INVOKE fills it in later). Without it, on-demand (at most one invocation
  // is active) a start pairs FIFO with INVOKE: the last INVOKEd invocation not yet claimed and
  // still running, else the next INVOKE (the start is parked until then; a second parked start
  // replaces the first, counted dropped{kind:local_api, reason:unpaired}); an end pairs with the
  // invocation of the last start, else with a parked start, else with the last INVOKE still
  // running. In LMI an id-less call is accepted and not paired (one warning for the process).
  // On-demand a context with a start stays open after its report until its end, at most
  // kTracerEndWaitMs (§2.2). info.time_ms 0 = now. Returns the id the call was paired with;
  // empty when none (yet: a parked start and an end that joined it go on at the next INVOKE).
  std::string on_start_invocation(std::string_view header_id, StartInvocation info);
  // End-invocation: error evidence (info.is_error()) goes to on_invocation_error for the paired
  // id; the start (when paired) and the end go on to the tracer sink, once per invocation (a
  // repeated end while the context is open is ignored; an end for a released id goes on without
  // its start and counts no error).
  std::string on_end_invocation(std::string_view header_id, EndInvocation info);
  // Receives each TracerInvocation at its end-invocation (also an unpaired one, request_id
  // empty). The traces work builds the aws.lambda span from it; unset: nothing more is done.
  using TracerSink = std::function<void(TracerInvocation&& invocation)>;
  void on_tracer_invocation(TracerSink sink) { tracer_sink_ = std::move(sink); }

  // --- the OOM detector's way out (lambda/oom_detector.h emits through this) ---------------
  enum class OomAttribution : std::uint8_t {
    kInvocation,   // the context is buffered: its dynamic tags
    kReleased,     // released after its report but still remembered: its dynamic tags
    kContextGone,  // a request id whose context is gone: base tags only (lastcall.lambda.oom_late)
    kSandbox,      // empty request id: a sandbox-level point
  };
  // One aws.lambda.enhanced.out_of_memory point for `request_id` (empty = sandbox level) at
  // time_ms (epoch ms; 0 = now). Deduplication is the detector's (§4.3).
  // `init_crash`: the on-demand sandbox-level point of an OOM before the first INVOKE, tagged
  // cold_start:true (§4.3).
  OomAttribution emit_out_of_memory(std::string_view request_id, std::int64_t time_ms,
                                    bool init_crash = false);
  // The OOM detector (lambda-agent.md §4) this processor feeds with what it parses: INVOKE, log
  // records, runtimeDone, report, SHUTDOWN. Its hits come back through emit_out_of_memory (the
  // composition root connects both). Outlives this processor; null: no OOM detection.
  void attach_oom_detector(OomDetector* detector) { oom_ = detector; }
  // The /proc usage metrics (§3.2) this processor drives: started at INVOKE (LMI: platform.start),
  // emitted at runtimeDone and report with the invocation's tags, totals at SHUTDOWN. Outlives
  // this processor; null: none.
  void attach_usage_metrics(UsageMetrics* usage);

  // --- state for the final flush (§6.5 step 2) ---------------------------------------------
  // Contexts that saw INVOKE and whose report was not processed yet.
  std::size_t awaiting_reports() const;
  // Invocations this process has seen (INVOKE, or platform.start in LMI).
  std::uint64_t invocations_seen() const { return invocations_seen_; }
  std::size_t open_contexts() const { return buffer_.size(); }
  bool durable_function() const { return durable_; }
  std::string describe() const;

 private:
  // lambda-agent.md §7.1: in LMI a tracer call without the request-id header is not paired;
  // said once.
  void warn_unpaired_once();
  void on_init_start(const TelemetryEvent& event);
  void on_init_report(const TelemetryEvent& event);
  void on_restore_start(const TelemetryEvent& event);
  void on_restore_report(const TelemetryEvent& event);
  void on_start(const TelemetryEvent& event);
  void on_runtime_done(const TelemetryEvent& event);
  void on_report(const TelemetryEvent& event);

  // The open context of `id`, made when there is none; nullptr when `id` was already reported
  // (a duplicate delivery or a late event: nothing is emitted twice).
  InvocationContext* context_for(std::string_view id);
  // §2.4: the first invocation of the process (or after a restore) is the cold start.
  void assign_cold_start(InvocationContext& ctx, std::int64_t invoke_ms);
  void count_invocation(InvocationContext& ctx, std::int64_t time_ms);
  void status_metrics(InvocationContext& ctx, std::string_view status, std::int64_t time_ms);
  // response_latency / response_duration from `spans`; returns their sum when both exist.
  std::optional<double> span_metrics(const InvocationContext& ctx,
                                     const boost::json::object& record, std::int64_t time_ms);
  void emit_init_duration(double duration_ms, std::string_view init_type, std::int64_t time_ms);

  // The dynamic tags of an invocation's points (cold_start, proactive_initialization,
  // durable_function); nullptr for a sandbox-level point.
  std::vector<std::string> dynamic_tags(const DynamicTags* invocation) const;
  void emit(std::string_view name, double value, std::int64_t time_ms,
            std::vector<std::string> tags);
  std::int64_t event_ms(const TelemetryEvent& event) const;

  InvocationProcessorOptions options_;
  MetricSink& sink_;
  const Clock& clock_;
  ContextBuffer buffer_;
  OomDetector* oom_ = nullptr;
  UsageMetrics* usage_ = nullptr;
  // Calls f(tags as views) with the dynamic tags of `tags` (null: sandbox-level).
  template <typename F>
  void with_tag_views(const DynamicTags* tags, F&& f) const;
  SelfMetrics::Counter orphans_;  // events without a usable requestId

  bool first_pending_ = true;  // the next invocation is the first of the process (or restore)
  std::int64_t first_ref_ms_ = 0;
  bool durable_ = false;
  bool init_start_seen_ = false;
  bool init_duration_sent_ = false;
  bool shutdown_seen_ = false;
  std::uint64_t invocations_seen_ = 0;
  // §3.2 note (a): the first invocation's point, held until initStart is known.
  struct Held {
    std::string request_id;
    std::int64_t time_ms = 0;
    DynamicTags tags;
  };
  std::optional<Held> held_;
  // Tracer calls without the request-id header, on-demand (on_start_invocation).
  void pair_parked_start(InvocationContext& ctx);
  bool running(std::string_view id);
  void unpaired_end(EndInvocation info);
  TracerSink tracer_sink_;
  std::string unclaimed_invoke_;  // the last INVOKE no id-less start claimed yet
  std::string tracer_active_;     // the invocation of the last start whose end has not come
  struct ParkedStart {
    StartInvocation start;
    std::optional<EndInvocation> end;  // an id-less end that came before the INVOKE as well
  };
  std::optional<ParkedStart> parked_start_;  // an id-less start that came before its INVOKE
  bool lmi_unpaired_warned_ = false;
  // Reported contexts held for their end-invocation (§2.2), oldest first; swept at INVOKE and
  // report.
  struct AwaitingEnd {
    std::string request_id;
    std::int64_t release_at_ms = 0;
  };
  std::deque<AwaitingEnd> awaiting_end_;
  void release_waits_over();
  SelfMetrics& self_;
  std::string name_buf_;  // "aws.lambda.enhanced." + name, reused
};

}  // namespace lc::lambda
