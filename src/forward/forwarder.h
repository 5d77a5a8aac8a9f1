// forward/forwarder.h — deadline-bounded delivery of encoded payloads to every intake route:
// up to 3 attempts per payload per flush with capped full-jitter backoff (datadog-wire.md §4.0),
// 413/over-limit splitting, the shared retry queue redriven at every flush (lambda-agent.md §6.4),
// every drop counted in lastcall.dropped{kind,reason}, payloads, bytes and retries counted in
// lastcall.forward.{payloads_sent,bytes_sent,retries}{kind}, and one summary line per flush.
// Created by the composition root with one Route per Endpoint; flush() is called by the flush
// control on the loop thread. Owns the retry queue and every payload until it is sent or dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/common_config.h"
#include "core/forward_config.h"
#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/thread_owner.h"
#include "forward/endpoints.h"
#include "forward/retry_queue.h"
#include "net/http_client.h"

namespace lc::forward {

struct ForwarderOptions {
  // LASTCALL_RETRY_QUEUE_BYTES, never above LASTCALL_MEMORY_BUDGET_BYTES; counts queued bodies
  // as they will be sent (compressed when the route has a compact hook).
  std::size_t retry_queue_bytes = 16 * 1024 * 1024;
  int max_attempts = 3;  // per payload per flush
  Millis backoff_base{100};
  Millis backoff_cap{2000};
  std::size_t max_in_flight = 4;  // requests at once, across routes (lambda-agent.md §6.5 step 5)
  MemoryBudget* memory_budget = nullptr;  // charged by the retry queue; null: unlimited

  static ForwarderOptions from_config(const ForwardConfig& forward, const CommonConfig& common);
};

// One intake and the exporter that talks to it. The endpoint gives the name (for log lines), the
// kinds it receives and whether it has an API key; the key itself is used only by the exporter.
struct Route {
  using Compact =
      std::function<std::shared_ptr<const Payload>(const std::shared_ptr<const Payload>&)>;
  Endpoint endpoint;
  Exporter* exporter = nullptr;  // not owned; outlives the Forwarder
  // Optional: the compressed form a payload is kept in while queued (HttpExporter::compact).
  Compact compact;
};

// What one flush did; given to every on_done of the flush and logged as one line.
struct FlushSummary {
  struct Count {
    std::size_t payloads = 0;
    std::uint64_t items = 0;
  };
  Count sent;
  Count queued;                                 // put (back) into the retry queue by this flush
  std::map<std::string, Count> queued_by_kind;  // "metrics" / "logs" / "traces" → count
  std::map<std::string, Count> dropped;         // "metrics/forbidden" → count
  std::size_t abandoned_in_flight = 0;   // requests still open at the deadline (payloads queued)
  std::size_t retry_queue_payloads = 0;  // after the flush
  std::size_t retry_queue_bytes = 0;
  bool deadline_reached = false;
  bool aborted = false;

  std::uint64_t dropped_items() const;
  bool lost_nothing() const { return dropped.empty() && queued.payloads == 0; }
  // What this flush left unsent (queued for retry), per kind, for the final flush's warn line
  // (lambda-agent.md §6.5 step 6): "metrics 0 payloads, logs 2 payloads (143 items), traces
  // 1 payload (12 items)".
  std::string not_sent_text() const;
  // "sent 3 payloads (120 items); queued 1 payload (10 items); dropped metrics/forbidden 1 payload
  // (4 items); retry queue 1 payload 2.1 KiB"
  std::string to_string() const;
};

enum class FlushOrder {
  kRetryFirst,  // every flush: redrive the retry queue first (lambda-agent.md §6.3)
  kFreshFirst,  // the final flush: fresh data first within a value class (§6.5 step 5)
};

class Forwarder {
 public:
  using Rng = std::function<double()>;  // uniform in [0, 1)
  using OnDone = std::function<void(const FlushSummary&)>;

  // `rng` defaults to a seeded mt19937_64; `client` (may be null) gets close_idle() after every
  // flush and abort_all() at abort(), so no intake connection survives a Lambda freeze.
  Forwarder(std::vector<Route> routes, ForwarderOptions options, const Clock& clock,
            TimerService& timers, SelfMetrics& self, Rng rng = {},
            net::HttpClient* client = nullptr);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Sends `payloads` (each to every route that takes its kind) plus the retry queue, and calls
  // on_done once, on the loop thread, never inside flush() and never later than `deadline` (as
  // timers fire): then requests still in flight are abandoned, and everything unacknowledged
  // and retryable is in the retry queue. Calling flush() while one is running joins it: the
  // payloads are added, the running flush ends by the earlier of both deadlines, and both
  // callbacks get its summary.
  void flush(std::vector<Payload> payloads, Deadline deadline, OnDone on_done,
             FlushOrder order = FlushOrder::kRetryFirst);

