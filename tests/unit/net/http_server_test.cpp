#include "net/http_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/logger.h"
#include "core/mutex.h"
#include "core/self_metrics.h"
#include "fakes/fake_clock.h"
#include "net/http_wire.h"
#include "unit/net/test_support.h"

namespace lc::net {
namespace {

using test::LoopThread;
using test::raw_connect;
using test::raw_exchange;
using test::request_with_body;

// Timeouts run on a FakeClock whose due callbacks fire on the loop thread: a test advances time
// instead of waiting for it.
class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() { clock_.run_timers_on(loop_.io()); }
  void make(HttpServerOptions options = {}) {
    auto created = HttpServer::create(loop_.io(), clock_, clock_, std::move(options));
    ASSERT_TRUE(created) << created.error().message;
    server_ = std::move(created).value();
  }
  // Routes are registered before run(); afterwards the server is only touched on the loop thread.
  void run() {
    server_->start();
    loop_.start();
  }
  void TearDown() override {
    if (server_ && loop_.running()) {
      loop_.call([&] {
        held_.reset();
        server_->stop();
      });
    }
    loop_.stop();
  }
  std::uint16_t port() const { return server_->port(); }

  static Handler reply(std::string text) {
    return [text](HttpRequest&, std::shared_ptr<Responder> r) {
      r->respond(HttpResponse::text(200, text));
    };
  }

