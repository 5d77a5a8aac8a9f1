#include "core/strings.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <random>
#include <string>

#include "core/tags.h"

namespace lc {
namespace {

TEST(Strings, ParseBoolAcceptsAllSpellings) {
  for (auto t : {"true", "TRUE", "1", "yes", "On", " on "}) EXPECT_EQ(parse_bool(t), true) << t;
  for (auto f : {"false", "0", "no", "OFF"}) EXPECT_EQ(parse_bool(f), false) << f;
  EXPECT_FALSE(parse_bool("maybe").has_value());
  EXPECT_FALSE(parse_bool("").has_value());
}

TEST(Strings, ParseNumbers) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("+7"), 7);
  EXPECT_FALSE(parse_int("4x").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_EQ(parse_double("2.5"), 2.5);
  EXPECT_FALSE(parse_double("nan").has_value());
  EXPECT_FALSE(parse_double("1e999").has_value());
}

TEST(Strings, ParseDoubleEqualsFromCharsForPlainDecimalsAndTheRest) {
  // Plain decimals take a shortcut; every value must be the one std::from_chars gives.
  const auto from_chars = [](const std::string& text) {
    double v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::string text = (rng() % 4 == 0) ? "-" : "";
    const int integer = 1 + static_cast<int>(rng() % 9);
    for (int d = 0; d < integer; ++d) text += static_cast<char>('0' + rng() % 10);
    if (rng() % 3 != 0) {
      text += '.';
      const int fraction = 1 + static_cast<int>(rng() % 24);
      for (int d = 0; d < fraction; ++d) text += static_cast<char>('0' + rng() % 10);
    }
    const auto parsed = parse_double(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    const double want = from_chars(text);
    ASSERT_EQ(std::memcmp(&*parsed, &want, sizeof want), 0) << text;  // -0.0 included
  }
  EXPECT_EQ(parse_double("0.95"), 0.95);
  EXPECT_EQ(parse_double(" 3 "), 3.0);
  EXPECT_EQ(parse_double("1e3"), 1000.0);
  EXPECT_EQ(parse_double("0.0000166667"), 0.0000166667);
  EXPECT_EQ(parse_double("123456789012345678"), 123456789012345678.0);
  EXPECT_FALSE(parse_double("-").has_value());
  EXPECT_FALSE(parse_double("1.2.3").has_value());
}

TEST(Strings, JsonEscape) { EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\""); }

TEST(Tags, DdTagsCommasOrSpaces) {
  EXPECT_EQ(parse_tag_list("a:1,b:2"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(parse_tag_list("a:1 b:2"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(parse_tag_list(" a:1, b:2  c ,,a:1"), (std::vector<std::string>{"a:1", "b:2", "c"}));
  EXPECT_TRUE(parse_tag_list("  ").empty());
}

TEST(Strings, Base64EncodesRfc4648Vectors) {
  // RFC 4648 §10 test vectors: every padding case.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  // High bytes are taken unsigned; the last two alphabet characters are '+' and '/'.
  EXPECT_EQ(base64_encode(std::string("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(base64_encode(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64_encode("user:pa:ss"), "dXNlcjpwYTpzcw==");
}

}  // namespace
}  // namespace lc
