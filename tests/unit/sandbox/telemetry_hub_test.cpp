// TelemetryHub: batching bounds, one POST in flight, retries, replay, freeze, drops and
// logsDropped.
#include "tools/sandbox/telemetry_hub.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <deque>

#include "fakes/fake_clock.h"

namespace lc::sandbox {
namespace {

struct Post {
  std::uint16_t port;
  std::string path;
  std::string body;
  DeliveryClient::Done done;
};

class FakeDeliveryClient final : public DeliveryClient {
 public:
  void post(std::uint16_t port, std::string path, std::shared_ptr<const std::string> body,
            std::chrono::milliseconds, Done done) override {
    posts.push_back(Post{port, std::move(path), *body, std::move(done)});
  }
  // Completes the oldest open POST.
  void answer(int status) {
    ASSERT_FALSE(open().empty());
    auto& p = posts[answered++];
    auto d = std::move(p.done);
    d(DeliveryResult{status, status == 0 ? "refused" : ""});
  }
  std::vector<Post*> open() {
    std::vector<Post*> out;
    for (size_t i = answered; i < posts.size(); ++i) out.push_back(&posts[i]);
    return out;
  }
  std::deque<Post> posts;
  size_t answered = 0;
};

std::vector<std::string> types_of(const std::string& body) {
  std::vector<std::string> out;
  const auto parsed = boost::json::parse(body);
  for (const auto& e : parsed.as_array()) {
    out.emplace_back(e.at("type").as_string());
  }
  return out;
}

class TelemetryHubTest : public ::testing::Test {
 protected:
  TelemetryHubTest()
      : timeline_(clock_, clock_), hub_(clock_, clock_, client_, timeline_, self_, faults_) {}

  SubscribeRequest sub(int max_items = 1000, int timeout_ms = 25,
                       std::vector<std::string> types = {"platform", "function", "extension"}) {
    SubscribeRequest s;
    s.schema_version = "2022-12-13";
    s.types = std::move(types);
    s.max_items = max_items;
    s.max_bytes = 262144;
    s.timeout_ms = timeout_ms;
    s.port = 8999;
    s.path = "/telemetry";
    return s;
  }
  void emit(std::string type, std::string request_id = "r1") {
    boost::json::object rec;
    rec["requestId"] = request_id;
    hub_.emit(type, rec, clock_.wall_ms());
  }

