#include "metrics/dogstatsd_parser.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::metrics {

namespace {

constexpr std::string_view kReservedPrefix = "aws.lambda.enhanced.invocations";

bool parse_type(std::string_view s, MetricType& out) {
  if (s.size() == 1) {
    switch (s[0]) {
      case 'c':
        out = MetricType::kCount;
        return true;
      case 'g':
        out = MetricType::kGauge;
        return true;
      case 's':
        out = MetricType::kSet;
        return true;
      case 'h':
        out = MetricType::kHistogram;
        return true;
      case 'd':
        out = MetricType::kDistribution;
        return true;
      default:
        return false;
    }
  }
  if (s == "ms") {
    out = MetricType::kTimer;
    return true;
  }
  return false;
}

// Positive decimal integer that fits int64.
bool parse_positive_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || ptr != s.data() + s.size() || v <= 0) return false;
  out = v;
  return true;
}

bool parse_nonneg_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  out = v;
  return true;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// Non-zero when some byte of `x` is zero; the lowest set 0x80 bit marks the first zero byte
// (bits above it may be spurious, from the borrow).
inline std::uint64_t zero_bytes(std::uint64_t x) { return (x - kOnes) & ~x & kHighs; }

// First byte equal to `a` or `b` in [p, end), or end. Fields are short, so a word at a time
// inline beats a call to memchr.
inline const char* find_either(const char* p, const char* end, char a, char b) {
  if constexpr (std::endian::native == std::endian::little) {
    const std::uint64_t ma = kOnes * static_cast<unsigned char>(a);
    const std::uint64_t mb = kOnes * static_cast<unsigned char>(b);
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t z = zero_bytes(w ^ ma) | zero_bytes(w ^ mb);
      if (z != 0) return p + (std::countr_zero(z) >> 3);
      p += 8;
    }
  }
  while (p < end && *p != a && *p != b) ++p;
  return p;
}

inline const char* find_byte(const char* p, const char* end, char c) {
  return find_either(p, end, c, c);
}

// Splits `s` at the first `sep`: returns the head, leaves the tail (after sep) in `s`.
// When sep is absent the whole of `s` is returned and `s` becomes empty with *found=false.
inline std::string_view take_until(std::string_view& s, char sep, bool* found = nullptr) {
  const char* begin = s.data();
  const char* end = begin + s.size();
  const char* pos = find_byte(begin, end, sep);
  if (pos == end) {
    std::string_view head = s;
    s = {};
    if (found) *found = false;
    return head;
  }
  std::string_view head(begin, static_cast<std::size_t>(pos - begin));
  s = std::string_view(pos + 1, static_cast<std::size_t>(end - pos - 1));
  if (found) *found = true;
  return head;
}

// "\\n" (backslash, n) in event title/text stands for a newline.
std::string_view unescape_newlines(std::string_view in, std::string& buf) {
  if (in.find("\\n") == std::string_view::npos) return in;
  buf.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 1 < in.size() && in[i + 1] == 'n') {
      buf.push_back('\n');
      ++i;
    } else {
      buf.push_back(in[i]);
    }
  }
  return buf;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 16 then 8 bytes at a time.
    if (end - p >= 16) {
      std::uint64_t w0, w1;
      std::memcpy(&w0, p, 8);
      std::memcpy(&w1, p + 8, 8);
      if (((w0 | w1) & 0x8080808080808080ULL) == 0) {
        p += 16;
        continue;
      }
    }
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += len;
  }
  return true;
}

bool parse_statsd_double(std::string_view s, double& out) {
  // Fast path: a plain integer of at most 15 digits is exactly representable, so this gives the
  // same double as from_chars (including -0.0 for "-0").
  if (!s.empty() && s.size() <= 16) {
    std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i < s.size()) {
      std::uint64_t v = 0;
      std::size_t j = i;
      for (; j < s.size(); ++j) {
        const unsigned d = static_cast<unsigned char>(s[j]) - '0';
        if (d > 9) break;
        v = v * 10 + d;
      }
      if (j == s.size() && j - i <= 15) {
        const double dv = static_cast<double>(v);
        out = s[0] == '-' ? -dv : dv;
        return true;
      }
    }
  }
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s[0] == '-') return false;  // one sign only
  }
  if (s.empty()) return false;
  // from_chars also takes "inf"/"nan"; the grammar only allows digits, '.', sign and exponent.
  const char c0 = s[0] == '-' && s.size() > 1 ? s[1] : s[0];
  if (!((c0 >= '0' && c0 <= '9') || c0 == '.')) return false;
  double v = 0;
  const auto [ptr, ec] =
      std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != b[i]) return false;
  }
  return true;
}

