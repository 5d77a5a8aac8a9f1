#include "net/http_types.h"

#include <gtest/gtest.h>

namespace lc::net {
namespace {

TEST(HttpTypesTest, FindHeaderIsCaseInsensitiveFirstMatch) {
  const Headers h{{"Content-Type", "a"}, {"content-type", "b"}, {"X", "1"}};
  EXPECT_EQ(find_header(h, "CONTENT-TYPE").value_or(""), "a");
  EXPECT_FALSE(find_header(h, "missing"));
}

TEST(HttpTypesTest, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // '+' is only a space in query strings
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
}

TEST(HttpTypesTest, ErrorShape) {
  const auto r = HttpResponse::error(400, "InvalidRequest", "bad \"id\"");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"errorType":"InvalidRequest","errorMessage":"bad \"id\""})");
  EXPECT_EQ(find_header(r.headers, "content-type").value_or(""), "application/json");
}

TEST(HttpTypesTest, ParseUrl) {
  auto u = parse_url("https://api.datadoghq.com/api/v2/series?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.datadoghq.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/api/v2/series?x=1");

  u = parse_url("HTTP://127.0.0.1:9001");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 9001);
  EXPECT_EQ(u->target, "/");

  u = parse_url("http://[::1]:8080/p#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/p");

  u = parse_url("http://h?q");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/?q");

  for (const char* bad : {"", "api.datadoghq.com", "ftp://x/", "http://", "http://:80/",
                          "http://h:0/", "http://h:70000/", "http://h:/", "http://u:p@h/",
                          "http://h:8x/", "http://a b/", "http://[::1/", "http://h/ a"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace lc::net
