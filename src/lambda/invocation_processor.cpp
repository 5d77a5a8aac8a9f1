#include "lambda/invocation_processor.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "core/json.h"
#include "core/logger.h"
#include "core/tags.h"

namespace lc::lambda {
namespace {

namespace bj = boost::json;

// §3.4 table.
constexpr double kRequestPrice = 0.0000002;
constexpr double kGbSecondX86 = 0.0000166667;
constexpr double kGbSecondArm = 0.0000133334;

std::optional<std::string_view> request_id_of(const bj::object& record) {
  auto id = json::string_member(record, "requestId");
  if (!id || id->empty()) return std::nullopt;
  return id;
}

std::optional<double> metric_of(const bj::object& record, std::string_view key) {
  const bj::object* metrics = json::object_member(record, "metrics");
  if (metrics == nullptr) return std::nullopt;
  auto v = json::double_member(*metrics, key);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

// status ∈ {error, failure, timeout}: the invocation failed (§3.2 errors).
bool is_error_status(std::string_view status) {
  return status == "error" || status == "failure" || status == "timeout";
}

}  // namespace

double estimated_cost_usd(double billed_duration_ms, double memory_size_mb,
                          std::string_view architecture, std::optional<double> price_per_gb_second,
                          std::optional<double> price_per_request) {
  const double per_gb_s =
      price_per_gb_second.value_or(architecture == "arm64" ? kGbSecondArm : kGbSecondX86);
  const double per_request = price_per_request.value_or(kRequestPrice);
  const double gb_seconds = (billed_duration_ms / 1000.0) * (memory_size_mb / 1024.0);
  const double cost = per_request + gb_seconds * per_gb_s;
  return std::round(cost * 1e12) / 1e12;
}

InvocationProcessor::InvocationProcessor(InvocationProcessorOptions options, MetricSink& sink,
                                         const Clock& clock, SelfMetrics& self)
    : options_(std::move(options)),
      sink_(sink),
      clock_(clock),
      buffer_(options_.capacity, clock, self),
      orphans_(self.counter("lastcall.lambda.orphan_events")),
      first_ref_ms_(options_.start_ms != 0 ? options_.start_ms : clock.wall_ms()),
      self_(self) {}

void InvocationProcessor::attach_usage_metrics(UsageMetrics* usage) {
  usage_ = usage;
  // An evicted context never gets its report: its snapshot stops counting as active.
  buffer_.on_evict([this](InvocationContext& ctx) {
    if (usage_ != nullptr && ctx.usage.started) usage_->discard(ctx.usage);
  });
}

// --- /next ------------------------------------------------------------------------------------

void InvocationProcessor::on_extension_event(const ExtensionEvent& event) {
  switch (event.type) {
    case ExtensionEvent::Type::kInvoke:
      on_invoke(event.request_id, event.deadline_ms);
      return;
    case ExtensionEvent::Type::kShutdown:
      if (event.shutdown_reason == "timeout") on_shutdown_timeout();
      on_shutdown();
      return;
    case ExtensionEvent::Type::kUnknown:
      return;
  }
}

void InvocationProcessor::on_invoke(std::string_view request_id, std::int64_t deadline_ms) {
  if (request_id.empty()) {
    orphans_.add();
    LC_DEBUG("invocations: INVOKE without requestId ignored");
    return;
  }
  if (oom_ != nullptr) oom_->on_invoke(request_id);
  release_waits_over();
  InvocationContext* found = context_for(request_id);
  if (found == nullptr) return;  // a repeat for an invocation already reported
  InvocationContext& ctx = *found;
  if (ctx.invoke_seen) return;
  const std::int64_t now = clock_.wall_ms();
  ctx.invoke_seen = true;
  ctx.invoke_ms = now;
  if (usage_ != nullptr && !options_.lmi && !ctx.usage.started) {
    ctx.usage = usage_->invocation_started();
  }
  if (deadline_ms > 0) ctx.deadline_ms = deadline_ms;
  assign_cold_start(ctx, now);
  // On-demand the invocation is counted from INVOKE (§3.2).
  if (!options_.lmi) count_invocation(ctx, now);
  // §7.1: an id-less tracer start pairs FIFO with INVOKE.
  // A start already paired by its header leaves nothing to claim.
  if (!options_.lmi && !ctx.tracer_start) {
    if (parked_start_) {
      pair_parked_start(ctx);
    } else {
      unclaimed_invoke_.assign(request_id);
    }
  }
}

void InvocationProcessor::on_shutdown() {
  if (shutdown_seen_) return;
  shutdown_seen_ = true;
  const std::int64_t now = clock_.wall_ms();
  if (oom_ != nullptr) oom_->on_shutdown();  // §6.5 step 1: parked LMI hits resolved now
  if (usage_ != nullptr) {
    with_tag_views(nullptr, [&](PointTags tags) { usage_->shutdown(now / 1000, tags); });
  }
  release_held_invocation();
  emit("shutdowns", 1, now, dynamic_tags(nullptr));
  if (invocations_seen_ == 0) emit("unused_init", 1, now, dynamic_tags(nullptr));
}

// lambda-platform.md §3.5: SHUTDOWN `timeout` names the request whose deadline passed, the last
// one INVOKEd on-demand. Without its runtimeDone and report it is counted as a timeout here; one
// arriving later finds errors/timeouts already sent (once per invocation, §3.2).
void InvocationProcessor::on_shutdown_timeout() {
  if (options_.lmi || shutdown_seen_) return;
  std::string running;
  std::int64_t latest = 0;
  buffer_.for_each([&](const InvocationContext& c) {
    if (c.invoke_seen && !c.runtime_done_seen && !c.report_seen && c.invoke_ms >= latest) {
      latest = c.invoke_ms;
      running = c.request_id;
    }
  });
  if (running.empty()) return;
  InvocationContext* ctx = context_for(running);
  if (ctx != nullptr) status_metrics(*ctx, "timeout", clock_.wall_ms());
}

void InvocationProcessor::on_invocation_error(std::string_view request_id, std::int64_t time_ms) {
  if (request_id.empty()) return;
  InvocationContext* found = context_for(request_id);
  if (found == nullptr) return;  // a repeat for an invocation already reported
  InvocationContext& ctx = *found;
  if (ctx.error_sent) return;
  ctx.error_sent = true;
  emit("errors", 1, time_ms != 0 ? time_ms : clock_.wall_ms(), dynamic_tags(&ctx.tags));
}

// --- tracer calls (§7.1) ----------------------------------------------------------------------

bool InvocationProcessor::running(std::string_view id) {
  if (id.empty()) return false;
  const InvocationContext* ctx = buffer_.find(id);
  return ctx != nullptr && !ctx->runtime_done_seen && !ctx->report_seen;
}

void InvocationProcessor::warn_unpaired_once() {
  if (lmi_unpaired_warned_) return;
  lmi_unpaired_warned_ = true;
  LC_WARN("tracer does not send lambda-runtime-aws-request-id; cannot pair under concurrency");
}

std::string InvocationProcessor::on_start_invocation(std::string_view header_id,
                                                     StartInvocation info) {
  if (info.time_ms == 0) info.time_ms = clock_.wall_ms();
  std::string id(header_id);
  if (id.empty()) {
    if (options_.lmi) {
      warn_unpaired_once();
      return {};
    }
    if (!running(unclaimed_invoke_)) {
      // Its INVOKE is not processed yet: the next one claims this start.
      unclaimed_invoke_.clear();
      if (parked_start_) {
        self_.dropped("local_api", "unpaired");
        LC_DEBUG("local api: an id-less start-invocation never paired; replaced by a newer one");
      }
      parked_start_ = ParkedStart{std::move(info), std::nullopt};
      tracer_active_.clear();
      return {};
    }
    id = std::exchange(unclaimed_invoke_, std::string());
  } else if (id == unclaimed_invoke_) {
    unclaimed_invoke_.clear();
  }
  InvocationContext* ctx = context_for(id);
  if (ctx == nullptr) return {};  // already reported: nothing to pair with
  ctx->tracer_start = std::move(info);
  ctx->tracer_end_seen = false;
  if (!options_.lmi) tracer_active_ = id;
  return id;
}

void InvocationProcessor::pair_parked_start(InvocationContext& ctx) {
  ParkedStart parked = std::move(*parked_start_);
  parked_start_.reset();
  ctx.tracer_start = std::move(parked.start);
  tracer_active_ = ctx.request_id;
  if (parked.end) on_end_invocation(ctx.request_id, std::move(*parked.end));
}

std::string InvocationProcessor::on_end_invocation(std::string_view header_id, EndInvocation info) {
  if (info.time_ms == 0) info.time_ms = clock_.wall_ms();
  std::string id(header_id);
  if (id.empty()) {
    if (options_.lmi) {
      warn_unpaired_once();
      unpaired_end(std::move(info));
      return {};
    }
    if (!tracer_active_.empty()) {
      id = std::exchange(tracer_active_, std::string());
    } else if (parked_start_ && !parked_start_->end) {
      parked_start_->end = std::move(info);  // handed on when the INVOKE pairs the start
      return {};
    } else if (running(unclaimed_invoke_)) {
      id = std::exchange(unclaimed_invoke_, std::string());
    } else {
      LC_DEBUG("local api: id-less end-invocation with no invocation to pair with");
      unpaired_end(std::move(info));
      return {};
    }
  } else if (id == tracer_active_) {
    tracer_active_.clear();
  }
  TracerInvocation done;
  done.request_id = id;
  if (InvocationContext* ctx = context_for(id)) {
    if (ctx->tracer_end_seen) return id;  // a repeated end: its evidence was used once
    ctx->tracer_end_seen = true;
    done.start = std::move(ctx->tracer_start);
    ctx->tracer_start.reset();
  }
  if (info.is_error()) on_invocation_error(id, info.time_ms);
  // §2.2: a context held past its report for this end-invocation is released now.
  if (const InvocationContext* ctx = buffer_.find(id); ctx != nullptr && ctx->report_seen) {
    buffer_.release(id);
  }
  done.end = std::move(info);
  if (tracer_sink_) tracer_sink_(std::move(done));
  return id;
}

void InvocationProcessor::unpaired_end(EndInvocation info) {
  if (!tracer_sink_) return;
  TracerInvocation done;
  done.end = std::move(info);
  tracer_sink_(std::move(done));
}

void InvocationProcessor::release_held_invocation() {
  if (!held_) return;
  Held held = std::move(*held_);
  held_.reset();
  emit("invocations", 1, held.time_ms, dynamic_tags(&held.tags));
}

// --- telemetry --------------------------------------------------------------------------------

void InvocationProcessor::on_telemetry(const TelemetryEvent& event) {
  switch (event.type) {
    case TelemetryType::kInitStart:
      on_init_start(event);
      return;
    case TelemetryType::kInitReport:
      on_init_report(event);
      return;
    case TelemetryType::kRestoreStart:
      on_restore_start(event);
      return;
    case TelemetryType::kRestoreReport:
      on_restore_report(event);
      return;
    case TelemetryType::kStart:
      on_start(event);
      return;
    case TelemetryType::kRuntimeDone:
      on_runtime_done(event);
      return;
    case TelemetryType::kReport:
      on_report(event);
      return;
    // Log records carry no metric of this processor: the OOM detector reads them (P1). It is
    // fed before anything could make a context for their request id.
    case TelemetryType::kFunction:
    case TelemetryType::kExtension:
      if (oom_ != nullptr) oom_->on_record(event);
      return;
    // The other platform events change nothing here.
    default:
      return;
  }
}

void InvocationProcessor::on_init_start(const TelemetryEvent& event) {
  init_start_seen_ = true;
  if (const auto* record = event.record_object()) {
    auto version = json::string_member(*record, "runtimeVersion");
    if (version && version->find("DurableFunction") != std::string_view::npos) durable_ = true;
  }
  // §3.2 note (a): durable_function is known now.
  release_held_invocation();
}

void InvocationProcessor::on_init_report(const TelemetryEvent& event) {
  const auto* record = event.record_object();
  if (record == nullptr) return;
  auto duration = metric_of(*record, "durationMs");
  if (!duration) return;
  auto type = json::string_member(*record, "initializationType");
  emit_init_duration(*duration, type && !type->empty() ? *type : options_.init_type,
                     event_ms(event));
}

void InvocationProcessor::on_restore_start(const TelemetryEvent& event) {
  // §2.4: after a SnapStart restore the next invocation is the first again, and proactive init
  // counts from the restore.
  first_pending_ = true;
  first_ref_ms_ = event_ms(event);
}

void InvocationProcessor::on_restore_report(const TelemetryEvent& event) {
  if (options_.lmi) return;
  const auto* record = event.record_object();
  if (record == nullptr) return;
  if (auto duration = metric_of(*record, "durationMs")) {
    emit("snapstart_restore_duration", *duration / 1000.0, event_ms(event), dynamic_tags(nullptr));
  }
}

void InvocationProcessor::on_start(const TelemetryEvent& event) {
  const auto* record = event.record_object();
  auto id = record != nullptr ? request_id_of(*record) : std::nullopt;
  if (!id) {
    orphans_.add();
    return;
  }
  InvocationContext* found = context_for(*id);
  if (found == nullptr) return;  // a repeat for an invocation already reported
  InvocationContext& ctx = *found;
  if (ctx.start_seen) return;
  ctx.start_seen = true;
  const std::int64_t t = event_ms(event);
  if (ctx.invoke_ms == 0) ctx.invoke_ms = t;
  if (usage_ != nullptr && options_.lmi && !ctx.usage.started) {
    ctx.usage = usage_->invocation_started();
  }
  // On-demand, platform.start may come before the INVOKE it belongs to (lambda-platform.md §4.6).
  assign_cold_start(ctx, t);
  if (options_.lmi) count_invocation(ctx, t);
}

void InvocationProcessor::on_runtime_done(const TelemetryEvent& event) {
  const auto* record = event.record_object();
  auto id = record != nullptr ? request_id_of(*record) : std::nullopt;
  if (!id) {
    orphans_.add();
    return;
  }
  if (oom_ != nullptr) {  // P2 (§4.1); the detector deduplicates repeats itself
    oom_->on_runtime_done(*id, json::string_member(*record, "status").value_or(""),
                          json::string_member(*record, "errorType").value_or(""), event_ms(event));
  }
  InvocationContext* found = context_for(*id);
  if (found == nullptr) return;  // a repeat for an invocation already reported
  InvocationContext& ctx = *found;
  if (ctx.runtime_done_seen) return;  // duplicate delivery
  ctx.runtime_done_seen = true;
  const std::int64_t t = event_ms(event);
  if (usage_ != nullptr && ctx.usage.started) {
    with_tag_views(&ctx.tags,
                   [&](PointTags tags) { usage_->runtime_done(ctx.usage, t / 1000, tags); });
  }
  const auto status = json::string_member(*record, "status").value_or("");
  auto duration = metric_of(*record, "durationMs");
  if (duration) ctx.runtime_duration_ms = *duration;
  status_metrics(ctx, status, t);
  if (!ctx.runtime_metrics_sent) {
    ctx.runtime_metrics_sent = true;
    if (duration) emit("runtime_duration", *duration, t, dynamic_tags(&ctx.tags));
    span_metrics(ctx, *record, t);
    if (auto bytes = metric_of(*record, "producedBytes")) {
      emit("produced_bytes", *bytes, t, dynamic_tags(&ctx.tags));
    }
  }
  if (held_ && held_->request_id == ctx.request_id) release_held_invocation();
}

void InvocationProcessor::on_report(const TelemetryEvent& event) {
  const auto* record = event.record_object();
  auto id = record != nullptr ? request_id_of(*record) : std::nullopt;
  if (!id) {
    orphans_.add();
    return;
  }
  if (oom_ != nullptr) {  // P2 without runtimeDone, P3 (§4.1)
    auto mb = [&](std::string_view key) -> std::optional<std::int64_t> {
      auto v = metric_of(*record, key);
      if (!v) return std::nullopt;
      return static_cast<std::int64_t>(*v);
    };
    oom_->on_report(*id, json::string_member(*record, "status").value_or(""),
                    json::string_member(*record, "errorType").value_or(""), mb("maxMemoryUsedMB"),
                    mb("memorySizeMB"), event_ms(event));
  }
  release_waits_over();
  // No platform.start / INVOKE before it (lost batch): the report makes the context (§2.3).
  InvocationContext* found = context_for(*id);
  if (found == nullptr) return;  // a repeat for an invocation already reported
  InvocationContext& ctx = *found;
  if (ctx.report_seen) return;
  ctx.report_seen = true;
  const std::int64_t t = event_ms(event);
  const auto tags = [&] { return dynamic_tags(&ctx.tags); };

  // LMI counts from the report when platform.start was lost.
  if (options_.lmi && !ctx.invocations_sent) count_invocation(ctx, t);
  // Without runtimeDone (LMI, crash), what it would have given comes from the report (§2.3).
  if (!ctx.runtime_done_seen) {
    status_metrics(ctx, json::string_member(*record, "status").value_or(""), t);
    if (!ctx.runtime_metrics_sent) {
      ctx.runtime_metrics_sent = true;
      auto spans = span_metrics(ctx, *record, t);
      auto runtime = spans;
      if (!runtime && options_.lmi) runtime = metric_of(*record, "durationMs");
      if (runtime) emit("runtime_duration", *runtime, t, tags());
    }
  }
  if (!ctx.report_metrics_sent) {
    ctx.report_metrics_sent = true;
    auto duration = metric_of(*record, "durationMs");
    if (duration) emit("duration", *duration / 1000.0, t, tags());
    // LMI reports carry only durationMs: nothing else is synthesized (§3.2).
    if (!options_.lmi) {
      auto billed = metric_of(*record, "billedDurationMs");
      auto memory = metric_of(*record, "memorySizeMB");
      auto used = metric_of(*record, "maxMemoryUsedMB");
      if (billed) emit("billed_duration", *billed / 1000.0, t, tags());
      if (used) emit("max_memory_used", *used, t, tags());
      if (memory) emit("memorysize", *memory, t, tags());
      if (billed && memory) {
        emit("estimated_cost",
             estimated_cost_usd(*billed, *memory, options_.architecture,
                                options_.price_per_gb_second, options_.price_per_request),
             t, tags());
      }
      if (duration && ctx.runtime_duration_ms) {
        emit("post_runtime_duration", std::max(0.0, *duration - *ctx.runtime_duration_ms), t,
             tags());
      }
    }
    if (auto init = metric_of(*record, "initDurationMs")) {
      emit_init_duration(*init, options_.init_type, t);
    }
  }
  if (usage_ != nullptr && ctx.usage.started) {
    with_tag_views(&ctx.tags, [&](PointTags tags) { usage_->report(ctx.usage, t / 1000, tags); });
  }
  if (held_ && held_->request_id == ctx.request_id) release_held_invocation();
  if (ctx.tracer_start && !options_.lmi) {
    // §2.2 (on-demand): a tracer called start-invocation: released at its end-invocation, or 5 s
    // from now.
    awaiting_end_.push_back(AwaitingEnd{ctx.request_id, clock_.wall_ms() + kTracerEndWaitMs});
    return;
  }
  buffer_.release(ctx.request_id);
}

void InvocationProcessor::release_waits_over() {
  const std::int64_t now = clock_.wall_ms();
  while (!awaiting_end_.empty() && awaiting_end_.front().release_at_ms <= now) {
    const std::string id = std::move(awaiting_end_.front().request_id);
    awaiting_end_.pop_front();
    const InvocationContext* ctx = buffer_.find(id);
    if (ctx != nullptr && ctx->report_seen) {
      LC_DEBUG("invocations: {} released without its end-invocation", id);
      buffer_.release(id);
    }
  }
}

InvocationContext* InvocationProcessor::context_for(std::string_view id) {
  if (auto* open = buffer_.find(id)) return open;
  std::optional<DynamicTags> remembered;
  if (const auto* gone = buffer_.released(id)) {
    if (gone->done) return nullptr;
    remembered = gone->tags;  // evicted before its report: it keeps its tags
  }
  InvocationContext& ctx = buffer_.get_or_create(id);
  if (remembered) ctx.tags = *remembered;
  return &ctx;
}

// --- OOM --------------------------------------------------------------------------------------

InvocationProcessor::OomAttribution InvocationProcessor::emit_out_of_memory(
    std::string_view request_id, std::int64_t time_ms, bool init_crash) {
  const std::int64_t t = time_ms != 0 ? time_ms : clock_.wall_ms();
  if (request_id.empty()) {
    auto tags = dynamic_tags(nullptr);
    if (init_crash) tags.emplace_back("cold_start:true");
    emit("out_of_memory", 1, t, std::move(tags));
    return OomAttribution::kSandbox;
  }
  if (const auto* ctx = buffer_.find(request_id)) {
    emit("out_of_memory", 1, t, dynamic_tags(&ctx->tags));
    return OomAttribution::kInvocation;
  }
  if (const auto* gone = buffer_.released(request_id)) {
    emit("out_of_memory", 1, t, dynamic_tags(&gone->tags));
    return gone->done ? OomAttribution::kReleased : OomAttribution::kContextGone;
  }
  emit("out_of_memory", 1, t, dynamic_tags(nullptr));
  return OomAttribution::kContextGone;
}

// --- helpers ----------------------------------------------------------------------------------

void InvocationProcessor::assign_cold_start(InvocationContext& ctx, std::int64_t invoke_ms) {
  if (ctx.tags.assigned) return;
  if (!first_pending_) {
    // An invocation after the first: warm, unless LMI (no cold-start tags at all).
    ctx.tags.assigned = !options_.lmi;
    return;
  }
  first_pending_ = false;
  if (options_.lmi) return;  // §2.4: LMI attaches neither tag
  ctx.tags.assigned = true;
  ctx.tags.proactive_init = invoke_ms - first_ref_ms_ > kProactiveInitMs;
  ctx.tags.cold_start = !ctx.tags.proactive_init;
}

void InvocationProcessor::count_invocation(InvocationContext& ctx, std::int64_t time_ms) {
  if (ctx.invocations_sent) return;
  ctx.invocations_sent = true;
  ++invocations_seen_;
  // §3.2 note (a): the first on-demand invocation waits for initStart (durable_function).
  if (!options_.lmi && invocations_seen_ == 1 && !init_start_seen_ && !shutdown_seen_) {
    held_ = Held{ctx.request_id, time_ms, ctx.tags};
    return;
  }
  emit("invocations", 1, time_ms, dynamic_tags(&ctx.tags));
}

void InvocationProcessor::status_metrics(InvocationContext& ctx, std::string_view status,
                                         std::int64_t time_ms) {
  if (is_error_status(status) && !ctx.error_sent) {
    ctx.error_sent = true;
    emit("errors", 1, time_ms, dynamic_tags(&ctx.tags));
  }
  // §4.5: a timeout is one errors and one timeouts point.
  if (status == "timeout" && !ctx.timeout_sent) {
    ctx.timeout_sent = true;
    emit("timeouts", 1, time_ms, dynamic_tags(&ctx.tags));
  }
}

std::optional<double> InvocationProcessor::span_metrics(const InvocationContext& ctx,
                                                        const bj::object& record,
                                                        std::int64_t time_ms) {
  const bj::array* spans = json::array_member(record, "spans");
  if (spans == nullptr) return std::nullopt;
  std::optional<double> latency, duration;
  for (const auto& span : *spans) {
    const auto* o = span.if_object();
    if (o == nullptr) continue;
    auto name = json::string_member(*o, "name");
    auto ms = json::double_member(*o, "durationMs");
    if (!name || !ms || !std::isfinite(*ms)) continue;
    if (*name == "responseLatency" && !latency) latency = *ms;
    if (*name == "responseDuration" && !duration) duration = *ms;
  }
  if (latency) emit("response_latency", *latency, time_ms, dynamic_tags(&ctx.tags));
  if (duration) emit("response_duration", *duration, time_ms, dynamic_tags(&ctx.tags));
  if (latency && duration) return *latency + *duration;
  return std::nullopt;
}

void InvocationProcessor::emit_init_duration(double duration_ms, std::string_view init_type,
                                             std::int64_t time_ms) {
  if (init_duration_sent_) return;
  init_duration_sent_ = true;
  auto tags = dynamic_tags(nullptr);
  if (!init_type.empty()) tags.push_back(fmt::format("init_type:{}", init_type));
  emit("init_duration", duration_ms / 1000.0, time_ms, std::move(tags));
}

template <typename F>
void InvocationProcessor::with_tag_views(const DynamicTags* tags, F&& f) const {
  const std::vector<std::string> owned = dynamic_tags(tags);
  std::vector<std::string_view> views(owned.begin(), owned.end());
  sort_unique_tags(views);
  f(PointTags(views));
}

std::vector<std::string> InvocationProcessor::dynamic_tags(const DynamicTags* invocation) const {
  std::vector<std::string> tags;
  if (invocation != nullptr && invocation->assigned) {
    tags.emplace_back(invocation->cold_start ? "cold_start:true" : "cold_start:false");
    // Never sent as false (§2.4).
    if (invocation->proactive_init) tags.emplace_back("proactive_initialization:true");
  }
  if (durable_) tags.emplace_back("durable_function:true");
  return tags;
}

void InvocationProcessor::emit(std::string_view name, double value, std::int64_t time_ms,
                               std::vector<std::string> tags) {
  if (!options_.enhanced_metrics) return;
  name_buf_.assign(kPrefix);
  name_buf_.append(name);
  std::vector<std::string_view> views(tags.begin(), tags.end());
  sort_unique_tags(views);
  const double values[1] = {value};
  MetricPoint point;
  point.name = name_buf_;
  point.type = MetricType::kDistribution;
  point.values = values;
  // §3.1: the event's own time, never the flush's.
  point.timestamp = time_ms / 1000;
  point.tags = views;
  sink_.add(point);
}

std::int64_t InvocationProcessor::event_ms(const TelemetryEvent& event) const {
  return event.time_ms.value_or(clock_.wall_ms());
}

std::size_t InvocationProcessor::awaiting_reports() const {
  std::size_t n = 0;
  buffer_.for_each([&n](const InvocationContext& c) {
    if (c.invoke_seen && !c.report_seen) ++n;
  });
  return n;
}

std::string InvocationProcessor::describe() const {
  return fmt::format(
      R"({{"enhanced_metrics":{},"lmi":{},"architecture":"{}","capacity":{},"price_per_gb_second":{},"price_per_request":{}}})",
      options_.enhanced_metrics, options_.lmi, options_.architecture, buffer_.capacity(),
      options_.price_per_gb_second ? fmt::format("{}", *options_.price_per_gb_second) : "null",
      options_.price_per_request ? fmt::format("{}", *options_.price_per_request) : "null");
}

}  // namespace lc::lambda
