#include "core/assert.h"

#include <atomic>
#include <cstdlib>
#include <map>

#include "core/logger.h"
#include "core/mutex.h"

namespace lc {
namespace {

// Lines logged per LC_BUG site; after that the site is only counted, so a bug on a hot path
// cannot flood the log (the count still grows).
constexpr std::uint64_t kLoggedPerSite = 10;

#ifdef NDEBUG
constexpr bool kBugsAbortByDefault = false;
#else
constexpr bool kBugsAbortByDefault = true;
#endif

struct BugTable {
  Mutex mu;
  std::map<std::string, std::uint64_t, std::less<>> counts LC_GUARDED_BY(mu);
  std::uint64_t total LC_GUARDED_BY(mu) = 0;
};

BugTable& bug_table() {
  static BugTable table;
  return table;
}

std::atomic<bool> g_bugs_abort{kBugsAbortByDefault};

}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> bug_counts() {
  BugTable& t = bug_table();
  MutexLock lock(t.mu);
  return {t.counts.begin(), t.counts.end()};
}

std::uint64_t bug_total() {
  BugTable& t = bug_table();
  MutexLock lock(t.mu);
  return t.total;
}

bool set_bugs_abort(bool abort_on_bug) {
#ifdef NDEBUG
  (void)abort_on_bug;
  return false;
#else
  return g_bugs_abort.exchange(abort_on_bug);
#endif
}

namespace detail {

std::string_view source_location_name(std::string_view file) {
  for (std::string_view root : {"src/", "tools/", "tests/", "bench/", "fuzz/"}) {
    const auto pos = file.rfind(root);
    if (pos != std::string_view::npos && (pos == 0 || file[pos - 1] == '/')) {
      return root == "src/" ? file.substr(pos + root.size()) : file.substr(pos);
    }
  }
  const auto slash = file.rfind('/');
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

void assert_failed(const char* condition, std::string_view message, const char* file, int line) {
  Logger::instance().log(LogLevel::kCritical,
                         fmt::format("assertion failed: {} ({}) at {}:{}", message, condition,
                                     source_location_name(file), line));
  std::abort();
}

void bug_reached(std::string_view message, const char* file, int line) {
  const std::string where = fmt::format("{}:{}", source_location_name(file), line);
  std::uint64_t count = 0;
  {
    BugTable& t = bug_table();
    MutexLock lock(t.mu);
    count = ++t.counts[where];
    ++t.total;
  }
  if (count <= kLoggedPerSite) {
    Logger::instance().log(
        LogLevel::kError,
        fmt::format("bug: {} at {} (occurrence {}{})", message, where, count,
                    count == kLoggedPerSite ? ", further ones only counted" : ""));
  }
  if (g_bugs_abort.load()) std::abort();
}

}  // namespace detail
}  // namespace lc
