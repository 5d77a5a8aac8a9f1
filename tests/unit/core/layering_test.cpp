// Which folder may include which (architecture.md "Layout"): a stage never reaches into another
// stage; app/ alone knows them all; the tools see only core/ and net/, and the fake intake decodes
// with its own code. Only app/ and core/ include the whole configuration (core/config.h).
#include <gtest/gtest.h>

#include "test_paths.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::set<std::string>> kAllowed = {
    {"src/core", {"core"}},
    {"src/net", {"core", "net"}},
    {"src/metrics", {"core", "metrics"}},
    {"src/logs", {"core", "logs"}},
    {"src/traces", {"core", "traces"}},
    {"src/forward", {"core", "net", "forward"}},
    {"src/lambda", {"core", "net", "lambda"}},
    {"src/init", {"core", "net", "init"}},
    {"src/microvm", {"core", "net", "microvm"}},
    {"tools/sandbox", {"core", "net", "tools/sandbox"}},
    {"tools/fakeintake", {"core", "net", "tools/fakeintake"}},
};

// "metrics/aggregator.h" → "metrics"; "tools/sandbox/x.h" → "tools/sandbox"; else "".
std::string folder_of_include(const std::string& path) {
  const size_t slash = path.find('/');
  if (slash == std::string::npos) return "";
  const std::string first = path.substr(0, slash);
  if (first == "tools") {
    const size_t second = path.find('/', slash + 1);
    return second == std::string::npos ? "" : path.substr(0, second);
  }
  static const std::set<std::string> kStages = {"core",    "net",    "metrics", "logs",    "traces",
                                                "forward", "lambda", "init",    "microvm", "app"};
  return kStages.count(first) ? first : "";
}

TEST(Layering, StagesIncludeOnlyWhatArchitectureAllows) {
  const fs::path root = LC_TEST_SOURCE_DIR;
  const std::regex include(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> violations;
  size_t checked = 0;
  for (const auto& [dir, allowed] : kAllowed) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const std::string folder = folder_of_include(m[1]);
        ++checked;
        if (!folder.empty() && !allowed.count(folder)) {
          violations.push_back(fs::relative(entry.path(), root).string() + " includes " +
                               m[1].str());
        }
      }
    }
  }
  EXPECT_GT(checked, 50u);
  for (const auto& v : violations) ADD_FAILURE() << v;
}

// Only the composition roots (src/app) and core/ see the whole FinalConfig (core/config.h); a
// stage, net/ or a tool includes the part headers it needs (core/metrics_config.h, ...).
TEST(Layering, OnlyAppAndCoreIncludeTheWholeConfig) {
  const fs::path root = LC_TEST_SOURCE_DIR;
  const std::regex include(R"re(^\s*#\s*include\s*"core/config\.h")re");
  std::vector<std::string> violations;
  size_t scanned = 0;
  for (const char* top : {"src", "tools"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      if (rel.starts_with("src/app/") || rel.starts_with("src/core/")) continue;
      ++scanned;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        if (std::regex_search(line, include)) violations.push_back(rel + " includes core/config.h");
      }
    }
  }
  EXPECT_GT(scanned, 50u);
  for (const auto& v : violations) ADD_FAILURE() << v;
}

// conventions.md §5: a library call that throws is wrapped once, in one adapter. In src/, only
// core/json.cpp runs Boost.JSON's parser; everything else calls parse_json (core/json.h), whose
// errors are values. (The tools keep their own decoders.)
TEST(Layering, OnlyTheJsonAdapterParsesJson) {
  const fs::path root = LC_TEST_SOURCE_DIR;
  const std::regex parser(
      R"re((#\s*include\s*<boost/json(\.hpp|/parse\.hpp|/parser\.hpp|/stream_parser\.hpp|/src\.hpp)>)|)re"
      R"re(json::parse\s*\(|json::(stream_)?parser\b)re");
  std::vector<std::string> violations;
  size_t scanned = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root / "src")) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
    const std::string rel = fs::relative(entry.path(), root).generic_string();
    if (rel == "src/core/json.cpp") continue;
    ++scanned;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (std::regex_search(line, parser)) violations.push_back(rel + ": " + line);
    }
  }
  EXPECT_GT(scanned, 50u);
  EXPECT_TRUE(fs::exists(root / "src/core/json.h"));
  EXPECT_TRUE(fs::exists(root / "src/core/proc_reader.h"));
  for (const auto& v : violations) ADD_FAILURE() << v << " (use parse_json from core/json.h)";
}

}  // namespace
