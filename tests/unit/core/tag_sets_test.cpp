// TagSets (lambda-agent.md §3.5, serverless-init.md §5.4): the precedence of DD_ENV/DD_SERVICE/
// DD_VERSION over the items of DD_TAGS/DD_EXTRA_TAGS, DD_TAGS splitting, lower-casing, late tags
// (set, replaced, removed after construction), the per-set masks, the custom-metrics exclusions,
// and what --check-config says about dropped items.
#include "core/tag_sets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/tags.h"

namespace lc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Env = std::map<std::string, std::string>;

constexpr TagSetId kAllSets[] = {TagSetId::kBase, TagSetId::kCustomMetrics,
                                 TagSetId::kEnhancedMetrics, TagSetId::kLogs, TagSetId::kTraces};

FinalConfig finalize(const Env& env, Mode mode = Mode::kExtension) {
  MapEnvironment e(env);
  auto c = finalize_config(load_raw_config(e, std::nullopt), mode);
  EXPECT_TRUE(c);
  return std::move(c).value();
}

// The tags of `key` in a list.
std::vector<std::string> with_key(const std::vector<std::string>& tags, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (tag_key(t) == key) out.push_back(t);
  }
  return out;
}

const FinalConfig::Entry* entry(const FinalConfig& c, std::string_view name) {
  return c.entry(name);
}

TEST(TagSets, EmptyByDefault) {
  TagSets tags;
  for (TagSetId id : kAllSets) {
    EXPECT_THAT(tags.tags(id), IsEmpty()) << tag_set_name(id);
    EXPECT_EQ(tags.joined(id), "");
  }
  EXPECT_THAT(TagSets::none().tags(TagSetId::kBase), IsEmpty());
  EXPECT_THAT(TagSets(finalize({}).common, finalize({}).lambda).tags(TagSetId::kBase), IsEmpty());
}

TEST(TagSets, FromConfigInConfigurationOrder) {
  const auto c = finalize({{"DD_ENV", "Prod"},
                           {"DD_SERVICE", "Checkout"},
                           {"DD_VERSION", "1.2"},
                           {"DD_TAGS", "team:a tier:1,team:a"},
                           {"DD_EXTRA_TAGS", "owner:ana"}});
  TagSets tags(c.common, c.lambda);
  for (TagSetId id : kAllSets) {
    EXPECT_THAT(tags.tags(id), ElementsAre("env:prod", "service:checkout", "version:1.2", "team:a",
                                           "tier:1", "owner:ana"))
        << tag_set_name(id);
  }
  EXPECT_EQ(tags.joined(TagSetId::kLogs),
            "env:prod,service:checkout,version:1.2,team:a,tier:1,"
            "owner:ana");
}

// lambda-agent.md §3.5, every row: each of DD_ENV / DD_SERVICE / DD_VERSION set or unset, with
// an item of its key in DD_TAGS, in DD_EXTRA_TAGS, in both, or nowhere.
TEST(TagSets, PrecedenceTable) {
  struct Dedicated {
    const char* variable;
    const char* key;
  };
  const Dedicated dedicated[] = {
      {"DD_ENV", "env"}, {"DD_SERVICE", "service"}, {"DD_VERSION", "version"}};
  enum class Item { kNone, kDdTags, kExtraTags, kBoth };
  for (const auto& d : dedicated) {
    for (const bool set : {false, true}) {
      for (const Item item : {Item::kNone, Item::kDdTags, Item::kExtraTags, Item::kBoth}) {
        const std::string key = d.key;
        Env env{{"DD_TAGS", "team:a"}, {"DD_EXTRA_TAGS", "tier:1"}};
        if (set) env[d.variable] = "Dedicated";
        if (item == Item::kDdTags || item == Item::kBoth)
          env["DD_TAGS"] += "," + key + ":from-tags";
        if (item == Item::kExtraTags || item == Item::kBoth) {
          env["DD_EXTRA_TAGS"] += " " + key + ":from-extra";
        }
        const auto c = finalize(env);
        TagSets tags(c.common, c.lambda);
        SCOPED_TRACE(std::string(d.variable) + (set ? " set" : " unset") + ", item " +
                     std::to_string(static_cast<int>(item)));
        for (TagSetId id : kAllSets) {
          const auto& t = tags.tags(id);
          std::vector<std::string> expected;
          if (set) {
            expected = {key + ":dedicated"};  // lower-cased; every item of the key dropped
          } else {
            if (item == Item::kDdTags || item == Item::kBoth)
              expected.push_back(key + ":from-tags");
            if (item == Item::kExtraTags || item == Item::kBoth) {
              expected.push_back(key + ":from-extra");
            }
          }
          EXPECT_EQ(with_key(t, key), expected) << tag_set_name(id);
          // The other user tags are untouched.
          EXPECT_EQ(with_key(t, "team"), std::vector<std::string>{"team:a"});
          EXPECT_EQ(with_key(t, "tier"), std::vector<std::string>{"tier:1"});
        }
        EXPECT_EQ(tags.value(key), set ? "dedicated" : "");
      }
    }
  }
}

