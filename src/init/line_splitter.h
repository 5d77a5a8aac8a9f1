// init/line_splitter.h — turns the bytes of ONE child stream (stdout or stderr) into log entries
// by the rules of serverless-init.md §4.3: lines end at `\n`, one trailing `\r` is removed, empty
// and whitespace-only lines give no entry, invalid UTF-8 becomes U+FFFD, long lines are split into
// chunks of at most L bytes of original content with `...TRUNCATED...` markers. Pure and
// single-threaded; used by OutputCapture's reader thread and by the fuzz target. Owns at most L
// bytes of the line in progress.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lc::init {

inline constexpr std::string_view kTruncatedMarker = "...TRUNCATED...";

// Appends `in` to `out` with every ill-formed UTF-8 sequence replaced by U+FFFD, one replacement
// per maximal subpart (Unicode §3.9 / WHATWG): overlongs, surrogates and code points above
// U+10FFFF are ill-formed. `ff fe 41` → `\uFFFD\uFFFDA`. NUL bytes are kept.
void append_sanitized_utf8(std::string& out, std::string_view in);

// Where to cut the first `limit` bytes of `text` off a line that goes on: the largest position
// ≤ limit (and ≤ text.size()) that is not inside a multi-byte sequence still valid at the cut, so
// both sides sanitize exactly as the uncut line would. Bytes after the cut are not looked at. At
// least limit − 3 when limit ≥ 4.
std::size_t utf8_cut_point(std::string_view text, std::size_t limit);

class LineSplitter {
 public:
  // One entry: the sanitized text (markers included), the wall time (epoch ms) at which its
  // terminating byte was read, and whether the line was cut after this entry (the entry ends with
  // the marker and the line goes on in the next one). Each `split` entry is one counted split.
  using Emit = std::function<void(std::string&& text, std::int64_t ts_ms, bool split)>;

  // `max_bytes` is L (LASTCALL_LOG_LINE_MAX_BYTES); values below 4 are raised to 4 so a cut always
  // makes progress past a multi-byte sequence.
  explicit LineSplitter(std::size_t max_bytes);

  // Bytes as read from the pipe, in order; `now_ms` is when they were read.
  void feed(std::string_view bytes, std::int64_t now_ms, const Emit& emit);
  // End of the stream: the line in progress (if any) is emitted as if it ended here (§4.3).
  void finish(std::int64_t now_ms, const Emit& emit);

  // Bytes of the line in progress held (always ≤ max_bytes(); a noted `\r` after a full
  // buffer is a flag, not a byte).
  std::size_t pending_bytes() const { return pending_.size(); }
  std::size_t max_bytes() const { return max_bytes_; }

 private:
  // Emits pending_[0, n) as one entry and keeps the rest; `last` when the line ends with it.
  void emit_chunk(std::size_t n, bool last, std::int64_t now_ms, const Emit& emit);
  void end_line(std::int64_t now_ms, const Emit& emit);

  std::size_t max_bytes_;
  std::string pending_;         // raw bytes of the current line not yet emitted (≤ L)
  bool continued_ = false;      // an entry of the current line went out, ending with the marker
  bool cr_after_full_ = false;  // a `\r` arrived with pending_ full: trailing, or cut after
};

}  // namespace lc::init
