// The tools' variables are declared in their own table (tools/sandbox/tool_variables.def), read
// through typed handles, and are not lastcall's: they never appear in its --check-config.
#include "tools/sandbox/tool_variables.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "core/config.h"

namespace lc::sandbox {
namespace {

static_assert(std::is_same_v<decltype(tool_var::kLastcallFakeExtensions)::value_type, std::string>);
static_assert(tool_var::kAwsLambdaLogFormat.spec().name == "AWS_LAMBDA_LOG_FORMAT");
static_assert(static_cast<std::size_t>(ToolVarId::kCount) == std::size(ToolVars::kRows));
// A tool handle is not one of lastcall's: finalize_config() cannot read it.
static_assert(!kIsLastcallVar<std::remove_cv_t<decltype(tool_var::kLastcallFakeExtensions)>>);
static_assert(kIsLastcallVar<std::remove_cv_t<decltype(var::kDdSite)>>);

TEST(ToolVariables, NeverInLastcallsCheckConfig) {
  MapEnvironment env(std::map<std::string, std::string>{{"LASTCALL_FAKE_EXTENSIONS", R"({"*":{}})"},
                                                        {"AWS_LAMBDA_LOG_FORMAT", "JSON"}});
  auto config = load_config(env, Mode::kSidecar);
  ASSERT_TRUE(config);
  const std::string text = render_check_config(*config);
  for (const VarSpec& row : ToolVars::kRows) {
    EXPECT_EQ(row.area, Area::kTool);
    if (find_variable(row.name) != nullptr) continue;  // platform variables both read
    EXPECT_EQ(text.find(std::string(row.name)), std::string::npos) << row.name;
    EXPECT_EQ(config->entry(row.name), nullptr) << row.name;
  }
  EXPECT_EQ(find_variable("LASTCALL_FAKE_EXTENSIONS"), nullptr);
  EXPECT_EQ(find_variable("AWS_LAMBDA_LOG_FORMAT"), nullptr);
}

TEST(ToolVariables, ReadThroughHandlesWithTheRowDefault) {
  MapEnvironment none;
  EXPECT_EQ(env_value(none, tool_var::kAwsLambdaLogFormat), "Text");
  EXPECT_FALSE(none.get(tool_var::kLastcallFakeExtensions).has_value());
  MapEnvironment set(std::map<std::string, std::string>{{"AWS_LAMBDA_LOG_FORMAT", "JSON"}});
  EXPECT_EQ(env_value(set, tool_var::kAwsLambdaLogFormat), "JSON");
}

}  // namespace
}  // namespace lc::sandbox
