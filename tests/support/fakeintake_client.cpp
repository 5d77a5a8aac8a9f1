#include "support/fakeintake_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/strings.h"

namespace lc::test {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Parses what the server sent before closing. complete = the whole announced body arrived.
Expected<RawResponse> parse_response(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return make_error(ErrorCode::kNetwork, "connection closed before the response headers");
  }
  RawResponse r;
  const std::string_view head(raw.data(), head_end);
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    return make_error(ErrorCode::kProtocol, "bad status line");
  }
  const auto code = parse_int(status_line.substr(9, 3));
  if (!code) return make_error(ErrorCode::kProtocol, "bad status code");
  r.status = static_cast<int>(*code);
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    const std::string_view line = head.substr(pos, next - pos);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      r.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                             std::string(trim(line.substr(colon + 1))));
    }
    pos = next + 2;
  }
  std::string body = raw.substr(head_end + 4);
  if (auto te = r.header("Transfer-Encoding"); te && iequals(*te, "chunked")) {
    std::string decoded;
    std::size_t p = 0;
    r.complete = false;
    while (p < body.size()) {
      const auto eol = body.find("\r\n", p);
      if (eol == std::string::npos) break;
      const std::size_t size = std::strtoul(body.substr(p, eol - p).c_str(), nullptr, 16);
      if (size == 0) {
        r.complete = true;
        break;
      }
      if (eol + 2 + size > body.size()) {
        decoded += body.substr(eol + 2);
        break;
      }
      decoded += body.substr(eol + 2, size);
      p = eol + 2 + size + 2;
    }
    r.body = std::move(decoded);
    return r;
  }
  if (auto cl = r.header("Content-Length")) {
    const auto n = parse_int(*cl);
    r.complete = n && static_cast<std::size_t>(*n) == body.size();
  } else {
    r.complete = true;  // delimited by close
  }
  r.body = std::move(body);
  return r;
}

}  // namespace

std::optional<std::string> RawResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

Expected<RawResponse> http_request(std::uint16_t port, const RawRequest& request,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_error(ErrorCode::kIo, std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return make_error(ErrorCode::kNetwork, std::string("connect: ") + std::strerror(errno));
  }
  std::string out = request.method + " " + request.target +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  for (const auto& [k, v] : request.headers) out += k + ": " + v + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += request.body;
  std::size_t sent = 0;
  while (sent < out.size()) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      return make_error(ErrorCode::kTimeout, "timed out sending the request");
    }
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;  // the server may answer (413) and close before reading the whole body
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready <= 0) return make_error(ErrorCode::kTimeout, "timed out waiting for the response");
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET && !raw.empty()) break;
      if (errno == ECONNRESET) return make_error(ErrorCode::kNetwork, "connection reset");
      return make_error(ErrorCode::kNetwork, std::strerror(errno));
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  return parse_response(raw);
}

json::value FakeIntakeClient::get(const std::string& target) const {
  RawRequest r;
  r.target = target;
  auto resp = http_request(port_, r, timeout_);
  if (!resp || resp->status != 200) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(resp->body, ec);
  if (ec) return nullptr;
  return v;
}

bool FakeIntakeClient::send(std::string method, std::string target, std::string body) const {
  RawRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  auto resp = http_request(port_, r, timeout_);
  return resp && resp->status == 200;
}

namespace {
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
}  // namespace

json::value FakeIntakeClient::metrics(std::string_view name) const {
  return get("/fakeintake/metrics?name=" + query_escape(name));
}
json::value FakeIntakeClient::payloads(std::string_view endpoint) const {
  return get("/fakeintake/payloads" +
             (endpoint.empty() ? std::string() : "?endpoint=" + query_escape(endpoint)));
}
json::value FakeIntakeClient::logs() const { return get("/fakeintake/logs"); }
json::value FakeIntakeClient::traces() const { return get("/fakeintake/traces"); }
json::value FakeIntakeClient::faults() const { return get("/fakeintake/faults"); }
bool FakeIntakeClient::reset() const { return send("DELETE", "/fakeintake/payloads", ""); }
bool FakeIntakeClient::set_fault(std::string_view json_body) const {
  return send("POST", "/fakeintake/faults", std::string(json_body));
}
bool FakeIntakeClient::clear_faults() const { return send("DELETE", "/fakeintake/faults", ""); }

std::optional<json::value> FakeIntakeClient::wait_for_metric(
    std::string_view name, const std::function<bool(const json::value&)>& pred,
    std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    json::value v = metrics(name);
    if (!v.is_null() && pred(v)) return v;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, not a wait
  }
}

std::optional<json::value> FakeIntakeClient::wait_for_payloads(
    std::string_view endpoint, std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    json::value v = payloads(endpoint);
    if (const auto* o = v.if_object()) {
      const auto* p = o->if_contains("payloads");
      if (p != nullptr && p->is_array() && p->get_array().size() >= n) return v;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, not a wait
  }
}

std::unique_ptr<FakeIntakeProcess> FakeIntakeProcess::start(std::vector<std::string> extra_args,
                                                            std::string* error,
                                                            std::string binary) {
  ProcessOptions options;
  options.argv.push_back(binary.empty() ? built_binary("lastcall-fakeintake") : std::move(binary));
  options.argv.push_back("--port");
  options.argv.push_back("0");
  for (auto& a : extra_args) options.argv.push_back(std::move(a));
  std::unique_ptr<FakeIntakeProcess> p(new FakeIntakeProcess());
  p->process_ = ChildProcess::start(std::move(options), error);
  if (!p->process_) return nullptr;
  const auto line = p->process_->wait_for_line(
      [](std::string_view l) { return l.rfind("{\"port\":", 0) == 0; }, std::chrono::seconds(20));
  if (!line) {
    if (error != nullptr) *error = "lastcall-fakeintake printed no {\"port\":N} line";
    return nullptr;
  }
  boost::system::error_code ec;
  json::value v = json::parse(*line, ec);
  const auto* port = ec ? nullptr : v.as_object().if_contains("port");
  if (port == nullptr || !port->is_int64()) {
    if (error != nullptr) *error = "bad port line: " + *line;
    return nullptr;
  }
  p->port_ = static_cast<std::uint16_t>(port->as_int64());
  return p;
}

bool send_udp(int port, std::string_view datagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const ssize_t n = ::sendto(fd, datagram.data(), datagram.size(), 0,
                             reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  return n == static_cast<ssize_t>(datagram.size());
}

std::vector<boost::json::object> json_object_lines(std::string_view text) {
  std::vector<boost::json::object> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (!ec && v.is_object()) out.push_back(std::move(v.as_object()));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace lc::test
