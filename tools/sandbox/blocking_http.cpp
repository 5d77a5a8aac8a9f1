#include "tools/sandbox/blocking_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "core/strings.h"

namespace lc::sandbox {
namespace {

Error net_error(std::string what) {
  return make_error(ErrorCode::kNetwork, fmt::format("{}: {}", what, std::strerror(errno)));
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One HTTP message: the start line, the head as received, headers (and trailers) and body.
struct Message {
  std::string start_line;
  std::string head;
  net::Headers headers;
  std::string body;
  bool complete = true;
};

// One recv appended to buf; false on EOF, error or timeout (errno says which).
bool fill(int fd, std::string& buf) {
  char tmp[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = 0;
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
}

void add_header_line(net::Headers& headers, std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  headers.emplace_back(std::string(trim(line.substr(0, colon))),
                       std::string(trim(line.substr(colon + 1))));
}

// Decodes a chunked body from buf (reading more as needed) into m.body; the trailers join the
// headers. A body cut short leaves m.complete false.
void read_chunked(int fd, std::string& buf, Message& m) {
  auto line_end = [&]() -> size_t {
    size_t eol;
    while ((eol = buf.find("\r\n")) == std::string::npos) {
      if (!fill(fd, buf)) return std::string::npos;
    }
    return eol;
  };
  m.complete = false;
  for (;;) {
    size_t eol = line_end();
    if (eol == std::string::npos) return;
    const size_t size = std::strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
    buf.erase(0, eol + 2);
    if (size == 0) {
      m.complete = true;
      while ((eol = line_end()) != std::string::npos && eol != 0) {  // trailers, then an empty line
        add_header_line(m.headers, std::string_view(buf).substr(0, eol));
        buf.erase(0, eol + 2);
      }
      if (eol == 0) buf.erase(0, 2);
      return;
    }
    while (buf.size() < size + 2) {
      if (!fill(fd, buf)) {
        m.body.append(buf, 0, std::min(size, buf.size()));
        buf.clear();
        return;
      }
    }
    m.body.append(buf, 0, size);
    buf.erase(0, size + 2);
  }
}

// Reads one message from fd; `buf` holds bytes already received and keeps what follows it.
// `request` selects the body rules (a request without a length has none).
Expected<Message> read_message(int fd, std::string& buf, bool request) {
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > 1024 * 1024) return make_error(ErrorCode::kTooLarge, "header too large");
    if (!fill(fd, buf)) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return make_error(ErrorCode::kTimeout, "no complete header in time");
      }
      return make_error(ErrorCode::kNetwork, "connection closed before the headers");
    }
  }
  Message m;
  m.head = buf.substr(0, head_end + 4);
  buf.erase(0, head_end + 4);
  const std::string_view head(m.head.data(), head_end);
  const auto first_eol = head.find("\r\n");
  m.start_line = std::string(head.substr(0, first_eol));
  if (first_eol != std::string_view::npos) {
    for (auto line : split_any(head.substr(first_eol + 2), "\r\n"))
      add_header_line(m.headers, line);
  }
  if (!request && m.start_line.size() >= 12) {  // 1xx, 204 and 304 answers carry no body
    const auto status = parse_int(std::string_view(m.start_line).substr(9, 3));
    if (status && (*status < 200 || *status == 204 || *status == 304)) return m;
  }
  const auto te = net::find_header(m.headers, "Transfer-Encoding");
  if (te && iequals(trim(*te), "chunked")) {
    read_chunked(fd, buf, m);
    return m;
  }
  if (const auto cl = net::find_header(m.headers, "Content-Length")) {
    const auto n = parse_int(trim(*cl));
    if (!n || *n < 0) return make_error(ErrorCode::kProtocol, "bad Content-Length");
    const auto want = static_cast<size_t>(*n);
    while (buf.size() < want && fill(fd, buf)) {
    }
    m.complete = buf.size() >= want;
    m.body = buf.substr(0, want);
    buf.erase(0, std::min(want, buf.size()));
    return m;
  }
  if (request) return m;
  while (fill(fd, buf)) {  // delimited by the close
  }
  m.body = std::move(buf);
  buf.clear();
  return m;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return;
  const auto ms = timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string request_head(const BlockingRequest& req, const std::string& host, std::uint16_t port) {
  std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n",
                                 req.method, req.target, host, port);
  for (const auto& [k, v] : req.headers) head.append(k).append(": ").append(v).append("\r\n");
  if (req.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
    if (!req.trailers.empty()) {
      std::string names;
      for (const auto& [k, v] : req.trailers) names += (names.empty() ? "" : ", ") + k;
      head += "Trailer: " + names + "\r\n";
    }
  } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
    head += fmt::format("Content-Length: {}\r\n", req.body.size());
  }
  return head + "\r\n";
}

}  // namespace

Expected<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, "expected host:port");
  }
  const auto port = parse_int(hp.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) {
    return make_error(ErrorCode::kInvalidArgument, "bad port in " + std::string(hp));
  }
  return std::make_pair(std::string(hp.substr(0, colon)), static_cast<std::uint16_t>(*port));
}

