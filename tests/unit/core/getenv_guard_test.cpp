// No getenv outside the config registry (conventions.md §8): every variable is declared once.
#include <gtest/gtest.h>

#include "test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;

TEST(GetenvGuard, OnlyTheRegistryReadsTheEnvironment) {
  const char* root = LC_TEST_SOURCE_DIR;
  ASSERT_NE(root, nullptr);
  const std::regex pattern(R"(\b(secure_getenv|getenv)\s*\()");
  std::vector<std::string> offenders;
  size_t scanned = 0;
  for (const char* dir : {"src", "tools"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / dir)) {
      if (!entry.is_regular_file()) continue;
      const auto ext = entry.path().extension();
      if (ext != ".cpp" && ext != ".h" && ext != ".hpp" && ext != ".cc") continue;
      ++scanned;
      if (entry.path().filename() == "config_registry.cpp") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      if (std::regex_search(text.str(), pattern)) offenders.push_back(entry.path().string());
    }
  }
  EXPECT_GT(scanned, 5u);
  EXPECT_TRUE(offenders.empty()) << "getenv outside core/config_registry.cpp: "
                                 << offenders.front();
}

}  // namespace
