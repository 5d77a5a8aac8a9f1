// core/deferred_init.h — static initializers the static build moved out of .init_array, run at
// the first use of the library they belong to instead of at every process start.
// Called by the one adapter of that library (config_registry.cpp for yaml-cpp) before its first
// use of it; cmake/Dependencies.cmake (lc_defer_static_initializers) moves them.
#pragma once

namespace lc {

// yaml-cpp's. Each of its objects includes <iostream>, so each initializer constructs the standard
// streams and the classic locale: tens of µs at every start of the static binary, which reads
// YAML only in extension mode, from datadog.yaml. Runs them once (thread-safe); does nothing where
// they were not moved (a build that links yaml-cpp as a shared library: they ran at load).
void run_deferred_yaml_cpp_initializers();

}  // namespace lc