// Go's special values: "nan" (no sign), "inf"/"infinity" with an optional sign.
bool is_go_special_float(std::string_view s) {
  if (equals_ignore_case(s, "nan")) return true;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return equals_ignore_case(s, "inf") || equals_ignore_case(s, "infinity");
}

// For a numeral in the float grammar that from_chars found out of range: true when its magnitude
// is below 1 (an underflow), false when it is huge (an overflow).
bool out_of_range_is_underflow(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  const std::size_t e = s.find_first_of("eE");
  const std::string_view mantissa = s.substr(0, e);
  std::int64_t exp10 = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = s.substr(e + 1);
    const bool negative = !digits.empty() && digits[0] == '-';
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    for (const char c : digits) {
      exp10 = std::min<std::int64_t>(exp10 * 10 + (c - '0'), 1'000'000'000);
    }
    if (negative) exp10 = -exp10;
  }
  // Decimal position of the first significant digit, relative to the point.
  const std::size_t dot = std::min(mantissa.find('.'), mantissa.size());
  const std::size_t first = mantissa.find_first_not_of("0.");
  if (first == std::string_view::npos) return true;  // all zeros: from_chars does not get here
  const std::int64_t position = first < dot ? static_cast<std::int64_t>(dot - first)
                                            : -static_cast<std::int64_t>(first - dot - 1);
  return position + exp10 <= 0;
}

}  // namespace

bool parse_sample_rate(std::string_view s, double min_rate, double& out) {
  double r = 0;
  if (is_go_special_float(s)) {
    out = 1.0;  // NaN and ±Inf are outside (0, 1]
    return true;
  }
  if (!parse_statsd_double(s, r)) {
    // parse_statsd_double refuses overflow and underflow alike; Go refuses only the overflow.
    std::string_view t = s;
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    if (t.empty() || t[0] == '+') return false;
    double ignored = 0;
    const auto [ptr, ec] =
        std::from_chars(t.data(), t.data() + t.size(), ignored, std::chars_format::general);
    const char c0 = t[0] == '-' && t.size() > 1 ? t[1] : t[0];
    const bool numeral = (c0 >= '0' && c0 <= '9') || c0 == '.';
    if (!numeral || ec != std::errc::result_out_of_range || ptr != t.data() + t.size() ||
        !out_of_range_is_underflow(t)) {
      return false;
    }
    r = 0;
  }
  out = (r > 0 && r <= 1) ? std::max(r, min_rate) : 1.0;
  return true;
}

DogStatsdParser::DogStatsdParser(ParserOptions options, SelfMetrics& self)
    : options_(std::move(options)), self_(self) {
  values_.reserve(64);
  tags_.reserve(options_.max_tags + 1);
  field_tags_.reserve(options_.max_tags + 1);
  name_buf_.reserve(256);
}

void DogStatsdParser::drop(std::string_view reason, std::string_view line) {
  ++lines_dropped_;
  self_.dropped(kDropKind, reason);
  // Rate-limited: the first 10 drops, then every 1000th.
  if (lines_dropped_ <= 10 || lines_dropped_ % 1000 == 0) {
    LC_DEBUG("dogstatsd: dropped line ({}): \"{}\" ({} dropped so far)", reason,
             escape_for_log(line, 100), lines_dropped_);
  }
}

