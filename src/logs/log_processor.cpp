#include "logs/log_processor.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "core/json.h"
#include "core/logger.h"
#include "core/strings.h"

namespace lc::logs {
namespace {

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

// What a byte needs when written inside a JSON string: 0 copied as is, 1 escaped (control
// characters, quote, backslash), 2 the start of a multi-byte UTF-8 sequence (or an invalid byte).
constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (std::size_t c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (std::size_t c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}();

// The length of the well-formed UTF-8 sequence at s[i] (whose first byte is ≥ 0x80), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = at(i);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k) { return (at(i + k) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    const unsigned char b1 = at(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    const unsigned char b1 = at(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

// Appends the JSON string content of the longest prefix of `s` whose escaped form fits in
// `max_out` bytes, never splitting a character; returns the bytes of `s` consumed. A byte that is
// not part of well-formed UTF-8 becomes U+FFFD, so the body is always valid JSON for the intake.
std::size_t append_escaped(std::string& out, std::string_view s, std::size_t max_out = kNoLimit) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacement = "\\ufffd";
  std::size_t written = 0;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    std::size_t j = i;
    while (j < n && kByteClass[static_cast<unsigned char>(s[j])] == 0) ++j;
    if (j > i) {
      const std::size_t take = std::min(j - i, max_out - written);
      out.append(s.data() + i, take);
      written += take;
      i += take;
      if (i < j) return i;
      if (i == n) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (kByteClass[c] == 1) {
      char esc[6] = {'\\', 0, 0, 0, 0, 0};
      std::size_t len = 2;
      switch (c) {
        case '"':
          esc[1] = '"';
          break;
        case '\\':
          esc[1] = '\\';
          break;
        case '\n':
          esc[1] = 'n';
          break;
        case '\r':
          esc[1] = 'r';
          break;
        case '\t':
          esc[1] = 't';
          break;
        case '\b':
          esc[1] = 'b';
          break;
        case '\f':
          esc[1] = 'f';
          break;
        default:
          esc[1] = 'u';
          esc[2] = '0';
          esc[3] = '0';
          esc[4] = kHex[c >> 4];
          esc[5] = kHex[c & 15];
          len = 6;
      }
      if (max_out - written < len) return i;
      out.append(esc, len);
      written += len;
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence(s, i);
    if (len == 0) {
      if (max_out - written < kReplacement.size()) return i;
      out.append(kReplacement);
      written += kReplacement.size();
      ++i;
      continue;
    }
    if (max_out - written < len) return i;
    out.append(s.data() + i, len);
    written += len;
    i += len;
  }
  return i;
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// A JSON value as text, strings through append_escaped (so odd bytes the platform let through
// become U+FFFD instead of invalid JSON).
void append_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.append("null");
      break;
    case boost::json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      break;
    case boost::json::kind::int64:
      append_int(out, v.get_int64());
      break;
    case boost::json::kind::uint64: {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof(buf), v.get_uint64());
      out.append(buf, static_cast<std::size_t>(r.ptr - buf));
      break;
    }
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (std::isnan(d)) {
        out.append("null");
      } else if (std::isinf(d)) {
        out.append(d > 0 ? "1e99999" : "-1e99999");  // what a parser reads back as ±infinity
      } else {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof(buf), d);
        const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
        out.append(text);
        // Keep it a double when read back: "1" → "1.0".
        if (text.find_first_of(".eEn") == std::string_view::npos) out.append(".0");
      }
      break;
    }
    case boost::json::kind::string:
      append_quoted(out, json::view(v.get_string()));
      break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, item);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, {member.key().data(), member.key().size()});
        out.push_back(':');
        append_value(out, member.value());
      }
      out.push_back('}');
      break;
    }
  }
}

std::string to_json(const boost::json::value& v, std::size_t size_hint) {
  std::string out;
  out.reserve(size_hint);
  append_value(out, v);
  return out;
}

// The escaped tags (comma-joined) gain `tags`.
void append_tags(std::string& escaped, std::string_view tags) {
  if (tags.empty()) return;
  if (!escaped.empty()) escaped.push_back(',');
  append_escaped(escaped, tags);
}

// §5.3 rule 1 and 2: a string `ddtags` member is appended to the tags and removed.
void take_ddtags(boost::json::object& o, std::string& escaped_tags) {
  auto it = o.find("ddtags");
  if (it == o.end() || !it->value().is_string()) return;
  append_tags(escaped_tags, json::view(it->value().get_string()));
  o.erase(it);
}

