// logs/processing_rules.h — the user's log processing rules (lambda-agent.md §5.5): a JSON array
// of {"type","name","pattern"[,"replace_placeholder"]} compiled once with RE2 (linear time: a
// user's pattern cannot stall the pipeline) and applied in array order to each message text.
// Built once by the log processor; applied on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace lc::logs {

enum class RuleType : std::uint8_t { kExcludeAtMatch, kIncludeAtMatch, kMaskSequences };

struct ProcessingRule {
  RuleType type = RuleType::kExcludeAtMatch;
  std::string name;
  std::string placeholder;       // mask_sequences only, as given
  std::string rewrite;           // the placeholder as an RE2 rewrite: every `\` doubled (literal)
  std::shared_ptr<re2::RE2> re;  // compiled once
};

// What applying the rules did to one message.
struct RuleOutcome {
  bool dropped = false;
  std::size_t rule = 0;  // dropped: the index of the rule that dropped it
  bool masked = false;   // a mask_sequences rule replaced at least one match
};

class ProcessingRules {
 public:
  ProcessingRules() = default;  // no rules

  // Compiles `json` (empty: no rules). An element that is not an object with a known `type`, a
  // string `name` and a pattern RE2 accepts (mask_sequences: and a string replace_placeholder) is
  // skipped and described in problems(), by name and reason; the others still apply. A value
  // that is not a JSON array gives no rules and one problem.
  static ProcessingRules parse(std::string_view json);

  // Applies every rule in order to `text` (masking in place); the first dropping rule ends it.
  RuleOutcome apply(std::string& text) const;

  bool empty() const { return rules_.empty(); }
  const std::vector<ProcessingRule>& rules() const { return rules_; }
  // One line per skipped rule or unusable value ("rule 'mask_keys': missing pattern"), for the
  // one warning each at start.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<ProcessingRule> rules_;
  std::vector<std::string> problems_;
};

}  // namespace lc::logs
