#include "lambda/oom_detector.h"

#include <boost/json/serializer.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"
#include "lambda/telemetry_logs.h"

namespace lc::lambda {
namespace {

struct Pattern {
  std::string_view text;
  std::string_view runtime;  // what the debug lines name instead of quoting the pattern (§1.3)
};

// lambda-agent.md §4.1. The longer patterns that contain `MemoryError` come before it, so the
// runtime named is the most specific one.
constexpr std::array<Pattern, 7> kPatterns = {{
    {"fatal error: runtime: out of memory", "go"},
    {"java.lang.OutOfMemoryError", "java"},
    {"JavaScript heap out of memory", "node"},
    {"Runtime exited with error: signal: killed", "sigkill"},
    {"failed to allocate memory (NoMemoryError)", "ruby"},
    {"MemoryError", "python"},
    {"OutOfMemoryException", "dotnet"},
}};

constexpr std::size_t kLongestPattern = [] {
  std::size_t n = 0;
  for (const auto& p : kPatterns) n = std::max(n, p.text.size());
  return n;
}();

constexpr std::size_t kChunk = 4096;  // serialized record bytes tested per step

}  // namespace

std::string_view oom_path_name(OomPath path) {
  switch (path) {
    case OomPath::kLogLine:
      return "log_line";
    case OomPath::kErrorType:
      return "error_type";
    case OomPath::kMemory:
      return "memory";
  }
  return "unknown";
}

std::optional<std::string_view> match_oom_pattern(std::string_view text) {
  for (const auto& p : kPatterns) {
    if (text.find(p.text) != std::string_view::npos) return p.runtime;
  }
  return std::nullopt;
}

std::optional<std::string_view> match_oom_pattern(const boost::json::object& record) {
  // The serializer writes the record piece by piece into a fixed buffer; the last
  // kLongestPattern - 1 bytes of each piece are kept in front of the next so a pattern split
  // between two pieces is still found.
  constexpr std::size_t kCarry = kLongestPattern - 1;
  std::array<char, kCarry + kChunk> buffer{};
  boost::json::serializer serializer;
  serializer.reset(&record);
  std::size_t kept = 0;
  while (!serializer.done()) {
    const auto piece = serializer.read(buffer.data() + kept, kChunk);
    const std::size_t n = kept + piece.size();
    if (auto runtime = match_oom_pattern(std::string_view(buffer.data(), n))) return runtime;
    kept = std::min(n, kCarry);
    std::memmove(buffer.data(), buffer.data() + n - kept, kept);
  }
  return std::nullopt;
}

std::optional<std::string_view> managed_runtime_request_id(std::string_view line) {
  if (auto managed = parse_managed_line(line)) return managed->request_id;
  return std::nullopt;
}

std::optional<std::string_view> object_record_request_id(const boost::json::object& record) {
  for (const std::string_view key : {"requestId", "AWSRequestId"}) {
    if (auto id = json::string_member(record, key); id && !id->empty()) return id;
  }
  return std::nullopt;
}

bool OomDetector::IdSet::insert(std::string_view id) {
  if (contains(id)) return false;
  if (order_.size() >= capacity_) {
    index_.erase(order_.front());
    order_.pop_front();
  }
  order_.emplace_back(id);
  index_.insert(order_.back());
  return true;
}

OomDetector::OomDetector(bool lmi, const Clock& clock, TimerService& timers, SelfMetrics& self,
                         Emit emit)
    : lmi_(lmi),
      clock_(clock),
      timers_(timers),
      unattributed_(self.counter("lastcall.lambda.oom_unattributed")),
      emit_(std::move(emit)) {}

OomDetector::~OomDetector() = default;

void OomDetector::on_invoke(std::string_view request_id) {
  if (!lmi_ && !request_id.empty()) last_invoked_.assign(request_id);
}

void OomDetector::on_record(const TelemetryEvent& event) {
  if (event.own_record) return;  // §1.3 rule 2: never scanned
  if (event.type != TelemetryType::kFunction && event.type != TelemetryType::kExtension) return;
  std::optional<std::string_view> runtime;
  std::optional<std::string_view> id;
  if (const auto* text = event.record_text()) {
    const std::string_view line = json::view(*text);
    runtime = match_oom_pattern(line);
    if (runtime) id = managed_runtime_request_id(line);
  } else if (const auto* object = event.record_object()) {
    runtime = match_oom_pattern(*object);
    if (runtime) id = object_record_request_id(*object);
  }
  if (!runtime) return;
  LC_DEBUG("oom: {} out-of-memory line in a {} record, request id {}", *runtime, event.type_name,
           id ? escape_for_log(*id) : std::string("not in the record"));
  hit(id.value_or(std::string_view()), event.time_ms.value_or(clock_.wall_ms()), OomPath::kLogLine);
}

void OomDetector::on_runtime_done(std::string_view request_id, std::string_view status,
                                  std::string_view error_type, std::int64_t time_ms) {
  if (!lmi_ && !request_id.empty()) runtime_done_seen_.insert(request_id);
  if (status != "success" && error_type == kOutOfMemoryErrorType) {
    hit(request_id, time_ms, OomPath::kErrorType);
  }
}

void OomDetector::on_report(std::string_view request_id, std::string_view status,
                            std::string_view error_type,
                            std::optional<std::int64_t> max_memory_used_mb,
                            std::optional<std::int64_t> memory_size_mb, std::int64_t time_ms) {
  // P2 on the report: in LMI always (runtimeDone may never come), on-demand only in place of a
  // missing runtimeDone (§4.1).
  const bool p2 = lmi_ || !runtime_done_seen_.contains(request_id);
  if (p2 && status != "success" && error_type == kOutOfMemoryErrorType) {
    hit(request_id, time_ms, OomPath::kErrorType);
  }
  // P3, on-demand only: LMI reports carry no memory fields.
  if (!lmi_ && max_memory_used_mb && memory_size_mb && *memory_size_mb > 0 &&
      *max_memory_used_mb >= *memory_size_mb) {
    hit(request_id, time_ms, OomPath::kMemory);
  }
}

void OomDetector::on_shutdown() {
  shutting_down_ = true;
  settle_window();
}

void OomDetector::hit(std::string_view request_id, std::int64_t time_ms, OomPath path) {
  if (!request_id.empty()) {
    attributed(request_id, time_ms, path);
  } else if (lmi_) {
    unattributed(time_ms);
  } else if (!last_invoked_.empty()) {
    // On-demand: one invocation at a time, so an id-less line belongs to the last INVOKE (§4.2).
    // Copied: emit_ may reach on_invoke.
    attributed(std::string(last_invoked_), time_ms, path);
  } else if (!sandbox_point_sent_) {
    // On-demand before any INVOKE: a crash during init, one sandbox-level point per process.
    sandbox_point_sent_ = true;
    LC_DEBUG("oom: out-of-memory evidence ({}) before the first INVOKE; one sandbox-level point",
             oom_path_name(path));
    if (emit_) emit_(Hit{std::string(), time_ms, true, path});
  }
}

void OomDetector::attributed(std::string_view request_id, std::int64_t time_ms, OomPath path) {
  // Attributed evidence absorbs unattributed LMI hits around it (§4.3), also when its id was
  // already counted: the platform attributed that failure itself either way.
  const SteadyTime now = clock_.steady_now();
  last_attributed_ = now;
  if (window_ && !window_->settled && now <= window_->start + kParkWindow) {
    window_->settled = true;
    window_->timer.cancel();
    LC_DEBUG("oom: unattributed hit(s) absorbed by request {}", escape_for_log(request_id));
  }
  if (!dedup_set_.insert(request_id)) {
    LC_DEBUG("oom: request {} already counted; {} evidence ignored", escape_for_log(request_id),
             oom_path_name(path));
    return;
  }
  if (emit_) emit_(Hit{std::string(request_id), time_ms, false, path});
}

bool OomDetector::attributed_recently(SteadyTime at) const {
  return last_attributed_ && at - *last_attributed_ <= kParkWindow;
}

void OomDetector::unattributed(std::int64_t time_ms) {
  unattributed_.add();
  LC_DEBUG("oom: pattern seen without requestId in LMI; not attributed to any invocation");
  const SteadyTime now = clock_.steady_now();
  if (window_ && now < window_->start + kParkWindow) return;  // collapses into the open window
  settle_window();  // a window whose timer is due but has not run yet
  window_.emplace(now, time_ms);
  if (attributed_recently(now)) {
    window_->settled = true;
    LC_DEBUG("oom: unattributed hit absorbed by an attributed one in the last {} ms",
             kParkWindow.count());
    return;
  }
  if (shutting_down_) {
    settle_window();
    return;
  }
  window_->timer = timers_.schedule_after(kParkWindow, [this] { settle_window(); });
}

void OomDetector::settle_window() {
  if (!window_ || window_->settled) return;
  window_->settled = true;
  window_->timer.cancel();
  LC_DEBUG("oom: unattributed hit(s) not absorbed; one sandbox-level point");
  if (emit_) emit_(Hit{std::string(), window_->first_time_ms, false, OomPath::kLogLine});
}

}  // namespace lc::lambda