TEST(TagSets, DedicatedVariablesWinOverEveryUserItemOfTheirKey) {
  // The example: DD_ENV=prod DD_TAGS=env:dev → only env:prod.
  const auto c = finalize({{"DD_ENV", "prod"}, {"DD_TAGS", "env:dev,team:a,env:qa"}});
  TagSets tags(c.common, c.lambda);
  EXPECT_THAT(tags.tags(TagSetId::kCustomMetrics), ElementsAre("env:prod", "team:a"));
  // The same value given both ways is one tag.
  const auto same = finalize({{"DD_SERVICE", "api"}, {"DD_TAGS", "service:api"}});
  EXPECT_THAT(TagSets(same.common, same.lambda).tags(TagSetId::kBase), ElementsAre("service:api"));
}

TEST(TagSets, UserTagsKeepSeveralValuesOfTheirOwnKeys) {
  const auto c = finalize({{"DD_TAGS", "team:a,team:b"}, {"DD_EXTRA_TAGS", "team:a"}});
  TagSets tags(c.common, c.lambda);
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("team:a", "team:b"));
}

TEST(TagSets, DdTagsSplitOnCommasAndWhitespaceRuns) {
  // §3.5's example, and tabs/newlines as container images write them; empty items dropped.
  const auto c = finalize(
      {{"DD_TAGS", "team:core,tier:1  owner:ana"}, {"DD_EXTRA_TAGS", " ,a:1\t\tb:2,,\nc:3 , "}});
  TagSets tags(c.common, c.lambda);
  EXPECT_THAT(tags.tags(TagSetId::kBase),
              ElementsAre("team:core", "tier:1", "owner:ana", "a:1", "b:2", "c:3"));
}

TEST(TagSets, LowerCasingOnlyWhereTheSpecSaysSo) {
  // env, service and version are lower-cased; DD_TAGS items are kept as given (the intake
  // lower-cases what it must); bare items stay bare.
  const auto c = finalize({{"DD_ENV", "PROD"},
                           {"DD_SERVICE", "Checkout"},
                           {"DD_VERSION", "V1.4.2-RC"},
                           {"DD_TAGS", "Team:Core Bare"}});
  TagSets tags(c.common, c.lambda);
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("env:prod", "service:checkout",
                                                      "version:v1.4.2-rc", "Team:Core", "Bare"));
}

TEST(TagSets, LateTagsAppearReplaceAndGo) {
  const auto c = finalize({{"DD_ENV", "prod"}, {"DD_TAGS", "team:a"}});
  TagSets tags(c.common, c.lambda);
  const auto g0 = tags.generation();
  // The register reply: account_id and aws_account, after the configured lastcall tags and
  // before the user tags.
  tags.set("account_id", "123456789012");
  tags.set("aws_account", "123456789012");
  EXPECT_GT(tags.generation(), g0);
  EXPECT_THAT(
      tags.tags(TagSetId::kEnhancedMetrics),
      ElementsAre("env:prod", "account_id:123456789012", "aws_account:123456789012", "team:a"));
  // Replacing a value keeps its place and never leaves two values.
  tags.set("account_id", "999999999999");
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("env:prod", "account_id:999999999999",
                                                      "aws_account:123456789012", "team:a"));
  EXPECT_EQ(tags.value("account_id"), "999999999999");
  // The same value again changes nothing.
  const auto g1 = tags.generation();
  tags.set("account_id", "999999999999");
  EXPECT_EQ(tags.generation(), g1);
  tags.remove("aws_account");
  tags.remove("not-there");
  EXPECT_THAT(tags.tags(TagSetId::kBase),
              ElementsAre("env:prod", "account_id:999999999999", "team:a"));
  EXPECT_EQ(tags.joined(TagSetId::kTraces), "env:prod,account_id:999999999999,team:a");
}

TEST(TagSets, LateTagHidesTheUserTagOfItsKeyUntilRemoved) {
  // A point never carries two values for one of the keys lastcall sets itself.
  const auto c = finalize({{"DD_TAGS", "region:mine,team:a"}});
  TagSets tags(c.common, c.lambda);
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("region:mine", "team:a"));
  tags.set("region", "us-east-1");
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("region:us-east-1", "team:a"));
  tags.remove("region");
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("region:mine", "team:a"));
}

