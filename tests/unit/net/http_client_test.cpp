#include "net/http_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <numeric>
#include <optional>
#include <set>

#include "fakes/fake_clock.h"
#include "net/http_server.h"
#include "unit/net/test_support.h"
#include "unit/net/tls_test_support.h"

namespace lc::net {
namespace {

using test::LoopThread;

// Deadlines are measured and enforced on a FakeClock whose timers fire on the loop thread.
class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest() { clock_.run_timers_on(loop_.io()); }
  void SetUp() override {
    auto created = HttpServer::create(loop_.io(), clock_, clock_, HttpServerOptions{});
    ASSERT_TRUE(created) << created.error().message;
    server_ = std::move(created).value();
    server_->route("", "/echo", [this](HttpRequest& req, std::shared_ptr<Responder> r) {
      remotes_.insert(req.remote);
      ++requests_;
      last_ = req;
      r->respond(HttpResponse::text(200, req.method + " " + req.target + " " + req.body)
                     .with_header("X-Reply", "1"));
    });
    server_->route("GET", "/hang", [this](HttpRequest&, std::shared_ptr<Responder> r) {
      hung_.push_back(std::move(r));
    });
    server_->route("GET", "/half", [](HttpRequest&, std::shared_ptr<Responder> r) {
      r->close_mid_response(HttpResponse::text(200, std::string(400, 'h')));
    });
    server_->route("GET", "/big", [this](HttpRequest& req, std::shared_ptr<Responder> r) {
      remotes_.insert(req.remote);
      r->respond(HttpResponse::text(200, std::string(100, 'b')));
    });
    // The second request on any connection is dropped unanswered: a stale keep-alive connection.
    server_->route("GET", "/flaky", [this](HttpRequest& req, std::shared_ptr<Responder> r) {
      remotes_.insert(req.remote);
      if (++per_remote_[req.remote] == 2) {
        r->abort();
        return;
      }
      r->respond(HttpResponse::text(200, "flaky-ok"));
    });
    server_->start();
    loop_.start();
  }

  void TearDown() override {
    loop_.call([&] {
      for (auto& c : clients_) c.reset();
      hung_.clear();
      server_->stop();
      return 0;
    });
    loop_.stop();
  }

  HttpClient& client(HttpClientOptions options = {}) {
    clients_.push_back(
        loop_.call([&] { return make_http_client(loop_.io(), clock_, clock_, options); }));
    return *clients_.back();
  }

  // Starts a request from the loop thread; the future completes with its answer.
  std::future<Expected<HttpClientResponse>> start_fetch(HttpClient& c, HttpClientRequest req,
                                                        Millis timeout) {
    auto p = std::make_shared<std::promise<Expected<HttpClientResponse>>>();
    auto f = p->get_future();
    loop_.call([&] {
      c.request(std::move(req), Deadline::after(clock_, timeout),
                [p](Expected<HttpClientResponse> r) { p->set_value(std::move(r)); });
      return 0;
    });
    return f;
  }

  Expected<HttpClientResponse> fetch(HttpClient& c, HttpClientRequest req,
                                     Millis timeout = Millis(10000)) {
    auto f = start_fetch(c, std::move(req), timeout);
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return make_error(ErrorCode::kInternal, "test: no callback within 30 s");
    }
    return f.get();
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  static HttpClientRequest get(std::string u) {
    HttpClientRequest r;
    r.method = "GET";
    r.url = std::move(u);
    return r;
  }
  std::size_t connections_seen() {
    return loop_.call([&] { return remotes_.size(); });
  }

