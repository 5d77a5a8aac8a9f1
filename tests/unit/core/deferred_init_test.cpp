// The static binary runs yaml-cpp's static initializers at its first use, not at process start
// (core/deferred_init.h, lc_defer_static_initializers in cmake/Dependencies.cmake): checked in a
// program linked the same way, counting the constructions of std::ios_base::Init (each initializer
// makes one; the count is wrapped by -Wl,--wrap for this program only). Plain main, no gtest: the
// program is static and uninstrumented.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <ios>
#include <string>

#include "core/deferred_init.h"

namespace {
int ios_inits = 0;
}  // namespace

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" void __real__ZNSt8ios_base4InitC1Ev(std::ios_base::Init* self);
extern "C" void __wrap__ZNSt8ios_base4InitC1Ev(std::ios_base::Init* self) {
  ++ios_inits;
  __real__ZNSt8ios_base4InitC1Ev(self);
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

int main() {
  int failed = 0;
  const auto check = [&failed](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "FAIL: %s\n", what);
      ++failed;
    }
  };
  check(ios_inits == 0, "yaml-cpp's initializers ran at process start");
  lc::run_deferred_yaml_cpp_initializers();
  const int after = ios_inits;
  check(after > 0, "run_deferred_yaml_cpp_initializers() ran none");
  lc::run_deferred_yaml_cpp_initializers();
  check(ios_inits == after, "the initializers ran twice");
  const YAML::Node root = YAML::Load("logs_config:\n  tags: [a, b]\nsite: datadoghq.eu\n");
  check(root["site"].as<std::string>() == "datadoghq.eu", "a scalar after the initializers");
  check(root["logs_config"]["tags"][1].as<std::string>() == "b", "a nested sequence");
  std::printf("%d passed, %d failed\n", failed == 0 ? 1 : 0, failed == 0 ? 0 : 1);
  return failed == 0 ? 0 : 1;
}
