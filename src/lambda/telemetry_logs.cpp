#include "lambda/telemetry_logs.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"
#include "lambda/oom_detector.h"

namespace lc::lambda {
namespace {

constexpr std::string_view kOwnPrefix = "DD_EXTENSION | ";
constexpr std::string_view kSource = "lambda";

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// A level word of a managed-runtime prefix: 1–16 ASCII letters.
bool is_level(std::string_view s) {
  if (s.empty() || s.size() > 16) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

// A text record as a line: at most one trailing newline removed (lambda-platform.md §4.5).
std::string_view strip_newline(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

// The status of one of lastcall's own lines, "DD_EXTENSION | <LEVEL> | …" (lambda-agent.md §1.3).
LogStatus own_line_status(std::string_view line) {
  if (line.substr(0, kOwnPrefix.size()) != kOwnPrefix) return LogStatus::kInfo;
  line.remove_prefix(kOwnPrefix.size());
  const std::size_t bar = line.find(" | ");
  if (bar == std::string_view::npos) return LogStatus::kInfo;
  return log_status_from_level(line.substr(0, bar)).value_or(LogStatus::kInfo);
}

// What an object record is charged in the orphan buffer: about its JSON size, counted without
// serializing it (keys, strings, a few bytes per other value and per separator).
std::size_t approx_size(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return s->size() + 2;
  if (const auto* o = v.if_object()) {
    std::size_t n = 2;
    for (const auto& member : *o) n += member.key().size() + 4 + approx_size(member.value());
    return n;
  }
  if (const auto* a = v.if_array()) {
    std::size_t n = 2;
    for (const auto& element : *a) n += 1 + approx_size(element);
    return n;
  }
  return 8;
}

std::size_t charged_size(const LogRecord& record) {
  return record.message.size() + record.request_id.size() + approx_size(record.object);
}

std::string two_decimals(double v) { return fmt::format("{:.2f}", v); }

// A metrics number as a whole count for the REPORT line (the platform may send 128.0).
std::int64_t whole(const boost::json::object* metrics, std::string_view key) {
  if (metrics == nullptr) return 0;
  if (auto v = json::int64_member(*metrics, key)) return *v;
  if (auto d = json::double_member(*metrics, key); d && std::isfinite(*d)) {
    return static_cast<std::int64_t>(std::llround(*d));
  }
  return 0;
}

std::optional<double> metric(const boost::json::object* metrics, std::string_view key) {
  if (metrics == nullptr) return std::nullopt;
  auto v = json::double_member(*metrics, key);
  if (v && !std::isfinite(*v)) return std::nullopt;
  return v;
}

// " Task timed out after 3.00 seconds" / " Task failed: <errorType>" / " Task failed with an
// unknown error" for a status that is not success; empty for success.
std::string failure_text(std::string_view status, std::string_view error_type,
                         std::optional<double> duration_ms) {
  if (status == "success") return {};
  if (status == "timeout") {
    return duration_ms
               ? fmt::format(" Task timed out after {} seconds", two_decimals(*duration_ms / 1000))
               : std::string(" Task timed out");
  }
  if (error_type.empty()) return " Task failed with an unknown error";
  return fmt::format(" Task failed: {}", error_type);
}

}  // namespace

std::optional<ManagedLine> parse_managed_line(std::string_view line) {
  const std::size_t tab1 = line.find('\t');
  if (tab1 == std::string_view::npos || !parse_event_time_ms(line.substr(0, tab1))) {
    return std::nullopt;
  }
  const std::size_t tab2 = line.find('\t', tab1 + 1);
  if (tab2 == std::string_view::npos) return std::nullopt;
  const std::size_t tab3 = line.find('\t', tab2 + 1);
  if (tab3 == std::string_view::npos) return std::nullopt;
  ManagedLine m{line.substr(0, tab1), line.substr(tab1 + 1, tab2 - tab1 - 1),
                line.substr(tab2 + 1, tab3 - tab2 - 1), line.substr(tab3 + 1)};
  if (!is_uuid(m.request_id) || !is_level(m.level)) return std::nullopt;
  return m;
}

TelemetryLogs::TelemetryLogs(TelemetryLogsOptions options, LogSink& sink, const Clock& clock,
                             SelfMetrics& self)
    : options_(options),
      sink_(sink),
      clock_(clock),
      dropped_records_(self.counter("lastcall.telemetry.logs_dropped_records")),
      dropped_bytes_(self.counter("lastcall.telemetry.logs_dropped_bytes")),
      orphan_overflow_(self.counter("lastcall.logs.orphan_overflow")) {}

void TelemetryLogs::on_telemetry(const TelemetryEvent& event) {
  if (event.type == TelemetryType::kFunction || event.type == TelemetryType::kExtension) {
    on_log_record(event);
    return;
  }
  const auto* record = event.record_object();
  if (record == nullptr) return;
  const std::int64_t time_ms = event.time_ms.value_or(clock_.wall_ms());
  switch (event.type) {
    case TelemetryType::kInitStart: {
      const auto version = json::string_member(*record, "runtimeVersion");
      auto arn = json::string_member(*record, "runtimeVersionArn");
      if (!arn) arn = json::string_member(*record, "runtimeArn");
      emit(fmt::format("INIT_START Runtime Version: {} Runtime Version ARN: {}",
                       version.value_or("?"), arn.value_or("?")),
           time_ms, LogStatus::kInfo, {});
      break;
    }
    case TelemetryType::kStart:
      on_start(*record, time_ms);
      break;
    case TelemetryType::kRuntimeDone:
      on_runtime_done(*record, time_ms);
      break;
    case TelemetryType::kReport:
      on_report(*record, time_ms);
      break;
    case TelemetryType::kLogsDropped:
      on_logs_dropped(*record);
      break;
    default:
      break;  // other platform.* events make no line (§5.2)
  }
}

void TelemetryLogs::on_log_record(const TelemetryEvent& event) {
  LogRecord record;
  record.timestamp_ms = event.time_ms.value_or(clock_.wall_ms());
  record.source = kSource;
  // Only a function record names its own request id; an extension record (own ones included)
  // never does (§5.2, §1.3 rule 2).
  const bool own_id = event.type == TelemetryType::kFunction && !event.own_record;
  std::optional<std::string_view> id;
  if (const auto* text = event.record_text()) {
    const std::string_view line = strip_newline(json::view(*text));
    record.message.assign(line);
    if (own_id) {
      if (auto managed = parse_managed_line(line)) id = managed->request_id;
    }
    if (event.own_record) record.status = own_line_status(line);
  } else if (const auto* object = event.record_object()) {
    if (own_id) id = object_record_request_id(*object);
    if (event.own_record) {
      record.status = own_line_status(json::string_member(*object, "message").value_or(""));
    }
    record.object = *object;  // a copy; the event is a view of the batch
  } else {
    return;  // null or a number: no line
  }
  if (id) {
    record.request_id.assign(*id);
    sink_.add(std::move(record));
    return;
  }
  route(std::move(record));
}

void TelemetryLogs::on_start(const boost::json::object& record, std::int64_t time_ms) {
  const std::string_view id = json::string_member(record, "requestId").value_or("");
  if (!options_.lmi && !id.empty()) {
    active_.assign(id);
    // The orphans belong to the invocation that starts now; they go first, in arrival order.
    std::deque<LogRecord> orphans;
    orphans.swap(orphans_);
    orphan_sizes_.clear();
    orphan_bytes_ = 0;
    for (auto& orphan : orphans) {
      orphan.request_id = active_;
      sink_.add(std::move(orphan));
    }
  }
  emit(fmt::format("START RequestId: {} Version: {}", id,
                   json::string_member(record, "version").value_or("$LATEST")),
       time_ms, LogStatus::kInfo, id);
}

void TelemetryLogs::on_runtime_done(const boost::json::object& record, std::int64_t time_ms) {
  const std::string_view id = json::string_member(record, "requestId").value_or("");
  const std::string_view status = json::string_member(record, "status").value_or("");
  const std::string_view error_type = json::string_member(record, "errorType").value_or("");
  const auto duration_ms = metric(json::object_member(record, "metrics"), "durationMs");
  if (!id.empty() && id == active_) active_.clear();
  if (!options_.lmi && !id.empty() && duration_ms) {
    auto it = std::find_if(runtime_done_.begin(), runtime_done_.end(),
                           [&](const auto& e) { return e.first == id; });
    if (it != runtime_done_.end()) {
      it->second = *duration_ms;
    } else {
      if (runtime_done_.size() >= kRuntimeDoneCapacity) runtime_done_.pop_front();
      runtime_done_.emplace_back(std::string(id), *duration_ms);
    }
  }
  // An absent status is taken as success: the line then claims nothing it was not told.
  const bool failed = !status.empty() && status != "success";
  emit(fmt::format("END RequestId: {}{}", id,
                   failed ? failure_text(status, error_type, duration_ms) : std::string()),
       time_ms, failed ? LogStatus::kError : LogStatus::kInfo, id);
}

std::optional<double> TelemetryLogs::runtime_done_ms(std::string_view request_id) const {
  for (const auto& [id, ms] : runtime_done_) {
    if (id == request_id) return ms;
  }
  return std::nullopt;
}

void TelemetryLogs::on_report(const boost::json::object& record, std::int64_t time_ms) {
  const std::string_view id = json::string_member(record, "requestId").value_or("");
  const std::string_view status = json::string_member(record, "status").value_or("");
  const std::string_view error_type = json::string_member(record, "errorType").value_or("");
  const auto* metrics = json::object_member(record, "metrics");
  const auto duration_ms = metric(metrics, "durationMs");
  const bool failed = !status.empty() && status != "success";
  // After a timeout the runtimeDone may never come: the report ends the invocation too.
  if (!id.empty() && id == active_) active_.clear();
  std::string line;
  if (options_.lmi) {
    line = fmt::format("REPORT RequestId: {} Runtime Duration: {} ms{}", id,
                       two_decimals(duration_ms.value_or(0)),
                       failed ? failure_text(status, error_type, duration_ms) : std::string());
  } else {
    const auto runtime_ms = runtime_done_ms(id);
    const double duration = duration_ms.value_or(0);
    const double post_runtime = runtime_ms ? std::max(0.0, duration - *runtime_ms) : 0.0;
    line = fmt::format(
        "REPORT RequestId: {} Duration: {} ms Runtime Duration: {} ms Post Runtime Duration: {} ms "
        "Billed Duration: {} ms Memory Size: {} MB Max Memory Used: {} MB",
        id, two_decimals(duration), two_decimals(runtime_ms.value_or(0)),
        two_decimals(post_runtime), whole(metrics, "billedDurationMs"),
        whole(metrics, "memorySizeMB"), whole(metrics, "maxMemoryUsedMB"));
    if (auto init_ms = metric(metrics, "initDurationMs")) {
      line += fmt::format(" Init Duration: {} ms", two_decimals(*init_ms));
    }
  }
  emit(std::move(line), time_ms, failed ? LogStatus::kError : LogStatus::kInfo, id);
}

void TelemetryLogs::on_logs_dropped(const boost::json::object& record) {
  const std::int64_t records = std::max<std::int64_t>(0, whole(&record, "droppedRecords"));
  const std::int64_t bytes = std::max<std::int64_t>(0, whole(&record, "droppedBytes"));
  dropped_records_.add(static_cast<std::uint64_t>(records));
  dropped_bytes_.add(static_cast<std::uint64_t>(bytes));
  // The reason is the platform's own text, never a log record's content (§1.3 rule 3).
  LC_WARN("the Lambda platform dropped {} log records ({} bytes) before they reached lastcall: {}",
          records, bytes, escape_for_log(json::string_member(record, "reason").value_or("?"), 200));
}

void TelemetryLogs::emit(std::string message, std::int64_t time_ms, LogStatus status,
                         std::string_view id) {
  LogRecord record;
  record.message = std::move(message);
  record.timestamp_ms = time_ms;
  record.status = status;
  record.request_id.assign(id);
  record.source = kSource;
  sink_.add(std::move(record));
}

void TelemetryLogs::route(LogRecord record) {
  if (!active_.empty()) {
    record.request_id = active_;
    sink_.add(std::move(record));
  } else if (options_.lmi) {
    sink_.add(std::move(record));  // attribution under concurrency would be a guess (§5.4)
  } else {
    park(std::move(record));
  }
}

void TelemetryLogs::park(LogRecord record) {
  const std::size_t size = charged_size(record);
  orphans_.push_back(std::move(record));
  orphan_sizes_.push_back(size);
  orphan_bytes_ += size;
  while (!orphans_.empty() && (orphans_.size() > options_.orphan_max_entries ||
                               orphan_bytes_ > options_.orphan_max_bytes)) {
    orphan_overflow_.add();
    orphan_bytes_ -= orphan_sizes_.front();
    orphan_sizes_.pop_front();
    LogRecord oldest = std::move(orphans_.front());
    orphans_.pop_front();
    sink_.add(std::move(oldest));  // without an id: never dropped
  }
}

void TelemetryLogs::release_orphans() {
  std::deque<LogRecord> orphans;
  orphans.swap(orphans_);
  orphan_sizes_.clear();
  orphan_bytes_ = 0;
  for (auto& orphan : orphans) sink_.add(std::move(orphan));
}

}  // namespace lc::lambda
