// The fake-runtime's telemetry instructions, seen from the receiving side: `statsd` sends each
// string as one UDP datagram to 127.0.0.1:$DD_DOGSTATSD_PORT, `flush` posts /lambda/flush to
// 127.0.0.1:$LASTCALL_LOCAL_API_PORT and waits for the answer before the next instruction, and
// `steps` runs instruction objects in order (tools/sandbox/README.md).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/mutex.h"
#include "support/sandbox_harness.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::sandbox::testing {
namespace {

// A UDP socket on 127.0.0.1:0 standing in for lastcall's DogStatsD receiver.
class UdpSink {
 public:
  UdpSink() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot bind a UDP socket";
      return;
    }
    port_ = ntohs(addr.sin_port);
    timeval tv{};
    tv.tv_sec = 10;  // an upper bound on a receive, not a wait
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;

  std::uint16_t port() const { return port_; }
  // The next datagram; nullopt after the receive timeout (or, with dont_wait, when none is queued).
  std::optional<std::string> receive(bool dont_wait = false) const {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, dont_wait ? MSG_DONTWAIT : 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

SandboxSetup runtime_with(std::uint16_t dogstatsd, std::uint16_t local_api) {
  SandboxSetup setup;
  setup.args = {"--env", "DD_DOGSTATSD_PORT=" + std::to_string(dogstatsd), "--env",
                "LASTCALL_LOCAL_API_PORT=" + std::to_string(local_api)};
  return setup;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(FakeRuntimeInstructions, StatsdSendsEachStringAsOneDatagram) {
  UdpSink sink;
  ASSERT_NE(sink.port(), 0);
  SandboxHarness sb(runtime_with(sink.port(), 1));
  ASSERT_TRUE(sb.started());
  const auto r =
      sb.invoke(R"({"statsd":["page.views:1|c","a:1|c\nb:2|g\nc:3:4|h"],"respond":"ok"})", "s-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(sink.receive(), "page.views:1|c");
  EXPECT_EQ(sink.receive(), "a:1|c\nb:2|g\nc:3:4|h");  // several lines stay one datagram
  EXPECT_EQ(sink.receive(/*dont_wait=*/true), std::nullopt);
  EXPECT_TRUE(
      has_line(sb.lines_of("runtime", "stderr"),
               "fake-runtime: statsd 2/2 datagrams -> 127.0.0.1:" + std::to_string(sink.port())))
      << sb.output();
}

TEST(FakeRuntimeInstructions, FlushWaitsForTheAnswerBeforeTheNextStep) {
  UdpSink sink;
  ASSERT_NE(sink.port(), 0);
  // What the local API saw, and what had reached DogStatsD when it saw it.
  struct Seen {
    std::string method, target, body;
    std::vector<std::string> datagrams_before;
  };
  Mutex mu;
  std::vector<Seen> seen;
  BlockingListener api;
  auto port = api.start(
      0, [&](const std::string& method, const std::string& target, const std::string& body) {
        Seen s{method, target, body, {}};
        while (auto d = sink.receive(/*dont_wait=*/true)) s.datagrams_before.push_back(*d);
        MutexLock lock(mu);
        seen.push_back(std::move(s));
        return 200;
      });
  ASSERT_TRUE(port) << port.error().message;
  SandboxHarness sb(runtime_with(sink.port(), *port));
  ASSERT_TRUE(sb.started());
  const auto r = sb.invoke(
      R"({"statsd":["before:1|c"],"flush":true,"steps":[{"statsd":["after:1|c"]}],"respond":"ok"})",
      "f-1");
  EXPECT_EQ(r.status, 200);
  // The function answered after every step, so the second datagram was sent by then.
  EXPECT_EQ(sink.receive(), "after:1|c");
  api.stop();
  MutexLock lock(mu);
  ASSERT_EQ(seen.size(), 1u) << sb.output();
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/lambda/flush");
  EXPECT_EQ(seen[0].body, "{}");
  // Sent before the flush: already there. Sent after it: not yet, the runtime was waiting.
  EXPECT_EQ(seen[0].datagrams_before, std::vector<std::string>{"before:1|c"});
  EXPECT_TRUE(has_line(sb.lines_of("runtime", "stderr"), "fake-runtime: flush -> 200"))
      << sb.output();
}

TEST(FakeRuntimeInstructions, FlushGivesUpAfterItsTimeout) {
  // A listening socket that never accepts: the connection is queued, no answer ever comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  SandboxHarness sb(runtime_with(1, ntohs(addr.sin_port)));
  ASSERT_TRUE(sb.started());
  const auto r = sb.invoke(R"({"flush":{"timeout_ms":200},"respond":"done"})", "t-1");
  ::close(fd);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "done");  // the function went on after the timeout
  bool reported = false;
  for (const auto& line : sb.lines_of("runtime", "stderr")) {
    if (line.rfind("fake-runtime: flush -> ", 0) == 0 && line != "fake-runtime: flush -> 200") {
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << sb.output();
}

}  // namespace
}  // namespace lc::sandbox::testing