// §5.3 rule 3: the first string among `level`, `status`, mapped.
std::optional<LogStatus> status_of(const boost::json::object& o) {
  for (const char* key : {"level", "status"}) {
    if (auto v = json::string_member(o, key)) return log_status_from_level(*v);
  }
  return std::nullopt;
}

bool looks_like_object(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

// The envelope bytes an entry takes beyond its message and its own tags and request id: the
// fixed keys, the status and timestamp, and room for what is read from the tag sets only at flush
// (the function ARN twice, tags set late).
constexpr std::size_t kEnvelopeFixed = 256;
constexpr std::size_t kLateTagsRoom = 1024;
constexpr std::size_t kArnRoom = 256;

constexpr JsonParseOptions kMessageParse{64, false};

}  // namespace

LogProcessorOptions LogProcessorOptions::from(const LogsConfig& logs, const CommonConfig& common,
                                              Mode mode) {
  LogProcessorOptions o;
  o.lambda_shape = mode == Mode::kExtension;
  o.service = to_lower(common.service);
  if (o.lambda_shape) {
    o.ddsource = "lambda";
  } else {
    o.ddsource = to_lower(common.source);  // serverless-init.md §4.1: lower-cased
    if (!iequals(common.hostname, "none")) o.hostname = common.hostname;
  }
  o.processing_rules_json = logs.processing_rules_json;
  return o;
}

void LogProcessor::set_default_source(std::string_view source) {
  if (options_.ddsource.empty()) options_.ddsource = to_lower(source);
}

LogProcessor::LogProcessor(LogProcessorOptions options, SelfMetrics& self, const TagSets& tags,
                           MemoryBudget* budget)
    : options_(std::move(options)),
      self_(self),
      tags_(tags),
      budget_(budget),
      rules_(ProcessingRules::parse(options_.processing_rules_json)),
      accepted_(self.counter("lastcall.logs.entries")),
      truncated_(self.counter("lastcall.logs.truncated")),
      refused_(self.drop_counter("logs", MemoryBudget::kDropReason)) {
  for (const std::string& problem : rules_.problems()) {
    LC_WARN("logs: DD_LOGS_CONFIG_PROCESSING_RULES: {}", problem);
  }
  excluded_.reserve(rules_.rules().size());
  for (const ProcessingRule& rule : rules_.rules()) {
    excluded_.push_back(self_.counter("lastcall.logs.excluded", {"rule:" + rule.name}));
  }
}

LogProcessor::~LogProcessor() {
  if (budget_ != nullptr && buffered_bytes_ > 0)
    budget_->release(ValueClass::kLogs, buffered_bytes_);
}

