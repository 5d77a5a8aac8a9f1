// lambda/oom_detector.h — the exactly-once out_of_memory detector (lambda-agent.md §4): the three
// detection paths (P1 runtime log line, P2 platform error type, P3 memory at the limit), request-id
// resolution (§4.2), the 2048-id dedup set and, in LMI, the parking of unattributed hits (§4.3).
// Owned and called on the loop thread by the invocation processor, which turns each Hit into the
// aws.lambda.enhanced.out_of_memory point (tags from its contexts); this class emits nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "lambda/telemetry.h"

namespace lc::lambda {

// Which evidence produced a hit (for the caller's debug line; never part of the point).
enum class OomPath : std::uint8_t {
  kLogLine,    // P1: a runtime's OOM line in a function / extension record
  kErrorType,  // P2: runtimeDone / report with status ≠ success and Runtime.OutOfMemory
  kMemory,     // P3: report with maxMemoryUsedMB ≥ memorySizeMB (on-demand)
};
std::string_view oom_path_name(OomPath path);

// The runtime whose P1 substring (§4.1 table, case-sensitive) `text` contains, e.g. "node" for
// "JavaScript heap out of memory"; nullopt when it contains none. The names are safe to log: none
// is or contains a pattern (§1.3 rule 3).
std::optional<std::string_view> match_oom_pattern(std::string_view text);

// The same test on an object record, run on its serialized JSON text (none of the patterns holds a
// character JSON escapes, so this is the test on the bytes as received) in fixed-size chunks:
// nothing is allocated whatever the record's size.
std::optional<std::string_view> match_oom_pattern(const boost::json::object& record);

// The <uuid> of a managed-runtime text line "<ISO time>\t<uuid>\t<LEVEL>\t…" (lambda-platform.md
// §4.5); nullopt when the line does not start with that prefix. parse_managed_line
// (lambda/telemetry_logs.h) is the parser.
std::optional<std::string_view> managed_runtime_request_id(std::string_view line);

// The request id an object log record names: a non-empty string `requestId`, else `AWSRequestId`
// (Java).
std::optional<std::string_view> object_record_request_id(const boost::json::object& record);

// Emission (§4.3): a hit with a request id is emitted iff the id is not in the dedup set (then
// inserted). Without one: on-demand the last-invoked id owns it; before the first INVOKE it is the
// one sandbox-level point of the process. In LMI it is counted (lastcall.lambda.oom_unattributed),
// logged at debug and parked: a window opens at the first such hit and lasts kParkWindow; every
// hit inside it shares its fate. The window is absorbed when attributed evidence (P1 with an id,
// P2) was seen at most kParkWindow before its first hit or arrives before the window expires —
// evidence for an id already counted absorbs too, since the platform attributed that failure
// itself; otherwise its one sandbox-level point is emitted when it expires (or at SHUTDOWN).
// Not thread-safe: the loop thread only.
class OomDetector {
 public:
  struct Hit {
    // The invocation the point belongs to; empty: a sandbox-level point (base tags only).
    std::string request_id;
    // Point timestamp: the `time` of the telemetry event that produced it (epoch ms; the wall clock
    // at handling when the event had none). A sandbox-level LMI point carries its window's first
    // hit's time.
    std::int64_t time_ms = 0;
    // On-demand OOM before the first INVOKE (crash during init): the one sandbox-level point of the
    // process, to be tagged cold_start:true (§4.3). Always false with a request id, and in LMI.
    bool cold_start = false;
    OomPath path = OomPath::kLogLine;
  };
  // Called once per out_of_memory point to emit, synchronously from the on_* call (or from the
  // parking timer). Late hits: a hit whose request_id names no context the caller still buffers
  // (released or evicted) is still to be emitted — once, the dedup set guarantees it — with base
  // tags only; counting lastcall.lambda.oom_late and its debug line are the caller's, because only
  // it knows its contexts. The caller must therefore look at its contexts before a log record
  // creates one for that id.
  using Emit = std::function<void(const Hit&)>;

  static constexpr std::size_t kDedupCapacity = 2048;  // ids, FIFO (§4.3)
  static constexpr Millis kParkWindow{5000};           // LMI unattributed hits (§4.3)
  // On-demand ids whose runtimeDone was seen. A report follows its runtimeDone before the next
  // invocation's ends, so a few suffice; an id pushed out only re-enables the P2 test on its
  // report.
  static constexpr std::size_t kRuntimeDoneCapacity = 64;
  static constexpr std::string_view kOutOfMemoryErrorType = "Runtime.OutOfMemory";

