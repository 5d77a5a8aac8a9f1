// LineSplitter: the table of serverless-init.md §4.3, long-line chunks and their markers (scenario
// 4), UTF-8 replacement and cut points, and reads split at every offset.
#include "init/line_splitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Entry {
  std::string text;
  std::int64_t ts = 0;
  bool split = false;
  bool operator==(const Entry&) const = default;
};

class Collector {
 public:
  LineSplitter::Emit emit() {
    return [this](std::string&& text, std::int64_t ts, bool split) {
      entries.push_back({std::move(text), ts, split});
    };
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.text);
    return out;
  }
  std::vector<Entry> entries;
};

std::vector<std::string> split_all(std::string_view input, std::size_t max = 262144,
                                   bool finish = true) {
  LineSplitter s(max);
  Collector c;
  s.feed(input, 1, c.emit());
  if (finish) s.finish(2, c.emit());
  return c.texts();
}

std::string sanitized(std::string_view in) {
  std::string out;
  append_sanitized_utf8(out, in);
  return out;
}

const std::string kMarker(kTruncatedMarker);
const std::string kFffd = "\xEF\xBF\xBD";

TEST(LineSplitterTest, TableRows) {
  EXPECT_THAT(split_all("abc\n"), ElementsAre("abc"));
  EXPECT_THAT(split_all("abc\r\n"), ElementsAre("abc"));
  EXPECT_THAT(split_all("abc\r\r\n"), ElementsAre("abc\r"));  // one trailing \r only
  EXPECT_THAT(split_all("a\rb\n"), ElementsAre("a\rb"));      // not trailing: kept
  EXPECT_THAT(split_all("abc"), ElementsAre("abc"));          // EOF without newline
  EXPECT_THAT(split_all("abc", 262144, false), IsEmpty());    // not ended yet
  EXPECT_THAT(split_all("\n\n \t\n\r\n  \r\n"), IsEmpty());   // empty or whitespace only
  EXPECT_THAT(split_all(" x \n"), ElementsAre(" x "));        // surrounding blanks kept
  EXPECT_THAT(split_all(std::string("a\0b\n", 4)), ElementsAre(std::string("a\0b", 3)));
  EXPECT_THAT(split_all("\xff\xfe\x41\n"), ElementsAre(kFffd + kFffd + "A"));
  EXPECT_THAT(split_all("one\ntwo\nthree"), ElementsAre("one", "two", "three"));
}

TEST(LineSplitterTest, LineAcrossReadsTakesTheTimeOfItsTerminatingByte) {
  LineSplitter s(1024);
  Collector c;
  s.feed("ab", 100, c.emit());
  EXPECT_THAT(c.entries, IsEmpty());
  s.feed("c\r", 200, c.emit());
  s.feed("\nde", 300, c.emit());
  s.finish(400, c.emit());
  EXPECT_THAT(c.entries, ElementsAre(Entry{"abc", 300, false}, Entry{"de", 400, false}));
}

