#include "app/modes.h"

#include <gtest/gtest.h>

namespace lc::app {
namespace {

TEST(Modes, Selection) {
  MapEnvironment none;
  MapEnvironment lambda(
      std::map<std::string, std::string>{{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"}});
  EXPECT_EQ(select_mode({"lastcall"}, none).command, Command::kSidecar);
  EXPECT_EQ(select_mode({"datadog-agent"}, lambda).command, Command::kExtension);
  EXPECT_EQ(select_mode({"lastcall", "--version"}, lambda).command, Command::kVersion);
  EXPECT_EQ(select_mode({"lastcall", "--check-config"}, none).command, Command::kCheckConfig);
  EXPECT_EQ(select_mode({"lastcall", "--"}, none).command, Command::kUsageError);
  auto w = select_mode({"lastcall", "--", "node", "server.js"}, lambda);
  EXPECT_EQ(w.command, Command::kWrapper);
  EXPECT_EQ(w.child_argv, (std::vector<std::string>{"node", "server.js"}));
  auto v = select_mode({"lastcall", "-v", "node"}, none);
  EXPECT_EQ(v.command, Command::kWrapper);
  EXPECT_EQ(v.child_argv, (std::vector<std::string>{"-v", "node"}));
  MapEnvironment empty_api(std::map<std::string, std::string>{{"AWS_LAMBDA_RUNTIME_API", ""}});
  EXPECT_EQ(select_mode({"lastcall"}, empty_api).command, Command::kSidecar);
}

TEST(Modes, OwnNameIsBasenameOfArgv0) {
  EXPECT_EQ(own_name("/opt/extensions/datadog-agent"), "datadog-agent");
  EXPECT_EQ(own_name("datadog-agent"), "datadog-agent");
  EXPECT_FALSE(own_name("").empty());  // falls back to /proc/self/exe
}

}  // namespace
}  // namespace lc::app
