// app/self_report.h — what lastcall says about itself at each flush (serverless-init.md §9,
// lambda-agent.md §8.2): one WARN line with the drops since the previous flush (nothing when there
// were none), a debug line with the other `lastcall.*` counters that moved, and, with
// LASTCALL_SELF_METRICS=true, the same counters fed into a metrics aggregator as counts (the
// increase since the previous feed) and gauges, so they are encoded and sent like any series.
// Also keeps the gauges the forwarder's summary knows: retry-queue depth and the flush's duration.
// Used by a composition root on the loop thread; owns only its two cursors.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/clock.h"
#include "core/memory_budget.h"
#include "core/self_metrics.h"
#include "forward/forwarder.h"
#include "metrics/aggregator.h"

namespace lc::app {

class SelfReport {
 public:
  static constexpr std::string_view kFlushDurationMs = "lastcall.flush.duration_ms";
  static constexpr std::string_view kRetryQueuePayloads = "lastcall.forward.retry_queue_payloads";
  static constexpr std::string_view kRetryQueueBytes = "lastcall.forward.retry_queue_bytes";
  // LC_BUG sites reached (core/assert.h), counted as lastcall.bug{where:file:line}.
  static constexpr std::string_view kBug = "lastcall.bug";
  static constexpr std::string_view kMemoryBudgetUsed = "lastcall.memory_budget.used_bytes";

  // send: LASTCALL_SELF_METRICS. `budget` (optional): its use is a gauge, and named in the drop
  // line when something was refused for it.
  SelfReport(SelfMetrics& self, bool send, MemoryBudget* budget = nullptr);

  // At the start of a flush, before the aggregator is flushed: with `send`, adds what changed
  // since the previous feed to the aggregator at now_s. Returns the number of samples added.
  std::size_t feed(metrics::MetricAggregator& aggregator, std::int64_t now_s);

  // At the end of a flush: records the gauges, then logs the drop line (WARN) and the other
  // counters (debug) for what changed since the previous flush. Returns the drop line ("" when
  // nothing was dropped).
  std::string flush_done(const forward::FlushSummary& summary, Millis took);

  bool sending() const { return send_; }

 private:
  // Moves what LC_BUG counted since the last call into the self-metrics.
  void absorb_bugs();

  SelfMetrics& self_;
  bool send_;
  MemoryBudget* budget_;
  SelfMetrics::Gauge flush_ms_, queue_payloads_, queue_bytes_, budget_used_;
  SelfMetrics::Cursor fed_;                         // what the intake has been given
  SelfMetrics::Cursor logged_;                      // what the flush lines have said
  std::map<std::string, std::uint64_t> bugs_seen_;  // per LC_BUG site, already absorbed
};

}  // namespace lc::app
