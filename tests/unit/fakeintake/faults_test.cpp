#include "fakeintake/faults.h"

#include <gtest/gtest.h>

namespace lc::fakeintake {
namespace {

TEST(FakeIntakeFaultFlag, ParsesEndpointAndStatuses) {
  auto f = parse_fault_flag("/api/v2/series=503,503,200");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->first, "/api/v2/series");
  EXPECT_EQ(f->second.statuses, (std::deque<int>{503, 503, 200}));
  for (const char* bad : {"/api/v2/series", "/api/v2/series=", "api/v2/series=503",
                          "/api/v2/series=99", "/api/v2/series=503,abc", "/x=600"}) {
    EXPECT_FALSE(parse_fault_flag(bad)) << bad;
  }
}

TEST(FakeIntakeFaultJson, ParsesEveryKnob) {
  auto f = parse_fault_json(
      R"({"endpoint":"/api/v2/logs","statuses":[503,429],"delay_ms":250,"hang":false,"close_mid_response":true,"require_key":"k1"})");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->first, "/api/v2/logs");
  EXPECT_EQ(f->second.statuses, (std::deque<int>{503, 429}));
  EXPECT_EQ(f->second.delay_ms, 250);
  EXPECT_FALSE(f->second.hang);
  EXPECT_TRUE(f->second.close_mid_response);
  EXPECT_EQ(f->second.require_key, "k1");
  EXPECT_EQ(f->second.retry_after_s, -1);
  auto retry =
      parse_fault_json(R"({"endpoint":"/api/v2/series","statuses":[429],"retry_after_s":2})");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->second.retry_after_s, 2);
  auto minimal = parse_fault_json(R"({"endpoint":"*","hang":true})");
  ASSERT_TRUE(minimal);
  EXPECT_TRUE(minimal->second.hang);
  for (const char* bad :
       {"", "[]", R"({"statuses":[503]})", R"({"endpoint":"/a","statuses":[1]})",
        R"({"endpoint":"/a","delay_ms":-1})", R"({"endpoint":"/a","hang":"yes"})",
        R"({"endpoint":"/a","typo":1})", R"({"endpoint":"/a","retry_after_s":-2})"}) {
    EXPECT_FALSE(parse_fault_json(bad)) << bad;
  }
}

}  // namespace
}  // namespace lc::fakeintake
