#include "support/fakeintake_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cctype>
#include <thread>

#include "core/strings.h"

namespace lc::test {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

Expected<BlockingResponse> http_request(std::uint16_t port, BlockingRequest request,
                                        std::chrono::milliseconds timeout) {
  request.timeout_ms = static_cast<int>(timeout.count());
  return sandbox::http_call("127.0.0.1", port, request);
}

json::value FakeIntakeClient::get(const std::string& target) const {
  BlockingRequest r;
  r.target = target;
  auto resp = http_request(port_, std::move(r), timeout_);
  if (!resp || resp->status != 200) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(resp->body, ec);
  if (ec) return nullptr;
  return v;
}

bool FakeIntakeClient::send(std::string method, std::string target, std::string body) const {
  BlockingRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  auto resp = http_request(port_, std::move(r), timeout_);
  return resp && resp->status == 200;
}

std::string query_escape(std::string_view s, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json::value FakeIntakeClient::metrics(std::string_view name) const {
  return get("/fakeintake/metrics?name=" + query_escape(name, "/"));
}
json::value FakeIntakeClient::payloads(std::string_view endpoint) const {
  return get("/fakeintake/payloads" +
             (endpoint.empty() ? std::string() : "?endpoint=" + query_escape(endpoint, "/")));
}
json::value FakeIntakeClient::logs() const { return get("/fakeintake/logs"); }
json::value FakeIntakeClient::traces() const { return get("/fakeintake/traces"); }
json::value FakeIntakeClient::faults() const { return get("/fakeintake/faults"); }
bool FakeIntakeClient::reset() const { return send("DELETE", "/fakeintake/payloads", ""); }
bool FakeIntakeClient::set_fault(std::string_view json_body) const {
  return send("POST", "/fakeintake/faults", std::string(json_body));
}
bool FakeIntakeClient::clear_faults() const { return send("DELETE", "/fakeintake/faults", ""); }

std::size_t FakeIntakeClient::rejections(std::string_view endpoint, std::string_view reason) const {
  const json::value answer = payloads(endpoint);
  const auto* o = answer.if_object();
  const auto* rej = o ? o->if_contains("rejections") : nullptr;
  if (rej == nullptr || !rej->is_array()) return 0;
  std::size_t n = 0;
  for (const auto& r : rej->as_array()) {
    if (r.at("reason").as_string() == reason) ++n;
  }
  return n;
}

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

void expect_lambda_flush(int port) {
  auto r = http_request(static_cast<std::uint16_t>(port), {"POST", "/lambda/flush", {}, ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
}

std::vector<std::vector<std::string>> point_tags(const boost::json::value& metric) {
  std::vector<std::vector<std::string>> out;
  const auto* o = metric.if_object();
  if (o == nullptr) return out;
  for (const char* key : {"points", "contexts"}) {
    const auto* arr = o->if_contains(key);
    if (arr == nullptr || !arr->is_array()) continue;
    for (const auto& p : arr->get_array()) {
      std::vector<std::string> tags;
      const auto* t = p.is_object() ? p.get_object().if_contains("tags") : nullptr;
      if (t != nullptr && t->is_array()) {
        for (const auto& tag : t->get_array()) {
          if (tag.is_string()) tags.emplace_back(tag.get_string());
        }
      }
      out.push_back(std::move(tags));
    }
  }
  return out;
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
