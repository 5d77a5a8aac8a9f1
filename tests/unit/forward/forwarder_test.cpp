#include "forward/forwarder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/logger.h"
#include "fakes/fake_http_client.h"
#include "forward/http_exporter.h"
#include "unit/forward/test_payloads.h"

namespace lc::forward {
namespace {

using fakes::FakeClock;
using fakes::FakeHttpClient;
using Reply = FakeHttpClient::Reply;
using Names = std::vector<std::string>;

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";
constexpr const char* kKey2 = "fedcba9876543210fedcba9876543210";

Endpoint metrics(std::string url = "http://metrics.test", std::string key = kKey,
                 std::string name = "metrics") {
  return {std::move(name), std::move(url),
          std::move(key),  {PayloadKind::kSeriesV2, PayloadKind::kSeriesV1, PayloadKind::kSketches},
          false,           true};
}
Endpoint logs_ep() { return {"logs", "http://logs.test", kKey, {PayloadKind::kLogs}, false, true}; }
Endpoint apm_ep() { return {"apm", "http://apm.test", kKey, {PayloadKind::kTraces}, false, true}; }

// Series names an intake decoded from the requests it answered 2xx.
Names delivered_series(const FakeHttpClient& http, std::string_view url_part) {
  Names out;
  for (const auto* r : http.requests_to(url_part)) {
    if (!r->status || *r->status < 200 || *r->status > 299) continue;
    const auto names = test::decode_series_v2(test::zstd_open(r->body())).names;
    out.insert(out.end(), names.begin(), names.end());
  }
  return out;
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::instance().configure("lastcall", 2, LogLevel::kDebug);
    Logger::instance().set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  void TearDown() override {
    Logger::instance().set_sink(nullptr);
    Logger::instance().set_level(LogLevel::kInfo);
  }

  void make(std::vector<Endpoint> endpoints, ForwarderOptions options = {}) {
    std::vector<Route> routes;
    for (auto& e : endpoints) {
      exporters.push_back(std::make_unique<HttpExporter>(e, HttpExporterOptions{}, http, clock));
      HttpExporter* ex = exporters.back().get();
      routes.push_back(
          Route{e, ex, [ex](const std::shared_ptr<const Payload>& p) { return ex->compact(p); }});
    }
    fwd = std::make_unique<Forwarder>(
        std::move(routes), options, clock, clock, self, [this] { return rng_value; }, &http);
  }

  struct Run {
    bool done = false;
    SteadyTime done_at;
    FlushSummary summary;
  };

  // Starts a flush; the caller drives the clock.
  std::shared_ptr<Run> start(std::vector<Payload> payloads, Millis budget,
                             FlushOrder order = FlushOrder::kRetryFirst) {
    auto run = std::make_shared<Run>();
    fwd->flush(
        std::move(payloads), Deadline::after(clock, budget),
        [this, run](const FlushSummary& s) {
          EXPECT_FALSE(run->done) << "on_done called twice";
          run->done = true;
          run->done_at = clock.steady_now();
          run->summary = s;
        },
        order);
    return run;
  }

  // A whole flush: starts it and runs the clock to its deadline.
  FlushSummary flush(std::vector<Payload> payloads, Millis budget = Millis(5000)) {
    const SteadyTime deadline = clock.steady_now() + budget;
    auto run = start(std::move(payloads), budget);
    clock.advance(budget);
    EXPECT_TRUE(run->done);
    EXPECT_LE(run->done_at, deadline);
    return run->summary;
  }

  std::size_t lines_containing(std::string_view text) const {
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(),
                      [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }

  FakeClock clock;
  FakeHttpClient http{clock};
  SelfMetrics self;
  double rng_value = 0.5;
  std::vector<std::string> lines;
  std::vector<std::unique_ptr<HttpExporter>> exporters;
  std::unique_ptr<Forwarder> fwd;
};

TEST_F(ForwarderTest, DeliversAndClosesIdleConnectionsAfterTheFlush) {
  make({metrics()});
  const auto s = flush({test::series_v2({"a", "b"})});
  EXPECT_EQ(s.sent.payloads, 1u);
  EXPECT_EQ(s.sent.items, 2u);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b"}));
  EXPECT_EQ(http.close_idle_calls(), 1);
  EXPECT_EQ(self.dropped_total(), 0u);
  EXPECT_FALSE(fwd->flushing());
}

TEST_F(ForwarderTest, OnDoneNeverRunsInsideFlush) {
  make({metrics()});
  auto run = start({}, Millis(1000));
  EXPECT_FALSE(run->done);
  clock.advance(Millis(0));
  EXPECT_TRUE(run->done);
  EXPECT_EQ(run->summary.sent.payloads, 0u);
}

// datadog-wire.md §4.0: 503, 503, 200 → exactly one delivered copy, nothing lost.
TEST_F(ForwarderTest, RetriesWithFullJitterBackoffThenDeliversOnce) {
  make({metrics()});
  http.script({Reply::with_status(503), Reply::with_status(503), Reply::with_status(200)});
  rng_value = 0.5;
  const auto s = flush({test::series_v2({"a"})});
  ASSERT_EQ(http.requests().size(), 3u);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a"}));
  EXPECT_EQ(s.sent.payloads, 1u);
  EXPECT_EQ(s.queued.payloads, 0u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
  // Full jitter: attempt 2 after 0.5 × 100 ms, attempt 3 after 0.5 × 200 ms.
  EXPECT_EQ(http.requests()[1].sent_at - http.requests()[0].sent_at, Millis(50));
  EXPECT_EQ(http.requests()[2].sent_at - http.requests()[1].sent_at, Millis(100));
}

TEST_F(ForwarderTest, BackoffIsCappedAtTwoSeconds) {
  ForwarderOptions o;
  o.max_attempts = 7;
  make({metrics()}, o);
  http.script({Reply::with_status(500), Reply::with_status(500), Reply::with_status(500),
               Reply::with_status(500), Reply::with_status(500), Reply::with_status(500)});
  rng_value = 0.999999;
  flush({test::series_v2({"a"})}, Millis(60000));
  ASSERT_EQ(http.requests().size(), 7u);
  const auto gap = [&](int i) {
    return http.requests()[i].sent_at - http.requests()[i - 1].sent_at;
  };
  // Ceilings 100, 200, 400, 800, 1600, then the 2 s cap.
  EXPECT_EQ(gap(1), Millis(99));
  EXPECT_EQ(gap(4), Millis(799));
  EXPECT_EQ(gap(5), Millis(1599));
  EXPECT_GE(gap(6), Millis(1999));
  EXPECT_LE(gap(6), Millis(2000));
}

TEST_F(ForwarderTest, ExhaustedAttemptsGoToTheRetryQueueAndTheNextFlushDeliversThem) {
  make({metrics()});
  http.script({Reply::with_status(503), Reply::failure(ErrorCode::kNetwork, "reset"),
               Reply::with_status(429)});
  const auto first = flush({test::series_v2({"a", "b"})});
  EXPECT_EQ(http.requests().size(), 3u);  // at most 3 attempts per payload per flush
  EXPECT_EQ(first.sent.payloads, 0u);
  EXPECT_EQ(first.queued.payloads, 1u);
  EXPECT_EQ(first.queued.items, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_GT(fwd->retry_queue_bytes(), 0u);
  EXPECT_TRUE(delivered_series(http, "metrics.test").empty());

  const auto second = flush({test::series_v2({"c"})});
  EXPECT_EQ(second.sent.payloads, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  // Redriven first (lambda-agent.md §6.3), and no copy twice.
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b", "c"}));
  EXPECT_EQ(self.dropped_total(), 0u);
}

// lambda-agent.md §6.4 budgets encoded bytes: a queued payload is kept compressed, and its redrive
// sends exactly that body with its encoding.
TEST_F(ForwarderTest, RetryQueueKeepsPayloadsCompressed) {
  make({metrics()});
  Names names;
  for (int i = 0; i < 300; ++i)
    names.push_back("app.request.latency.bucket." + std::to_string(i % 10));
  const Payload p = test::series_v2(names);
  http.script({Reply::with_status(503), Reply::with_status(503), Reply::with_status(503)});
  flush({p});
  ASSERT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_LT(fwd->retry_queue_bytes(), p.body.size() / 5);
  EXPECT_EQ(fwd->retry_queue_bytes(), http.requests()[0].body().size() + p.path.size());

  const auto s = flush({});
  EXPECT_EQ(s.sent.items, 300u);
  ASSERT_EQ(http.requests().size(), 4u);
  EXPECT_EQ(http.requests()[3].header("Content-Encoding"), "zstd");
  EXPECT_EQ(test::zstd_open(http.requests()[3].body()), p.body);
}

TEST_F(ForwarderTest, RetryAfterIsHonouredWhenItFits) {
  make({metrics()});
  http.script({Reply::with_status(429).header("Retry-After", "1"), Reply::with_status(200)});
  flush({test::series_v2({"a"})}, Millis(5000));
  ASSERT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(http.requests()[1].sent_at - http.requests()[0].sent_at, Millis(1000));
}

TEST_F(ForwarderTest, RetryAfterBeyondTheDeadlineQueuesWithoutHammering) {
  make({metrics()});
  http.script({Reply::with_status(503).header("Retry-After", "30")});
  const auto s = flush({test::series_v2({"a"})}, Millis(5000));
  EXPECT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(s.queued.payloads, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
}

TEST_F(ForwarderTest, NoRetryStartsPastTheDeadline) {
  make({metrics()});
  http.set_default(Reply::with_status(503, Millis(250)));
  rng_value = 0.99;
  // 250 ms answer + ~99 ms backoff + 250 ms answer: the third attempt would not fit in 600 ms.
  const SteadyTime flush_deadline = clock.steady_now() + Millis(600);
  const auto s = flush({test::series_v2({"a"})}, Millis(600));
  EXPECT_EQ(http.requests().size(), 2u);
  for (const auto& r : http.requests()) EXPECT_EQ(r.deadline.at, flush_deadline);
  EXPECT_EQ(s.queued.payloads, 1u);
}

// conventions.md §11: the deadline expires with requests in flight.
TEST_F(ForwarderTest, DeadlineWithRequestsInFlightCompletesOnTimeAndKeepsThePayload) {
  make({metrics(), logs_ep()});
  http.script_for("metrics.test", {Reply::hanging()});
  http.script_for("logs.test", {Reply::with_status(200, Millis(100))});
  const SteadyTime deadline = clock.steady_now() + Millis(1000);
  auto run = start({test::series_v2({"a", "b", "c"}), test::logs({"l1"})}, Millis(1000));
  clock.advance(Millis(999));
  EXPECT_FALSE(run->done);
  clock.advance(Millis(1));
  ASSERT_TRUE(run->done);
  EXPECT_EQ(run->done_at, deadline);
  EXPECT_TRUE(run->summary.deadline_reached);
  EXPECT_EQ(run->summary.abandoned_in_flight, 1u);
  EXPECT_EQ(run->summary.sent.payloads, 1u);  // the logs
  EXPECT_EQ(run->summary.queued.items, 3u);
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_EQ(http.close_idle_calls(), 1);
  EXPECT_EQ(self.dropped_total(), 0u);
  EXPECT_EQ(lines_containing("deadline reached with 1 request in flight"), 1u);
  EXPECT_EQ(run->summary.not_sent_text(),
            "metrics 1 payload (3 items), logs 0 payloads, traces 0 payloads");

  // The abandoned request is answered by its own (flush-bounded) deadline; the next flush sends.
  http.set_default(Reply::with_status(202));
  flush({});
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b", "c"}));
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

SendOutcome outcome(SendOutcome::Kind kind, int status) {
  SendOutcome o;
  o.kind = kind;
  o.status = status;
  return o;
}

// An exporter that answers only when the test says so, whatever the deadline.
class ManualExporter final : public Exporter {
 public:
  struct Call {
    std::shared_ptr<const Payload> payload;
    std::function<void(SendOutcome)> done;
  };
  void send(std::shared_ptr<const Payload> payload, Deadline,
            std::function<void(SendOutcome)> done) override {
    calls.push_back({std::move(payload), std::move(done)});
  }
  std::vector<Call> calls;
};

TEST_F(ForwarderTest, ExporterThatNeverAnswersCannotHoldTheFlushPastItsDeadline) {
  ManualExporter ex;
  fwd = std::make_unique<Forwarder>(
      std::vector<Route>{Route{metrics(), &ex, {}}}, ForwarderOptions{}, clock, clock, self,
      [] { return 0.5; }, &http);
  const SteadyTime deadline = clock.steady_now() + Millis(1000);
  auto run = start({test::series_v2({"a"}), test::series_v2({"b"})}, Millis(1000));
  clock.advance(Millis(5000));
  ASSERT_TRUE(run->done);
  EXPECT_EQ(run->done_at, deadline);
  EXPECT_EQ(run->summary.abandoned_in_flight, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 2u);

  // A late 2xx means the intake has it: its queued copy is not sent again. A late failure changes
  // nothing (the copy stays queued).
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 200));
  ex.calls[1].done(outcome(SendOutcome::Kind::kRetry, 0));
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  auto next = start({}, Millis(1000));
  clock.advance(Millis(0));
  ASSERT_EQ(ex.calls.size(), 3u);
  EXPECT_EQ(test::decode_series_v2(ex.calls[2].payload->body).names, (Names{"b"}));
  ex.calls[2].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  ASSERT_TRUE(next->done);
  EXPECT_EQ(next->summary.sent.payloads, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// Never two copies in flight: a payload whose request a cut abandoned is held back by the next
// flush while that request may still succeed.
class ForwarderHoldTest : public ForwarderTest {
 protected:
  void make_manual(ForwarderOptions options = {}) {
    fwd = std::make_unique<Forwarder>(
        std::vector<Route>{Route{metrics(), &ex, {}}}, options, clock, clock, self,
        [] { return 0.5; }, &http);
  }
  // A flush of `names` (one payload each) cut while every request is in flight, exchanges kept.
  void cut_in_flight(const Names& names) {
    std::vector<Payload> payloads;
    for (const auto& n : names) payloads.push_back(test::series_v2({n}));
    auto run = start(std::move(payloads), Millis(10000));
    clock.advance(Millis(10));
    ASSERT_EQ(ex.calls.size(), names.size());
    fwd->abort(Forwarder::AbortMode::kKeepExchanges);
    ASSERT_TRUE(run->done);
    ASSERT_EQ(fwd->retry_queue_size(), names.size());
  }
  Names sent_names(std::size_t from = 0) const {
    Names out;
    for (std::size_t i = from; i < ex.calls.size(); ++i) {
      const auto n = test::decode_series_v2(ex.calls[i].payload->body).names;
      out.insert(out.end(), n.begin(), n.end());
    }
    return out;
  }
  ManualExporter ex;
};

TEST_F(ForwarderHoldTest, OriginalSucceedsSoTheHeldCopyIsDroppedAndCountedOnce) {
  make_manual();
  cut_in_flight({"a"});
  auto next = start({}, Millis(1000));
  clock.advance(Millis(0));
  EXPECT_EQ(ex.calls.size(), 1u) << "the copy went out while the original ran";
  EXPECT_FALSE(next->done);
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  ASSERT_TRUE(next->done);
  EXPECT_EQ(ex.calls.size(), 1u);
  EXPECT_EQ(next->summary.sent.payloads, 1u);
  EXPECT_EQ(next->summary.sent.items, 1u);
  EXPECT_EQ(next->summary.queued.payloads, 0u);
  EXPECT_FALSE(next->summary.deadline_reached);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

TEST_F(ForwarderHoldTest, OriginalFailsSoTheHeldCopyIsSentAtOnceAndOnce) {
  make_manual();
  cut_in_flight({"a", "b"});
  auto next = start({test::series_v2({"fresh"})}, Millis(1000));
  clock.advance(Millis(0));
  EXPECT_EQ(sent_names(2), (Names{"fresh"}));
  ex.calls[2].done(outcome(SendOutcome::Kind::kOk, 202));
  ex.calls[1].done(outcome(SendOutcome::Kind::kRetry, 503));  // "b" failed: its copy goes now
  EXPECT_EQ(sent_names(3), (Names{"b"}));
  ex.calls[3].done(outcome(SendOutcome::Kind::kOk, 202));
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 202));  // "a" arrived: no copy
  clock.advance(Millis(0));
  ASSERT_TRUE(next->done);
  EXPECT_EQ(ex.calls.size(), 4u);
  EXPECT_EQ(next->summary.sent.payloads, 3u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

TEST_F(ForwarderHoldTest, CopyStillHeldAtTheDeadlineStaysQueued) {
  make_manual();
  cut_in_flight({"a", "b"});
  auto next = start({}, Millis(1000));
  clock.advance(Millis(1000));
  ASSERT_TRUE(next->done);
  EXPECT_EQ(ex.calls.size(), 2u);
  EXPECT_TRUE(next->summary.deadline_reached);
  EXPECT_EQ(next->summary.abandoned_in_flight, 0u);
  EXPECT_EQ(next->summary.sent.payloads, 0u);
  EXPECT_EQ(next->summary.queued.payloads, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 2u);
  // Late: "a" acknowledged (unqueued), "b" failed (stays queued, sent once by the next flush).
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 202));
  ex.calls[1].done(outcome(SendOutcome::Kind::kRetry, 0));
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  auto last = start({}, Millis(1000));
  clock.advance(Millis(0));
  EXPECT_EQ(sent_names(2), (Names{"b"}));
  ex.calls[2].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  ASSERT_TRUE(last->done);
  EXPECT_EQ(last->summary.sent.payloads, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

TEST_F(ForwarderHoldTest, FinalFlushSendsFreshDataAndHoldsTheCopies) {
  make_manual();
  cut_in_flight({"a"});
  auto final_run = start({test::series_v2({"fresh"})}, Millis(1000), FlushOrder::kFreshFirst);
  clock.advance(Millis(0));
  EXPECT_EQ(sent_names(1), (Names{"fresh"}));
  ex.calls[1].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  EXPECT_FALSE(final_run->done);  // waits for "a"'s answer, up to its deadline
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  ASSERT_TRUE(final_run->done);
  EXPECT_EQ(ex.calls.size(), 2u);
  EXPECT_EQ(final_run->summary.sent.payloads, 2u);
  EXPECT_EQ(final_run->summary.not_sent_text(),
            "metrics 0 payloads, logs 0 payloads, traces 0 payloads");
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

// abort_all() ends the abandoned requests: their copies are released (queued), never dropped.
TEST_F(ForwarderTest, StopExchangesAbortReleasesHeldCopiesToTheQueue) {
  make({metrics()});
  http.set_default(Reply::hanging());
  auto first = start({test::series_v2({"a"})}, Millis(10000));
  clock.advance(Millis(10));
  fwd->abort(Forwarder::AbortMode::kKeepExchanges);
  ASSERT_TRUE(first->done);
  EXPECT_EQ(http.abort_all_calls(), 0);
  auto second = start({}, Millis(10000));
  clock.advance(Millis(10));
  EXPECT_EQ(http.requests().size(), 1u);  // the copy is held
  fwd->abort();
  ASSERT_TRUE(second->done);
  EXPECT_TRUE(second->summary.aborted);
  EXPECT_EQ(http.abort_all_calls(), 1);
  clock.advance(Millis(0));  // the "aborted" answer
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_EQ(self.dropped_total(), 0u);
  http.set_default(Reply::with_status(202));
  const auto next = flush({});
  EXPECT_EQ(next.sent.payloads, 1u);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a"}));
  EXPECT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

// A cut with exchanges kept, then abort_all() when idle: the next flush sends the copy at once.
TEST_F(ForwarderHoldTest, IdleStopExchangesAbortReleasesTheCopies) {
  make_manual();
  cut_in_flight({"a"});
  fwd->abort();
  auto next = start({}, Millis(1000));
  clock.advance(Millis(0));
  EXPECT_EQ(sent_names(1), (Names{"a"}));
  ex.calls[0].done(outcome(SendOutcome::Kind::kRetry, 0));  // "aborted": changes nothing
  ex.calls[1].done(outcome(SendOutcome::Kind::kOk, 202));
  clock.advance(Millis(0));
  ASSERT_TRUE(next->done);
  EXPECT_EQ(next->summary.sent.payloads, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

// The tracking is bounded: a request no longer tracked does not hold its copy back.
TEST_F(ForwarderHoldTest, CopyOfAnEvictedAbandonedRequestIsNotHeld) {
  constexpr std::size_t kTracked = 4096;  // kMaxAbandonedTracked
  ForwarderOptions o;
  o.max_in_flight = kTracked + 1;
  make_manual(o);
  std::vector<Payload> payloads;
  for (std::size_t i = 0; i <= kTracked; ++i) payloads.push_back(test::series_v2({"s"}));
  payloads.front() = test::series_v2({"oldest"});
  auto run = start(std::move(payloads), Millis(1000));
  clock.advance(Millis(1000));
  ASSERT_TRUE(run->done);
  ASSERT_EQ(ex.calls.size(), kTracked + 1);
  auto next = start({}, Millis(1000));
  clock.advance(Millis(0));
  EXPECT_EQ(sent_names(kTracked + 1), (Names{"oldest"}));
}

TEST_F(ForwarderTest, DestroyedWithRequestsInFlightIgnoresTheirAnswers) {
  ManualExporter ex;
  fwd = std::make_unique<Forwarder>(
      std::vector<Route>{Route{metrics(), &ex, {}}}, ForwarderOptions{}, clock, clock, self,
      [] { return 0.5; }, &http);
  auto run = start({test::series_v2({"a"})}, Millis(1000));
  clock.advance(Millis(10));
  ASSERT_EQ(ex.calls.size(), 1u);
  fwd.reset();
  // The answer arrives after the forwarder is gone: nothing may react to it (a handled answer
  // would finish the flush and call on_done, or touch freed memory).
  ex.calls[0].done(outcome(SendOutcome::Kind::kOk, 200));
  clock.advance(Millis(2000));
  EXPECT_FALSE(run->done) << "an answer after destruction reached the flush";
  EXPECT_EQ(self.dropped_total(), 0u);
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST_F(ForwarderTest, AlreadyExpiredDeadlineQueuesEverythingWithoutSending) {
  make({metrics()});
  auto run = start({test::series_v2({"a"})}, Millis(0));
  EXPECT_FALSE(run->done);
  clock.advance(Millis(0));
  ASSERT_TRUE(run->done);
  EXPECT_TRUE(http.requests().empty());
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_EQ(run->summary.not_sent_text(),
            "metrics 1 payload (1 item), logs 0 payloads, traces 0 payloads");
}

TEST_F(ForwarderTest, NoDeadlineFlushEndsWhenEverythingIsAnswered) {
  make({metrics()});
  http.script({Reply::with_status(500, Millis(40)), Reply::with_status(200, Millis(40))});
  auto run = std::make_shared<Run>();
  fwd->flush({test::series_v2({"a"})}, Deadline::none(), [&](const FlushSummary& s) {
    run->done = true;
    run->summary = s;
  });
  clock.advance(Millis(79));
  EXPECT_FALSE(run->done);
  clock.advance(Millis(200));
  ASSERT_TRUE(run->done);
  EXPECT_EQ(run->summary.sent.payloads, 1u);
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST_F(ForwarderTest, EarlyAbortPutsInFlightWorkBackInTheQueue) {
  make({metrics()});
  http.set_default(Reply::hanging());
  auto run = start({test::series_v2({"a"})}, Millis(10000));
  clock.advance(Millis(10));
  EXPECT_TRUE(fwd->flushing());
  fwd->abort();
  ASSERT_TRUE(run->done);
  EXPECT_TRUE(run->summary.aborted);
  EXPECT_EQ(run->summary.abandoned_in_flight, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  EXPECT_FALSE(fwd->flushing());
}

// Requests to `url_part` answered 2xx.
std::size_t acknowledged(const FakeHttpClient& http, std::string_view url_part) {
  std::size_t n = 0;
  for (const auto* r : http.requests_to(url_part)) n += r->status && *r->status / 100 == 2;
  return n;
}

// lambda-agent.md §6.3: a flush cut at runtimeDone stops its exchanges for real (no intake
// connection across /next) and keeps each unacknowledged payload exactly once.
TEST_F(ForwarderTest, AbortStopsTheClientsExchangesAndQueuesEachPayloadOnce) {
  make({metrics(), logs_ep()});
  http.set_default(Reply::hanging());
  auto run = start({test::series_v2({"a", "b"}), test::logs({"l1", "l2", "l3"})}, Millis(10000));
  clock.advance(Millis(10));
  ASSERT_EQ(http.in_flight(), 2u);
  fwd->abort();
  ASSERT_TRUE(run->done);
  EXPECT_TRUE(run->summary.aborted);
  EXPECT_EQ(http.abort_all_calls(), 1);
  EXPECT_EQ(http.in_flight(), 0u);
  EXPECT_EQ(run->summary.abandoned_in_flight, 2u);
  EXPECT_EQ(run->summary.queued.payloads, 2u);
  EXPECT_EQ(run->summary.queued.items, 5u);
  EXPECT_EQ(fwd->retry_queue_size(), 2u);
  EXPECT_TRUE(http.requests()[0].aborted);
  EXPECT_TRUE(http.requests()[1].aborted);

  // The "aborted" answers arrive at the next turn: neither requeued, retried nor dropped.
  clock.advance(Millis(0));
  EXPECT_EQ(fwd->retry_queue_size(), 2u);
  EXPECT_EQ(self.dropped_total(), 0u);
  EXPECT_EQ(self.get("lastcall.forward.retries", {"kind:metrics", "reason:network"}), 0u);
  EXPECT_EQ(self.get("lastcall.forward.retries", {"kind:logs", "reason:network"}), 0u);

  http.set_default(Reply::with_status(202));
  const auto next = flush({});
  EXPECT_EQ(next.sent.payloads, 2u);
  EXPECT_EQ(next.sent.items, 5u);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b"}));
  EXPECT_EQ(acknowledged(http, "logs.test"), 1u);
  EXPECT_EQ(http.requests().size(), 4u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// The client is aborted before the waiters run: the final flush a waiter starts is not cut.
TEST_F(ForwarderTest, AbortDoesNotCutTheFlushAWaiterStarts) {
  make({metrics()});
  http.set_default(Reply::hanging());
  auto final_run = std::make_shared<Run>();
  fwd->flush({test::series_v2({"a"})}, Deadline::after(clock, Millis(10000)),
             [&](const FlushSummary&) {
               http.set_default(Reply::with_status(202, Millis(5)));
               fwd->flush(
                   {test::series_v2({"fresh"})}, Deadline::after(clock, Millis(1000)),
                   [final_run](const FlushSummary& s) {
                     final_run->done = true;
                     final_run->summary = s;
                   },
                   FlushOrder::kFreshFirst);
             });
  clock.advance(Millis(10));
  fwd->abort();
  EXPECT_EQ(http.abort_all_calls(), 1);
  ASSERT_EQ(http.requests().size(), 3u);  // "a" (aborted), then "fresh" and "a" again
  EXPECT_EQ(http.in_flight(), 2u);
  clock.advance(Millis(1000));
  ASSERT_TRUE(final_run->done);
  EXPECT_FALSE(final_run->summary.aborted);
  EXPECT_EQ(final_run->summary.sent.payloads, 2u);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"fresh", "a"}));
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// Idle, abort() still stops what an earlier flush abandoned at its deadline; its copy stays queued
// once and the next flush sends it once.
TEST_F(ForwarderTest, AbortWhenIdleStopsRequestsAbandonedEarlier) {
  make({metrics()});
  http.set_default(Reply::hanging());
  auto first = start({test::series_v2({"a"})}, Millis(5000));
  clock.advance(Millis(100));
  auto second = start({}, Millis(100));  // joins: the flush ends at 200 ms, "a" still in flight
  clock.advance(Millis(100));
  ASSERT_TRUE(first->done);
  EXPECT_EQ(first->summary.abandoned_in_flight, 1u);
  ASSERT_EQ(http.in_flight(), 1u);
  EXPECT_FALSE(fwd->flushing());
  fwd->abort();
  EXPECT_EQ(http.abort_all_calls(), 1);
  EXPECT_EQ(http.in_flight(), 0u);
  clock.advance(Millis(0));
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
  http.set_default(Reply::with_status(202));
  flush({});
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a"}));
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

// lambda-agent.md §6.4 overflow: oldest payload of the lowest-value kind first, counted.
TEST_F(ForwarderTest, QueueOverflowDropsTracesFirstAndCountsThem) {
  const Payload m = test::series_v2({"m1", "m2"});
  const Payload l = test::logs({"l1", "l2", "l3"});
  const Payload t = test::traces(200);
  // Room for the metrics and logs payloads (as queued: compacted) but not the traces one too.
  auto queued_size = [&](const Payload& p) {
    HttpExporter ex(metrics(), HttpExporterOptions{}, http, clock);
    const auto c = ex.compact(std::make_shared<const Payload>(p));
    return c->body.size() + c->path.size();
  };
  ForwarderOptions o;
  o.retry_queue_bytes = queued_size(m) + queued_size(l) + 50;
  ASSERT_GT(queued_size(t), 50u);
  make({metrics(), logs_ep(), apm_ep()}, o);
  http.set_default(Reply::with_status(503));
  const auto s = flush({m, l, t});
  EXPECT_EQ(self.dropped_count("traces", "retry_queue_full"), 1u);
  EXPECT_EQ(self.dropped_count("metrics", "retry_queue_full"), 0u);
  EXPECT_EQ(self.dropped_count("logs", "retry_queue_full"), 0u);
  EXPECT_EQ(fwd->retry_queue_size(), 2u);
  EXPECT_EQ(s.dropped.at("traces/retry_queue_full").payloads, 1u);
  EXPECT_GE(lines_containing("dropped traces/retry_queue_full 1 payload"), 1u);

  // A second failing metrics payload pushes the logs out next; metrics stay.
  http.set_default(Reply::with_status(503));
  flush({test::series_v2({"m3", "m4"})});
  EXPECT_EQ(self.dropped_count("logs", "retry_queue_full"), 3u);  // counted in entries
  EXPECT_EQ(self.dropped_count("metrics", "retry_queue_full"), 0u);
  EXPECT_EQ(fwd->retry_queue_size(), 2u);

  http.set_default(Reply::with_status(200));
  flush({});
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"m1", "m2", "m3", "m4"}));
}

TEST_F(ForwarderTest, Status413SplitsAndResendsBothHalves) {
  make({metrics()});
  http.script({Reply::with_status(413), Reply::with_status(200), Reply::with_status(200)});
  const auto s = flush({test::series_v2({"a", "b", "c", "d"})});
  ASSERT_EQ(http.requests().size(), 3u);
  EXPECT_EQ(test::decode_series_v2(test::zstd_open(http.requests()[1].body())).names,
            (Names{"a", "b"}));
  EXPECT_EQ(test::decode_series_v2(test::zstd_open(http.requests()[2].body())).names,
            (Names{"c", "d"}));
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b", "c", "d"}));
  EXPECT_EQ(s.sent.payloads, 2u);
  EXPECT_EQ(s.sent.items, 4u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

TEST_F(ForwarderTest, SingleItemStill413IsDroppedTooLarge) {
  make({metrics()});
  http.set_default(Reply::with_status(413));
  const auto s = flush({test::series_v2({"a", "b"})});
  EXPECT_EQ(http.requests().size(), 3u);  // whole, then each half
  EXPECT_EQ(self.dropped_count("metrics", "too_large"), 2u);
  EXPECT_EQ(s.dropped.at("metrics/too_large").payloads, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

TEST_F(ForwarderTest, OverLimitPayloadIsSplitLocallyBeforeSending) {
  make({logs_ep()});
  std::vector<std::string> messages;
  for (int i = 0; i < 1500; ++i) messages.push_back("line " + std::to_string(i));
  const auto s = flush({test::logs(messages)});
  ASSERT_EQ(http.requests().size(), 2u);  // 750 + 750, each within the 1000-entry limit
  EXPECT_EQ(s.sent.items, 1500u);
  std::string joined;
  for (const auto& r : http.requests()) joined += test::zstd_open(r.body());
  EXPECT_EQ(joined, test::logs(Names(messages.begin(), messages.begin() + 750)).body +
                        test::logs(Names(messages.begin() + 750, messages.end())).body);
}

TEST_F(ForwarderTest, NoApiKeyDropsEverythingWithOneWarnPerFlush) {
  make({metrics("http://metrics.test", ""), logs_ep()});
  http.set_default(Reply::with_status(200));
  const auto s = flush({test::series_v2({"a", "b"}), test::series_v2({"c"}), test::logs({"x"})});
  EXPECT_EQ(http.requests_to("metrics.test").size(), 0u);
  EXPECT_EQ(http.requests_to("logs.test").size(), 1u);
  EXPECT_EQ(self.dropped_count("metrics", "no_api_key"), 3u);
  EXPECT_EQ(s.dropped.at("metrics/no_api_key").payloads, 2u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);  // nothing kept growing
  EXPECT_EQ(lines_containing("no API key"), 1u);
  EXPECT_EQ(lines_containing("WARN | no API key: dropped metrics 2 payloads (3 items)"), 1u);
  flush({test::series_v2({"d"})});
  EXPECT_EQ(lines_containing("no API key"), 2u);  // one per flush
}

TEST_F(ForwarderTest, AdditionalEndpointsEachGetThePayloadWithIndependentRetries) {
  Endpoint extra = metrics("http://extra.test", kKey2, "metrics+1");
  extra.additional = true;
  make({metrics(), extra});
  http.script_for("extra.test",
                  {Reply::with_status(503), Reply::with_status(503), Reply::with_status(503)});
  const auto s = flush({test::series_v2({"a", "b"})});
  ASSERT_EQ(http.requests_to("metrics.test").size(), 1u);
  ASSERT_EQ(http.requests_to("extra.test").size(), 3u);
  EXPECT_EQ(http.requests_to("metrics.test")[0]->header("DD-API-KEY"), kKey);
  EXPECT_EQ(http.requests_to("extra.test")[0]->header("DD-API-KEY"), kKey2);
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"a", "b"}));
  EXPECT_EQ(s.sent.payloads, 1u);
  EXPECT_EQ(s.queued.payloads, 1u);

  flush({});
  EXPECT_EQ(http.requests_to("metrics.test").size(), 1u);  // not sent again to the primary
  EXPECT_EQ(delivered_series(http, "extra.test"), (Names{"a", "b"}));
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

TEST_F(ForwarderTest, UnreliableEndpointIsNeverRetriedNorQueued) {
  Endpoint extra = logs_ep();
  extra.name = "logs+1";
  extra.base_url = "http://extra-logs.test";
  extra.additional = true;
  extra.reliable = false;
  make({logs_ep(), extra});
  http.script_for("extra-logs.test", {Reply::with_status(503)});
  http.script_for("//logs.test", {Reply::with_status(503), Reply::with_status(200)});
  const auto s = flush({test::logs({"x", "y"})});
  EXPECT_EQ(http.requests_to("extra-logs.test").size(), 1u);
  EXPECT_EQ(http.requests_to("//logs.test").size(), 2u);
  EXPECT_EQ(self.dropped_count("logs", "unreliable_endpoint"), 2u);
  EXPECT_EQ(s.sent.payloads, 1u);
  EXPECT_EQ(fwd->retry_queue_size(), 0u);
}

TEST_F(ForwarderTest, RejectionsAreLoggedOncePerFlushWithoutTheKey) {
  make({metrics(), logs_ep()});
  http.script_for("metrics.test", {Reply::with_status(403), Reply::with_status(403)});
  Reply bad = Reply::with_status(400);
  bad.body = std::string("{\"errors\":[\"bad payload\"]}") + std::string(400, 'z');
  http.script_for("logs.test", {bad, bad});
  const auto s =
      flush({test::series_v2({"a"}), test::series_v2({"b"}), test::logs({"x"}), test::logs({"y"})});
  EXPECT_EQ(self.dropped_count("metrics", "forbidden"), 2u);
  EXPECT_EQ(self.dropped_count("logs", "bad_request"), 2u);
  EXPECT_EQ(lines_containing("ERROR | forward: API key rejected by metrics.test"), 1u);
  EXPECT_EQ(lines_containing("bad payload"), 1u);
  EXPECT_EQ(lines_containing(std::string(201, 'z')), 0u);
  for (const auto& l : lines) EXPECT_EQ(l.find(kKey), std::string::npos) << l;
  EXPECT_EQ(s.dropped.size(), 2u);

  http.script_for("metrics.test", {Reply::with_status(403)});
  flush({test::series_v2({"c"})});
  EXPECT_EQ(lines_containing("API key rejected by metrics.test"), 2u);  // again next flush
}

TEST_F(ForwarderTest, NotFoundLogsTheUrlOnce) {
  make({metrics("http://metrics.test/wrong-prefix")});
  http.set_default(Reply::with_status(404));
  flush({test::series_v2({"a"}), test::series_v2({"b"})});
  EXPECT_EQ(lines_containing("http://metrics.test/wrong-prefix/api/v2/series"), 1u);
  EXPECT_EQ(self.dropped_count("metrics", "not_found"), 2u);
}

TEST_F(ForwarderTest, QueuedPayloadPastItsAcceptanceWindowIsDroppedTooOld) {
  make({metrics()});
  http.set_default(Reply::with_status(503));
  flush({test::series_v2({"a"})});
  ASSERT_EQ(fwd->retry_queue_size(), 1u);
  clock.advance(std::chrono::hours(1) + Millis(1));  // a long freeze
  http.set_default(Reply::with_status(200));
  const auto s = flush({});
  EXPECT_EQ(self.dropped_count("metrics", "too_old"), 1u);
  EXPECT_EQ(s.sent.payloads, 0u);
  EXPECT_EQ(http.requests().size(), 3u);
}

TEST_F(ForwarderTest, FlushJoiningARunningOneEndsByTheEarlierDeadline) {
  make({metrics()});
  http.set_default(Reply::hanging());
  auto first = start({test::series_v2({"a"})}, Millis(5000));
  clock.advance(Millis(100));
  http.set_default(Reply::with_status(200));
  auto second = start({test::series_v2({"b"})}, Millis(200));
  clock.advance(Millis(199));
  EXPECT_FALSE(first->done);
  EXPECT_FALSE(second->done);
  clock.advance(Millis(1));
  ASSERT_TRUE(first->done);
  ASSERT_TRUE(second->done);
  EXPECT_EQ(first->summary.sent.payloads, 1u);        // "b"
  EXPECT_EQ(first->summary.abandoned_in_flight, 1u);  // "a"
  EXPECT_EQ(delivered_series(http, "metrics.test"), (Names{"b"}));
  EXPECT_EQ(fwd->retry_queue_size(), 1u);
}

TEST_F(ForwarderTest, ValueOrderMetricsThenLogsThenTracesWithBoundedConcurrency) {
  ForwarderOptions o;
  o.max_in_flight = 1;
  make({metrics(), logs_ep(), apm_ep()}, o);
  flush({test::traces(10), test::logs({"x"}), test::series_v2({"a"})});
  ASSERT_EQ(http.requests().size(), 3u);
  EXPECT_NE(http.requests()[0].request.url.find("metrics.test"), std::string::npos);
  EXPECT_NE(http.requests()[1].request.url.find("logs.test"), std::string::npos);
  EXPECT_NE(http.requests()[2].request.url.find("apm.test"), std::string::npos);
}

TEST_F(ForwarderTest, FinalFlushSendsFreshDataBeforeQueuedData) {
  ForwarderOptions o;
  o.max_in_flight = 1;
  make({metrics()}, o);
  http.set_default(Reply::with_status(503));
  flush({test::series_v2({"old"})});
  http.set_default(Reply::with_status(200));
  const std::size_t before = http.requests().size();
  auto run = start({test::series_v2({"fresh"})}, Millis(1000), FlushOrder::kFreshFirst);
  clock.advance(Millis(1000));
  ASSERT_TRUE(run->done);
  ASSERT_EQ(http.requests().size(), before + 2);
  EXPECT_EQ(test::decode_series_v2(test::zstd_open(http.requests()[before].body())).names,
            (Names{"fresh"}));
}

TEST_F(ForwarderTest, UnroutableKindIsCounted) {
  make({metrics()});
  const auto s = flush({test::logs({"x"})});
  EXPECT_EQ(self.dropped_count("logs", "no_endpoint"), 1u);
  EXPECT_EQ(s.dropped.at("logs/no_endpoint").items, 1u);
}

TEST_F(ForwarderTest, DescribeListsRoutesWithoutKeys) {
  make({metrics(), logs_ep()});
  const std::string d = fwd->describe();
  EXPECT_NE(d.find("\"name\":\"metrics\""), std::string::npos);
  EXPECT_NE(d.find("\"api_key\":true"), std::string::npos);
  EXPECT_EQ(d.find(kKey), std::string::npos);
}

}  // namespace
}  // namespace lc::forward
