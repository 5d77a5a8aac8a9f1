#include "forward/status.h"

#include <gtest/gtest.h>

namespace lc::forward {
namespace {

using K = SendOutcome::Kind;

const WallTime kNow = WallTime(std::chrono::seconds(1445412480));  // Wed, 21 Oct 2015 07:28:00 GMT

SendOutcome answer(int status, net::Headers headers = {}, std::string body = {}) {
  net::HttpClientResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return classify_response(Expected<net::HttpClientResponse>(std::move(r)), kNow,
                           "https://api.datadoghq.com/api/v2/series");
}

// datadog-wire.md §4.0 "Status handling", one code at a time.
TEST(Status, SweepsEveryStatusCode) {
  for (int s = 100; s <= 599; ++s) {
    SCOPED_TRACE(s);
    const SendOutcome o = answer(s);
    EXPECT_EQ(o.status, s);
    if (s >= 200 && s <= 299) {
      EXPECT_EQ(o.kind, K::kOk);
    } else if (s <= 199 || s == 408 || s == 429 || s >= 500) {  // 1xx: no final answer
      EXPECT_EQ(o.kind, K::kRetry);
      EXPECT_EQ(o.reason, "http_" + std::to_string(s));
    } else if (s == 413) {
      EXPECT_EQ(o.kind, K::kSplit);
      EXPECT_EQ(o.reason, "too_large");
    } else if (s == 400) {
      EXPECT_EQ(o.kind, K::kDrop);
      EXPECT_EQ(o.reason, "bad_request");
    } else if (s == 401 || s == 403) {
      EXPECT_EQ(o.kind, K::kDrop);
      EXPECT_EQ(o.reason, "forbidden");
    } else if (s == 404) {
      EXPECT_EQ(o.kind, K::kDrop);
      EXPECT_EQ(o.reason, "not_found");
    } else {  // other 4xx, and 3xx which is no usable final answer
      EXPECT_EQ(o.kind, K::kDrop);
      EXPECT_EQ(o.reason, "http_" + std::to_string(s));
    }
  }
}

TEST(Status, TransportErrorsAreRetried) {
  for (auto code : {ErrorCode::kTimeout, ErrorCode::kNetwork, ErrorCode::kProtocol, ErrorCode::kIo,
                    ErrorCode::kDns, ErrorCode::kConnect, ErrorCode::kTls}) {
    const SendOutcome o = classify_response(Error{code, "boom"}, kNow, "https://x/y");
    EXPECT_EQ(o.kind, K::kRetry);
    EXPECT_EQ(o.status, 0);
  }
  EXPECT_EQ(classify_response(Error{ErrorCode::kTimeout, ""}, kNow, "").reason, "timeout");
  EXPECT_EQ(classify_response(Error{ErrorCode::kNetwork, ""}, kNow, "").reason, "network");
}

// Each kind of transport failure is retried under its own reason; only a malformed URL is dropped.
TEST(Status, TransportFailuresKeepTheirKind) {
  const std::pair<ErrorCode, const char*> cases[] = {
      {ErrorCode::kDns, "dns"},         {ErrorCode::kConnect, "connect"},
      {ErrorCode::kTls, "tls"},         {ErrorCode::kTimeout, "timeout"},
      {ErrorCode::kNetwork, "network"}, {ErrorCode::kProtocol, "protocol"}};
  for (const auto& [code, reason] : cases) {
    SCOPED_TRACE(reason);
    const SendOutcome o = classify_response(Error{code, "boom"}, kNow, "https://x/y");
    EXPECT_EQ(o.kind, K::kRetry);
    EXPECT_EQ(o.reason, reason);
  }
}

TEST(Status, MalformedUrlIsDroppedNotRetriedForever) {
  const SendOutcome o = classify_response(Error{ErrorCode::kInvalidArgument, "bad url"}, kNow, "x");
  EXPECT_EQ(o.kind, K::kDrop);
  EXPECT_EQ(o.reason, "bad_url");
}

TEST(Status, RetryAfterSecondsAndDate) {
  EXPECT_EQ(answer(429, {{"retry-after", " 3 "}}).retry_after_ms, 3000);
  EXPECT_EQ(answer(503, {{"Retry-After", "Wed, 21 Oct 2015 07:28:07 GMT"}}).retry_after_ms, 7000);
  EXPECT_EQ(answer(503, {{"Retry-After", "Wed, 21 Oct 2015 07:27:00 GMT"}}).retry_after_ms, 0);
  EXPECT_EQ(answer(503, {{"Retry-After", "soon"}}).retry_after_ms, -1);
  EXPECT_EQ(answer(503).retry_after_ms, -1);
}

TEST(Status, DetailsForTheOncePerFlushLogLines) {
  const std::string body(300, 'x');
  const SendOutcome bad = answer(400, {}, "oops " + body);
  EXPECT_NE(bad.detail.find("oops "), std::string::npos);
  EXPECT_EQ(bad.detail.find(std::string(196, 'x')), std::string::npos);  // first 200 bytes only
  EXPECT_NE(bad.detail.find(std::string(195, 'x')), std::string::npos);

  const SendOutcome forbidden = answer(403);
  EXPECT_EQ(forbidden.detail, "API key rejected by api.datadoghq.com");

  const SendOutcome missing = answer(404);
  EXPECT_NE(missing.detail.find("https://api.datadoghq.com/api/v2/series"), std::string::npos);
}

}  // namespace
}  // namespace lc::forward
