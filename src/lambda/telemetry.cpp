#include "lambda/telemetry.h"

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"

namespace lc::lambda {
namespace {

constexpr std::array<std::string_view, kTelemetryTypeCount> kTypeNames = {
    "platform.initStart",
    "platform.initRuntimeDone",
    "platform.initReport",
    "platform.start",
    "platform.runtimeDone",
    "platform.report",
    "platform.restoreStart",
    "platform.restoreRuntimeDone",
    "platform.restoreReport",
    "platform.extension",
    "platform.telemetrySubscription",
    "platform.logsDropped",
    "function",
    "extension",
    "unknown",
};

// The envelope adds three levels (array, element, record) to a function's JSON log line; a deeper
// line is rare, but a batch failing on it would lose every event in it. Strings are taken as the
// platform sends them: one odd byte in a log line must not cost the whole batch.
constexpr JsonParseOptions kBatchParse{64, true};

constexpr std::string_view kOwnPrefix = "DD_EXTENSION | ";

// Exactly n decimal digits at s[pos], advancing pos.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool take(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::string telemetry_subscription_body(const SubscriptionOptions& o) {
  const bool latest = o.lmi != o.alternate_schema;
  std::string types = "\"platform\"";
  if (o.logs_enabled || o.enhanced_metrics) types += ",\"function\"";
  if (o.logs_enabled) types += ",\"extension\"";
  return fmt::format(
      R"({{"schemaVersion":"{}","types":[{}],"buffering":{{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}},"destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{}/"}}}})",
      latest ? "2025-01-29" : "2022-12-13", types, o.port);
}

std::string_view telemetry_type_name(TelemetryType type) {
  const auto i = static_cast<std::size_t>(type);
  return i < kTypeNames.size() ? kTypeNames[i] : kTypeNames.back();
}

TelemetryType telemetry_type_of(std::string_view name) {
  // kUnknown's own name ("unknown") is not a type the platform sends.
  for (std::size_t i = 0; i + 1 < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<TelemetryType>(i);
  }
  return TelemetryType::kUnknown;
}

bool is_own_log_line(std::string_view line) { return starts_with(line, kOwnPrefix); }

std::optional<std::int64_t> parse_event_time_ms(std::string_view s) {
  std::size_t pos = 0;
  const auto year = digits(s, pos, 4);
  if (!year || !take(s, pos, '-')) return std::nullopt;
  const auto month = digits(s, pos, 2);
  if (!month || *month < 1 || *month > 12 || !take(s, pos, '-')) return std::nullopt;
  const auto day = digits(s, pos, 2);
  if (!day || *day < 1 || *day > days_in_month(*year, *month)) return std::nullopt;
  if (!take(s, pos, 'T') && !take(s, pos, 't') && !take(s, pos, ' ')) return std::nullopt;
  const auto hour = digits(s, pos, 2);
  if (!hour || *hour > 23 || !take(s, pos, ':')) return std::nullopt;
  const auto minute = digits(s, pos, 2);
  if (!minute || *minute > 59 || !take(s, pos, ':')) return std::nullopt;
  const auto second = digits(s, pos, 2);
  if (!second || *second > 60) return std::nullopt;  // 60: a leap second
  int millis = 0;
  if (take(s, pos, '.') || take(s, pos, ',')) {
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 3) millis = millis * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) millis *= 10;  // ".5" is 500 ms; digits past the third are cut
  }
  int offset_min = 0;
  if (take(s, pos, 'Z') || take(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    const auto oh = digits(s, pos, 2);
    if (!oh || *oh > 23) return std::nullopt;
    int om = 0;
    if (pos < s.size()) {
      take(s, pos, ':');
      const auto m = digits(s, pos, 2);
      if (!m || *m > 59) return std::nullopt;
      om = *m;
    }
    offset_min = sign * (*oh * 60 + om);
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  const std::int64_t seconds =
      days * 86400 + *hour * 3600 + *minute * 60 + *second - std::int64_t{offset_min} * 60;
  return seconds * 1000 + millis;
}

TelemetryCounters::TelemetryCounters(SelfMetrics& self)
    : malformed_(self.drop_counter("telemetry", "malformed")) {
  for (std::size_t i = 0; i < kTelemetryTypeCount; ++i) {
    events_[i] = self.counter("lastcall.telemetry.events", {"type:" + std::string(kTypeNames[i])});
  }
}

TelemetryListener::TelemetryListener(net::HttpServer& server, SelfMetrics& self, Sink sink)
    : counters_(self), sink_(std::move(sink)) {
  net::RouteOptions options;
  options.max_body = kTelemetryMaxBody;
  options.on_too_large = [](const net::HttpRequest&) {
    // A non-2xx answer would make the platform resend the same batch forever (§1.3). The server
    // counts the drop (dropped{kind:telemetry, reason:too_large}).
    return net::HttpResponse{200, {}, ""};
  };
  server.route(
      "POST", "/*",
      [this](net::HttpRequest& req, const std::shared_ptr<net::Responder>& responder) {
        responder->respond(net::HttpResponse{200, {}, ""});
        ++batches_;
        process_telemetry_batch(req.body, counters_, sink_);
      },
      std::move(options));
}

std::size_t process_telemetry_batch(std::string_view body, const TelemetryCounters& counters,
                                    const TelemetrySink& sink) {
  const auto parsed = parse_json(body, kBatchParse);
  const auto* array = parsed ? parsed->if_array() : nullptr;
  if (array == nullptr) {
    counters.malformed();
    LC_DEBUG("telemetry: malformed batch of {} bytes dropped: {}", body.size(),
             parsed ? std::string_view("not a JSON array") : parsed.error().message);
    return 0;
  }
  static const boost::json::value kAbsent;  // the record of an element that has none
  std::array<std::uint64_t, kTelemetryTypeCount> per_type{};
  std::uint64_t malformed = 0;
  std::string_view an_unknown;
  std::size_t handed = 0;
  for (const auto& element : *array) {
    const auto* o = element.if_object();
    const auto type_name = o != nullptr ? json::string_member(*o, "type") : std::nullopt;
    if (!type_name) {
      ++malformed;
      continue;
    }
    const auto* record = o->if_contains("record");
    const std::string_view time = json::string_member(*o, "time").value_or(std::string_view());
    TelemetryEvent e{telemetry_type_of(*type_name), *type_name, time,
                     time.empty() ? std::nullopt : parse_event_time_ms(time),
                     record != nullptr ? *record : kAbsent};
    if (e.type == TelemetryType::kExtension) {
      if (const auto* text = e.record_text()) {
        e.own_record = is_own_log_line(json::view(*text));
      } else if (const auto* ro = e.record_object()) {
        const auto message = json::string_member(*ro, "message");
        e.own_record = message && is_own_log_line(*message);
      }
    } else if (e.type == TelemetryType::kUnknown) {
      an_unknown = e.type_name;
    }
    ++per_type[static_cast<std::size_t>(e.type)];
    ++handed;
    if (sink) sink(e);
  }
  for (std::size_t i = 0; i < kTelemetryTypeCount; ++i) {
    if (per_type[i] != 0) counters.events(static_cast<TelemetryType>(i), per_type[i]);
  }
  if (malformed != 0) {
    counters.malformed(malformed);
    LC_DEBUG("telemetry: {} malformed event(s) of {} skipped", malformed, array->size());
  }
  if (per_type[static_cast<std::size_t>(TelemetryType::kUnknown)] != 0) {
    LC_DEBUG("telemetry: {} event(s) of unknown type ignored, e.g. {}",
             per_type[static_cast<std::size_t>(TelemetryType::kUnknown)],
             escape_for_log(an_unknown));
  }
  return handed;
}

}  // namespace lc::lambda
