#include "tools/sandbox/blocking_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

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

// Reads one HTTP message head and body from fd. `request` selects the start-line shape.
struct Message {
  std::string start_line;
  net::Headers headers;
  std::string body;
};

Expected<Message> read_message(int fd, bool request) {
  std::string buf;
  char tmp[16384];
  size_t head_end = std::string::npos;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(n == 0 ? ErrorCode::kNetwork : ErrorCode::kTimeout,
                        n == 0 ? "connection closed before the headers" : "recv failed");
    }
    buf.append(tmp, static_cast<size_t>(n));
    if (buf.size() > 1024 * 1024) return make_error(ErrorCode::kTooLarge, "header too large");
  }
  Message m;
  std::string_view head(buf.data(), head_end);
  const auto first_eol = head.find("\r\n");
  m.start_line = std::string(head.substr(0, first_eol));
  if (first_eol != std::string_view::npos) {
    for (auto line : split_any(head.substr(first_eol + 2), "\r\n")) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      m.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                             std::string(trim(line.substr(colon + 1))));
    }
  }
  std::string rest = buf.substr(head_end + 4);
  auto read_more = [&]() -> bool {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    rest.append(tmp, static_cast<size_t>(n));
    return true;
  };
  const auto te = net::find_header(m.headers, "Transfer-Encoding");
  const auto cl = net::find_header(m.headers, "Content-Length");
  if (te && iequals(trim(*te), "chunked")) {
    size_t pos = 0;
    for (;;) {
      size_t eol;
      while ((eol = rest.find("\r\n", pos)) == std::string::npos) {
        if (!read_more()) return make_error(ErrorCode::kNetwork, "truncated chunked body");
      }
      const std::string size_text = rest.substr(pos, eol - pos);
      const size_t size = std::strtoul(size_text.c_str(), nullptr, 16);
      pos = eol + 2;
      if (size == 0) {
        // trailers until an empty line
        for (;;) {
          while ((eol = rest.find("\r\n", pos)) == std::string::npos) {
            if (!read_more()) return m;
          }
          if (eol == pos) return m;
          std::string_view line(rest.data() + pos, eol - pos);
          const auto colon = line.find(':');
          if (colon != std::string_view::npos) {
            m.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                   std::string(trim(line.substr(colon + 1))));
          }
          pos = eol + 2;
        }
      }
      while (rest.size() < pos + size + 2) {
        if (!read_more()) return make_error(ErrorCode::kNetwork, "truncated chunk");
      }
      m.body.append(rest, pos, size);
      pos += size + 2;
    }
  }
  if (cl) {
    const auto n = parse_int(trim(*cl));
    if (!n || *n < 0) return make_error(ErrorCode::kProtocol, "bad Content-Length");
    while (rest.size() < static_cast<size_t>(*n)) {
      if (!read_more()) return make_error(ErrorCode::kNetwork, "truncated body");
    }
    m.body = rest.substr(0, static_cast<size_t>(*n));
    return m;
  }
  if (request) return m;  // a request without a length has no body
  while (read_more()) {
  }
  m.body = rest;
  return m;
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

Expected<BlockingResponse> http_call(const std::string& host, std::uint16_t port,
                                     const BlockingRequest& req) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return net_error("socket");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (req.timeout_ms > 0) {
    timeval tv{req.timeout_ms / 1000, (req.timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const std::string ip = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return make_error(ErrorCode::kInvalidArgument, "only IPv4 literals are supported: " + host);
  }
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    return net_error("connect");
  }
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
    head += "\r\n";
    if (!send_all(fd, head)) return net_error("send");
    for (const auto& c : req.chunks) {
      if (c.empty()) continue;
      if (!send_all(fd, fmt::format("{:x}\r\n", c.size())) || !send_all(fd, c) ||
          !send_all(fd, "\r\n")) {
        return net_error("send");
      }
      if (req.chunk_delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(req.chunk_delay_ms));
      }
    }
    std::string tail = "0\r\n";
    for (const auto& [k, v] : req.trailers) tail.append(k).append(": ").append(v).append("\r\n");
    tail += "\r\n";
    if (!send_all(fd, tail)) return net_error("send");
  } else {
    head += fmt::format("Content-Length: {}\r\n\r\n", req.body.size());
    if (!send_all(fd, head) || !send_all(fd, req.body)) return net_error("send");
  }
  auto msg = read_message(fd, false);
  if (!msg) return std::move(msg).error();
  BlockingResponse resp;
  // "HTTP/1.1 200 OK"
  const auto sp = msg->start_line.find(' ');
  const auto status = sp == std::string::npos
                          ? std::nullopt
                          : parse_int(std::string_view(msg->start_line).substr(sp + 1, 3));
  if (!status) return make_error(ErrorCode::kProtocol, "bad status line: " + msg->start_line);
  resp.status = static_cast<int>(*status);
  resp.headers = std::move(msg->headers);
  resp.body = std::move(msg->body);
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
    for (;;) {
      auto msg = read_message(fd, true);
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