TEST(LineSplitterTest, Utf8Replacement) {
  EXPECT_EQ(sanitized("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");      // valid 2/3/4-byte sequences
  EXPECT_EQ(sanitized("\xC0\xAF"), kFffd + kFffd);              // overlong '/'
  EXPECT_EQ(sanitized("\xE0\x80\xAF"), kFffd + kFffd + kFffd);  // overlong 3-byte
  EXPECT_EQ(sanitized("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate U+D800
  EXPECT_EQ(sanitized("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(sanitized("\xF5\x80"), kFffd + kFffd);
  EXPECT_EQ(sanitized("\xE2\x82"), kFffd);         // truncated: one maximal subpart
  EXPECT_EQ(sanitized("\xE2\x82Z"), kFffd + "Z");  // cut by an ASCII byte
  EXPECT_EQ(sanitized("\xF0\x9F\x98"), kFffd);
  EXPECT_EQ(sanitized("\x80"), kFffd);  // lone continuation
  EXPECT_EQ(sanitized(std::string("\0", 1)), std::string("\0", 1));
  EXPECT_EQ(sanitized("\xEF\xBF\xBF"), "\xEF\xBF\xBF");          // U+FFFF is well-formed
  EXPECT_EQ(sanitized("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
}

TEST(LineSplitterTest, CutPointNeverInsideAValidSequence) {
  const std::string euro = "\xE2\x82\xAC";
  const std::string text = "ab" + euro + "cd";  // euro at [2, 5)
  EXPECT_EQ(utf8_cut_point(text, 2), 2u);
  EXPECT_EQ(utf8_cut_point(text, 3), 2u);
  EXPECT_EQ(utf8_cut_point(text, 4), 2u);
  EXPECT_EQ(utf8_cut_point(text, 5), 5u);
  EXPECT_EQ(utf8_cut_point(text, 100), text.size());
  // Only the bytes before the cut count: a lead that may still start a character moves the cut.
  EXPECT_EQ(utf8_cut_point("ab\xE2\x41", 3), 2u);
  // Invalid bytes are boundaries of their own.
  EXPECT_EQ(utf8_cut_point("ab\xE2\x41", 4), 4u);
  EXPECT_EQ(utf8_cut_point("ab\xE0\x80", 4), 4u);  // E0 80 can never become valid
  EXPECT_EQ(utf8_cut_point("ab\xFF\xFF", 3), 3u);
  const std::string emoji = "\xF0\x9F\x98\x80";
  EXPECT_EQ(utf8_cut_point("a" + emoji + "b", 4), 1u);
}

// Scenario 4: a 300 000-byte line without newline → 262 144 + 37 856 bytes of content.
TEST(LineSplitterTest, LongLineSplitIntoChunksWithMarkers) {
  std::string line;
  for (std::size_t i = 0; line.size() < 300000; ++i)
    line.push_back(static_cast<char>('a' + i % 26));
  LineSplitter s(262144);
  Collector c;
  s.feed(line, 5, c.emit());
  EXPECT_LE(s.pending_bytes(), 262144u);
  s.finish(6, c.emit());
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].text.size(), 262144 + kMarker.size());
  EXPECT_TRUE(c.entries[0].text.ends_with(kMarker));
  EXPECT_FALSE(c.entries[0].text.starts_with(kMarker));
  EXPECT_TRUE(c.entries[0].split);
  EXPECT_EQ(c.entries[1].text.size(), 37856 + kMarker.size());
  EXPECT_TRUE(c.entries[1].text.starts_with(kMarker));
  EXPECT_FALSE(c.entries[1].text.ends_with(kMarker));
  EXPECT_FALSE(c.entries[1].split);
  EXPECT_EQ(c.entries[1].ts, 6);  // ended by EOF
  const std::string joined =
      c.entries[0].text.substr(0, 262144) + c.entries[1].text.substr(kMarker.size());
  EXPECT_EQ(joined, line);
}

TEST(LineSplitterTest, MiddleChunksCarryBothMarkers) {
  const std::string line = std::string(10, 'x') + std::string(10, 'y') + std::string(5, 'z');
  EXPECT_THAT(split_all(line + "\n", 10),
              ElementsAre(std::string(10, 'x') + kMarker, kMarker + std::string(10, 'y') + kMarker,
                          kMarker + "zzzzz"));
}

TEST(LineSplitterTest, LineOfExactlyLBytesIsNotSplit) {
  EXPECT_THAT(split_all(std::string(10, 'x') + "\n", 10), ElementsAre(std::string(10, 'x')));
  EXPECT_THAT(split_all(std::string(10, 'x') + "\r\n", 11), ElementsAre(std::string(10, 'x')));
  EXPECT_THAT(split_all(std::string(10, 'x'), 10), ElementsAre(std::string(10, 'x')));
}

// A `\r\n` right after L bytes: the `\r` is the line's trailing one, not a reason to cut (found
// by fuzz/init_lines: the cut left a marked entry with no continuation).
TEST(LineSplitterTest, TrailingCrAfterAFullChunkIsNotACut) {
  const std::string full(10, 'x');
  EXPECT_THAT(split_all(full + "\r\n", 10), ElementsAre(full));
  EXPECT_THAT(split_all(full + "\r", 10), ElementsAre(full));  // then EOF
  EXPECT_THAT(split_all(full + "\rab\n", 10), ElementsAre(full + kMarker, kMarker + "\rab"));
  EXPECT_THAT(split_all(full + "\r\r\n", 10), ElementsAre(full + kMarker, kMarker + "\r"));
  // The same, one byte per read.
  for (const std::string& input : {full + "\r\n", full + "\rab\n", full + "\r\r\n"}) {
    LineSplitter whole(10), bytes(10);
    Collector a, b;
    whole.feed(input, 1, a.emit());
    for (char ch : input) bytes.feed(std::string_view(&ch, 1), 1, b.emit());
    EXPECT_EQ(a.entries, b.entries);
  }
}

// Once a chunk of a line went out, its blank rest still does: every cut entry has a continuation.
TEST(LineSplitterTest, BlankRestOfACutLineIsStillEmitted) {
  EXPECT_THAT(split_all(std::string(10, 'x') + "   \n", 10),
              ElementsAre(std::string(10, 'x') + kMarker, kMarker + "   "));
  // A line blank up to the cut starts with its first non-blank chunk, unmarked.
  EXPECT_THAT(split_all(std::string(10, ' ') + "ab\n", 10), ElementsAre("ab"));
}

TEST(LineSplitterTest, ChunksAreCutAtUtf8Boundaries) {
  // Two-byte characters with L odd: every cut would fall inside one without the boundary rule.
  std::string line;
  for (int i = 0; i < 40; ++i) line += "\xC3\xA9";  // é
  const auto out = split_all(line + "\n", 11);
  ASSERT_GT(out.size(), 1u);
  std::string joined;
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string_view t = out[i];
    if (i > 0) {
      ASSERT_TRUE(t.starts_with(kMarker));
      t.remove_prefix(kMarker.size());
    }
    if (i + 1 < out.size()) {
      ASSERT_TRUE(t.ends_with(kMarker));
      t.remove_suffix(kMarker.size());
    }
    EXPECT_LE(t.size(), 11u);
    EXPECT_EQ(t.find(kFffd), std::string_view::npos) << "chunk " << i << " cut a character";
    joined.append(t);
  }
  EXPECT_EQ(joined, line);
}

TEST(LineSplitterTest, ContentConcatenationEqualsInputForMixedText) {
  std::string line;
  for (int i = 0; i < 500; ++i)
    line += (i % 3 == 0) ? "\xF0\x9F\x98\x80" : (i % 3 == 1 ? "ab" : "\xE2\x82\xAC");
  for (std::size_t max : {4u, 5u, 7u, 64u, 1000u}) {
    LineSplitter s(max);
    Collector c;
    s.feed(line, 1, c.emit());
    s.finish(2, c.emit());
    std::string joined;
    std::size_t splits = 0;
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      std::string_view t = c.entries[i].text;
      if (i > 0) t.remove_prefix(kMarker.size());
      if (c.entries[i].split) {
        t.remove_suffix(kMarker.size());
        ++splits;
      }
      joined.append(t);
    }
    EXPECT_EQ(joined, line) << "L=" << max;
    EXPECT_EQ(splits, c.entries.size() - 1) << "L=" << max;
  }
}

TEST(LineSplitterTest, OneByteReadsGiveTheSameEntries) {
  std::string input = "first\r\nsec";
  input += "ond \xff\xfe\x41 \xE2\x82\xAC\n\n   \n";
  input += std::string(30, 'q') + "\xC3\xA9" + std::string(30, 'r') + "\r\n";
  input += std::string("nul\0byte\n", 9);
  input += "tail \xF0\x9F\x98";
  for (std::size_t max : {8u, 16u, 1024u}) {
    LineSplitter whole(max);
    Collector a;
    whole.feed(input, 7, a.emit());
    whole.finish(7, a.emit());
    LineSplitter bytes(max);
    Collector b;
    for (char ch : input) bytes.feed(std::string_view(&ch, 1), 7, b.emit());
    bytes.finish(7, b.emit());
    EXPECT_EQ(a.entries, b.entries) << "L=" << max;
    // And every split point of the input into two reads.
    for (std::size_t cut = 0; cut <= input.size(); ++cut) {
      LineSplitter two(max);
      Collector t;
      two.feed(std::string_view(input).substr(0, cut), 7, t.emit());
      two.feed(std::string_view(input).substr(cut), 7, t.emit());
      two.finish(7, t.emit());
      ASSERT_EQ(a.entries, t.entries) << "L=" << max << " cut=" << cut;
    }
  }
}

TEST(LineSplitterTest, MemoryStaysWithinL) {
  LineSplitter s(1024);
  Collector c;
  const std::string block(4096, 'k');
  for (int i = 0; i < 100; ++i) {
    s.feed(block, i, c.emit());
    ASSERT_LE(s.pending_bytes(), 1024u);
  }
  EXPECT_EQ(c.entries.size(), 399u);  // 409 600 bytes: 399 full chunks cut, the 400th pending
  s.finish(100, c.emit());
  EXPECT_EQ(c.entries.size(), 400u);
}

}  // namespace
}  // namespace lc::init