  // lmi: the LMI sub-mode (no INVOKE, no "current" request, no P3, P2 on every report).
  // Registers lastcall.lambda.oom_unattributed on `self`. clock and timers must outlive this.
  OomDetector(bool lmi, const Clock& clock, TimerService& timers, SelfMetrics& self, Emit emit);
  OomDetector(const OomDetector&) = delete;
  OomDetector& operator=(const OomDetector&) = delete;
  ~OomDetector();

  // On-demand INVOKE: `request_id` becomes the last-invoked id, the owner of id-less P1 lines
  // until the next INVOKE (§4.2). Ignored in LMI.
  void on_invoke(std::string_view request_id);

  // A `function` or `extension` record: P1. Own records (event.own_record) and every other event
  // type are ignored (§1.3 rule 2).
  void on_record(const TelemetryEvent& event);

  // platform.runtimeDone: P2. On-demand, also remembers that the id had a runtimeDone, so its
  // report is not tested for P2. Here and in on_report an empty request_id (a record without one)
  // is resolved like an id-less log line.
  void on_runtime_done(std::string_view request_id, std::string_view status,
                       std::string_view error_type, std::int64_t time_ms);

  // platform.report: P2 in LMI, and on-demand when no runtimeDone was seen for the id; P3 on-demand
  // when both memory fields are present (and the size positive).
  void on_report(std::string_view request_id, std::string_view status, std::string_view error_type,
                 std::optional<std::int64_t> max_memory_used_mb,
                 std::optional<std::int64_t> memory_size_mb, std::int64_t time_ms);

  // SHUTDOWN: a parked LMI window is resolved now (absorbed or emitted); an unattributed hit
  // after this is resolved at once by the same rule instead of being parked.
  void on_shutdown();

  // For tests and describe(): ids in the dedup set, whether a parked window awaits its timer.
  std::size_t dedup_size() const { return dedup_set_.size(); }
  bool has_parked() const { return window_ && !window_->settled; }

 private:
  // A set of request ids bounded by FIFO eviction; grows with use up to its capacity.
  class IdSet {
   public:
    explicit IdSet(std::size_t capacity) : capacity_(capacity) {}
    bool contains(std::string_view id) const { return index_.count(id) != 0; }
    // Inserts id (evicting the oldest when full); false when it was there already.
    bool insert(std::string_view id);
    std::size_t size() const { return index_.size(); }

   private:
    std::size_t capacity_;
    std::deque<std::string> order_;               // oldest first; push/pop keep the others in place
    std::unordered_set<std::string_view> index_;  // views of order_'s strings
  };

  // Unattributed LMI hits of one 5 s window, from its first hit.
  struct Window {
    Window(SteadyTime start_at, std::int64_t first_ms) : start(start_at), first_time_ms(first_ms) {}
    SteadyTime start;
    std::int64_t first_time_ms;
    bool settled = false;  // absorbed or emitted: later hits of the window add nothing
    Timer timer;
  };

  // Routes a hit whose id is resolved (or not): dedup, the sandbox-level rules.
  void hit(std::string_view request_id, std::int64_t time_ms, OomPath path);
  void attributed(std::string_view request_id, std::int64_t time_ms, OomPath path);
  void unattributed(std::int64_t time_ms);
  // Resolves an open, unabsorbed window: its one sandbox-level point (timer expiry, SHUTDOWN).
  void settle_window();
  bool attributed_recently(SteadyTime at) const;

  const bool lmi_;
  const Clock& clock_;
  TimerService& timers_;
  SelfMetrics::Counter unattributed_;
  Emit emit_;

  std::string last_invoked_;  // on-demand; empty before the first INVOKE
  bool sandbox_point_sent_ = false;
  IdSet dedup_set_{kDedupCapacity};
  IdSet runtime_done_seen_{kRuntimeDoneCapacity};  // on-demand only
  std::optional<SteadyTime> last_attributed_;
  std::optional<Window> window_;
  bool shutting_down_ = false;
};

}  // namespace lc::lambda
