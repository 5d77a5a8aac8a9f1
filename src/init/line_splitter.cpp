#include "init/line_splitter.h"

#include <algorithm>
#include <cstring>

namespace lc::init {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Well-formed UTF-8 (Unicode Table 3-7): the sequence length a lead byte starts and the range
// its second byte must fall in (which excludes overlongs, surrogates and > U+10FFFF); 0 for a byte
// that cannot start a sequence.
struct Lead {
  int length = 0;
  unsigned char lo = 0x80, hi = 0xBF;
};

Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

bool is_continuation(unsigned char b) { return b >= 0x80 && b <= 0xBF; }

// How many bytes of the sequence starting at text[i] are valid (1 for ASCII; the full length for
// a complete sequence; fewer for a maximal ill-formed subpart or a prefix cut by the end; 0 when
// text[i] cannot start a sequence).
std::size_t valid_prefix(std::string_view text, std::size_t i, int* length) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const Lead lead = lead_of(b0);
  *length = lead.length;
  if (lead.length <= 1) return static_cast<std::size_t>(lead.length);
  std::size_t n = 1;
  if (i + n < text.size()) {
    const auto b1 = static_cast<unsigned char>(text[i + n]);
    if (b1 < lead.lo || b1 > lead.hi) return n;
    ++n;
  } else {
    return n;
  }
  while (n < static_cast<std::size_t>(lead.length) && i + n < text.size() &&
         is_continuation(static_cast<unsigned char>(text[i + n]))) {
    ++n;
  }
  return n;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  });
}

}  // namespace

void append_sanitized_utf8(std::string& out, std::string_view in) {
  std::size_t i = 0;
  while (i < in.size()) {
    // ASCII runs (the common case) are copied in one go.
    std::size_t j = i;
    while (j < in.size() && static_cast<unsigned char>(in[j]) < 0x80) ++j;
    if (j > i) {
      out.append(in.data() + i, j - i);
      i = j;
      continue;
    }
    int length = 0;
    const std::size_t n = valid_prefix(in, i, &length);
    if (length > 0 && n == static_cast<std::size_t>(length)) {
      out.append(in.data() + i, n);
      i += n;
    } else {
      // A maximal subpart of an ill-formed sequence (or a lone invalid byte): one U+FFFD.
      out.append(kReplacement);
      i += std::max<std::size_t>(n, 1);
    }
  }
}

std::size_t utf8_cut_point(std::string_view text, std::size_t limit) {
  limit = std::min(limit, text.size());
  // A lead byte in the last three bytes before the cut whose valid sequence would cross it: cut
  // before the lead so the sequence stays whole in the next chunk.
  const std::size_t from = limit >= 3 ? limit - 3 : 0;
  for (std::size_t p = limit; p-- > from;) {
    const auto b = static_cast<unsigned char>(text[p]);
    if (is_continuation(b)) continue;
    int length = 0;
    const std::size_t n = valid_prefix(text.substr(0, limit), p, &length);
    // Valid up to the cut and still incomplete there: the sequence crosses the cut.
    if (length > 1 && p + n == limit && n < static_cast<std::size_t>(length) && p > 0) return p;
    return limit;
  }
  return limit;
}

LineSplitter::LineSplitter(std::size_t max_bytes)
    : max_bytes_(std::max<std::size_t>(max_bytes, 4)) {
  pending_.reserve(std::min<std::size_t>(max_bytes_, 64 * 1024));
}

void LineSplitter::feed(std::string_view bytes, std::int64_t now_ms, const Emit& emit) {
  while (!bytes.empty()) {
    const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
    const std::size_t seg =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - bytes.data())
                      : bytes.size();
    std::string_view part = bytes.substr(0, seg);
    // The cut is decided only when a byte beyond L arrives: a line of exactly L bytes followed by
    // `\n` is one entry.
    while (!part.empty()) {
      if (pending_.size() == max_bytes_) {
        // A `\r` right after L bytes may be the line's trailing one (removed, not a reason to
        // cut): it is only noted until the next byte tells.
        if (!cr_after_full_ && part.size() == 1 && part[0] == '\r') {
          cr_after_full_ = true;
          break;
        }
        emit_chunk(utf8_cut_point(pending_, max_bytes_), false, now_ms, emit);
        if (cr_after_full_) {
          cr_after_full_ = false;
          pending_.push_back('\r');
          continue;
        }
      }
      const std::size_t take = std::min(part.size(), max_bytes_ - pending_.size());
      pending_.append(part.data(), take);
      part.remove_prefix(take);
    }
    if (nl == nullptr) return;
    end_line(now_ms, emit);
    bytes.remove_prefix(seg + 1);
  }
}

void LineSplitter::finish(std::int64_t now_ms, const Emit& emit) {
  if (pending_.empty() && !cr_after_full_) return;
  end_line(now_ms, emit);
}

void LineSplitter::end_line(std::int64_t now_ms, const Emit& emit) {
  if (cr_after_full_) {
    cr_after_full_ = false;  // the trailing `\r`, never stored
  } else if (!pending_.empty() && pending_.back() == '\r') {
    pending_.pop_back();
  }
  emit_chunk(pending_.size(), true, now_ms, emit);
  continued_ = false;
}

void LineSplitter::emit_chunk(std::size_t n, bool last, std::int64_t now_ms, const Emit& emit) {
  const std::string_view content(pending_.data(), n);
  // A line that is whitespace so far gives no entry (§4.3). Once a chunk of the line went out,
  // every later chunk does too, so each cut entry is followed by its continuation.
  if (continued_ || !is_blank(content)) {
    std::string text;
    text.reserve(n + 2 * kTruncatedMarker.size() + 16);
    if (continued_) text.append(kTruncatedMarker);
    append_sanitized_utf8(text, content);
    if (!last) text.append(kTruncatedMarker);
    emit(std::move(text), now_ms, !last);
    continued_ = !last;
  }
  pending_.erase(0, n);
}

}  // namespace lc::init
