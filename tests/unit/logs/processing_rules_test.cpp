// logs/processing_rules: each rule type, array order, the first dropping rule ending it, literal
// placeholders, and every kind of unusable rule reported once and skipped (lambda-agent.md §5.5).
#include "logs/processing_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lc::logs {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string applied(const ProcessingRules& rules, std::string text, RuleOutcome* outcome) {
  *outcome = rules.apply(text);
  return text;
}

TEST(ProcessingRules, EmptyValueIsNoRulesAndNoProblem) {
  for (const char* json : {"", "  ", "[]"}) {
    const auto rules = ProcessingRules::parse(json);
    EXPECT_TRUE(rules.empty()) << json;
    EXPECT_THAT(rules.problems(), IsEmpty()) << json;
  }
}

TEST(ProcessingRules, ExcludeAtMatchDropsOnMatch) {
  const auto rules = ProcessingRules::parse(
      R"([{"type":"exclude_at_match","name":"drop_platform","pattern":"^(START|END|REPORT) RequestId"}])");
  ASSERT_EQ(rules.rules().size(), 1u);
  EXPECT_EQ(rules.rules()[0].type, RuleType::kExcludeAtMatch);
  EXPECT_EQ(rules.rules()[0].name, "drop_platform");
  RuleOutcome o;
  applied(rules, "START RequestId: r1 Version: $LATEST", &o);
  EXPECT_TRUE(o.dropped);
  EXPECT_EQ(o.rule, 0u);
  applied(rules, "hello START RequestId", &o);
  EXPECT_FALSE(o.dropped);
  EXPECT_FALSE(o.masked);
}

TEST(ProcessingRules, IncludeAtMatchDropsWithoutMatch) {
  const auto rules = ProcessingRules::parse(
      R"([{"type":"include_at_match","name":"only_orders","pattern":"order"}])");
  RuleOutcome o;
  applied(rules, "new order 42", &o);
  EXPECT_FALSE(o.dropped);
  applied(rules, "healthcheck", &o);
  EXPECT_TRUE(o.dropped);
  EXPECT_EQ(o.rule, 0u);
}

TEST(ProcessingRules, MaskSequencesReplacesEveryMatch) {
  const auto rules = ProcessingRules::parse(
      R"([{"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+","replace_placeholder":"api_key=[REDACTED]"}])");
  ASSERT_EQ(rules.rules().size(), 1u);
  EXPECT_EQ(rules.rules()[0].placeholder, "api_key=[REDACTED]");
  RuleOutcome o;
  EXPECT_EQ(applied(rules, "a api_key=abc123 b api_key=XYZ c", &o),
            "a api_key=[REDACTED] b api_key=[REDACTED] c");
  EXPECT_TRUE(o.masked);
  EXPECT_FALSE(o.dropped);
  EXPECT_EQ(applied(rules, "nothing secret", &o), "nothing secret");
  EXPECT_FALSE(o.masked);
}

TEST(ProcessingRules, PlaceholderIsLiteralEvenWithBackslashes) {
  // RE2 reads \1 and \\ in a rewrite string; the user's placeholder is taken as written.
  const auto rules = ProcessingRules::parse(
      R"j([{"type":"mask_sequences","name":"m","pattern":"(secret)","replace_placeholder":"\\1 \\\\ \\0 $1"}])j");
  ASSERT_EQ(rules.rules().size(), 1u);
  RuleOutcome o;
  EXPECT_EQ(applied(rules, "x secret y", &o), R"(x \1 \\ \0 $1 y)");
}

TEST(ProcessingRules, AppliedInArrayOrder) {
  // Masking first hides what the exclude rule looks for: the line survives, masked.
  const auto mask_first = ProcessingRules::parse(R"([
    {"type":"mask_sequences","name":"mask","pattern":"password=\\S+","replace_placeholder":"password=***"},
    {"type":"exclude_at_match","name":"drop_hunter2","pattern":"hunter2"}])");
  RuleOutcome o;
  EXPECT_EQ(applied(mask_first, "login password=hunter2", &o), "login password=***");
  EXPECT_FALSE(o.dropped);
  EXPECT_TRUE(o.masked);

  // The other way round the exclude rule sees the secret and drops the line.
  const auto exclude_first = ProcessingRules::parse(R"([
    {"type":"exclude_at_match","name":"drop_hunter2","pattern":"hunter2"},
    {"type":"mask_sequences","name":"mask","pattern":"password=\\S+","replace_placeholder":"password=***"}])");
  EXPECT_EQ(applied(exclude_first, "login password=hunter2", &o), "login password=hunter2");
  EXPECT_TRUE(o.dropped);
  EXPECT_EQ(o.rule, 0u);
  EXPECT_FALSE(o.masked);
}

