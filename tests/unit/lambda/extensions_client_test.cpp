// ExtensionsClient against a scripted HTTP client on FakeClock: the init budget shared by register
// and subscribe (lambda-platform.md §3.1), and malformed /next answers that are logged, counted and
// asked again at a bounded rate instead of ending the extension (lambda-agent.md §1.2).
#include "lambda/extensions_client.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/logger.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_http_client.h"

namespace lc::lambda {
namespace {

using fakes::FakeHttpClient;
using Reply = FakeHttpClient::Reply;
using namespace std::chrono_literals;

constexpr const char* kRegister = "/extension/register";
constexpr const char* kNext = "/extension/event/next";
constexpr const char* kTelemetry = "/2022-07-01/telemetry";

struct ExtensionsClientTest : ::testing::Test {
  void SetUp() override {
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  void TearDown() override { Logger::instance().set_sink(nullptr); }

  static Reply registered() {
    Reply r = Reply::with_status(200);
    r.header("Lambda-Extension-Identifier", "ext-1");
    return r;
  }
  static Reply event(std::string body) {
    Reply r = Reply::with_status(200);
    r.body = std::move(body);
    return r;
  }

  fakes::FakeClock clock;
  FakeHttpClient http{clock};
  SelfMetrics self;
  ExtensionsClient client{http, clock, clock, self, "127.0.0.1:9001"};
  std::vector<std::string> lines;
};

TEST_F(ExtensionsClientTest, HungRegisterAndItsRetryEndWithinTheInitBudget) {
  http.script_for(kRegister, {Reply::hanging(), Reply::hanging()});
  std::optional<Error> failed;
  client.register_extension("datadog-agent", false, [&](Expected<RegisterReply> r, ApiError) {
    ASSERT_FALSE(r);
    failed = r.error();
  });
  clock.advance(ExtensionsClient::kInitBudget);
  ASSERT_TRUE(failed.has_value()) << "register still pending at the end of the init budget";
  EXPECT_EQ(failed->code, ErrorCode::kTimeout);
  const auto sent = http.requests_to(kRegister);
  ASSERT_GE(sent.size(), 1u);
  for (const auto* r : sent)
    EXPECT_LE(r->deadline.at, sent[0]->sent_at + ExtensionsClient::kInitBudget);
}

TEST_F(ExtensionsClientTest, RegisterRetryGetsTheRemainingTime) {
  http.script_for(kRegister,
                  {Reply::failure(ErrorCode::kNetwork, "refused", 4000ms), registered()});
  bool ok = false;
  client.register_extension("datadog-agent", false,
                            [&](Expected<RegisterReply> r, ApiError) { ok = r.has_value(); });
  clock.advance(4010ms);
  clock.advance(0ms);
  ASSERT_TRUE(ok);
  const auto sent = http.requests_to(kRegister);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]->deadline.at, sent[0]->deadline.at);  // one deadline, not a fresh 10 s
}

TEST_F(ExtensionsClientTest, SubscribeAndItsRetryShareTheRegisterDeadline) {
  http.script_for(kRegister, {[] {
                    Reply r = registered();
                    r.delay = 6000ms;
                    return r;
                  }()});
  http.script_for(kTelemetry, {Reply::hanging(), Reply::hanging()});
  const SteadyTime start = clock.steady_now();
  int subscribe_status = -1;
  client.register_extension("datadog-agent", false, [&](Expected<RegisterReply> r, ApiError) {
    ASSERT_TRUE(r);
    client.subscribe_telemetry("{}", [&](int status, std::string) {
      // The 500-retry of the app: asks again with what is left.
      client.subscribe_telemetry("{}", [&](int s2, std::string) { subscribe_status = s2; });
      EXPECT_EQ(status, 0);
    });
  });
  clock.advance(ExtensionsClient::kInitBudget);
  EXPECT_EQ(subscribe_status, 0);  // both hung subscriptions ended by the init budget
  for (const auto* r : http.requests_to(kTelemetry)) {
    EXPECT_EQ(r->deadline.at, start + ExtensionsClient::kInitBudget);
  }
  EXPECT_EQ(http.requests_to(kTelemetry).size(), 2u);
}

TEST_F(ExtensionsClientTest, MalformedNextIsLoggedCountedAndAskedAgain) {
  http.script_for(kNext, {event("<html>502 Bad Gateway</html>\n"), event("[1,2]"),
                          event(R"({"eventType":"SHUTDOWN","shutdownReason":"spindown",)"
                                R"("deadlineMs":1700000005000})")});
  std::vector<ExtensionEvent> events;
  int failures = 0;
  client.next([&](Expected<ExtensionEvent> e, ApiError) {
    if (e) {
      events.push_back(*e);
    } else {
      ++failures;
    }
  });
  for (int i = 0; i < 3; ++i) clock.advance(0ms);
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, ExtensionEvent::Type::kShutdown);
  EXPECT_EQ(http.requests_to(kNext).size(), 3u);
  EXPECT_EQ(client.malformed_events(), 2u);
  EXPECT_EQ(self.dropped_count("extensions_api", "malformed"), 2u);
  std::vector<std::string> malformed;
  for (const auto& l : lines) {
    if (l.find("malformed event") != std::string::npos) malformed.push_back(l);
  }
  ASSERT_EQ(malformed.size(), 2u);
  EXPECT_NE(malformed[0].find("not JSON"), std::string::npos) << malformed[0];
  EXPECT_NE(malformed[0].find("<html>502 Bad Gateway</html>\\x0a"), std::string::npos)
      << malformed[0];  // the body, escaped
  EXPECT_NE(malformed[1].find("not a JSON object"), std::string::npos) << malformed[1];
}

TEST_F(ExtensionsClientTest, EndlessGarbageFromNextIsAskedAtABoundedRate) {
  http.script_for(kNext, std::vector<Reply>(1000, event("garbage")));
  int delivered = 0;
  client.next([&](Expected<ExtensionEvent>, ApiError) { ++delivered; });
  // Ten simulated seconds of a platform answering only garbage, stepping the clock finely.
  for (int i = 0; i < 10000; ++i) clock.advance(1ms);
  EXPECT_EQ(delivered, 0);
  const std::size_t asked = http.requests_to(kNext).size();
  // 3 at once, then 10, 20, … ms up to one per second: about 20 in 10 s, never hundreds.
  EXPECT_GE(asked, 10u);
  EXPECT_LE(asked, 30u);
  EXPECT_EQ(client.malformed_events(), asked);
  std::size_t logged = 0;
  for (const auto& l : lines) logged += l.find("malformed event") != std::string::npos;
  EXPECT_LE(logged, 5u);  // the first few, then one a minute
}

}  // namespace
}  // namespace lc::lambda
