// lambda/context_buffer.h — the per-invocation contexts of lambda-agent.md §2.2: a bounded buffer
// keyed by requestId in insertion order (the oldest is evicted when full, counted
// lastcall.lambda.context_evicted and, when it had no report yet, context_evicted_open), plus a
// short memory of released contexts so late or duplicate events for them emit nothing twice and
// late OOM evidence still gets the invocation's tags. Owned by the InvocationProcessor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "lambda/tracer_calls.h"
#include "lambda/usage_metrics.h"

namespace lc::lambda {

// What decides an invocation's dynamic tags (§2.4); durable_function is sandbox-wide.
struct DynamicTags {
  bool assigned = false;  // cold start decided (never in LMI)
  bool cold_start = false;
  bool proactive_init = false;
};

struct InvocationContext {
  std::string request_id;
  UsageSnapshot usage;          // the /proc counters when it started (usage_metrics.h)
  std::int64_t created_ms = 0;  // wall clock when the context was made
  bool invoke_seen = false, start_seen = false, runtime_done_seen = false, report_seen = false;
  std::int64_t invoke_ms = 0;    // INVOKE receipt (on-demand) or platform.start time (LMI)
  std::int64_t deadline_ms = 0;  // INVOKE deadlineMs (absolute epoch ms), 0 when unknown
  DynamicTags tags;
  std::optional<double> runtime_duration_ms;  // runtimeDone metrics.durationMs
  // Emission flags (§2.2): every handler is idempotent.
  bool invocations_sent = false, error_sent = false, timeout_sent = false;
  bool runtime_metrics_sent = false, report_metrics_sent = false;
  // The tracer's start-invocation (§7.1), kept until its end-invocation hands it on.
  std::optional<StartInvocation> tracer_start;
  bool tracer_end_seen = false;
};

class ContextBuffer {
 public:
  static constexpr std::size_t kDefaultCapacity = 500;  // bottlecap's
  static constexpr std::size_t kRecentCapacity = 256;   // released ids remembered

  ContextBuffer(std::size_t capacity, const Clock& clock, SelfMetrics& self);

  // The open context of `id`, nullptr when there is none.
  InvocationContext* find(std::string_view id);
  // The open context of `id`, created (evicting the oldest when full) when there is none.
  InvocationContext& get_or_create(std::string_view id);
  // Releases an open context after its report: it leaves the buffer and is remembered as done.
  void release(std::string_view id);
  // A context that left the buffer and is still remembered: released after its report (done)
  // or evicted before it.
  struct Released {
    std::string id;
    DynamicTags tags;
    bool done = false;
  };
  // The memory of `id`, nullptr when it is not remembered (or still open).
  const Released* released(std::string_view id) const;

  // Called with a context about to be evicted (its owner lets go of what it holds, e.g. the
  // usage metrics' snapshot).
  void on_evict(std::function<void(InvocationContext&)> f) { on_evict_ = std::move(f); }

  std::size_t size() const { return contexts_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::uint64_t evicted() const { return evicted_total_; }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& c : contexts_) f(c);
  }

 private:
  void evict_oldest();
  void remember(const InvocationContext& ctx);

  std::size_t capacity_;
  const Clock& clock_;
  std::function<void(InvocationContext&)> on_evict_;
  SelfMetrics::Counter evicted_, evicted_open_;
  std::uint64_t evicted_total_ = 0;
  std::list<InvocationContext> contexts_;  // oldest first
  std::unordered_map<std::string_view, std::list<InvocationContext>::iterator> index_;
  std::deque<Released> recent_;  // oldest first, at most kRecentCapacity
};

}  // namespace lc::lambda
