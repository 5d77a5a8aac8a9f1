// fuzz/logs — the log processor (lambda-agent.md §5.3, §5.5; datadog-wire.md §4.5) on arbitrary
// bytes. The input is `<flags><rules JSON>\0<messages, one per line>` (no NUL: the same bytes are
// both). The rules JSON is compiled and applied to every line, and drives one processor; a second
// processor runs a few fixed rules. Every line goes in as text, and as an object record when it
// parses as a JSON object. Small limits make truncation and batch splits frequent. After flush()
// every body must be a strict JSON array (valid UTF-8) of `items` objects, within the batch limits,
// and a one-entry body within the entry limit; anything else is a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/logger.h"
#include "core/memory_budget.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "logs/log_processor.h"
#include "logs/processing_rules.h"

namespace {

constexpr std::string_view kFixedRules = R"([
  {"type":"exclude_at_match","name":"drop_platform","pattern":"^(START|END|REPORT) RequestId"},
  {"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+","replace_placeholder":"api_key=[\\1\\\\REDACTED]"},
  {"type":"mask_sequences","name":"mask_quotes","pattern":"\"secret\":\"[^\"]*\"","replace_placeholder":"<gone>"},
  {"type":"include_at_match","name":"not_empty","pattern":"."}])";

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_payloads(const std::vector<lc::Payload>& payloads,
                    const lc::logs::LogProcessorOptions& options, std::size_t added) {
  std::size_t items = 0;
  for (const lc::Payload& p : payloads) {
    check(p.items >= 1 && p.items <= options.max_batch_entries);
    if (p.items > 1) check(p.body.size() <= options.max_batch_bytes);
    lc::JsonParseOptions strict;
    strict.max_depth = 256;
    auto parsed = lc::parse_json(p.body, strict);
    check(parsed.has_value() && parsed->is_array() && parsed->as_array().size() == p.items);
    for (const auto& entry : parsed->as_array()) check(entry.is_object());
    if (p.items == 1 && options.max_entry_bytes >= 4096) {
      // The message is cut so the entry fits; tags the line brought in its own `ddtags` are not.
      const auto& entry = parsed->as_array()[0].as_object();
      const std::size_t tags = lc::json::string_member(entry, "ddtags").value_or("").size();
      check(p.body.size() - 2 <= options.max_entry_bytes + 6 * tags);
    }
    items += p.items;
  }
  check(items <= added);
}

void run(const lc::logs::LogProcessorOptions& options, const lc::TagSets& tags,
         const std::vector<std::string_view>& lines, std::uint8_t flags) {
  static lc::SelfMetrics self;
  lc::MemoryBudget budget((flags & 8) != 0 ? 64 * 1024 : 64 * 1024 * 1024, &self);
  lc::logs::LogProcessor processor(options, self, tags, &budget);
  (void)processor.describe();
  std::size_t added = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    lc::LogRecord text;
    text.message = std::string(lines[i]);
    text.timestamp_ms = static_cast<std::int64_t>(i) * 1000;
    text.status = static_cast<lc::LogStatus>(i % 6);
    if ((i & 1) != 0) text.request_id = "req-" + std::to_string(i);
    if ((i & 2) != 0) text.tags = {"k:v", std::string(lines[i].substr(0, 16))};
    processor.add(std::move(text));
    ++added;
    auto parsed = lc::parse_json(lines[i]);
    if (parsed && parsed->is_object()) {
      lc::LogRecord object;
      object.object = std::move(*parsed);
      object.timestamp_ms = 1;
      processor.add(std::move(object));
      ++added;
    }
    if ((flags & 16) != 0 && i % 7 == 6) check_payloads(processor.flush(), options, added);
  }
  check(budget.used(lc::ValueClass::kLogs) == processor.buffered_bytes());
  check_payloads(processor.flush(), options, added);
  check(budget.used(lc::ValueClass::kLogs) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    lc::Logger::instance().set_level(lc::LogLevel::kOff);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t nul = rest.find('\0');
  const std::string_view rules_json = nul == std::string_view::npos ? rest : rest.substr(0, nul);
  const std::string_view messages = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= messages.size();) {
    const std::size_t end = std::min(messages.find('\n', start), messages.size());
    lines.push_back(messages.substr(start, end - start));
    start = end + 1;
  }

  // (a) the bytes as rules, applied on their own.
  const auto rules = lc::logs::ProcessingRules::parse(rules_json);
  for (const std::string_view line : lines) {
    std::string text(line);
    const auto outcome = rules.apply(text);
    check(!outcome.dropped || outcome.rule < rules.rules().size());
  }

  static lc::TagSets tags;
  static const bool tagged = [] {
    tags.set("env", "fuzz");
    return true;
  }();
  (void)tagged;
  if ((flags & 32) != 0) {
    tags.set("function_arn", "arn:aws:lambda:us-east-1:123456789012:function:fuzz");
  } else {
    tags.remove("function_arn");
  }

  lc::logs::LogProcessorOptions options;
  options.lambda_shape = (flags & 1) == 0;
  options.service = "fuzz";
  options.ddsource = (flags & 64) != 0 ? "" : "lambda";
  options.hostname = options.lambda_shape ? "" : "host";
  if ((flags & 2) != 0) {
    options.max_entry_bytes = (flags & 4) != 0 ? 4096 : 700;
    options.max_batch_entries = 4;
    options.max_batch_bytes = 9000;
  }
  // (b) the messages through a processor with the fuzzed rules, and one with fixed rules.
  options.processing_rules_json = std::string(rules_json);
  run(options, tags, lines, flags);
  options.processing_rules_json = std::string(kFixedRules);
  run(options, tags, lines, flags);
  return 0;
}