TEST(ProcessingRules, FirstDroppingRuleEndsProcessing) {
  const auto rules = ProcessingRules::parse(R"([
    {"type":"include_at_match","name":"only_orders","pattern":"order"},
    {"type":"exclude_at_match","name":"drop_debug","pattern":"DEBUG"},
    {"type":"mask_sequences","name":"mask_digits","pattern":"[0-9]","replace_placeholder":"#"}])");
  ASSERT_EQ(rules.rules().size(), 3u);
  RuleOutcome o;
  EXPECT_EQ(applied(rules, "DEBUG order 12", &o), "DEBUG order 12");  // never reaches the mask
  EXPECT_TRUE(o.dropped);
  EXPECT_EQ(o.rule, 1u);
  EXPECT_EQ(applied(rules, "healthcheck 12", &o), "healthcheck 12");
  EXPECT_TRUE(o.dropped);
  EXPECT_EQ(o.rule, 0u);
  EXPECT_EQ(applied(rules, "INFO order 12", &o), "INFO order ##");
  EXPECT_FALSE(o.dropped);
  EXPECT_TRUE(o.masked);
}

TEST(ProcessingRules, InvalidRulesAreReportedOnceAndSkipped) {
  const auto rules = ProcessingRules::parse(R"([
    {"type":"exclude_at_match","name":"bad_regex","pattern":"(unclosed"},
    {"type":"drop_everything","name":"odd_type","pattern":"x"},
    {"type":"exclude_at_match","pattern":"no name"},
    {"type":"exclude_at_match","name":"no_pattern"},
    {"name":"no_type","pattern":"x"},
    {"type":"mask_sequences","name":"no_placeholder","pattern":"x"},
    {"type":"exclude_at_match","name":"number_pattern","pattern":42},
    "not an object",
    {"type":"exclude_at_match","name":"good","pattern":"drop me"}])");
  ASSERT_EQ(rules.rules().size(), 1u);
  EXPECT_EQ(rules.rules()[0].name, "good");
  const auto& p = rules.problems();
  ASSERT_EQ(p.size(), 8u);
  EXPECT_THAT(p[0], HasSubstr("rule 'bad_regex': invalid pattern"));
  EXPECT_THAT(p[1], HasSubstr("rule 'odd_type': unknown type 'drop_everything'"));
  EXPECT_THAT(p[2], HasSubstr("rule #3: missing name"));
  EXPECT_THAT(p[3], HasSubstr("rule 'no_pattern': missing pattern"));
  EXPECT_THAT(p[4], HasSubstr("rule 'no_type': missing type"));
  EXPECT_THAT(p[5], HasSubstr("rule 'no_placeholder': missing replace_placeholder"));
  EXPECT_THAT(p[6], HasSubstr("rule 'number_pattern': missing pattern"));
  EXPECT_THAT(p[7], HasSubstr("rule #8: not an object"));

  RuleOutcome o;
  applied(rules, "please drop me", &o);
  EXPECT_TRUE(o.dropped);
  applied(rules, "(unclosed x", &o);
  EXPECT_FALSE(o.dropped);
}

TEST(ProcessingRules, ValueThatIsNotAnArrayIsOneProblemAndNoRules) {
  for (const char* json : {R"({"type":"exclude_at_match","name":"n","pattern":"x"})", R"("rules")",
                           "42", R"([{"type":"exclude_at_match","name":"n","pattern":"x"})"}) {
    const auto rules = ProcessingRules::parse(json);
    EXPECT_TRUE(rules.empty()) << json;
    ASSERT_EQ(rules.problems().size(), 1u) << json;
    EXPECT_THAT(rules.problems()[0], HasSubstr("processing rules: not")) << json;
  }
}

TEST(ProcessingRules, PatternsAreRe2Syntax) {
  // A backreference is not RE2 syntax: reported, not a crash or a backtracking engine.
  const auto rules = ProcessingRules::parse(
      R"j([{"type":"exclude_at_match","name":"backref","pattern":"(a)\\1"},
          {"type":"exclude_at_match","name":"lookahead","pattern":"a(?=b)"},
          {"type":"exclude_at_match","name":"classes","pattern":"\\d{3}-\\w+"}])j");
  ASSERT_EQ(rules.rules().size(), 1u);
  EXPECT_EQ(rules.rules()[0].name, "classes");
  EXPECT_EQ(rules.problems().size(), 2u);
  RuleOutcome o;
  applied(rules, "call 555-abc", &o);
  EXPECT_TRUE(o.dropped);
}

}  // namespace
}  // namespace lc::logs
