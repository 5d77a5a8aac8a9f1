// lambda/lambda_tags.h: the base tags of lambda-agent.md §3.5 in TagSets, from the configuration,
// uname, the register reply or the first INVOKE's ARN, and the runtime found in /proc (fixture
// trees under tests/fixtures/proc/, os-release files under tests/fixtures/etc/) or a fake.
#include "lambda/lambda_tags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/version.h"
#include "fakes/fake_proc_reader.h"
#include "test_paths.h"

namespace lc::lambda {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;
using namespace std::string_literals;

std::string fixture(std::string_view kind, std::string_view name) {
  return std::string(LC_TEST_SOURCE_DIR) + "/tests/fixtures/" + std::string(kind) + "/" +
         std::string(name);
}

LambdaConfig lambda_config(std::string name = "my-fn", std::string version = "$LATEST") {
  LambdaConfig c;
  c.region = "us-east-1";
  c.function_name = std::move(name);
  c.function_version = std::move(version);
  c.memory_size_mb = 1024;
  c.initialization_type = "on-demand";
  return c;
}

CommonConfig common_config() {
  CommonConfig c;
  c.env = "prod";
  c.service = "checkout";
  c.version = "1.4.2";
  c.tags = {"team:core"};
  return c;
}

fakes::FakeProcReader arm64() {
  fakes::FakeProcReader p;
  p.set_uname({"Linux", "5.10.0", "aarch64"});
  return p;
}

bool has(const TagSets& sets, TagSetId id, std::string_view tag) {
  const auto& t = sets.tags(id);
  return std::find(t.begin(), t.end(), tag) != t.end();
}

bool has_key(const TagSets& sets, TagSetId id, std::string_view key) {
  for (const auto& t : sets.tags(id)) {
    if (t.compare(0, key.size() + 1, std::string(key) + ":") == 0) return true;
  }
  return false;
}

TEST(LambdaTags, TheFullExampleOfTheSpecOnEveryPoint) {
  const LambdaConfig lambda = lambda_config();
  const CommonConfig common = common_config();
  TagSets sets(common, lambda);
  const SystemProcReader proc(fixture("proc", "lambda_node20"));
  const SystemProcReader etc(fixture("etc", "amazon_linux_2023"));
  const auto uname_arm = arm64();
  // uname from the fake (arm64), /proc from the fixture tree.
  struct Mixed final : ProcReader {
    const ProcReader& files;
    const ProcReader& un;
    Mixed(const ProcReader& f, const ProcReader& u) : files(f), un(u) {}
    Expected<std::string> read_file(std::string_view p, std::size_t m) const override {
      return files.read_file(p, m);
    }
    Expected<std::vector<std::string>> list_dir(std::string_view p) const override {
      return files.list_dir(p);
    }
    Expected<std::vector<int>> list_pids() const override { return files.list_pids(); }
    Expected<FsStats> statfs(std::string_view p) const override { return files.statfs(p); }
    Expected<UnameInfo> uname() const override { return un.uname(); }
  } mixed(proc, uname_arm);

  LambdaTags tags(lambda, mixed, etc, sets, /*own_pid=*/7);
  tags.set_account("123456789012");
  tags.resolve_runtime();
  EXPECT_EQ(tags.runtime(), "nodejs20.x");

  // lambda-agent.md §3.5, "Full example" (cold_start is a dynamic tag of the enhanced points).
  const std::vector<std::string> expected = {
      "region:us-east-1",
      "account_id:123456789012",
      "aws_account:123456789012",
      "functionname:my-fn",
      "resource:my-fn",
      "function_arn:arn:aws:lambda:us-east-1:123456789012:function:my-fn",
      "memorysize:1024",
      "architecture:arm64",
      "runtime:nodejs20.x",
      "init_type:on-demand",
      "env:prod",
      "service:checkout",
      "version:1.4.2",
      "dd_extension_version:99-next",
      std::string("lastcall_version:") + kVersion,
      "team:core"};
  for (const TagSetId id : {TagSetId::kBase, TagSetId::kCustomMetrics, TagSetId::kEnhancedMetrics,
                            TagSetId::kLogs, TagSetId::kTraces}) {
    EXPECT_THAT(sets.tags(id), UnorderedElementsAreArray(expected)) << tag_set_name(id);
  }
  EXPECT_FALSE(has_key(sets, TagSetId::kBase, "executedversion"));  // $LATEST
}

TEST(LambdaTags, APublishedVersionGivesResourceWithVersionAndExecutedVersion) {
  const LambdaConfig lambda = lambda_config("my-fn", "7");
  TagSets sets(CommonConfig{}, lambda);
  const auto proc = arm64();
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  EXPECT_TRUE(has(sets, TagSetId::kBase, "resource:my-fn:7"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "executedversion:7"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "functionname:my-fn"));
}

TEST(LambdaTags, LatestGivesTheBareNameAndNoExecutedVersion) {
  const LambdaConfig lambda = lambda_config("my-fn", "$LATEST");
  TagSets sets(CommonConfig{}, lambda);
  const auto proc = arm64();
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  EXPECT_TRUE(has(sets, TagSetId::kBase, "resource:my-fn"));
  EXPECT_FALSE(has_key(sets, TagSetId::kBase, "executedversion"));
}

TEST(LambdaTags, FunctionNameAndArnAreLowerCasedTheResourceIsNot) {
  const LambdaConfig lambda = lambda_config("My-Fn", "Prod2");
  TagSets sets(CommonConfig{}, lambda);
  const fakes::FakeProcReader proc;  // x86_64
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  tags.set_account("123456789012");
  EXPECT_TRUE(has(sets, TagSetId::kBase, "functionname:my-fn"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "resource:My-Fn:Prod2"));
  EXPECT_TRUE(has(sets, TagSetId::kBase,
                  "function_arn:arn:aws:lambda:us-east-1:123456789012:function:my-fn"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "architecture:x86_64"));
}

TEST(LambdaTags, WithoutAnAccountTheArnTagsWaitForTheFirstInvokeArn) {
  const LambdaConfig lambda = lambda_config("My-Fn");
  TagSets sets(CommonConfig{}, lambda);
  const fakes::FakeProcReader proc;
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  tags.set_account("");  // the register reply had none: omitted, one warning
  tags.set_account("");
  for (const char* key : {"account_id", "aws_account", "function_arn"}) {
    EXPECT_FALSE(has_key(sets, TagSetId::kBase, key)) << key;
  }
  tags.note_function_arn("not an arn");
  EXPECT_TRUE(tags.account().empty());
  // A qualified ARN (alias) gives the account; the tag is the unqualified, lower-cased ARN.
  tags.note_function_arn("arn:aws:lambda:us-east-1:210987654321:function:My-Fn:live");
  EXPECT_EQ(tags.account(), "210987654321");
  EXPECT_TRUE(has(sets, TagSetId::kBase, "account_id:210987654321"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "aws_account:210987654321"));
  EXPECT_TRUE(has(sets, TagSetId::kBase,
                  "function_arn:arn:aws:lambda:us-east-1:210987654321:function:my-fn"));
  // Once known, later ARNs change nothing.
  tags.note_function_arn("arn:aws:lambda:us-east-1:999999999999:function:my-fn");
  EXPECT_EQ(tags.account(), "210987654321");
}

TEST(LambdaTags, TheRegisterReplyAccountWinsOverLaterArns) {
  const LambdaConfig lambda = lambda_config();
  TagSets sets(CommonConfig{}, lambda);
  const fakes::FakeProcReader proc;
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  tags.set_account("123456789012");
  tags.note_function_arn("arn:aws:lambda:us-east-1:210987654321:function:my-fn");
  EXPECT_TRUE(has(sets, TagSetId::kBase, "account_id:123456789012"));
  EXPECT_FALSE(has(sets, TagSetId::kBase, "account_id:210987654321"));
}

TEST(LambdaTags, RuntimeIsResolvedOnceFromAnotherProcessAndCached) {
  const LambdaConfig lambda = lambda_config();
  TagSets sets(CommonConfig{}, lambda);
  fakes::FakeProcReader proc;
  // PID 1 and our own PID are never taken, even when they carry the variable.
  proc.pids({1, 7, 12, 40})
      .file("1/environ", "AWS_EXECUTION_ENV=AWS_Lambda_java8\0"s)
      .file("7/environ", "AWS_EXECUTION_ENV=AWS_Lambda_ruby3.3\0"s)
      .file("12/environ", "PATH=/bin\0LANG=C\0"s)
      .file("40/environ", "A=1\0AWS_EXECUTION_ENV=AWS_Lambda_python3.12\0"s);
  fakes::FakeProcReader etc;
  etc.file("os-release", "ID=\"amzn\"\nVERSION_ID=\"2023\"\n");
  LambdaTags tags(lambda, proc, etc, sets, 7);
  EXPECT_FALSE(has_key(sets, TagSetId::kBase, "runtime"));  // not before the first /next
  const auto before = sets.generation();
  tags.resolve_runtime();
  EXPECT_EQ(tags.runtime(), "python3.12");
  EXPECT_TRUE(has(sets, TagSetId::kEnhancedMetrics, "runtime:python3.12"));
  EXPECT_TRUE(has(sets, TagSetId::kCustomMetrics, "runtime:python3.12"));
  // The encoders read the sets at flush: a new generation tells them the points made before now
  // carry it too.
  EXPECT_NE(sets.generation(), before);
  EXPECT_EQ(proc.reads("1/environ"), 0u);
  EXPECT_EQ(proc.reads("7/environ"), 0u);
  EXPECT_EQ(proc.reads("40/environ"), 1u);
  EXPECT_EQ(etc.reads("os-release"), 0u);
  tags.resolve_runtime();  // cached for the process lifetime
  EXPECT_EQ(proc.reads("40/environ"), 1u);
}

TEST(LambdaTags, WithoutExecutionEnvTheRuntimeComesFromOsRelease) {
  const LambdaConfig lambda = lambda_config();
  const SystemProcReader proc(fixture("proc", "provided_al2023"));
  struct Case {
    const char* etc;
    const char* runtime;
  } cases[] = {{"amazon_linux_2023", "provided.al2023"},
               {"amazon_linux_2", "provided.al2"},
               {"debian_12", ""}};
  for (const auto& c : cases) {
    TagSets sets(CommonConfig{}, lambda);
    const SystemProcReader etc(fixture("etc", c.etc));
    LambdaTags tags(lambda, proc, etc, sets, 7);
    tags.resolve_runtime();
    EXPECT_TRUE(tags.runtime_resolved());
    EXPECT_EQ(tags.runtime(), c.runtime) << c.etc;
    if (*c.runtime != '\0') {
      EXPECT_TRUE(has(sets, TagSetId::kBase, std::string("runtime:") + c.runtime)) << c.etc;
    } else {
      EXPECT_FALSE(has_key(sets, TagSetId::kBase, "runtime")) << "no guessed runtime";
    }
  }
}

TEST(LambdaTags, ExcludedKeysLeaveCustomMetricsOnlyLateTagsIncluded) {
  LambdaConfig lambda = lambda_config();
  lambda.custom_metrics_exclude_tags = {"memorysize", "function_arn", "runtime"};
  TagSets sets(common_config(), lambda);
  const SystemProcReader proc(fixture("proc", "lambda_node20"));
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  tags.set_account("123456789012");
  tags.resolve_runtime();
  for (const char* key : {"memorysize", "function_arn", "runtime"}) {
    EXPECT_FALSE(has_key(sets, TagSetId::kCustomMetrics, key)) << key;
    EXPECT_TRUE(has_key(sets, TagSetId::kEnhancedMetrics, key)) << key;
    EXPECT_TRUE(has_key(sets, TagSetId::kLogs, key)) << key;
    EXPECT_TRUE(has_key(sets, TagSetId::kTraces, key)) << key;
  }
  EXPECT_TRUE(has(sets, TagSetId::kCustomMetrics, "region:us-east-1"));
  EXPECT_TRUE(has(sets, TagSetId::kCustomMetrics, "account_id:123456789012"));
}

TEST(LambdaTags, NoArchitectureTagWhenUnameFails) {
  const LambdaConfig lambda = lambda_config();
  TagSets sets(CommonConfig{}, lambda);
  fakes::FakeProcReader proc;
  proc.fail_uname(make_error(ErrorCode::kIo, "uname: boom"));
  const fakes::FakeProcReader etc;
  LambdaTags tags(lambda, proc, etc, sets, 7);
  EXPECT_FALSE(has_key(sets, TagSetId::kBase, "architecture"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "region:us-east-1"));
}

TEST(LambdaTags, UnsetVariablesGiveNoTag) {
  TagSets sets(CommonConfig{}, LambdaConfig{});
  const fakes::FakeProcReader proc;
  const fakes::FakeProcReader etc;
  LambdaTags tags(LambdaConfig{}, proc, etc, sets, 7);
  tags.set_account("123456789012");
  for (const char* key : {"region", "functionname", "resource", "executedversion", "memorysize",
                          "init_type", "function_arn"}) {
    EXPECT_FALSE(has_key(sets, TagSetId::kBase, key)) << key;
  }
  EXPECT_TRUE(has(sets, TagSetId::kBase, "dd_extension_version:99-next"));
  EXPECT_TRUE(has(sets, TagSetId::kBase, "account_id:123456789012"));
}

TEST(LambdaTagsHelpers, ArnAccountAndPartition) {
  EXPECT_EQ(account_from_arn("arn:aws:lambda:eu-west-1:123456789012:function:f"), "123456789012");
  EXPECT_EQ(account_from_arn("arn:aws:lambda:eu-west-1:12345:function:f"), "");
  EXPECT_EQ(account_from_arn("arn:aws:lambda:eu-west-1:123456789012"), "");
  EXPECT_EQ(account_from_arn(""), "");
  EXPECT_EQ(build_function_arn("cn-north-1", "123456789012", "F"),
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f");
  EXPECT_EQ(build_function_arn("us-gov-west-1", "123456789012", "f"),
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f");
  EXPECT_EQ(normalize_architecture("aarch64"), "arm64");
  EXPECT_EQ(normalize_architecture("x86_64"), "x86_64");
}

TEST(LambdaTagsHelpers, RuntimeFromEnvironEntries) {
  EXPECT_EQ(runtime_from_environ("AWS_EXECUTION_ENV=AWS_Lambda_nodejs20.x"s), "nodejs20.x");
  EXPECT_EQ(runtime_from_environ("X=AWS_EXECUTION_ENV=AWS_Lambda_a\0"s), "");
  EXPECT_EQ(runtime_from_environ("AWS_EXECUTION_ENV=other\0"s), "");
  EXPECT_EQ(runtime_from_environ("A=1\0AWS_EXECUTION_ENV=AWS_Lambda_lastcall_sandbox\0B=2\0"s),
            "lastcall_sandbox");
}

TEST(LambdaTagsCheckConfig, ShowsTheEnvironmentTagsAndWhatIsResolvedAtRunTime) {
  LambdaConfig lambda = lambda_config("My-Fn", "3");
  lambda.custom_metrics_exclude_tags = {"memorysize"};
  const std::string text = render_lambda_tags_for_check_config(common_config(), lambda, "aarch64");
  EXPECT_THAT(text, HasSubstr("functionname:my-fn"));
  EXPECT_THAT(text, HasSubstr("resource:My-Fn:3"));
  EXPECT_THAT(text, HasSubstr("executedversion:3"));
  EXPECT_THAT(text, HasSubstr("architecture:arm64"));
  EXPECT_THAT(text, HasSubstr("env:prod"));
  EXPECT_THAT(text, HasSubstr("team:core"));
  EXPECT_THAT(text, HasSubstr("resolved at run time: account_id, aws_account"));
  EXPECT_THAT(text,
              HasSubstr("function_arn (arn:aws:lambda:us-east-1:<account_id>:function:my-fn)"));
  EXPECT_THAT(text, HasSubstr("runtime (AWS_EXECUTION_ENV"));
  EXPECT_THAT(text, HasSubstr("custom metrics drop the keys memorysize"));
  EXPECT_THAT(text, Not(HasSubstr("account_id:")));
  EXPECT_THAT(text, Not(HasSubstr("runtime:")));
}

}  // namespace
}  // namespace lc::lambda