  // GET /next keeps its responder in held_ (a long poll); the server runs, and one connection sends
  // that request and waits until the handler holds it.
  sandbox::BlockingConnection hold_next_request() {
    server_->route("GET", "/next",
                   [this](HttpRequest&, std::shared_ptr<Responder> r) { held_ = std::move(r); });
    run();
    auto c = raw_connect(port());
    EXPECT_TRUE(c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(loop_.wait_until([&] { return held_ != nullptr; }));
    return c;
  }

  fakes::FakeClock clock_;  // outlives the loop: connections disarm their timers on destruction
  LoopThread loop_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<Responder> held_;
};

TEST_F(HttpServerTest, BindsEphemeralPort) {
  make();
  EXPECT_NE(port(), 0);
}

TEST_F(HttpServerTest, BadListenAddressIsAnError) {
  HttpServerOptions o;
  o.host = "not an address";
  auto created = HttpServer::create(loop_.io(), clock_, clock_, o);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, ListeningSocketIsCloseOnExecAndNamesWhatFailed) {
  auto socket = ListeningSocket::open("api", "127.0.0.1", 0);
  ASSERT_TRUE(socket) << socket.error().message;
  EXPECT_NE(socket->port(), 0);
  EXPECT_NE(::fcntl(socket->fd(), F_GETFD) & FD_CLOEXEC, 0);  // never reaches a spawned child
  auto taken = ListeningSocket::open("api", "127.0.0.1", socket->port());
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().message, "api: cannot bind 127.0.0.1:" + std::to_string(socket->port()) +
                                       ": Address already in use");
  EXPECT_EQ(ListeningSocket::open("api", "not an address", 0).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, ConnectionsMadeBeforeTheServerExistsAreServed) {
  // The wrapper binds, spawns its child, then builds the loop and the server: a client that
  // connected in between is queued by the kernel and answered.
  auto socket = ListeningSocket::open("api", "127.0.0.1", 0);
  ASSERT_TRUE(socket) << socket.error().message;
  const std::uint16_t bound = socket->port();
  auto early = raw_connect(bound);
  ASSERT_TRUE(early.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto created = HttpServer::create(loop_.io(), clock_, clock_, {}, std::move(socket).value());
  ASSERT_TRUE(created) << created.error().message;
  server_ = std::move(created).value();
  EXPECT_EQ(port(), bound);
  server_->route("GET", "/hello", reply("hi"));
  run();
  auto answer = early.read_response();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hi");
}

TEST_F(HttpServerTest, RoutingExactBeatsPrefixAndLongerPrefixWins) {
  make();
  server_->route("GET", "/a*", reply("prefix-a"));
  server_->route("GET", "/a/b*", reply("prefix-ab"));
  server_->route("GET", "/a/b/c", reply("exact-abc"));
  server_->route("", "/any", reply("any-method"));
  server_->route("POST", "/any", reply("post-any"));
  run();
  auto get = [&](std::string method, std::string target) {
    auto r = raw_exchange(port(), request_with_body(method, target, ""));
    return r ? std::to_string(r->status) + ":" + r->body : std::string("none");
  };
  EXPECT_EQ(get("GET", "/a/b/c"), "200:exact-abc");
  EXPECT_EQ(get("GET", "/a/b/c/d"), "200:prefix-ab");
  EXPECT_EQ(get("GET", "/a/b"), "200:prefix-ab");
  EXPECT_EQ(get("GET", "/a/x"), "200:prefix-a");
  EXPECT_EQ(get("GET", "/a"), "200:prefix-a");
  EXPECT_EQ(get("DELETE", "/any"), "200:any-method");
  EXPECT_EQ(get("POST", "/any"), "200:post-any");
  const std::string missing = get("GET", "/zzz");
  EXPECT_EQ(missing.substr(0, 4), "404:");
  EXPECT_NE(missing.find("/zzz"), std::string::npos);
  EXPECT_EQ(get("POST", "/a/b/c").substr(0, 4), "404:");  // method mismatch falls through
}

TEST_F(HttpServerTest, RequestFieldsReachTheHandler) {
  make();
  HttpRequest seen;
  server_->route("POST", "/in", [&](HttpRequest& req, std::shared_ptr<Responder> r) {
    seen = req;
    r->respond(HttpResponse::json(202, "{}").with_header("X-Test", "yes"));
  });
  run();
  auto r = raw_exchange(port(),
                        "POST /in?name=a%20b&flag&x=1+2 HTTP/1.1\r\nHost: h\r\nX-Custom: v1\r\n"
                        "Content-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "{}");
  EXPECT_NE(r->head.find("X-Test: yes\r\n"), std::string::npos);
  EXPECT_NE(r->head.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/in?name=a%20b&flag&x=1+2");
  EXPECT_EQ(seen.path, "/in");
  EXPECT_EQ(seen.query, "name=a%20b&flag&x=1+2");
  EXPECT_EQ(seen.body, "hello");
  EXPECT_EQ(seen.header("x-custom").value_or(""), "v1");
  EXPECT_EQ(seen.query_param("name").value_or("?"), "a b");
  EXPECT_EQ(seen.query_param("flag").value_or("?"), "");
  EXPECT_EQ(seen.query_param("x").value_or("?"), "1 2");
  EXPECT_FALSE(seen.query_param("nope"));
  EXPECT_EQ(seen.remote.rfind("127.0.0.1:", 0), 0u);
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  make();
  std::vector<std::string> remotes;
  server_->route("GET", "/k", [&](HttpRequest& req, std::shared_ptr<Responder> r) {
    remotes.push_back(req.remote);
    r->respond(HttpResponse::text(200, "n" + std::to_string(remotes.size())));
  });
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_NE(r1->head.find("Connection: keep-alive"), std::string::npos);
  ASSERT_TRUE(c.send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r1->body, "n1");
  EXPECT_EQ(r2->body, "n2");
  const auto remotes_seen = loop_.call([&] { return remotes; });
  ASSERT_EQ(remotes_seen.size(), 2u);
  EXPECT_EQ(remotes_seen[0], remotes_seen[1]);  // same client port: same connection
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  make();
  server_->route("GET", "*", [](HttpRequest& req, std::shared_ptr<Responder> r) {
    r->respond(HttpResponse::text(200, req.path));
  });
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r1 = c.read_response();
  auto r2 = c.read_response();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "/one");
  EXPECT_EQ(r2->body, "/two");
}

TEST_F(HttpServerTest, ConnectionCloseRequestIsHonoured) {
  make();
  server_->route("GET", "/c", reply("bye"));
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "bye");
  EXPECT_NE(r->head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, OversizeBodyGets413) {
  HttpServerOptions o;
  o.default_max_body = 100;
  make(o);
  bool called = false;
  server_->route("POST", "/small", [&](HttpRequest&, std::shared_ptr<Responder> r) {
    called = true;
    r->respond(HttpResponse::text(200, "ok"));
  });
  server_->route("POST", "/big", reply("big-ok"), RouteOptions{1000, nullptr});
  run();
  const std::string body(200, 'x');
  auto r = raw_exchange(port(), request_with_body("POST", "/small", body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("100"), std::string::npos);
  // The per-route limit overrides the default.
  auto big = raw_exchange(port(), request_with_body("POST", "/big", body));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 200);
  EXPECT_EQ(big->body, "big-ok");
  // Exactly at the limit is accepted.
  auto exact = raw_exchange(port(), request_with_body("POST", "/small", std::string(100, 'y')));
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->status, 200);
  EXPECT_TRUE(loop_.call([&] { return called; }));
}

TEST_F(HttpServerTest, OversizeChunkedBodyGets413) {
  HttpServerOptions o;
  o.default_max_body = 10;
  make(o);
  server_->route("POST", "/c", reply("ok"));
  run();
  auto r = raw_exchange(port(),
                        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, CustomTooLargeAnswer) {
  make();
  std::string seen_path;
  RouteOptions ro;
  ro.max_body = 4;
  ro.on_too_large = [&](const HttpRequest& headers_only) {
    seen_path = headers_only.path;
    EXPECT_TRUE(headers_only.body.empty());
    return HttpResponse::text(200, "accepted anyway");
  };
  server_->route("POST", "/telemetry", reply("normal"), ro);
  run();
  auto r = raw_exchange(port(), request_with_body("POST", "/telemetry", "0123456789"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "accepted anyway");
  EXPECT_EQ(loop_.call([&] { return seen_path; }), "/telemetry");
}

TEST_F(HttpServerTest, ChunkedBodyIsDecoded) {
  make();
  std::string body;
  server_->route("POST", "/c", [&](HttpRequest& req, std::shared_ptr<Responder> r) {
    body = req.body;
    r->respond(HttpResponse::text(200, std::to_string(req.body.size())));
  });
  run();
  auto r = raw_exchange(port(),
                        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "11");
  EXPECT_EQ(loop_.call([&] { return body; }), "hello world");
}

TEST_F(HttpServerTest, ExpectContinueGets100ThenTheAnswer) {
  make();
  server_->route("POST", "/e", [](HttpRequest& req, std::shared_ptr<Responder> r) {
    r->respond(HttpResponse::text(200, req.body));
  });
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(
      c.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  auto cont = c.read_response();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.send("abc"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abc");
}

TEST_F(HttpServerTest, HeadAnswerHasLengthButNoBody) {
  make();
  server_->route("HEAD", "/h", reply("twelve bytes"));
  server_->route("GET", "/g", reply("after"));
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all;
  char tmp[512];
  // Read until the second answer is complete: if HEAD carried a body, it would show up here.
  while (all.find("after") == std::string::npos) {
    const std::size_t n = c.read_some(tmp, sizeof tmp);
    if (n == 0) break;
    all.append(tmp, n);
  }
  EXPECT_NE(all.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_EQ(all.find("twelve"), std::string::npos);
  EXPECT_NE(all.find("\r\n\r\nHTTP/1.1 200 OK\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueOverLimitGets413WithoutContinue) {
  HttpServerOptions o;
  o.default_max_body = 10;
  make(o);
  server_->route("POST", "/e", reply("never"));
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(
      c.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, GarbageGets400AndClose) {
  make();
  server_->route("", "*", reply("never"));
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\x01\x02\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("malformed"), std::string::npos);
  EXPECT_EQ(std::count(r->body.begin(), r->body.end(), '\n'), 1);
  EXPECT_TRUE(c.wait_closed());
  // Bad chunk framing is also a 400.
  auto bad_chunk = raw_exchange(port(),
                                "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "zz\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(bad_chunk);
  EXPECT_EQ(bad_chunk->status, 400);
}

TEST_F(HttpServerTest, OversizeHeaderGets431) {
  HttpServerOptions o;
  o.max_header_bytes = 256;
  make(o);
  server_->route("", "*", reply("never"));
  run();
  auto r = raw_exchange(
      port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
}

TEST_F(HttpServerTest, DelayedResponseThroughResponder) {
  make();
  auto c = hold_next_request();
  ASSERT_TRUE(held_);
  EXPECT_TRUE(loop_.call([&] { return held_->connected(); }));
  loop_.call([&] {
    held_->respond(HttpResponse::json(200, R"({"eventType":"INVOKE"})"));
    held_.reset();
    return 0;
  });
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"eventType":"INVOKE"})");
}

TEST_F(HttpServerTest, DetectsPeerDisconnectWhileWaiting) {
  make();
  {
    auto c = hold_next_request();
    ASSERT_TRUE(held_);
    EXPECT_TRUE(loop_.call([&] { return held_->connected(); }));
    c.close();
  }
  EXPECT_TRUE(loop_.wait_until([&] { return !held_->connected(); }));
  loop_.call([&] {
    held_->respond(HttpResponse::text(200, "too late"));  // ignored, no crash
    held_.reset();
    return 0;
  });
}

TEST_F(HttpServerTest, DroppedResponderClosesConnection) {
  make();
  server_->route("GET", "/drop", [](HttpRequest&, std::shared_ptr<Responder>) {});
  server_->route("GET", "/abort", [](HttpRequest&, std::shared_ptr<Responder> r) { r->abort(); });
  run();
  for (const char* path : {"/drop", "/abort"}) {
    auto c = raw_connect(port());
    ASSERT_TRUE(c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_FALSE(c.read_response()) << path;
    EXPECT_TRUE(c.wait_closed()) << path;
  }
}

TEST_F(HttpServerTest, CloseMidResponseSendsHalfTheBody) {
  make();
  server_->route("GET", "/half", [](HttpRequest&, std::shared_ptr<Responder> r) {
    r->close_mid_response(HttpResponse::text(200, std::string(1000, 'z')));
  });
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /half HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("Content-Length: 1000"), std::string::npos);
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(r->body, std::string(500, 'z'));
}

// A peer that stops reading an answer is cut when write_timeout passes, not at the (shorter)
// read timeout the writes used before.
TEST_F(HttpServerTest, WriteTimeoutClosesAStalledAnswer) {
  HttpServerOptions o;
  o.read_timeout = std::chrono::seconds(1);
  o.write_timeout = std::chrono::seconds(5);
  o.idle_timeout = std::chrono::hours(1);
  o.first_byte_timeout = std::chrono::hours(1);
  make(o);
  // Far more than the loopback socket buffers hold, so the write stalls while nobody reads.
  constexpr std::size_t kSize = 64u * 1024 * 1024;
  bool answered = false;  // loop thread
  server_->route("GET", "/big", [&answered](HttpRequest&, const std::shared_ptr<Responder>& r) {
    r->respond(HttpResponse::text(200, std::string(kSize, 'z')));
    answered = true;  // the write (and its timer) started inside respond()
  });
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(loop_.wait_until([&] { return answered; }));
  clock_.advance(std::chrono::milliseconds(4999));  // well past the read timeout
  EXPECT_TRUE(loop_.call([&] { return clock_.pending_timers() == 1; }));
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(loop_.wait_until([&] { return clock_.pending_timers() == 0; }));
  std::size_t received = 0;
  std::string chunk(1 << 16, '\0');
  for (std::size_t n = 0; (n = c.read_some(chunk.data(), chunk.size())) > 0;) received += n;
  EXPECT_GT(received, 0u);
  EXPECT_LT(received, kSize);  // cut short: the connection closed mid-answer
}

TEST_F(HttpServerTest, IdleTimeoutClosesConnection) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::seconds(5);
  o.read_timeout = std::chrono::seconds(30);
  make(o);
  server_->route("GET", "/x", reply("x"));
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  // The idle timer (5 s) is armed once the answer is written; nothing closes before it expires.
  ASSERT_TRUE(clock_.wait_for_timer_due_within(std::chrono::seconds(5)));
  clock_.advance(std::chrono::milliseconds(4999));
  EXPECT_TRUE(loop_.call([&] { return clock_.pending_timers() == 1; }));
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(c.wait_closed());  // well before the 10 s receive timeout
}

// Over real sockets, on simulated time: a request whose body stops arriving is closed when the
// 30 s read timeout passes on the FakeClock, in far less wall time, and counted.
TEST_F(HttpServerTest, ReadTimeoutClosesAStalledRequest) {
  SelfMetrics metrics;
  HttpServerOptions o;
  o.read_timeout = std::chrono::seconds(30);
  o.idle_timeout = std::chrono::hours(1);
  o.first_byte_timeout = std::chrono::hours(1);
  o.self_metrics = &metrics;
  make(o);
  server_->route("POST", "/x", reply("x"));
  run();
  const auto wall_start = std::chrono::steady_clock::now();
  auto c = raw_connect(port());
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  // The read timer replaces the idle one once the request's first bytes arrive.
  ASSERT_TRUE(clock_.wait_for_timer_due_within(std::chrono::seconds(30)));
  clock_.advance(std::chrono::seconds(29));
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "read_timeout"); }), 0u);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "read_timeout"); }), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, EveryConnectionBusyGets503AndIsCounted) {
  SelfMetrics metrics;
  HttpServerOptions o;
  o.max_connections = 1;
  o.self_metrics = &metrics;
  make(o);
  std::shared_ptr<Responder> held;
  server_->route("GET", "/hold",
                 [&](HttpRequest&, std::shared_ptr<Responder> r) { held = std::move(r); });
  run();
  auto busy = raw_connect(port());
  ASSERT_TRUE(busy.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(loop_.wait_until([&] { return held != nullptr; }));
  auto refused = raw_exchange(port(), "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "max_connections"); }), 1u);
  loop_.call([&] {
    held->respond(HttpResponse::text(200, "done"));
    held.reset();
    return 0;
  });
  auto answered = busy.read_response();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->body, "done");
}

// The cap warning loops back through the Telemetry API in extension mode: one line per listener
// per 10 s of the injected clock, with the number of lines it held back.
TEST_F(HttpServerTest, CapWarningsAreRateLimitedPerListener) {
  Mutex mu;
  std::vector<std::string> warnings;
  Logger::instance().set_sink([&](std::string_view line) {
    if (line.find("all busy") == std::string_view::npos) return;
    MutexLock lock(mu);
    warnings.emplace_back(line);
  });
  HttpServerOptions o;
  o.max_connections = 1;
  o.name = "telemetry";
  make(o);
  std::shared_ptr<Responder> held;
  server_->route("GET", "/hold",
                 [&](HttpRequest&, std::shared_ptr<Responder> r) { held = std::move(r); });
  run();
  auto busy = raw_connect(port());
  ASSERT_TRUE(busy.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(loop_.wait_until([&] { return held != nullptr; }));
  const auto refuse = [&] {
    auto r = raw_exchange(port(), "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
  };
  for (int i = 0; i < 3; ++i) refuse();
  clock_.advance(std::chrono::seconds(10));
  refuse();
  loop_.call([&] {
    held.reset();
    return 0;
  });
  Logger::instance().set_sink(nullptr);
  MutexLock lock(mu);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("telemetry: 1 connections open"), std::string::npos) << warnings[0];
  EXPECT_EQ(warnings[0].find("suppressed"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("(2 similar warnings suppressed)"), std::string::npos) << warnings[1];
}

// Connections that send nothing cannot lock the listener: at the cap the oldest idle one is
// closed for a new one, and a normal request is still answered.
TEST_F(HttpServerTest, IdleConnectionsAtTheCapAreEvictedOldestFirst) {
  SelfMetrics metrics;
  HttpServerOptions o;
  o.max_connections = 3;
  o.self_metrics = &metrics;
  make(o);
  server_->route("GET", "/x", reply("x"));
  run();
  std::vector<std::unique_ptr<sandbox::BlockingConnection>> idle;
  for (std::size_t i = 0; i < o.max_connections; ++i) {
    idle.push_back(std::make_unique<sandbox::BlockingConnection>(raw_connect(port())));
    ASSERT_TRUE(idle.back()->connected());
    // Each accepted connection arms its first-byte timer; a tick apart orders them by age.
    ASSERT_TRUE(loop_.wait_until([&] { return clock_.pending_timers() == i + 1; }));
    clock_.advance(std::chrono::milliseconds(1));
  }
  auto r = raw_exchange(port(), "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "x");
  EXPECT_TRUE(idle[0]->wait_closed());
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "evicted"); }), 1u);
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "max_connections"); }), 0u);
  // The younger idle connections are still served.
  for (std::size_t i = 1; i < idle.size(); ++i) {
    ASSERT_TRUE(idle[i]->send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto answer = idle[i]->read_response();
    ASSERT_TRUE(answer) << i;
    EXPECT_EQ(answer->status, 200);
  }
}

