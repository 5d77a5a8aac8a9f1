// fuzz/init_lines — the child-output line splitter (serverless-init.md §4.3) on arbitrary bytes.
// The first byte picks L (4..67) and the read pattern; the rest is the stream. The stream is fed
// whole and again in reads of varying sizes: both must give the same entries. Every entry must be
// well-formed UTF-8 without `\n`, not blank, hold at most L bytes of original content (at most 3L
// after U+FFFD replacement) between its markers, and the pending line must never exceed L.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "init/line_splitter.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Entry {
  std::string text;
  bool split = false;
  bool operator==(const Entry&) const = default;
};

std::vector<Entry> run(std::string_view input, std::size_t max, std::uint8_t pattern) {
  lc::init::LineSplitter splitter(max);
  std::vector<Entry> out;
  const lc::init::LineSplitter::Emit emit = [&](std::string&& text, std::int64_t, bool split) {
    out.push_back({std::move(text), split});
  };
  std::size_t step = pattern == 0 ? input.size() : pattern;
  while (!input.empty()) {
    const std::size_t n = std::min(std::max<std::size_t>(step, 1), input.size());
    splitter.feed(input.substr(0, n), 0, emit);
    check(splitter.pending_bytes() <= splitter.max_bytes());
    input.remove_prefix(n);
    step = step * 7 % 251 + 1;  // varying read sizes
  }
  splitter.finish(0, emit);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max = 4 + (data[0] & 63);
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<Entry> whole = run(input, max, 0);
  const std::vector<Entry> pieces = run(input, max, static_cast<std::uint8_t>(1 + (data[0] >> 6)));
  check(whole == pieces);

  const std::string_view marker = lc::init::kTruncatedMarker;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    std::string_view t = whole[i].text;
    check(!t.empty());
    check(t.find('\n') == std::string_view::npos);
    std::string again;
    lc::init::append_sanitized_utf8(again, t);
    check(again == t);  // already well-formed
    // A cut entry is always followed by its continuation, and only a continuation has the
    // leading marker (the line's own text may contain the marker too, so only one way is checked).
    const bool continued = i > 0 && whole[i - 1].split;
    if (continued) {
      check(t.starts_with(marker));
      t.remove_prefix(marker.size());
    }
    if (whole[i].split) {
      check(t.ends_with(marker));
      t.remove_suffix(marker.size());
    }
    check(t.size() <= 3 * max);
  }
  check(whole.empty() || !whole.back().split);
  return 0;
}