void DogStatsdParser::parse_packet(std::string_view packet, bool truncated,
                                   DogStatsdVisitor& visitor) {
  if (truncated) {
    const size_t last_nl = packet.rfind('\n');
    const std::string_view partial =
        last_nl == std::string_view::npos ? packet : packet.substr(last_nl + 1);
    packet = last_nl == std::string_view::npos ? std::string_view{} : packet.substr(0, last_nl);
    if (!partial.empty()) drop("truncated", partial);
  }
  // '\n' never occurs inside a UTF-8 sequence, so a valid packet has only valid lines; an invalid
  // one is checked line by line (only the bad lines are dropped, §1.2).
  const bool utf8_checked = is_valid_utf8(packet);
  while (!packet.empty()) {
    // Lines are long enough for memchr to pay off.
    const std::size_t nl = packet.find('\n');
    const std::string_view line = packet.substr(0, nl);
    packet = nl == std::string_view::npos ? std::string_view{} : packet.substr(nl + 1);
    parse_line(line, utf8_checked, visitor);
  }
}

void DogStatsdParser::parse_line(std::string_view line, DogStatsdVisitor& visitor) {
  parse_line(line, false, visitor);
}

void DogStatsdParser::parse_line(std::string_view line, bool utf8_checked,
                                 DogStatsdVisitor& visitor) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (!utf8_checked && !is_valid_utf8(line)) {
    drop("bad_utf8", line);
    return;
  }
  if (line.size() >= 3 && line.compare(0, 3, "_e{") == 0) {
    parse_event(line, visitor);
  } else if (line.size() >= 4 && line.compare(0, 4, "_sc|") == 0) {
    parse_service_check(line, visitor);
  } else {
    parse_metric(line, visitor);
  }
}

void DogStatsdParser::split_tags(std::string_view field, std::string_view* host, bool* has_host) {
  tags_.clear();
  const char* p = field.data();
  const char* const end = p + field.size();
  while (p < end) {
    const char* const start = p;
    const char* const comma = find_byte(p, end, ',');
    const auto len = static_cast<std::size_t>(comma - start);
    p = comma == end ? end : comma + 1;
    if (len == 0) continue;
    if (host != nullptr && start[0] == 'h' && len >= 5 && std::memcmp(start, "host:", 5) == 0) {
      // datadog-wire.md §1.6: the host: tag leaves the tag list; Lambda mode discards it.
      if (!options_.lambda_mode) {
        *host = std::string_view(start + 5, len - 5);
        *has_host = true;
      }
      continue;
    }
    // Built in place from pointer and length (copying a freshly made view stalls on the store).
    tags_.emplace_back(start, len);
    // Bound the work for absurd inputs: dedup once the list grows large; if it is still over the
    // limit the line is rejected anyway (too_many_tags), so stop scanning.
    if (tags_.size() > 4 * options_.max_tags + 64) {
      sort_unique_tags();
      if (tags_.size() > options_.max_tags) return;
    }
  }
  sort_unique_tags();
}

namespace {

// The first 8 bytes of `s`, big-endian, zero-padded: comparing two of these as integers orders
// the strings as a bytewise (memcmp) comparison would, up to a tie.
std::uint64_t order_prefix(std::string_view s) {
  std::uint64_t w = 0;
  if (s.size() >= 8) {
    std::memcpy(&w, s.data(), 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    return w;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    w |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (56 - 8 * i);
  }
  return w;
}

// Three-way bytewise comparison, the same order as std::string_view::compare.
int compare_tags(std::string_view a, std::uint64_t pa, std::string_view b, std::uint64_t pb) {
  if (pa != pb) return pa < pb ? -1 : 1;
  if (a.size() >= 8 && b.size() >= 8) return a.substr(8).compare(b.substr(8));
  return a.compare(b);
}

}  // namespace

void DogStatsdParser::sort_unique_tags() {
  const std::size_t n = tags_.size();
  if (n < 2) return;
  if (n > 32) {
    std::sort(tags_.begin(), tags_.end(), [](std::string_view a, std::string_view b) {
      return compare_tags(a, order_prefix(a), b, order_prefix(b)) < 0;
    });
    tags_.erase(std::unique(tags_.begin(), tags_.end()), tags_.end());
    return;
  }
  // Insertion sort that drops duplicates as it goes (the usual handful of tags).
  std::uint64_t prefixes[32];
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view t = tags_[i];
    const std::uint64_t pt = order_prefix(t);
    std::size_t j = out;
    int c = -1;
    while (j > 0) {
      c = compare_tags(tags_[j - 1], prefixes[j - 1], t, pt);
      if (c <= 0) break;
      tags_[j] = tags_[j - 1];
      prefixes[j] = prefixes[j - 1];
      --j;
    }
    if (j > 0 && c == 0) {  // duplicate: shift the greater ones back
      for (std::size_t k = j; k < out; ++k) {
        tags_[k] = tags_[k + 1];
        prefixes[k] = prefixes[k + 1];
      }
      continue;
    }
    tags_[j] = t;
    prefixes[j] = pt;
    ++out;
  }
  tags_.resize(out);
}

