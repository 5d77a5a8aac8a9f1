#include "core/strings.h"

#include <gtest/gtest.h>

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