  fakes::FakeClock clock_;  // outlives the loop: exchanges disarm their timers on destruction
  LoopThread loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::unique_ptr<HttpClient>> clients_;
  std::set<std::string> remotes_;
  std::map<std::string, int> per_remote_;
  std::vector<std::shared_ptr<Responder>> hung_;
  HttpRequest last_;
  int requests_ = 0;
};

TEST_F(HttpClientTest, PlainPostWithSharedBody) {
  auto& c = client();
  HttpClientRequest req;
  req.method = "POST";
  req.url = url("/echo?a=1");
  req.headers = {{"Content-Type", "application/json"}, {"DD-API-KEY", "k"}};
  auto body = std::make_shared<const std::string>("{\"x\":1}");
  req.body = body;
  auto r = fetch(c, std::move(req));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /echo?a=1 {\"x\":1}");
  EXPECT_EQ(r->header("x-reply").value_or(""), "1");
  const HttpRequest seen = loop_.call([&] { return last_; });
  EXPECT_EQ(seen.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(seen.header("DD-API-KEY").value_or(""), "k");
  EXPECT_EQ(seen.header("Content-Length").value_or(""), "7");
  EXPECT_EQ(seen.header("Host").value_or(""), "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(seen.header("User-Agent").value_or("").rfind("lastcall/", 0), 0u);
  // The client let go of the shared body once the request finished.
  EXPECT_TRUE(loop_.wait_until([&] { return body.use_count() == 1; }));
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnectionUntilCloseIdle) {
  auto& c = client();
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(c, get(url("/echo")));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(connections_seen(), 1u);
  loop_.call([&] {
    c.close_idle();
    return 0;
  });
  auto r = fetch(c, get(url("/echo")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(connections_seen(), 2u);
}

TEST_F(HttpClientTest, WithoutKeepAliveEveryRequestConnects) {
  HttpClientOptions o;
  o.keep_alive = false;
  auto& c = client(o);
  ASSERT_TRUE(fetch(c, get(url("/echo"))));
  ASSERT_TRUE(fetch(c, get(url("/echo"))));
  EXPECT_EQ(connections_seen(), 2u);
  EXPECT_EQ(loop_.call([&] { return last_.header("Connection").value_or(""); }), "close");
}

// Over real sockets, on simulated time: the 30 s deadline passes on the FakeClock, not on the wall.
TEST_F(HttpClientTest, DeadlineExpiresAgainstAServerThatNeverAnswers) {
  auto& c = client();
  const auto start = std::chrono::steady_clock::now();
  auto f = start_fetch(c, get(url("/hang")), std::chrono::seconds(30));
  ASSERT_TRUE(loop_.wait_until([&] { return hung_.size() == 1; }));
  clock_.advance(std::chrono::milliseconds(29999));
  EXPECT_EQ(loop_.call([&] { return 0; }), 0);  // let anything posted run
  EXPECT_EQ(f.wait_for(Millis(0)), std::future_status::timeout);
  clock_.advance(Millis(1));
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = f.get();
  const auto elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().message;
  EXPECT_NE(r.error().message.find("/hang"), std::string::npos);
  EXPECT_NE(r.error().message.find("after 30000 ms"), std::string::npos) << r.error().message;
  EXPECT_LT(elapsed.count(), 5000);
  // The server saw the request and the hung connection was closed by the client.
  ASSERT_EQ(loop_.call([&] { return hung_.size(); }), 1u);
  EXPECT_TRUE(loop_.wait_until([&] { return !hung_[0]->connected(); }));
}

TEST_F(HttpClientTest, ExpiredDeadlineFailsAtOnce) {
  auto& c = client();
  auto r = fetch(c, get(url("/echo")), Millis(0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(loop_.call([&] { return requests_; }), 0);
}

TEST_F(HttpClientTest, ServerClosingMidResponseIsANetworkError) {
  auto& c = client();
  auto r = fetch(c, get(url("/half")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == ErrorCode::kNetwork || r.error().code == ErrorCode::kProtocol)
      << r.error().message;
  EXPECT_NE(r.error().message.find("mid-response"), std::string::npos) << r.error().message;
  // The client still works afterwards.
  auto ok = fetch(c, get(url("/echo")));
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST_F(HttpClientTest, StaleKeepAliveConnectionIsRetriedOnce) {
  auto& c = client();
  auto first = fetch(c, get(url("/flaky")));
  ASSERT_TRUE(first) << first.error().message;
  auto second = fetch(c, get(url("/flaky")));  // pooled connection dropped without an answer
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->body, "flaky-ok");
  EXPECT_EQ(connections_seen(), 2u);
}

TEST_F(HttpClientTest, ResponseBodyIsCut) {
  HttpClientOptions o;
  o.max_response_body = 10;
  auto& c = client(o);
  auto r = fetch(c, get(url("/big")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string(10, 'b'));
  auto again = fetch(c, get(url("/big")));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->body, std::string(10, 'b'));
  EXPECT_EQ(connections_seen(), 1u);  // the rest of the body was drained: connection reused
}

TEST_F(HttpClientTest, BadUrlAndRefusedConnection) {
  auto& c = client();
  auto bad = fetch(c, get("not a url"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  std::uint16_t closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  auto refused = fetch(c, get("http://127.0.0.1:" + std::to_string(closed_port) + "/"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConnect);
  EXPECT_NE(refused.error().message.find("connecting"), std::string::npos)
      << refused.error().message;
}

TEST_F(HttpClientTest, HttpThroughProxyUsesAbsoluteForm) {
  test::TestProxy proxy;
  HttpClientOptions o;
  o.proxy.host = "127.0.0.1";
  o.proxy.port = proxy.port();
  o.proxy.user = "user";
  o.proxy.password = "pass";
  auto& c = client(o);
  auto r = fetch(c, get("http://intake.example:8080/api/v2/series"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "proxied GET http://intake.example:8080/api/v2/series HTTP/1.1");
  const auto heads = proxy.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("\r\nHost: intake.example:8080\r\n"), std::string::npos);
  EXPECT_NE(heads[0].find("\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"), std::string::npos);
  loop_.call([&] {
    clients_.clear();
    return 0;
  });
}

// A server that reads one request head and answers with `reply` verbatim, then closes.
std::unique_ptr<test::BlockingServer> scripted(std::string reply) {
  return std::make_unique<test::BlockingServer>([reply](boost::asio::ip::tcp::socket& s) {
    std::string buf;
    boost::system::error_code ec;
    boost::asio::read_until(s, boost::asio::dynamic_buffer(buf), "\r\n\r\n", ec);
    if (!reply.empty()) boost::asio::write(s, boost::asio::buffer(reply), ec);
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  });
}

TEST_F(HttpClientTest, InterimResponsesAreSkipped) {
  auto server = scripted(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "ok");
}

// An intake that says only "100 Continue" never answered: an error (retried by the forwarder),
// never a response with status 100.
TEST_F(HttpClientTest, ContinueThenCloseIsAnErrorNotAnAnswer) {
  auto server = scripted("HTTP/1.1 100 Continue\r\n\r\n");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_FALSE(r) << "answered " << r->status;
  EXPECT_EQ(r.error().code, ErrorCode::kNetwork);
  EXPECT_NE(r.error().message.find("no final answer"), std::string::npos) << r.error().message;
}

TEST_F(HttpClientTest, EndlessInterimResponsesAreAnErrorNotAnAnswer) {
  std::string reply;
  for (int i = 0; i < 20; ++i) reply += "HTTP/1.1 100 Continue\r\n\r\n";
  auto server = scripted(reply);
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_FALSE(r) << "answered " << r->status;
  EXPECT_EQ(r.error().code, ErrorCode::kProtocol);
  EXPECT_NE(r.error().message.find("no final answer"), std::string::npos) << r.error().message;

  auto upgrade = scripted("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
  auto u = fetch(c, get("http://127.0.0.1:" + std::to_string(upgrade->port()) + "/"));
  ASSERT_FALSE(u) << "answered " << u->status;
  EXPECT_EQ(u.error().code, ErrorCode::kProtocol);
}

TEST_F(HttpClientTest, UnresolvableHostIsADnsError) {
  auto& c = client();
  auto r = fetch(c, get("http://intake.nonexistent.invalid/"));  // RFC 6761: never resolves
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDns) << r.error().message;
  EXPECT_NE(r.error().message.find("(resolving)"), std::string::npos) << r.error().message;
}

TEST_F(HttpClientTest, GarbageAnswerIsAProtocolError) {
  auto server = scripted("SMTP ready\r\n\r\n");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kProtocol) << r.error().message;
}

TEST_F(HttpClientTest, CloseWithoutAnswerOnAFreshConnectionIsNotRetried) {
  auto server = scripted("");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNetwork);
  EXPECT_NE(r.error().message.find("closed before a response"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(server->accepted(), 1);
}

TEST_F(HttpClientTest, ChunkedResponseIsDecoded) {
  auto server = scripted(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\nchun\r\n3\r\nked\r\n0\r\n\r\n");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "chunked");
}

TEST_F(HttpClientTest, BodyUntilCloseIsRead) {
  auto server = scripted("HTTP/1.1 200 OK\r\n\r\nall of it");
  auto& c = client();
  auto r = fetch(c, get("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "all of it");
}

// An HTTP/1.1 peer on the loop thread that answers only requests whose target contains "/answer"
// (keep-alive, "ok") and leaves every other one hanging, and records, per connection, how many
// requests came and whether the client closed it. Used on the loop thread only.
class RawServer {
 public:
  struct Conn {
    explicit Conn(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    std::array<char, 4096> buf{};
    std::string in;
    int requests = 0;
    bool closed_by_client = false;
  };

  explicit RawServer(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
  }
  ~RawServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& c : conns) c->socket.close(ec);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const {
    int n = 0;
    for (const auto& c : conns) n += c->requests;
    return n;
  }
  std::size_t closed() const {
    return static_cast<std::size_t>(std::count_if(
        conns.begin(), conns.end(), [](const auto& c) { return c->closed_by_client; }));
  }

  std::vector<std::shared_ptr<Conn>> conns;

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;  // closed: `this` may be gone
      conns.push_back(std::make_shared<Conn>(std::move(s)));
      read(conns.back());
      accept();
    });
  }

  static void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(
        boost::asio::buffer(c->buf), [c](boost::system::error_code ec, std::size_t n) {
          if (ec) {
            c->closed_by_client = ec != boost::asio::error::operation_aborted;
            return;
          }
          c->in.append(c->buf.data(), n);
          for (std::size_t end = c->in.find("\r\n\r\n"); end != std::string::npos;
               end = c->in.find("\r\n\r\n")) {
            const std::string head = c->in.substr(0, end);
            c->in.erase(0, end + 4);
            ++c->requests;
            if (head.find("/answer") == std::string::npos) continue;
            auto reply = std::make_shared<const std::string>(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
            boost::asio::async_write(c->socket, boost::asio::buffer(*reply),
                                     [reply, c](boost::system::error_code, std::size_t) {});
          }
          read(c);
        });
  }

  boost::asio::ip::tcp::acceptor acceptor_;
};

// Callbacks of requests started on the loop thread, counted per request (loop thread only).
struct Answers {
  std::vector<int> calls;
  std::vector<std::optional<Expected<HttpClientResponse>>> results;
  int total() const { return std::accumulate(calls.begin(), calls.end(), 0); }
};

class HttpClientAbortTest : public HttpClientTest {
 protected:
  void SetUp() override {
    HttpClientTest::SetUp();
    raw_ = loop_.call([&] { return std::make_unique<RawServer>(loop_.io()); });
  }
  void TearDown() override {
    loop_.call([&] {
      for (auto& c : clients_) c.reset();
      raw_.reset();
      return 0;
    });
    HttpClientTest::TearDown();
  }
  std::string raw_url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(raw_->port()) + std::string(path);
  }
  // Call on the loop thread.
  void send(HttpClient& c, std::string path, Millis timeout = Millis(30000)) {
    const std::size_t i = answers_.calls.size();
    answers_.calls.push_back(0);
    answers_.results.emplace_back();
    c.request(get(raw_url(path)), Deadline::after(clock_, timeout),
              [this, i](Expected<HttpClientResponse> r) {
                ++answers_.calls[i];
                answers_.results[i] = std::move(r);
              });
  }
  int answered() {
    return loop_.call([&] { return answers_.total(); });
  }

  std::unique_ptr<RawServer> raw_;
  Answers answers_;
};

// lambda-agent.md §6.3 "Freeze awareness": nothing of an intake exchange survives into /next.
TEST_F(HttpClientAbortTest, AbortAllStopsEveryExchangeOnceAndClosesItsConnection) {
  auto& c = client();
  loop_.call([&] {
    for (int i = 0; i < 3; ++i) send(c, "/hang");
    return 0;
  });
  ASSERT_TRUE(loop_.wait_until([&] { return raw_->requests() == 3; }));
  ASSERT_EQ(answered(), 0);
  const auto [stopped, answered_inside] = loop_.call([&] {
    const std::size_t n = c.abort_all();
    return std::make_pair(n, answers_.total());
  });
  EXPECT_EQ(stopped, 3u);
  EXPECT_EQ(answered_inside, 0) << "a callback ran inside abort_all()";
  ASSERT_TRUE(loop_.wait_until([&] { return answers_.total() == 3; }));
  loop_.call([&] {
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(answers_.calls[i], 1);
      const auto& r = *answers_.results[i];
      EXPECT_FALSE(r);
      if (r) continue;
      EXPECT_EQ(r.error().code, ErrorCode::kNetwork);
      EXPECT_NE(r.error().message.find("aborted"), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("/hang"), std::string::npos) << r.error().message;
    }
    return 0;
  });
  // The server sees every connection closed by the client.
  EXPECT_TRUE(loop_.wait_until([&] { return raw_->closed() == 3; }));
  EXPECT_EQ(loop_.call([&] { return raw_->conns.size(); }), 3u);
  // The deadlines that were armed never answer a second time.
  clock_.advance(Millis(60000));
  EXPECT_EQ(answered(), 3);
  EXPECT_EQ(loop_.call([&] { return c.abort_all(); }), 0u);  // nothing left to stop
  // The client works normally afterwards.
  auto r = fetch(c, get(raw_url("/answer")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(answered(), 3);
}

// A request whose start is still queued on the loop never reaches the server.
TEST_F(HttpClientAbortTest, AbortAllStopsARequestNotStartedYet) {
  auto& c = client();
  EXPECT_EQ(loop_.call([&] {
    send(c, "/answer");
    return c.abort_all();
  }),
            1u);
  ASSERT_TRUE(loop_.wait_until([&] { return answers_.total() == 1; }));
  loop_.call([&] {
    EXPECT_EQ(answers_.calls[0], 1);
    EXPECT_FALSE(*answers_.results[0]);
    return 0;
  });
  auto r = fetch(c, get(raw_url("/answer")));  // one round trip later
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(loop_.call([&] { return raw_->requests(); }), 1);
  EXPECT_EQ(answered(), 1);
}

// close_idle() closes pooled connections only; abort_all() closes pooled ones too.
TEST_F(HttpClientAbortTest, CloseIdleLeavesExchangesInFlightAndAbortAllClosesPooledConnections) {
  auto& c = client();
  loop_.call([&] {
    send(c, "/hang");
    return 0;
  });
  ASSERT_TRUE(loop_.wait_until([&] { return raw_->requests() == 1; }));
  ASSERT_TRUE(fetch(c, get(raw_url("/answer"))));
  ASSERT_TRUE(fetch(c, get(raw_url("/answer"))));
  ASSERT_EQ(loop_.call([&] { return raw_->conns.size(); }), 2u);  // one busy, one kept alive
  loop_.call([&] {
    c.close_idle();
    return 0;
  });
  EXPECT_TRUE(loop_.wait_until([&] { return raw_->closed() == 1; }));
  loop_.call([&] {
    EXPECT_FALSE(raw_->conns[0]->closed_by_client) << "close_idle() closed a busy connection";
    EXPECT_TRUE(raw_->conns[1]->closed_by_client);
    EXPECT_EQ(answers_.total(), 0);
    return 0;
  });

  // A pooled connection and one in flight: abort_all() closes both.
  ASSERT_TRUE(fetch(c, get(raw_url("/answer"))));
  ASSERT_EQ(loop_.call([&] { return raw_->conns.size(); }), 3u);
  EXPECT_EQ(loop_.call([&] { return c.abort_all(); }), 1u);
  EXPECT_TRUE(loop_.wait_until([&] { return raw_->closed() == 3; }));
  ASSERT_TRUE(loop_.wait_until([&] { return answers_.total() == 1; }));
}

class HttpsClientTest : public HttpClientTest {
 protected:
  void SetUp() override {
    HttpClientTest::SetUp();
    cert_ = test::SelfSigned::make();
    ASSERT_TRUE(cert_);
    tls_ = std::make_unique<test::TlsServer>(*cert_);
  }
  void TearDown() override {
    HttpClientTest::TearDown();
    tls_.reset();
  }
  std::string tls_url(std::string_view host, std::string_view path) const {
    return "https://" + std::string(host) + ":" + std::to_string(tls_->port()) + std::string(path);
  }

  std::unique_ptr<test::SelfSigned> cert_;
  std::unique_ptr<test::TlsServer> tls_;
};

TEST_F(HttpsClientTest, TlsContextIsCreatedAtTheFirstHttpsRequest) {
  HttpClientOptions o;
  o.ca_file = cert_->cert_file;
  auto& c = client(o);
  ASSERT_TRUE(fetch(c, get(url("/echo"))));
  EXPECT_FALSE(loop_.call([&] { return c.tls_initialized(); }));  // plain traffic: no TLS yet
  auto r = fetch(c, get(tls_url("localhost", "/secure?x=1")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "tls-ok /secure?x=1");
  EXPECT_TRUE(loop_.call([&] { return c.tls_initialized(); }));
  // Verification against the IP SAN.
  auto by_ip = fetch(c, get(tls_url("127.0.0.1", "/ip")));
  ASSERT_TRUE(by_ip) << by_ip.error().message;
  EXPECT_EQ(by_ip->body, "tls-ok /ip");
}

TEST_F(HttpsClientTest, UntrustedCertificateFailsUnlessValidationIsSkipped) {
  auto& strict = client();  // system CA bundle: our self-signed certificate is not in it
  auto r = fetch(strict, get(tls_url("localhost", "/x")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTls);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("certificate:"), std::string::npos) << r.error().message;

  // A trusted certificate for another name.
  auto other = test::SelfSigned::make("DNS:other.example");
  ASSERT_TRUE(other);
  test::TlsServer other_server(*other);
  HttpClientOptions trust_other;
  trust_other.ca_file = other->cert_file;
  auto& named = client(trust_other);
  auto mismatch =
      fetch(named, get("https://localhost:" + std::to_string(other_server.port()) + "/x"));
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kTls);
  EXPECT_NE(mismatch.error().message.find("TLS"), std::string::npos) << mismatch.error().message;
  EXPECT_EQ(other_server.handshakes_ok(), 0);
  EXPECT_EQ(tls_->handshakes_ok(), 0);

  HttpClientOptions skip;
  skip.skip_ssl_validation = true;
  auto& lax = client(skip);
  auto ok = fetch(lax, get(tls_url("localhost", "/lax")));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->body, "tls-ok /lax");
}

TEST_F(HttpsClientTest, MissingCaFileIsAClearError) {
  HttpClientOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  auto& c = client(o);
  auto r = fetch(c, get(tls_url("localhost", "/x")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTls);
  EXPECT_NE(r.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

TEST_F(HttpsClientTest, HttpsThroughProxyConnectTunnel) {
  test::TestProxy proxy;
  HttpClientOptions o;
  o.ca_file = cert_->cert_file;
  o.proxy.host = "127.0.0.1";
  o.proxy.port = proxy.port();
  o.proxy.user = "dd";
  o.proxy.password = "s3cret";
  auto& c = client(o);
  auto r = fetch(c, get(tls_url("intake.test", "/through")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "tls-ok /through");
  const auto heads = proxy.heads();
  ASSERT_EQ(heads.size(), 1u);
  const std::string expected_line =
      "CONNECT intake.test:" + std::to_string(tls_->port()) + " HTTP/1.1\r\n";
  EXPECT_EQ(heads[0].rfind(expected_line, 0), 0u) << heads[0];
  EXPECT_NE(heads[0].find("\r\nHost: intake.test:" + std::to_string(tls_->port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(heads[0].find("\r\nProxy-Authorization: Basic ZGQ6czNjcmV0\r\n"), std::string::npos);
  EXPECT_GT(proxy.tunneled_bytes(), 500u);  // handshake and request went through the tunnel
  EXPECT_EQ(tls_->handshakes_ok(), 1);
  loop_.call([&] {
    clients_.clear();
    return 0;
  });
}

TEST_F(HttpsClientTest, NoProxyAndLoopbackTargetsGoDirect) {
  test::TestProxy proxy;
  HttpClientOptions o;
  o.ca_file = cert_->cert_file;
  o.proxy.host = "127.0.0.1";
  o.proxy.port = proxy.port();
  o.proxy.no_proxy = {"example.com", ".test"};
  auto& c = client(o);
  // Loopback (the Runtime API, the local agent) never uses the intake proxy.
  auto local = fetch(c, get(tls_url("localhost", "/direct")));
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_EQ(local->body, "tls-ok /direct");
  auto plain = fetch(c, get(url("/echo")));
  ASSERT_TRUE(plain) << plain.error().message;
  // NO_PROXY ".test": the client resolves intake.test itself (and fails: it exists only for the
  // test proxy), instead of asking the proxy.
  auto bypassed = fetch(c, get(tls_url("intake.test", "/x")));
  ASSERT_FALSE(bypassed);
  EXPECT_EQ(bypassed.error().code, ErrorCode::kDns);
  EXPECT_NE(bypassed.error().message.find("(resolving)"), std::string::npos)
      << bypassed.error().message;
  EXPECT_TRUE(proxy.heads().empty());
  loop_.call([&] {
    clients_.clear();
    return 0;
  });
}

TEST_F(HttpsClientTest, ProxyRefusingConnectIsAnError) {
  test::BlockingServer refusing([](boost::asio::ip::tcp::socket& s) {
    std::string buf;
    boost::system::error_code ec;
    boost::asio::read_until(s, boost::asio::dynamic_buffer(buf), "\r\n\r\n", ec);
    boost::asio::write(
        s,
        boost::asio::buffer(
            std::string("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")),
        ec);
  });
  HttpClientOptions o;
  o.proxy.host = "127.0.0.1";
  o.proxy.port = refusing.port();
  auto& c = client(o);
  auto r = fetch(c, get(tls_url("intake.test", "/x")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConnect);
  EXPECT_NE(r.error().message.find("407"), std::string::npos) << r.error().message;
}

TEST(NoProxyTest, MatchingTable) {
  struct Case {
    std::vector<std::string> no_proxy;
    const char* host;
    std::uint16_t port;
    bool bypass;
  };
  const std::vector<Case> cases = {
      {{}, "api.datadoghq.com", 443, false},
      {{"*"}, "api.datadoghq.com", 443, true},
      {{"api.datadoghq.com"}, "api.datadoghq.com", 443, true},
      {{"API.DatadogHQ.com"}, "api.datadoghq.com", 443, true},
      {{"datadoghq.com"}, "api.datadoghq.com", 443, true},  // domain suffix
      {{"datadoghq.com"}, "datadoghq.com", 443, true},
      {{"datadoghq.com"}, "notdatadoghq.com", 443, false},  // not a label boundary
      {{".datadoghq.com"}, "api.datadoghq.com", 443, true},
      {{".datadoghq.com"}, "datadoghq.com", 443, true},
      {{".datadoghq.com"}, "xdatadoghq.com", 443, false},
      {{"*.datadoghq.com"}, "api.datadoghq.com", 443, true},
      {{"datadoghq.com:443"}, "api.datadoghq.com", 443, true},
      {{"datadoghq.com:8443"}, "api.datadoghq.com", 443, false},
      {{"datadoghq.eu"}, "api.datadoghq.com", 443, false},
      {{" localhost ", "169.254.169.254"}, "169.254.169.254", 80, true},
      {{"10.0.0.1"}, "10.0.0.12", 80, false},
      {{"[::1]:8080"}, "::1", 8080, true},
      {{"[::1]:8080"}, "::1", 80, false},
      {{"::1"}, "::1", 80, true},
      {{"", "  "}, "host", 80, false},
      {{"datadoghq.com:notaport"}, "api.datadoghq.com", 443, false},
      // bottlecap disables the proxy when NO_PROXY merely contains the name; we do not.
      {{"datadoghq.com.evil"}, "datadoghq.com", 443, false},
  };
  for (const auto& c : cases) {
    std::string list;
    for (const auto& e : c.no_proxy) list += "'" + e + "' ";
    EXPECT_EQ(no_proxy_matches(c.no_proxy, c.host, c.port), c.bypass)
        << "no_proxy=" << list << " host=" << c.host << ":" << c.port;
  }
}

}  // namespace
}  // namespace lc::net
