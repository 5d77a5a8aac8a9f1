#include "logs/processing_rules.h"

#include <utility>

#include <fmt/format.h>
#include <re2/re2.h>

#include "core/json.h"

namespace lc::logs {
namespace {

// RE2 reads `\0`..`\9` in a rewrite string as a capture group and `\\` as one backslash: doubling
// every backslash makes the user's placeholder literal (lambda-agent.md §5.5 replaces with the
// placeholder as written).
std::string literal_rewrite(std::string_view placeholder) {
  std::string out;
  out.reserve(placeholder.size() + 4);
  for (const char c : placeholder) {
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool type_of(std::string_view name, RuleType* type) {
  if (name == "exclude_at_match") {
    *type = RuleType::kExcludeAtMatch;
  } else if (name == "include_at_match") {
    *type = RuleType::kIncludeAtMatch;
  } else if (name == "mask_sequences") {
    *type = RuleType::kMaskSequences;
  } else {
    return false;
  }
  return true;
}

}  // namespace

ProcessingRules ProcessingRules::parse(std::string_view json) {
  ProcessingRules out;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  auto parsed = parse_json(json);
  if (!parsed) {
    out.problems_.push_back(fmt::format("processing rules: not valid JSON ({}); no rule applies",
                                        parsed.error().message));
    return out;
  }
  const auto* array = parsed->if_array();
  if (array == nullptr) {
    out.problems_.emplace_back("processing rules: not a JSON array; no rule applies");
    return out;
  }
  out.rules_.reserve(array->size());
  std::size_t index = 0;
  for (const auto& element : *array) {
    ++index;
    const auto* object = element.if_object();
    if (object == nullptr) {
      out.problems_.push_back(fmt::format("rule #{}: not an object; skipped", index));
      continue;
    }
    const auto name = json::string_member(*object, "name");
    // The rule's name for messages: its own, else its position.
    const std::string label =
        name && !name->empty() ? fmt::format("rule '{}'", *name) : fmt::format("rule #{}", index);
    if (!name || name->empty()) {
      out.problems_.push_back(fmt::format("{}: missing name; skipped", label));
      continue;
    }
    ProcessingRule rule;
    rule.name = std::string(*name);
    const auto type = json::string_member(*object, "type");
    if (!type) {
      out.problems_.push_back(fmt::format("{}: missing type; skipped", label));
      continue;
    }
    if (!type_of(*type, &rule.type)) {
      out.problems_.push_back(fmt::format("{}: unknown type '{}'; skipped", label, *type));
      continue;
    }
    const auto pattern = json::string_member(*object, "pattern");
    if (!pattern || pattern->empty()) {
      out.problems_.push_back(fmt::format("{}: missing pattern; skipped", label));
      continue;
    }
    if (rule.type == RuleType::kMaskSequences) {
      const auto placeholder = json::string_member(*object, "replace_placeholder");
      if (!placeholder) {
        out.problems_.push_back(fmt::format("{}: missing replace_placeholder; skipped", label));
        continue;
      }
      rule.placeholder = std::string(*placeholder);
      rule.rewrite = literal_rewrite(*placeholder);
    }
    RE2::Options options;
    options.set_log_errors(false);  // the one warning is ours, not RE2's stderr line
    auto re = std::make_shared<RE2>(re2::StringPiece(pattern->data(), pattern->size()), options);
    if (!re->ok()) {
      out.problems_.push_back(fmt::format("{}: invalid pattern ({}); skipped", label, re->error()));
      continue;
    }
    rule.re = std::move(re);
    out.rules_.push_back(std::move(rule));
  }
  return out;
}

RuleOutcome ProcessingRules::apply(std::string& text) const {
  RuleOutcome outcome;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const ProcessingRule& rule = rules_[i];
    switch (rule.type) {
      case RuleType::kExcludeAtMatch:
        if (RE2::PartialMatch(text, *rule.re)) {
          outcome.dropped = true;
          outcome.rule = i;
          return outcome;
        }
        break;
      case RuleType::kIncludeAtMatch:
        if (!RE2::PartialMatch(text, *rule.re)) {
          outcome.dropped = true;
          outcome.rule = i;
          return outcome;
        }
        break;
      case RuleType::kMaskSequences:
        if (RE2::GlobalReplace(&text, *rule.re, rule.rewrite) > 0) outcome.masked = true;
        break;
    }
  }
  return outcome;
}

}  // namespace lc::logs