  fakes::FakeClock clock_;
  FakeDeliveryClient client_;
  SelfMetrics self_;
  Faults faults_;
  Timeline timeline_;
  TelemetryHub hub_;
};

TEST_F(TelemetryHubTest, BatchClosesOnTimeoutMsAndKeepsThePath) {
  hub_.subscribe("ext", sub());
  emit("platform.start");
  emit("function");
  EXPECT_TRUE(client_.posts.empty());
  clock_.advance(Millis(24));
  EXPECT_TRUE(client_.posts.empty());
  clock_.advance(Millis(1));
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(client_.posts[0].port, 8999);
  EXPECT_EQ(client_.posts[0].path, "/telemetry");
  EXPECT_EQ(types_of(client_.posts[0].body),
            (std::vector<std::string>{"platform.start", "function"}));
  const auto first = boost::json::parse(client_.posts[0].body).as_array()[0].as_object();
  EXPECT_EQ(first.at("record").at("requestId").as_string(), "r1");
  EXPECT_TRUE(first.at("time").as_string().ends_with("Z"));
  client_.answer(200);
  EXPECT_EQ(timeline_.count(WaitQuery{"telemetry.delivered", 1, 0, {{"status", "200"}}}), 1u);
}

TEST_F(TelemetryHubTest, BatchClosesOnMaxItemsWithOneInFlight) {
  hub_.subscribe("ext", sub(1000, 30000));
  for (int i = 0; i < 1000; ++i) emit("function");
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(types_of(client_.posts[0].body).size(), 1000u);
  for (int i = 0; i < 1500; ++i) emit("function");
  EXPECT_EQ(client_.posts.size(), 1u) << "a second POST while one is in flight";
  EXPECT_TRUE(hub_.in_flight());
  client_.answer(200);
  ASSERT_EQ(client_.posts.size(), 2u);
  EXPECT_EQ(types_of(client_.posts[1].body).size(), 1000u);
  client_.answer(200);
  ASSERT_EQ(client_.posts.size(), 2u);  // 500 left wait for timeoutMs
  clock_.advance(Millis(30000));
  ASSERT_EQ(client_.posts.size(), 3u);
  EXPECT_EQ(types_of(client_.posts[2].body).size(), 500u);
}

TEST_F(TelemetryHubTest, OnlySubscribedTypesAreDelivered) {
  hub_.subscribe("ext", sub(1000, 25, {"platform"}));
  emit("function");
  emit("extension");
  emit("platform.report");
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(types_of(client_.posts[0].body), (std::vector<std::string>{"platform.report"}));
}

TEST_F(TelemetryHubTest, InitPhaseEventsAreReplayedToALateSubscriber) {
  hub_.set_init_phase(true);
  emit("platform.initStart", "");
  emit("platform.extension", "");
  hub_.subscribe("ext", sub());
  emit("platform.telemetrySubscription", "");
  hub_.set_init_phase(false);
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(types_of(client_.posts[0].body),
            (std::vector<std::string>{"platform.initStart", "platform.extension",
                                      "platform.telemetrySubscription"}));
}

TEST_F(TelemetryHubTest, ReplayCanBeSwitchedOff) {
  faults_.replay_init = false;
  hub_.set_init_phase(true);
  emit("platform.initStart", "");
  hub_.subscribe("ext", sub());
  emit("platform.telemetrySubscription", "");
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(types_of(client_.posts[0].body),
            (std::vector<std::string>{"platform.telemetrySubscription"}));
}

TEST_F(TelemetryHubTest, ListenerErrorsAreRetriedWithTheSameBatch) {
  hub_.subscribe("ext", sub());
  emit("platform.report");
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  client_.answer(503);
  EXPECT_EQ(client_.posts.size(), 1u);  // backoff first
  clock_.advance(Millis(1000));
  ASSERT_EQ(client_.posts.size(), 2u);
  EXPECT_EQ(client_.posts[1].body, client_.posts[0].body);
  client_.answer(0);  // connection refused
  clock_.advance(Millis(1000));
  ASSERT_EQ(client_.posts.size(), 3u);
  client_.answer(200);
  EXPECT_EQ(timeline_.count(WaitQuery{"telemetry.delivered", 1, 0, {}}), 3u);
  EXPECT_EQ(timeline_.count(WaitQuery{"telemetry.delivered", 1, 0, {{"status", "503"}}}), 1u);
  EXPECT_FALSE(hub_.in_flight());
  EXPECT_TRUE(hub_.drained());
}

TEST_F(TelemetryHubTest, ListenerErrorsFaultMakesTheListenerSeeDuplicates) {
  faults_.listener_error_status = 503;
  faults_.listener_error_count = 2;
  hub_.subscribe("ext", sub());
  emit("platform.report");
  clock_.advance(Millis(25));
  client_.answer(200);
  clock_.advance(Millis(1000));
  client_.answer(200);
  clock_.advance(Millis(1000));
  client_.answer(200);
  ASSERT_EQ(client_.posts.size(), 3u);
  EXPECT_EQ(client_.posts[2].body, client_.posts[0].body);
  EXPECT_EQ(faults_.listener_error_count, 0);
  EXPECT_EQ(timeline_.count(WaitQuery{"telemetry.delivered", 1, 0, {{"injected", "503"}}}), 2u);
}

TEST_F(TelemetryHubTest, RetriesAreBoundedThenTheBatchIsDroppedAndReported) {
  hub_.subscribe("ext", sub());
  emit("function");
  emit("function");
  clock_.advance(Millis(25));
  for (int i = 0; i < TelemetryHub::kMaxAttempts; ++i) {
    client_.answer(500);
    clock_.advance(Millis(1000));
  }
  EXPECT_EQ(self_.dropped_count("telemetry", "retries_exhausted"), 2u);
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), static_cast<size_t>(TelemetryHub::kMaxAttempts) + 1);
  const auto last = boost::json::parse(client_.posts.back().body).as_array();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].at("type").as_string(), "platform.logsDropped");
  EXPECT_EQ(last[0].at("record").at("droppedRecords").as_int64(), 2);
}