TEST_F(HttpServerTest, ConnectionThatSendsNothingIsClosedAfterTheFirstByteTimeout) {
  SelfMetrics metrics;
  HttpServerOptions o;
  o.first_byte_timeout = std::chrono::seconds(2);
  o.self_metrics = &metrics;
  make(o);
  run();
  auto c = raw_connect(port());
  ASSERT_TRUE(clock_.wait_for_timer_due_within(std::chrono::seconds(2)));
  clock_.advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "read_timeout"); }), 0u);
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("http", "read_timeout"); }), 1u);
}

TEST_F(HttpServerTest, RefusedRequestsAreCountedAsDrops) {
  SelfMetrics metrics;
  HttpServerOptions o;
  o.name = "traces";
  o.default_max_body = 4;
  o.self_metrics = &metrics;
  make(o);
  server_->route("POST", "/v0.4/traces", reply("ok"));
  run();
  auto big = raw_exchange(port(), request_with_body("POST", "/v0.4/traces", "12345"));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto bad = raw_exchange(port(), "NOT HTTP\r\n\r\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  {
    auto stalled = raw_connect(port());
    ASSERT_TRUE(stalled.send("POST /v0.4/traces HTTP/1.1\r\nContent-Length: 3\r\n\r\nx"));
  }
  EXPECT_TRUE(loop_.wait_until([&] { return metrics.dropped_count("traces", "incomplete") == 1; }));
  auto huge_header =
      raw_exchange(port(), "GET / HTTP/1.1\r\nX-Big: " + std::string(32 * 1024, 'a') + "\r\n\r\n");
  ASSERT_TRUE(huge_header);
  EXPECT_EQ(huge_header->status, 431);
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("traces", "too_large"); }), 1u);
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("traces", "malformed"); }), 1u);
  EXPECT_EQ(loop_.call([&] { return metrics.dropped_count("traces", "header_too_large"); }), 1u);
}