std::string_view DogStatsdParser::apply_namespace(std::string_view name) {
  if (options_.namespace_prefix.empty()) return name;
  for (const auto& prefix : options_.namespace_blacklist) {
    if (starts_with(name, prefix)) return name;
  }
  name_buf_.assign(options_.namespace_prefix);
  name_buf_.append(name);
  return name_buf_;
}

void DogStatsdParser::parse_metric(std::string_view line, DogStatsdVisitor& visitor) {
  // The name ends at the first ':'; a '|' before it (or no ':' at all) is a bad format.
  const char* const line_end = line.data() + line.size();
  const char* const colon = find_either(line.data(), line_end, ':', '|');
  if (colon == line_end || *colon != ':' || colon == line.data()) {
    drop("bad_format", line);
    return;
  }
  const std::string_view name(line.data(), static_cast<std::size_t>(colon - line.data()));
  std::string_view rest(colon + 1, static_cast<std::size_t>(line_end - colon - 1));
  bool found = false;
  const std::string_view values_text = take_until(rest, '|', &found);
  if (!found || values_text.empty()) {
    drop("bad_format", line);
    return;
  }
  const std::string_view type_text = take_until(rest, '|');
  MetricSample sample;
  if (!parse_type(type_text, sample.type)) {
    drop("bad_type", line);
    return;
  }
  // Optional fields in any order; the last of each kind wins (§1.3 rule 1).
  std::string_view rate_field, tags_field, ts_field;
  bool has_rate = false, has_tags = false, has_ts = false;
  while (!rest.empty()) {
    const std::string_view field = take_until(rest, '|');
    if (field.empty()) continue;
    switch (field[0]) {
      case '@':
        rate_field = field.substr(1);
        has_rate = true;
        break;
      case '#':
        tags_field = field.substr(1);
        has_tags = true;
        break;
      case 'T':
        ts_field = field.substr(1);
        has_ts = true;
        break;
      default:
        break;  // c:, e:, card: and unknown fields are ignored (§1.3 rule 6)
    }
  }

  values_.clear();
  if (sample.type == MetricType::kSet) {
    sample.set_member = values_text;  // verbatim, ':' included (§1.3 rule 5)
  } else {
    std::string_view vt = values_text;
    while (!vt.empty()) {
      const std::string_view item = take_until(vt, ':');
      if (item.empty()) continue;
      double v = 0;
      if (!parse_statsd_double(item, v)) {
        drop("bad_value", line);
        return;
      }
      values_.push_back(v);  // bounded by the datagram size
    }
    if (values_.empty()) {
      drop("bad_format", line);
      return;
    }
    sample.values = values_;
  }

  if (has_rate) {
    if (!parse_sample_rate(rate_field, kMinSampleRate, sample.rate)) {
      drop("bad_sample_rate", line);
      return;
    }
  }
  if (has_ts && !parse_positive_int(ts_field, sample.timestamp)) {
    drop("bad_timestamp", line);
    return;
  }
  if (has_tags) {
    // Lines of one client mostly repeat a tag field: split and sort it only when it changes. (At
    // first the copy is empty, and so is what an empty field splits into.)
    if (tags_field != field_text_) {
      field_text_.assign(tags_field.data(), tags_field.size());
      field_host_ = {};
      field_has_host_ = false;
      split_tags(field_text_, &field_host_, &field_has_host_);
      field_tags_.swap(tags_);
    }
    sample.tags = field_tags_;
    sample.host = field_host_;
    sample.has_host = field_has_host_;
  }
  if (sample.tags.size() > options_.max_tags) {
    drop("too_many_tags", line);
    return;
  }

  if (options_.lambda_mode && starts_with(name, kReservedPrefix)) {
    drop("reserved_name", line);
    return;
  }
  sample.name = apply_namespace(name);
  if (sample.name.size() > options_.max_name_length) {
    drop("name_too_long", line);
    return;
  }
  visitor.on_metric(sample);
}

