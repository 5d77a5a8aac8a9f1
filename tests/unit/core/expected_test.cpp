#include "core/expected.h"

#include <gtest/gtest.h>

#include <memory>

namespace lc {
namespace {

Expected<int> half(int v) {
  if (v % 2) return make_error(ErrorCode::kInvalidArgument, "odd");
  return v / 2;
}

TEST(Expected, ValueAndError) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "odd");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Expected, WithPrefixAddsContext) {
  const Error e = make_error(ErrorCode::kNetwork, "refused").with_prefix("telemetry: ");
  EXPECT_EQ(e.message, "telemetry: refused");
  EXPECT_EQ(e.code, ErrorCode::kNetwork);
  EXPECT_EQ(error_code_name(e.code), "network");
}

TEST(Expected, MoveOnlyValue) {
  Expected<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p);
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 5);
}

TEST(Expected, Void) {
  Expected<void> ok;
  EXPECT_TRUE(ok);
  Expected<void> bad = make_error(ErrorCode::kIo, "disk");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "disk");
}

}  // namespace
}  // namespace lc
