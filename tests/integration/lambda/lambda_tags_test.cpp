// Issue 17, Lambda base tags (lambda-agent.md §3.5) end to end: the real lastcall as the extension
// in lastcall-sandbox, a fake-runtime function sending DogStatsD, lastcall-fakeintake decoding.
// A custom metric carries region, account_id/aws_account and function_arn (the register reply's
// accountId), functionname, memorysize, architecture (uname at run time) and runtime: the sandbox
// gives its runtime AWS_EXECUTION_ENV=AWS_Lambda_lastcall_sandbox, which lastcall reads from
// /proc/<pid>/environ after the first /next (extensions never see that variable). The keys of
// DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS are absent from custom metrics.
// Samples are stamped `|T` 30 s back so they never split across windows (conventions.md §16a).
#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

bool has_tag(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

bool has_key(const std::vector<std::string>& tags, std::string_view key) {
  const std::string prefix = std::string(key) + ":";
  return std::any_of(tags.begin(), tags.end(),
                     [&](const std::string& t) { return t.rfind(prefix, 0) == 0; });
}

std::string machine_architecture() {
  struct utsname u {};
  if (::uname(&u) != 0) return "";
  const std::string m = u.machine;
  return m == "aarch64" ? "arm64" : m;
}

TEST(LambdaTags, CustomMetricsCarryTheBaseTagsWithoutTheExcludedKeys) {
  LambdaRigOptions o;
  o.env = {{"DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS", "resource,init_type"}};
  o.sandbox_args = {"--memory-mb", "256", "--function-name", "Tags-Fn"};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  const std::int64_t ts = wall_s() - 30;
  json::object payload;
  payload["statsd"] = json::array{"fn.tagged:1|c|#route:/x|T" + std::to_string(ts),
                                  "fn.tagged.dist:4|d|T" + std::to_string(ts)};
  payload["respond"] = "ok";
  const auto reply = rig.invoke(json::serialize(payload), "tags-1");
  EXPECT_EQ(reply.status, 200);
  const LastcallExit down = rig.shutdown();
  EXPECT_EQ(down.exit_code, 0) << rig.diagnostics();

  const auto intake = rig.intake();
  for (const char* name : {"fn.tagged", "fn.tagged.dist"}) {
    const auto m = intake.wait_for_metric(
        name, [](const json::value& v) { return !point_tags(v).empty(); }, 3s);
    ASSERT_TRUE(m.has_value()) << name << "\n" << rig.diagnostics();
    for (const auto& tags : point_tags(*m)) {
      EXPECT_TRUE(has_tag(tags, "region:us-east-1")) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "account_id:123456789012")) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "aws_account:123456789012")) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "functionname:tags-fn")) << name << " " << *m;
      EXPECT_TRUE(
          has_tag(tags, "function_arn:arn:aws:lambda:us-east-1:123456789012:function:tags-fn"))
          << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "memorysize:256")) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "architecture:" + machine_architecture())) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "runtime:lastcall_sandbox")) << name << " " << *m;
      EXPECT_TRUE(has_tag(tags, "dd_extension_version:99-next")) << name << " " << *m;
      // Excluded from custom metrics (DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS).
      EXPECT_FALSE(has_key(tags, "resource")) << name << " " << *m;
      EXPECT_FALSE(has_key(tags, "init_type")) << name << " " << *m;
    }
  }
  // The runtime was resolved after the first /next, not at start: the listening line came first.
  const auto lines = rig.lastcall_output();
  const auto listening = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("listening:") != std::string::npos;
  });
  const auto runtime = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("tags: runtime lastcall_sandbox") != std::string::npos;
  });
  ASSERT_NE(runtime, lines.end()) << rig.diagnostics();
  EXPECT_LT(listening - lines.begin(), runtime - lines.begin());
}

}  // namespace
}  // namespace lc::test
