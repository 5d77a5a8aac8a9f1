// core/assert.h — our own invariants (conventions.md §7), never input from outside:
//   LC_ASSERT(cond, msg)  debug builds: logs the failed condition and aborts; release: compiled out
//                         (the condition is not evaluated).
//   LC_BUG(msg)           a "cannot happen" path reached: logs at error and counts
//                         lastcall.bug{where:file:line} (bug_counts()), and keeps running; debug
//                         builds abort after logging so tests find it.
// Any thread may use both. Loop-thread ownership checks are in core/thread_owner.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lc {

// Per call site ("metrics/aggregator.cpp:120"), how often LC_BUG was reached; a snapshot for the
// self-metrics (lastcall.bug{where}). The key space is bounded by the number of LC_BUG sites.
std::vector<std::pair<std::string, std::uint64_t>> bug_counts();
std::uint64_t bug_total();
// Debug builds abort at LC_BUG; a test of the release behaviour turns that off (returns the old
// setting). Release builds never abort at LC_BUG.
bool set_bugs_abort(bool abort_on_bug);

namespace detail {
[[noreturn]] void assert_failed(const char* condition, std::string_view message, const char* file,
                                int line);
void bug_reached(std::string_view message, const char* file, int line);
// "src/metrics/aggregator.cpp" (or any path ending in it) → "metrics/aggregator.cpp".
std::string_view source_location_name(std::string_view file);
}  // namespace detail

}  // namespace lc

#ifdef NDEBUG
#define LC_ASSERT(cond, msg) \
  do {                       \
    (void)sizeof(!(cond));   \
    (void)sizeof(msg);       \
  } while (0)
#else
#define LC_ASSERT(cond, msg)                                                  \
  do {                                                                        \
    if (!(cond)) ::lc::detail::assert_failed(#cond, msg, __FILE__, __LINE__); \
  } while (0)
#endif

#define LC_BUG(msg) ::lc::detail::bug_reached(msg, __FILE__, __LINE__)