  // Ends the running flush now, as if its deadline had passed: the cut of lambda-agent.md §6.3 (a
  // flush still in flight at runtimeDone) and of the final flush (architecture.md: SIGTERM or
  // SHUTDOWN does not wait for a running flush). Payloads in flight, pending or backing off go to
  // the retry queue, once each, which the next flush redrives. Then the client's abort_all() stops
  // the exchanges for real and closes every intake connection (§6.3 "Freeze awareness": none is
  // left open across /next); their "aborted" answers arrive at a later turn and change nothing.
  // This happens before the waiters run, so a flush they start is not cut. The waiters get the
  // summary (aborted) before abort() returns, unless it is called from inside one of the
  // Forwarder's own callbacks (then at the next turn of the loop). When idle it still calls
  // abort_all(): requests abandoned at an earlier deadline stop too (their payloads are already
  // queued, so a late success can no longer unqueue them). Loop thread.
  // kKeepExchanges instead leaves the exchanges running (abandoned, as at a deadline): a late
  // acknowledgement then drops the queued copy before it is sent again. The final flush's cut of a
  // running flush uses it (a sandbox thawed for SHUTDOWN may hold the intake's answers); a cut
  // before /next stops them.
  // Never a payload twice while an earlier request may still deliver it: a flush holds back a
  // queued payload whose abandoned request is still running (tracked up to a bound; an entry
  // evicted from the tracking no longer holds its copy). That request's success drops the copy
  // (counted as sent by the flush that holds it); its failure releases the copy, sent at once if
  // the flush still runs. A flush with a deadline waits for held copies until it; what is still
  // held when it ends stays queued. kStopExchanges (abort_all()) ends every abandoned request, so
  // their copies are released then (queued, or sent by the flush a waiter starts).
  enum class AbortMode { kStopExchanges, kKeepExchanges };
  void abort(AbortMode mode = AbortMode::kStopExchanges);

  bool flushing() const { return cycle_ != nullptr; }
  std::size_t retry_queue_bytes() const { return queue_.bytes(); }
  std::size_t retry_queue_size() const { return queue_.size(); }
  // {"routes":[{"name":"metrics","url":"…","kinds":[…],"api_key":true}],"retry_queue_bytes":…}
  std::string describe() const;

 private:
  struct Work {
    std::uint64_t id = 0;  // age order; survives trips through the retry queue
    std::size_t route = 0;
    std::shared_ptr<const Payload> payload;
    std::int64_t first_seen_ms = 0;
    int attempts = 0;  // failed attempts in this flush
    bool from_queue = false;
  };
  struct Backoff {
    Timer timer;
    Work work;
  };
  struct Cycle {
    Deadline deadline;
    std::vector<OnDone> waiters;
    std::deque<Work> pending;
    std::map<std::uint64_t, Work> in_flight;       // by attempt token
    std::map<std::uint64_t, Backoff> backing_off;  // by backoff token
    std::map<std::uint64_t, Work> held;            // by work id: its abandoned request still runs
    Timer deadline_timer;
    bool deadline_fired = false;  // the timer's word wins over ms rounding of the clock
    FlushSummary summary;
    std::set<std::string> logged;  // (route, reason) pairs already logged in this flush
    std::map<std::string, FlushSummary::Count> no_key;  // per route name
  };

  void add_work(std::vector<Payload> payloads, FlushOrder order, bool redrive);
  void arm_deadline();
  void pump();
  void dispatch(Work work);
  void on_outcome(std::uint64_t token, const SendOutcome& outcome);
  void on_late_outcome(std::uint64_t token, const SendOutcome& outcome);
  void on_backoff_done(std::uint64_t key);
  void release_held(std::uint64_t id);  // the abandoned request failed or is forgotten
  void forget_abandoned();              // abort_all(): every abandoned request ends
  void retry_later(Work work, const SendOutcome& outcome);
  void split(Work work, const SendOutcome& outcome);
  void count_sent(const Work& work, const SendOutcome& outcome);  // lastcall.forward.*_sent
  void drop(const Work& work, std::string_view reason);
  void to_queue(Work work);
  void log_once(const Work& work, const SendOutcome& outcome);
  void finish(bool deadline_reached, bool aborted);
  bool expired() const { return cycle_->deadline_fired || cycle_->deadline.expired(clock_); }
  Millis backoff_delay(int failures);
  bool too_old(const Work& work, std::int64_t now_ms) const;

  std::vector<Route> routes_;
  ForwarderOptions options_;
  const Clock& clock_;
  TimerService& timers_;
  SelfMetrics& self_;
  Rng rng_;
  net::HttpClient* client_;
  RetryQueue queue_;
  std::unique_ptr<Cycle> cycle_;
  std::uint64_t next_work_id_ = 1;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, std::uint64_t> abandoned_;  // attempt token → work id (late answers)
  std::map<std::uint64_t, std::uint64_t> abandoned_ids_;  // work id → its abandoned token
  bool pumping_ = false;
  bool repump_ = false;
  bool in_flush_call_ = false;
  bool abort_pending_ = false;  // abort() from inside a callback: the next finish() is an abort
  AbortMode abort_mode_ = AbortMode::kStopExchanges;  // of the pending or current abort
  Timer finish_timer_;  // armed: pump() runs at the next turn of the loop
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  ThreadOwner loop_thread_;
};

}  // namespace lc::forward