void DogStatsdParser::parse_event(std::string_view line, DogStatsdVisitor& visitor) {
  // _e{<title-len>,<text-len>}:<title>|<text>|fields
  std::string_view rest = line.substr(3);
  bool found = false;
  const std::string_view title_len_text = take_until(rest, ',', &found);
  if (!found) return drop("bad_event", line);
  const std::string_view text_len_text = take_until(rest, '}', &found);
  if (!found || rest.empty() || rest[0] != ':') return drop("bad_event", line);
  rest.remove_prefix(1);
  std::int64_t title_len = 0, text_len = 0;
  if (!parse_nonneg_int(title_len_text, title_len) || !parse_nonneg_int(text_len_text, text_len) ||
      title_len < 1) {
    return drop("bad_event", line);
  }
  const auto tl = static_cast<std::uint64_t>(title_len);
  const auto xl = static_cast<std::uint64_t>(text_len);
  if (tl > rest.size() || xl > rest.size() || tl + 1 + xl > rest.size() || rest[tl] != '|') {
    return drop("bad_event", line);
  }
  EventMessage ev;
  const std::string_view raw_title = rest.substr(0, tl);
  const std::string_view raw_text = rest.substr(tl + 1, xl);
  rest.remove_prefix(tl + 1 + xl);
  if (!rest.empty()) {
    if (rest[0] != '|') return drop("bad_event", line);
    rest.remove_prefix(1);
  }
  tags_.clear();
  while (!rest.empty()) {
    const std::string_view f = take_until(rest, '|');
    if (f.size() >= 2 && f[1] == ':') {
      const std::string_view v = f.substr(2);
      switch (f[0]) {
        case 'd': {
          std::int64_t d = 0;
          if (parse_positive_int(v, d))
            ev.date = d;
          else
            LC_DEBUG("dogstatsd: event with invalid date field \"{}\" ignored", escape_for_log(v));
          break;
        }
        case 'h':
          ev.host = v;
          break;
        case 'k':
          ev.aggregation_key = v;
          break;
        case 'p':
          if (v == "normal" || v == "low") ev.priority = v;
          break;
        case 's':
          ev.source_type = v;
          break;
        case 't':
          if (v == "error" || v == "warning" || v == "info" || v == "success") ev.alert_type = v;
          break;
        default:
          break;
      }
    } else if (!f.empty() && f[0] == '#') {
      split_tags(f.substr(1), nullptr, nullptr);
    }
  }
  ev.title = unescape_newlines(raw_title, title_buf_);
  ev.text = unescape_newlines(raw_text, text_buf_);
  ev.tags = tags_;
  visitor.on_event(ev);
}

void DogStatsdParser::parse_service_check(std::string_view line, DogStatsdVisitor& visitor) {
  // _sc|<name>|<status>|fields
  std::string_view rest = line.substr(4);
  bool found = false;
  ServiceCheckMessage sc;
  sc.name = take_until(rest, '|', &found);
  if (!found || sc.name.empty()) return drop("bad_service_check", line);
  const std::string_view status = take_until(rest, '|');
  if (status.size() != 1 || status[0] < '0' || status[0] > '3') {
    return drop("bad_service_check", line);
  }
  sc.status = status[0] - '0';
  tags_.clear();
  while (!rest.empty()) {
    if (rest.size() >= 2 && rest[0] == 'm' && rest[1] == ':') {
      sc.message = rest.substr(2);  // the message takes the rest of the line, '|' included
      break;
    }
    const std::string_view f = take_until(rest, '|');
    if (f.size() >= 2 && f[0] == 'd' && f[1] == ':') {
      std::int64_t d = 0;
      if (parse_positive_int(f.substr(2), d)) sc.timestamp = d;
    } else if (f.size() >= 2 && f[0] == 'h' && f[1] == ':') {
      sc.host = f.substr(2);
    } else if (!f.empty() && f[0] == '#') {
      split_tags(f.substr(1), nullptr, nullptr);
    }
  }
  sc.tags = tags_;
  visitor.on_service_check(sc);
}

}  // namespace lc::metrics