TEST(TagSets, MaskPutsATagInSomeSetsOnly) {
  TagSets tags;
  tags.set_user_tags({"lambda_microvm_id:user", "team:a"});
  tags.set("lambda_microvm_id", "vm-1", TagSetMask::of({TagSetId::kLogs, TagSetId::kTraces}));
  EXPECT_THAT(tags.tags(TagSetId::kLogs), ElementsAre("lambda_microvm_id:vm-1", "team:a"));
  EXPECT_THAT(tags.tags(TagSetId::kTraces), ElementsAre("lambda_microvm_id:vm-1", "team:a"));
  // Where lastcall does not set the key, the user's value is the only one and stays.
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("lambda_microvm_id:user", "team:a"));
  EXPECT_THAT(tags.tags(TagSetId::kCustomMetrics), ElementsAre("lambda_microvm_id:user", "team:a"));
  // A later set with another mask moves it.
  tags.set("lambda_microvm_id", "vm-2", TagSetMask::all());
  for (TagSetId id : kAllSets) {
    EXPECT_THAT(tags.tags(id), ElementsAre("lambda_microvm_id:vm-2", "team:a"));
  }
}

TEST(TagSets, CustomMetricsLoseExcludedKeysEnhancedKeepThem) {
  const auto c = finalize({{"DD_ENV", "prod"},
                           {"DD_TAGS", "team:a,tier:1,team:b"},
                           {"DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS", "team, memorysize"}});
  EXPECT_THAT(c.lambda.custom_metrics_exclude_tags, ElementsAre("team", "memorysize"));
  TagSets tags(c.common, c.lambda);
  tags.set("memorysize", "1024");  // a late tag of an excluded key is excluded too
  EXPECT_THAT(tags.tags(TagSetId::kCustomMetrics), ElementsAre("env:prod", "tier:1"));
  for (TagSetId id :
       {TagSetId::kBase, TagSetId::kEnhancedMetrics, TagSetId::kLogs, TagSetId::kTraces}) {
    EXPECT_THAT(tags.tags(id),
                ElementsAre("env:prod", "memorysize:1024", "team:a", "tier:1", "team:b"))
        << tag_set_name(id);
  }
  // An excluded key of lastcall's own: neither its value nor a user item of it in custom metrics.
  tags.set_custom_metrics_excluded_keys({"env"});
  EXPECT_THAT(tags.tags(TagSetId::kCustomMetrics),
              ElementsAre("memorysize:1024", "team:a", "tier:1", "team:b"));
}

TEST(TagSets, CheckConfigShowsTheItemsUsedAndWhy) {
  const auto c = finalize(
      {{"DD_ENV", "prod"}, {"DD_TAGS", "env:dev,team:a"}, {"DD_EXTRA_TAGS", "version:9,owner:ana"}},
      Mode::kSidecar);
  const auto* tags = entry(c, "DD_TAGS");
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->display, "team:a");
  EXPECT_THAT(tags->source, HasSubstr("DD_ENV is set: env:dev dropped"));
  // DD_VERSION is not set: version:9 stays, and the row says what was given.
  const auto* extra = entry(c, "DD_EXTRA_TAGS");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->display, "version:9,owner:ana");
  EXPECT_EQ(extra->source, "env DD_EXTRA_TAGS");
  EXPECT_FALSE(c.rejected_values);
  const std::string text = render_check_config(c);
  EXPECT_THAT(text, HasSubstr("DD_ENV is set: env:dev dropped, lambda-agent.md §3.5"));

  // The variable that set env is named as it was given (DATADOG_ENV).
  const auto fallback = finalize({{"DATADOG_ENV", "prod"}, {"DD_TAGS", "env:dev"}});
  EXPECT_THAT(entry(fallback, "DD_TAGS")->source, HasSubstr("DATADOG_ENV is set"));
  EXPECT_EQ(entry(fallback, "DD_TAGS")->display, "(unset)");

  // Without DD_ENV nothing is derived.
  const auto plain = finalize({{"DD_TAGS", "env:dev,team:a"}});
  EXPECT_EQ(entry(plain, "DD_TAGS")->display, "env:dev,team:a");
  EXPECT_EQ(entry(plain, "DD_TAGS")->source, "env DD_TAGS");
  TagSets t(plain.common, plain.lambda);
  EXPECT_THAT(t.tags(TagSetId::kBase), ElementsAre("env:dev", "team:a"));
}

TEST(TagSets, DatadogYamlTagsFollowTheSameRule) {
  const std::string dir = ::testing::TempDir() + "/tag_sets_yaml";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/datadog.yaml") << "env: staging\ntags:\n  - env:dev\n  - team:a\n";
  MapEnvironment e({{"LAMBDA_TASK_ROOT", dir}});
  auto c = load_config(e, Mode::kExtension);
  ASSERT_TRUE(c);
  TagSets tags(c->common, c->lambda);
  EXPECT_THAT(tags.tags(TagSetId::kBase), ElementsAre("env:staging", "team:a"));
}

}  // namespace
}  // namespace lc
