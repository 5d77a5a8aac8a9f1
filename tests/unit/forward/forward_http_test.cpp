// The forward stage over the real HTTP client and server on 127.0.0.1:0, on a real event loop:
// what the fakes cannot show (real headers on the wire, real deadlines, a hung intake).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "core/config.h"
#include "core/event_loop.h"
#include "fakes/fake_clock.h"
#include "forward/compression.h"
#include "forward/forward_stage.h"
#include "net/http_server.h"
#include "unit/forward/test_payloads.h"
#include "unit/net/tls_test_support.h"

namespace lc::forward {
namespace {

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

struct Intake {
  EventLoop loop;
  std::unique_ptr<net::HttpServer> server;
  std::vector<net::HttpRequest> received;
  std::vector<int> answers;  // statuses to answer in order; 0 = never answer; then 202
  std::vector<std::shared_ptr<net::Responder>> held;
  std::function<void()> on_held;  // a request was left unanswered

  // Real time by default; a test on simulated time passes its FakeClock (run on this loop).
  explicit Intake(fakes::FakeClock* fake = nullptr) {
    const Clock& clock = fake ? static_cast<const Clock&>(*fake) : SystemClock::instance();
    TimerService& timers = fake ? static_cast<TimerService&>(*fake) : loop;
    net::HttpServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.default_max_body = 8 * 1024 * 1024;
    auto created = net::HttpServer::create(loop.io(), clock, timers, o);
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    server = std::move(*created);
    server->route("POST", "/api/*",
                  [this](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                    const std::size_t n = received.size();
                    received.push_back(req);
                    const int status = n < answers.size() ? answers[n] : 202;
                    if (status == 0) {
                      held.push_back(std::move(r));
                      if (on_held) on_held();
                      return;
                    }
                    r->respond(net::HttpResponse::json(status, "{}"));
                  });
    server->start();
  }
  ~Intake() {
    held.clear();
    server->stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
};

ForwardConfig config_for(const std::string& url) {
  ForwardConfig c = default_config().forward;
  c.api_key = kKey;
  c.metrics_url = url;
  c.logs_url = url;
  c.apm_url = url;
  return c;
}

TEST(ForwardOverRealHttp, RetriesThenDeliversOneDecodableCopy) {
  Intake intake;
  intake.answers = {503, 500};
  auto client = net::make_http_client(intake.loop.io(), SystemClock::instance(), intake.loop, {});
  SelfMetrics self;
  ForwardStage stage = make_forward_stage(config_for(intake.url()), default_config().common,
                                          *client, SystemClock::instance(), intake.loop, self);
  std::optional<FlushSummary> summary;
  stage.forwarder->flush({test::series_v2({"a", "b"}), test::logs({"hello"})},
                         Deadline::after(SystemClock::instance(), Millis(20000)),
                         [&](const FlushSummary& s) {
                           summary = s;
                           intake.loop.stop();
                         });
  intake.loop.run();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->sent.payloads, 2u);
  EXPECT_EQ(self.dropped_total(), 0u);
  std::size_t series_requests = 0;
  for (const auto& req : intake.received) {
    EXPECT_EQ(req.header("DD-API-KEY"), kKey);
    if (req.path == "/api/v2/series") {
      ++series_requests;
      EXPECT_EQ(req.header("Content-Encoding"), "zstd");
      EXPECT_EQ(req.header("Content-Type"), "application/x-protobuf");
      EXPECT_EQ(req.header("DD-Agent-Payload"), "v5.0.141");
      auto body = decompress("zstd", req.body);
      ASSERT_TRUE(body);
      EXPECT_EQ(test::decode_series_v2(*body).names, (std::vector<std::string>{"a", "b"}));
    } else {
      EXPECT_EQ(req.path, "/api/v2/logs");
      EXPECT_EQ(req.header("DD-PROTOCOL"), "agent-json");
    }
  }
  // 503 and 500 went to whichever came first; both payloads ended delivered exactly once.
  EXPECT_EQ(intake.received.size(), 4u);
  EXPECT_GE(series_requests, 1u);
}

// conventions.md §11 with the real client: a hung intake cannot hold the flush past its deadline.
// Over real sockets on simulated time: the 30 s deadline passes on the FakeClock, which fires the
// forwarder's and the client's timers on the loop thread, in far less wall time.
TEST(ForwardOverRealHttp, HungIntakeFlushEndsAtTheDeadlineAndKeepsThePayload) {
  fakes::FakeClock clock;  // outlives the loop and everything that holds its timers
  Intake intake(&clock);
  clock.run_timers_on(intake.loop.io());
  intake.answers = {0};
  std::promise<void> hung;
  intake.on_held = [&] { hung.set_value(); };
  auto client = net::make_http_client(intake.loop.io(), clock, clock, {});
  SelfMetrics self;
  ForwardStage stage = make_forward_stage(config_for(intake.url()), default_config().common,
                                          *client, clock, clock, self);
  std::optional<FlushSummary> summary;
  const auto started = std::chrono::steady_clock::now();
  stage.forwarder->flush({test::series_v2({"a"})}, Deadline::after(clock, Millis(30000)),
                         [&](const FlushSummary& s) {
                           summary = s;
                           intake.loop.stop();
                         });
  std::thread loop_thread([&] { intake.loop.run(); });
  ASSERT_EQ(hung.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  clock.advance(Millis(30000));
  loop_thread.join();
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(summary);
  EXPECT_LT(took, std::chrono::seconds(5));
  // It ended on the deadline, not on an answer: either the flush abandoned the request or the
  // client's own deadline (the same instant) ended it first; which timer fires first is not fixed.
  EXPECT_LE(summary->abandoned_in_flight, 1u);
  EXPECT_EQ(summary->sent.payloads, 0u);
  EXPECT_EQ(summary->queued.payloads, 1u);
  EXPECT_EQ(stage.forwarder->retry_queue_size(), 1u);
  EXPECT_EQ(intake.received.size(), 1u);

  // The next flush redrives it to a healthy intake.
  intake.loop.io().restart();
  summary.reset();
  stage.forwarder->flush({}, Deadline::after(clock, Millis(20000)), [&](const FlushSummary& s) {
    summary = s;
    intake.loop.stop();
  });
  intake.loop.run();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->sent.payloads, 1u);
  ASSERT_EQ(intake.received.size(), 2u);
  auto body = decompress("zstd", intake.received[1].body);
  ASSERT_TRUE(body);
  EXPECT_EQ(test::decode_series_v2(*body).names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(stage.forwarder->retry_queue_size(), 0u);
}

// An intake that answers each request with `reply` verbatim (raw bytes) and closes. It waits for
// a request head, or with `any_bytes` for whatever arrives first (a TLS ClientHello).
std::unique_ptr<lc::test::BlockingServer> raw_intake(std::string reply, bool any_bytes = false) {
  return std::make_unique<lc::test::BlockingServer>(
      [reply, any_bytes](boost::asio::ip::tcp::socket& s) {
        std::string buf;
        boost::system::error_code ec;
        if (any_bytes) {
          char tmp[4096];
          s.read_some(boost::asio::buffer(tmp), ec);
        } else {
          boost::asio::read_until(s, boost::asio::dynamic_buffer(buf), "\r\n\r\n", ec);
        }
        boost::asio::write(s, boost::asio::buffer(reply), ec);
        s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
      });
}

// Flushes one series payload to `url` and returns the summary.
FlushSummary flush_once(const std::string& url, SelfMetrics& self) {
  EventLoop loop;
  auto client = net::make_http_client(loop.io(), SystemClock::instance(), loop, {});
  ForwardStage stage = make_forward_stage(config_for(url), default_config().common, *client,
                                          SystemClock::instance(), loop, self);
  std::optional<FlushSummary> summary;
  stage.forwarder->flush({test::series_v2({"a"})},
                         Deadline::after(SystemClock::instance(), Millis(20000)),
                         [&](const FlushSummary& s) {
                           summary = s;
                           loop.stop();
                         });
  loop.run();
  EXPECT_TRUE(summary);
  return summary.value_or(FlushSummary{});
}

std::uint64_t retries(const SelfMetrics& self, const char* reason) {
  return self.get("lastcall.forward.retries", {"kind:metrics", std::string("reason:") + reason});
}

// An intake that only ever says "100 Continue" has not refused the payload: it is retried and
// kept for the next flush, never dropped.
TEST(ForwardOverRealHttp, OnlyContinueThenCloseIsARetryNotADrop) {
  auto intake = raw_intake("HTTP/1.1 100 Continue\r\n\r\n");
  SelfMetrics self;
  const FlushSummary summary =
      flush_once("http://127.0.0.1:" + std::to_string(intake->port()), self);
  EXPECT_EQ(self.dropped_total(), 0u) << self.summary();
  EXPECT_EQ(summary.queued.payloads, 1u);
  EXPECT_GE(retries(self, "network"), 1u) << self.summary();
}

TEST(ForwardOverRealHttp, EndlessInterimAnswersAreARetryNotADrop) {
  std::string reply;
  for (int i = 0; i < 20; ++i) reply += "HTTP/1.1 100 Continue\r\n\r\n";
  auto intake = raw_intake(reply);
  SelfMetrics self;
  const FlushSummary summary =
      flush_once("http://127.0.0.1:" + std::to_string(intake->port()), self);
  EXPECT_EQ(self.dropped_total(), 0u) << self.summary();
  EXPECT_EQ(summary.queued.payloads, 1u);
  EXPECT_GE(retries(self, "protocol"), 1u) << self.summary();
}

TEST(ForwardOverRealHttp, TransportFailuresAreRetriedUnderTheirOwnReason) {
  std::uint16_t closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  SelfMetrics refused;
  EXPECT_EQ(flush_once("http://127.0.0.1:" + std::to_string(closed_port), refused).queued.payloads,
            1u);
  EXPECT_EQ(refused.dropped_total(), 0u) << refused.summary();
  EXPECT_GE(retries(refused, "connect"), 1u) << refused.summary();
  EXPECT_EQ(retries(refused, "bad_url"), 0u);

  SelfMetrics unresolvable;  // RFC 6761: .invalid never resolves
  EXPECT_EQ(flush_once("http://intake.nonexistent.invalid", unresolvable).queued.payloads, 1u);
  EXPECT_EQ(unresolvable.dropped_total(), 0u) << unresolvable.summary();
  EXPECT_GE(retries(unresolvable, "dns"), 1u) << unresolvable.summary();
}

TEST(ForwardOverRealHttp, FailedTlsHandshakeIsRetriedAsTls) {
  // A plain-HTTP server behind an https URL: the handshake cannot complete.
  auto intake = raw_intake("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", true);
  SelfMetrics self;
  const FlushSummary summary =
      flush_once("https://127.0.0.1:" + std::to_string(intake->port()), self);
  EXPECT_EQ(summary.queued.payloads, 1u);
  EXPECT_EQ(self.dropped_total(), 0u) << self.summary();
  EXPECT_GE(retries(self, "tls"), 1u) << self.summary();
}

TEST(ForwardOverRealHttp, OnlyAMalformedUrlIsDroppedAsBadUrl) {
  SelfMetrics self;
  const FlushSummary summary = flush_once("not a url", self);
  EXPECT_EQ(summary.queued.payloads, 0u);
  EXPECT_EQ(self.dropped_count("metrics", "bad_url"), 1u) << self.summary();
}
}  // namespace
}  // namespace lc::forward