Expected<BlockingConnection> BlockingConnection::open(const std::string& host, std::uint16_t port,
                                                      std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const std::string ip = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return make_error(ErrorCode::kInvalidArgument, "only IPv4 literals are supported: " + host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return net_error("socket");
  BlockingConnection c(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeouts(fd, timeout);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    return net_error("connect");
  }
  return c;
}

BlockingConnection::BlockingConnection(BlockingConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buf_(std::move(other.buf_)) {}

BlockingConnection& BlockingConnection::operator=(BlockingConnection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    buf_ = std::move(other.buf_);
  }
  return *this;
}

BlockingConnection::~BlockingConnection() { close(); }

bool BlockingConnection::send(std::string_view bytes) { return fd_ >= 0 && send_all(fd_, bytes); }

Expected<BlockingResponse> BlockingConnection::read_response() {
  if (fd_ < 0) return make_error(ErrorCode::kNetwork, "not connected");
  auto msg = read_message(fd_, buf_, false);
  if (!msg) return std::move(msg).error();
  // "HTTP/1.1 200 OK"
  const auto sp = msg->start_line.find(' ');
  const auto status = sp == std::string::npos || msg->start_line.rfind("HTTP/", 0) != 0
                          ? std::nullopt
                          : parse_int(std::string_view(msg->start_line).substr(sp + 1, 3));
  if (!status) return make_error(ErrorCode::kProtocol, "bad status line: " + msg->start_line);
  BlockingResponse resp;
  resp.status = static_cast<int>(*status);
  resp.head = std::move(msg->head);
  resp.headers = std::move(msg->headers);
  resp.body = std::move(msg->body);
  resp.complete = msg->complete;
  return resp;
}

std::size_t BlockingConnection::read_some(char* out, std::size_t size) {
  if (buf_.empty() && (fd_ < 0 || !fill(fd_, buf_))) return 0;
  const std::size_t n = std::min(size, buf_.size());
  std::memcpy(out, buf_.data(), n);
  buf_.erase(0, n);
  return n;
}

bool BlockingConnection::wait_closed() {
  if (fd_ < 0) return true;
  for (;;) {
    buf_.clear();
    if (!fill(fd_, buf_)) return errno == 0 || errno == ECONNRESET;
  }
}

void BlockingConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
}

Expected<BlockingResponse> http_call(const std::string& host, std::uint16_t port,
                                     const BlockingRequest& req) {
  auto conn = BlockingConnection::open(host, port, std::chrono::milliseconds(req.timeout_ms));
  if (!conn) return std::move(conn).error();
  bool sent = conn->send(request_head(req, host, port));
  if (sent && req.chunked) {
    for (const auto& c : req.chunks) {
      if (c.empty()) continue;
      sent = conn->send(fmt::format("{:x}\r\n", c.size())) && conn->send(c) && conn->send("\r\n");
      if (!sent) break;
      if (req.chunk_delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(req.chunk_delay_ms));
      }
    }
    std::string tail = "0\r\n";
    for (const auto& [k, v] : req.trailers) tail.append(k).append(": ").append(v).append("\r\n");
    tail += "\r\n";
    sent = sent && conn->send(tail);
  } else if (sent) {
    sent = conn->send(req.body);
  }
  const Error send_error = sent ? Error{} : net_error("send");
  auto resp = conn->read_response();
  // A server may answer (e.g. 413) and close before reading the whole body: its answer counts.
  if (!resp && !sent) return send_error;
  return resp;
}

BlockingListener::~BlockingListener() { stop(); }

Expected<std::uint16_t> BlockingListener::start(std::uint16_t port, Handler handler) {
  handler_ = std::move(handler);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return net_error("socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return net_error("bind");
  }
  if (::listen(listen_fd_, 64) != 0) return net_error("listen");
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  const int fd = listen_fd_;
  thread_ = std::thread([this, fd] { serve(fd); });
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

void BlockingListener::serve(int listen_fd) {
  while (!stopping_.load()) {
    pollfd p{listen_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready <= 0) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // Keep-alive: answer requests on this connection until the peer closes it.
    std::string pending;
    for (;;) {
      auto msg = read_message(fd, pending, true);
      if (!msg) break;
      const auto sp1 = msg->start_line.find(' ');
      const auto sp2 = msg->start_line.find(' ', sp1 + 1);
      const std::string method = msg->start_line.substr(0, sp1);
      const std::string target =
          sp1 == std::string::npos ? "/" : msg->start_line.substr(sp1 + 1, sp2 - sp1 - 1);
      const int status = handler_ ? handler_(method, target, msg->body) : 200;
      const auto conn = net::find_header(msg->headers, "Connection");
      const bool close_after = conn && iequals(trim(*conn), "close");
      const std::string resp = fmt::format("HTTP/1.1 {} X\r\nContent-Length: 0\r\n{}\r\n", status,
                                           close_after ? "Connection: close\r\n" : "");
      if (!send_all(fd, resp) || close_after) break;
    }
    ::close(fd);
  }
}

void BlockingListener::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace lc::sandbox
