#include "core/deferred_init.h"

#include <mutex>

// The linker defines __start_<section> and __stop_<section> around a section whose name is a C
// identifier, when something refers to them: here the initializers that objcopy renamed out of
// yaml-cpp's .init_array. Weak: without that section (a shared yaml-cpp) both are null.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" {
using Initializer = void (*)();
extern const Initializer __start_lc_deferred_init_yaml_cpp[] __attribute__((weak));
extern const Initializer __stop_lc_deferred_init_yaml_cpp[] __attribute__((weak));
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace lc {

void run_deferred_yaml_cpp_initializers() {
  static std::once_flag once;
  std::call_once(once, [] {
    const Initializer* it = __start_lc_deferred_init_yaml_cpp;
    const Initializer* end = __stop_lc_deferred_init_yaml_cpp;
    if (it == nullptr) return;
    // In .init_array order, as the C runtime would have run them.
    for (; it != end; ++it) (*it)();
  });
}

}  // namespace lc
