// core/json.h: parse_json never throws and names where a document went wrong; the accessors
// answer nullopt / nullptr for an absent member or another type.
#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

namespace lc {
namespace {

TEST(Json, ParsesAnyJsonText) {
  auto obj = parse_json(R"( {"a":1,"b":[true,null]} )");
  ASSERT_TRUE(obj) << obj.error().message;
  EXPECT_TRUE(obj->is_object());
  auto arr = parse_json("[1,2,3]");
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->as_array().size(), 3u);
  auto str = parse_json(R"("text")");
  ASSERT_TRUE(str);
  EXPECT_EQ(json::as_string(*str), "text");
  auto num = parse_json("42");
  ASSERT_TRUE(num);
  EXPECT_EQ(json::as_int64(*num), 42);
}

TEST(Json, SyntaxErrorNamesLineColumnAndOffset) {
  auto e = parse_json("{\n  \"a\": 1,\n  \"b\": ?\n}");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
  // The '?' is on line 3, column 8, at offset 19.
  EXPECT_NE(e.error().message.find("line 3, column 8 (offset 19)"), std::string::npos)
      << e.error().message;
}

TEST(Json, IncompleteEmptyAndTrailingInputAreErrors) {
  auto incomplete = parse_json(R"({"a":[1,2)");
  ASSERT_FALSE(incomplete);
  EXPECT_NE(incomplete.error().message.find("line 1, column 10 (offset 9)"), std::string::npos)
      << incomplete.error().message;
  EXPECT_FALSE(parse_json(""));
  EXPECT_FALSE(parse_json("   "));
  auto trailing = parse_json("{} x");
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().message.find("offset 3"), std::string::npos)
      << trailing.error().message;
  EXPECT_FALSE(parse_json("[1,]"));            // no trailing commas
  EXPECT_FALSE(parse_json("[1] // comment"));  // no comments
}

TEST(Json, DepthLimitIsAnErrorNotACrash) {
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_FALSE(parse_json(deep));  // default 32
  JsonParseOptions o;
  o.max_depth = 64;
  EXPECT_TRUE(parse_json(deep, o));
  const std::string very_deep = std::string(100000, '[');
  auto e = parse_json(very_deep, o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("offset 64"), std::string::npos) << e.error().message;
}

TEST(Json, InvalidUtf8IsRefusedUnlessAllowed) {
  const std::string bad = "\"a\xff\"";
  EXPECT_FALSE(parse_json(bad));
  JsonParseOptions o;
  o.allow_invalid_utf8 = true;
  auto v = parse_json(bad, o);
  ASSERT_TRUE(v);
  EXPECT_EQ(json::as_string(*v), "a\xff");
}

TEST(Json, IntegersAcceptIntegralDoubles) {
  auto v = parse_json(
      R"({"i":-7,"u":18446744073709551615,"big":9223372036854775807,"d":128.0,"f":1.5,
          "e":1e3,"huge":1e19,"neg":-9223372036854775808.0,"s":"5","b":true,"n":null})");
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(json::int64_member(o, "i"), -7);
  EXPECT_EQ(json::int64_member(o, "u"), std::nullopt);  // above INT64_MAX
  EXPECT_EQ(json::int64_member(o, "big"), INT64_MAX);
  EXPECT_EQ(json::int64_member(o, "d"), 128);  // the platform sends memorySizeMB as 128.0
  EXPECT_EQ(json::int64_member(o, "f"), std::nullopt);
  EXPECT_EQ(json::int64_member(o, "e"), 1000);
  EXPECT_EQ(json::int64_member(o, "huge"), std::nullopt);
  EXPECT_EQ(json::int64_member(o, "neg"), INT64_MIN);
  EXPECT_EQ(json::int64_member(o, "s"), std::nullopt);  // no string → number conversion
  EXPECT_EQ(json::int64_member(o, "b"), std::nullopt);
  EXPECT_EQ(json::int64_member(o, "n"), std::nullopt);
  EXPECT_EQ(json::int64_member(o, "absent"), std::nullopt);
}

TEST(Json, MemberAccessorsCheckTheType) {
  auto v = parse_json(
      R"({"s":"x","d":2.5,"i":3,"u":18446744073709551615,"b":false,"o":{"k":"v"},"a":[1],"n":null})");
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(json::string_member(o, "s"), "x");
  EXPECT_EQ(json::string_member(o, "i"), std::nullopt);
  EXPECT_EQ(json::string_member(o, "absent"), std::nullopt);
  EXPECT_EQ(json::double_member(o, "d"), 2.5);
  EXPECT_EQ(json::double_member(o, "i"), 3.0);
  EXPECT_EQ(json::double_member(o, "u"), 18446744073709551615.0);
  EXPECT_EQ(json::double_member(o, "s"), std::nullopt);
  EXPECT_EQ(json::bool_member(o, "b"), false);
  EXPECT_EQ(json::bool_member(o, "i"), std::nullopt);
  ASSERT_NE(json::object_member(o, "o"), nullptr);
  EXPECT_EQ(json::string_member(*json::object_member(o, "o"), "k"), "v");
  EXPECT_EQ(json::object_member(o, "a"), nullptr);
  EXPECT_EQ(json::object_member(o, "absent"), nullptr);
  ASSERT_NE(json::array_member(o, "a"), nullptr);
  EXPECT_EQ(json::array_member(o, "a")->size(), 1u);
  EXPECT_EQ(json::array_member(o, "o"), nullptr);
  EXPECT_EQ(json::array_member(o, "n"), nullptr);
}

TEST(Json, StringsKeepEmbeddedNulAndEscapes) {
  auto v = parse_json(R"({"k":"a\u0000b\n\"c\""})");
  ASSERT_TRUE(v);
  const auto s = json::string_member(v->as_object(), "k");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, std::string_view("a\0b\n\"c\"", 7));
}

}  // namespace
}  // namespace lc