TEST_F(TelemetryHubTest, DropBatchesEmitsLogsDroppedWithMatchingCounts) {
  faults_.drop_every_n = 2;
  hub_.subscribe("ext", sub());
  emit("function");
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  client_.answer(200);
  emit("function");
  emit("function");
  emit("function");
  clock_.advance(Millis(25));  // second batch: dropped; logsDropped queued instead
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 2u);
  const auto body = boost::json::parse(client_.posts[1].body).as_array();
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0].at("type").as_string(), "platform.logsDropped");
  EXPECT_EQ(body[0].at("record").at("droppedRecords").as_int64(), 3);
  EXPECT_GT(body[0].at("record").at("droppedBytes").as_int64(), 0);
  EXPECT_EQ(self_.dropped_count("telemetry", "fault:drop_batches"), 3u);
  EXPECT_EQ(timeline_.count(WaitQuery{"telemetry.dropped", 1, 0, {}}), 1u);
}

TEST_F(TelemetryHubTest, ALogsDroppedRecordIsNeverDroppedItself) {
  faults_.drop_every_n = 1;  // every batch with data is discarded
  hub_.subscribe("ext", sub());
  emit("function");
  clock_.advance(Millis(25));  // dropped; logsDropped queued
  emit("function");
  clock_.advance(Millis(25));  // logsDropped + function: the function goes, the account stays
  clock_.advance(Millis(25));
  ASSERT_EQ(client_.posts.size(), 1u);
  const auto parsed = boost::json::parse(client_.posts[0].body);
  std::int64_t reported = 0;
  for (const auto& e : parsed.as_array()) {
    ASSERT_EQ(e.at("type").as_string(), "platform.logsDropped");
    reported += e.at("record").at("droppedRecords").as_int64();
  }
  EXPECT_EQ(reported, 2);
  EXPECT_EQ(self_.dropped_count("telemetry", "fault:drop_batches"), 2u);
}

TEST_F(TelemetryHubTest, QueueOverflowIsCountedAndReported) {
  hub_.subscribe("ext", sub(1000, 30000));
  for (int i = 0; i < 1000; ++i) emit("function");  // first batch goes out and hangs
  ASSERT_EQ(client_.posts.size(), 1u);
  for (int i = 0; i < 4100; ++i) emit("function");  // queue cap is 4 x maxItems
  EXPECT_EQ(self_.dropped_count("telemetry", "subscriber_queue_full"), 100u);
  client_.answer(200);
  bool saw = false;
  for (int round = 0; round < 10 && !saw; ++round) {
    if (client_.open().empty()) clock_.advance(Millis(30000));
    if (client_.open().empty()) break;
    const auto parsed = boost::json::parse(client_.open()[0]->body);
    for (const auto& e : parsed.as_array()) {
      if (e.at("type").as_string() == "platform.logsDropped") {
        saw = true;
        EXPECT_EQ(e.at("record").at("droppedRecords").as_int64(), 100);
      }
    }
    client_.answer(200);
  }
  EXPECT_TRUE(saw);
}

TEST_F(TelemetryHubTest, NothingIsSentWhileFrozen) {
  hub_.subscribe("ext", sub());
  hub_.set_frozen(true);
  emit("platform.report");
  clock_.advance(Millis(100));
  EXPECT_TRUE(client_.posts.empty());
  hub_.set_frozen(false);
  ASSERT_EQ(client_.posts.size(), 1u);
  EXPECT_EQ(types_of(client_.posts[0].body), (std::vector<std::string>{"platform.report"}));
}

TEST_F(TelemetryHubTest, FlushNowClosesOpenBatches) {
  hub_.subscribe("ext", sub(1000, 30000));
  emit("function");
  EXPECT_TRUE(client_.posts.empty());
  hub_.flush_now();
  EXPECT_EQ(client_.posts.size(), 1u);
}

TEST_F(TelemetryHubTest, DeliveryDelayHoldsEveryPost) {
  faults_.delivery_delay_ms = 200;
  hub_.subscribe("ext", sub());
  emit("function");
  clock_.advance(Millis(25));
  EXPECT_TRUE(client_.posts.empty());
  EXPECT_TRUE(hub_.in_flight());
  clock_.advance(Millis(200));
  EXPECT_EQ(client_.posts.size(), 1u);
}

TEST_F(TelemetryHubTest, ARemovedSubscriberLosesItsQueueCounted) {
  hub_.subscribe("ext", sub(1000, 30000));
  emit("function");
  hub_.remove("ext");
  EXPECT_EQ(self_.dropped_count("telemetry", "subscriber_exited"), 1u);
  clock_.advance(Millis(30000));
  EXPECT_TRUE(client_.posts.empty());
}

}  // namespace
}  // namespace lc::sandbox