TEST_F(HttpServerTest, StopClosesConnectionsAndPendingResponders) {
  make();
  auto c = hold_next_request();
  ASSERT_TRUE(held_);
  loop_.call([&] {
    server_->stop();
    return 0;
  });
  EXPECT_TRUE(c.wait_closed());
  EXPECT_FALSE(loop_.call([&] { return held_->connected(); }));
  loop_.call([&] {
    held_.reset();
    return 0;
  });
}

// --- serialize / parse -------------------------------------------------------------------------

TEST(HttpWireTest, SerializeSanitizesHeadersAndSetsLength) {
  HttpResponse r = HttpResponse::text(201, "abc");
  r.with_header("X-Bad", "a\r\nInjected: 1")
      .with_header("Content-Length", "999")
      .with_header("Ok", "1");
  const std::string wire = serialize_response(r, false, false);
  EXPECT_EQ(wire.rfind("HTTP/1.1 201 Created\r\n", 0), 0u);
  EXPECT_EQ(wire.find("Injected"), std::string::npos);
  EXPECT_EQ(wire.find("999"), std::string::npos);
  EXPECT_NE(wire.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Ok: 1\r\n"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 7), "\r\n\r\nabc");

  const std::string head = serialize_response(r, true, true);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  const std::string no_content = serialize_response(HttpResponse::text(204, "x"), false, false);
  EXPECT_EQ(no_content.find("Content-Length"), std::string::npos);
  EXPECT_EQ(no_content.substr(no_content.size() - 4), "\r\n\r\n");
  EXPECT_EQ(serialize_response(HttpResponse::text(7, ""), false, false).rfind("HTTP/1.1 500", 0),
            0u);
}

TEST(HttpWireTest, ParseRequestAppliesLimits) {
  auto ok =
      parse_request("POST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 1024, 10);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->method, "POST");
  EXPECT_EQ(ok->path, "/p");
  EXPECT_EQ(ok->query, "q=1");
  EXPECT_EQ(ok->body, "abc");
  auto big = parse_request("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890", 1024, 10);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  auto big_chunked = parse_request(
      "POST / HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n",
      1024, 10);
  ASSERT_FALSE(big_chunked);
  EXPECT_EQ(big_chunked.error().code, ErrorCode::kTooLarge);
  auto big_header =
      parse_request("GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n", 64, 10);
  ASSERT_FALSE(big_header);
  EXPECT_EQ(big_header.error().code, ErrorCode::kTooLarge);
  auto garbage = parse_request("\x00\x01garbage\r\n\r\n", 1024, 10);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  auto incomplete = parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 1024, 10);
  ASSERT_FALSE(incomplete);
  EXPECT_EQ(incomplete.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace lc::net