void LogProcessor::add(LogRecord record) {
  Entry entry;
  entry.timestamp_ms = record.timestamp_ms;
  entry.status = record.status;
  entry.request_id = std::move(record.request_id);
  for (const std::string& tag : record.tags) append_tags(entry.extra_tags, tag);

  // §5.3: the message as an object when it is one (a parsed record, or a text that parses as one).
  boost::json::value object;
  std::string text;
  bool from_text = false;  // `object` was parsed from `text`
  bool unchanged = false;  // ... and §5.3 changed nothing: `text` is its JSON as it is
  if (record.object.is_object()) {
    object = std::move(record.object);
  } else {
    text = std::move(record.message);
    if (text.empty() && !record.object.is_null()) {
      const auto* s = record.object.if_string();
      text = s != nullptr ? std::string(json::view(*s)) : to_json(record.object, 64);
    }
    if (looks_like_object(text)) {
      auto parsed = parse_json(text, kMessageParse);
      if (parsed && parsed->is_object()) {
        object = std::move(*parsed);
        from_text = true;
        unchanged = true;
      }
    }
  }
  if (object.is_object()) {
    auto& outer = object.as_object();
    const std::size_t members = outer.size();
    take_ddtags(outer, entry.extra_tags);
    std::optional<LogStatus> status = status_of(outer);
    if (auto* inner = outer.if_contains("message"); inner != nullptr && inner->is_object()) {
      boost::json::value message = std::move(*inner);
      take_ddtags(message.as_object(), entry.extra_tags);
      if (!status) status = status_of(message.as_object());
      object = std::move(message);
      unchanged = false;
    }
    if (outer.size() != members) unchanged = false;
    if (status) entry.status = *status;
  }

  // §5.5: the rules see the line's text; an object's is its serialized JSON.
  const bool is_object = object.is_object();
  if (is_object && !unchanged) {
    text = to_json(object, from_text ? text.size() + 16 : 256);
  } else if (is_object) {
    const std::string_view json = trim(text);  // parse_json allowed whitespace around it
    text.erase(0, static_cast<std::size_t>(json.data() - text.data()));
    text.resize(json.size());
  }
  bool ship_as_object = is_object;
  if (!rules_.empty()) {
    const RuleOutcome outcome = rules_.apply(text);
    if (outcome.dropped) {
      excluded_[outcome.rule].add();
      return;
    }
    // A masked object that is no longer one is shipped as text: the secret stays hidden.
    if (outcome.masked && is_object) {
      const auto masked = parse_json(text, kMessageParse);
      ship_as_object = masked && masked->is_object();  // then `text` is its JSON as it is
    }
  }
  object = nullptr;

  // datadog-wire.md §4.5: the whole entry must fit in max_entry_bytes.
  const std::size_t overhead = kEnvelopeFixed + kLateTagsRoom + 2 * kArnRoom +
                               options_.service.size() * 6 + options_.ddsource.size() * 6 +
                               options_.hostname.size() * 6 +
                               tags_.joined(TagSetId::kLogs).size() * 6 + entry.extra_tags.size() +
                               entry.request_id.size() * 6;
  // An object over the limit is cut as text.
  if (ship_as_object && text.size() + overhead > options_.max_entry_bytes) ship_as_object = false;
  if (ship_as_object) {
    entry.message_json = std::move(text);
  } else {
    std::string& out = entry.message_json;
    const std::size_t room =
        options_.max_entry_bytes > overhead + 2 ? options_.max_entry_bytes - overhead - 2 : 0;
    out.reserve(std::min(text.size() + text.size() / 32 + 2, room + 2));
    out.push_back('"');
    if (append_escaped(out, text, room) < text.size()) {
      // Cut at a character boundary with room for the marker (the escaped text is rewritten:
      // rare, and simpler than walking back over escapes).
      out.resize(1);
      append_escaped(out, text,
                     room > kTruncatedMarker.size() ? room - kTruncatedMarker.size() : 0);
      out.append(kTruncatedMarker);
      entry.truncated = true;
      truncated_.add();
    }
    out.push_back('"');
  }

  entry.charged = sizeof(Entry) + MemoryBudget::heap_bytes(entry.message_json) +
                  MemoryBudget::heap_bytes(entry.extra_tags) +
                  MemoryBudget::heap_bytes(entry.request_id);
  if (budget_ != nullptr) {
    if (!budget_->admits(ValueClass::kLogs, entry.charged)) {
      budget_->note_refused(ValueClass::kLogs);
      refused_.add();
      return;
    }
    budget_->charge(ValueClass::kLogs, entry.charged);
  }
  buffered_bytes_ += entry.charged;
  entries_.push_back(std::move(entry));
  accepted_.add();
}

std::vector<Payload> LogProcessor::flush() {
  std::vector<Payload> out;
  if (entries_.empty()) return out;

  // The envelope from the tag sets as they are now (the ARN arrives with the first INVOKE).
  const std::string_view arn = options_.lambda_shape ? tags_.value("function_arn") : "";
  std::string head;  // `"hostname":…,"service":…,"ddsource":…,` (the members before ddtags)
  const std::string_view hostname = options_.lambda_shape ? arn : options_.hostname;
  if (!hostname.empty()) {
    head.append("\"hostname\":");
    append_quoted(head, hostname);
    head.push_back(',');
  }
  if (!options_.service.empty()) {
    head.append("\"service\":");
    append_quoted(head, options_.service);
    head.push_back(',');
  }
  if (!options_.ddsource.empty()) {
    head.append("\"ddsource\":");
    append_quoted(head, options_.ddsource);
    head.push_back(',');
  }
  std::string base_tags;
  append_escaped(base_tags, tags_.joined(TagSetId::kLogs));
  std::string lambda_arn;  // `"arn":"…"` or empty
  if (!arn.empty()) {
    lambda_arn.append("\"arn\":");
    append_quoted(lambda_arn, arn);
  }

  const auto append_ddtags = [&](std::string& body, const Entry& e) {
    if (base_tags.empty() && e.extra_tags.empty()) return;
    body.append("\"ddtags\":\"");
    body.append(base_tags);
    if (!base_tags.empty() && !e.extra_tags.empty()) body.push_back(',');
    body.append(e.extra_tags);
    body.append("\",");
  };
  const auto append_status_time = [&](std::string& body, const Entry& e) {
    // Lambda: `"timestamp":…,"status":…` (the wire example's order); flat: status first.
    const auto append_status = [&] {
      body.append("\"status\":\"");
      body.append(log_status_name(e.status));
      body.push_back('"');
    };
    if (!options_.lambda_shape) {
      append_status();
      body.push_back(',');
    }
    body.append("\"timestamp\":");
    append_int(body, e.timestamp_ms);
    if (options_.lambda_shape) {
      body.push_back(',');
      append_status();
    }
    if (e.truncated) body.append(",\"lastcall.truncated\":true");
  };
  const auto append_entry = [&](std::string& body, const Entry& e) {
    body.push_back('{');
    if (options_.lambda_shape) {
      body.append(head);
      append_ddtags(body, e);
      body.append("\"message\":{\"message\":");
      body.append(e.message_json);
      if (!lambda_arn.empty() || !e.request_id.empty()) {
        body.append(",\"lambda\":{");
        body.append(lambda_arn);
        if (!e.request_id.empty()) {
          if (!lambda_arn.empty()) body.push_back(',');
          body.append("\"request_id\":");
          append_quoted(body, e.request_id);
        }
        body.push_back('}');
      }
      body.push_back(',');
      append_status_time(body, e);
      body.append("}}");
    } else {
      body.append("\"message\":");
      body.append(e.message_json);
      body.push_back(',');
      body.append(head);
      append_ddtags(body, e);
      append_status_time(body, e);
      body.push_back('}');
    }
  };
  const std::size_t per_entry = head.size() + base_tags.size() + 2 * lambda_arn.size() + 160;

  std::size_t released = 0;
  std::string body;
  std::uint32_t items = 0;
  const auto start_batch = [&](std::size_t from) {
    std::size_t estimate = 2;
    const std::size_t end = std::min(entries_.size(), from + options_.max_batch_entries);
    for (std::size_t i = from; i < end && estimate < options_.max_batch_bytes; ++i) {
      const Entry& e = entries_[i];
      estimate += e.message_json.size() + e.extra_tags.size() + e.request_id.size() + per_entry;
    }
    body.reserve(std::min(estimate, options_.max_batch_bytes) + 64);
    body.push_back('[');
    items = 0;
  };
  const auto finish_batch = [&]() {
    body.push_back(']');
    Payload p;
    p.kind = PayloadKind::kLogs;
    p.path = "/api/v2/logs";
    p.content_type = "application/json";
    p.body = std::move(body);
    p.items = items;
    out.push_back(std::move(p));
    body = std::string();
  };

  start_batch(0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    released += e.charged;
    if (items == options_.max_batch_entries) {
      finish_batch();
      start_batch(i);
    }
    const std::size_t mark = body.size();
    if (items > 0) body.push_back(',');
    append_entry(body, e);
    if (items > 0 && body.size() + 1 > options_.max_batch_bytes) {
      // Over the byte limit: this entry opens the next batch.
      std::string tail(body, mark + 1);
      body.resize(mark);
      finish_batch();
      start_batch(i);
      body.append(tail);
    }
    ++items;
  }
  finish_batch();

  entries_.clear();
  if (budget_ != nullptr) budget_->release(ValueClass::kLogs, released);
  buffered_bytes_ = 0;
  return out;
}

std::string LogProcessor::describe() const {
  std::string rules = "[";
  for (const ProcessingRule& rule : rules_.rules()) {
    if (rules.size() > 1) rules.push_back(',');
    const char* type = rule.type == RuleType::kExcludeAtMatch   ? "exclude_at_match"
                       : rule.type == RuleType::kIncludeAtMatch ? "include_at_match"
                                                                : "mask_sequences";
    rules += fmt::format("{{\"name\":{},\"type\":\"{}\"}}", json_quote(rule.name), type);
  }
  rules.push_back(']');
  return fmt::format(
      "{{\"shape\":\"{}\",\"service\":{},\"ddsource\":{},\"hostname\":{},\"rules\":{},"
      "\"rule_problems\":{},\"max_batch_entries\":{},\"max_batch_bytes\":{},"
      "\"max_entry_bytes\":{}}}",
      options_.lambda_shape ? "lambda" : "flat", json_quote(options_.service),
      json_quote(options_.ddsource), json_quote(options_.hostname), rules, rules_.problems().size(),
      options_.max_batch_entries, options_.max_batch_bytes, options_.max_entry_bytes);
}

}  // namespace lc::logs
