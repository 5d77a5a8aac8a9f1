// tests/support/fakeintake_client.h — reads what reached lastcall-fakeintake in one call:
// FakeIntakeClient(port).metrics("page.views"), payloads(endpoint), logs(), reset(), set_fault().
// Also http_request (the tools' blocking client, tools/sandbox/blocking_http.h, bound to 127.0.0.1
// with a time limit) that tests use to send hand-built bodies, and FakeIntakeProcess, which starts
// the real binary on port 0.
// Blocking calls with a time limit; for test code only. Owns nothing beyond one request.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "support/process.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::test {

using sandbox::BlockingRequest;
using sandbox::BlockingResponse;

// One request to 127.0.0.1:port with `Connection: close` through the tools' blocking client, each
// socket operation bounded by `timeout`. Errors: kTimeout, kNetwork (refused, or closed before a
// status line). A body cut short by the server comes back with complete = false.
Expected<BlockingResponse> http_request(
    std::uint16_t port, BlockingRequest request,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Sends one UDP datagram to 127.0.0.1:port; false when the kernel refused it.
bool send_udp(int port, std::string_view datagram);

// POST /lambda/flush to lastcall's local API on 127.0.0.1:port (a forced flush), expecting it
// answered 200 with "{}" (failures are reported through gtest).
void expect_lambda_flush(int port);

// A query-string value: unreserved characters (and those in `keep`) as they are, the rest %XX.
std::string query_escape(std::string_view s, std::string_view keep = {});

// The tags of every point (series) or context (sketch) of a /fakeintake/metrics answer, points
// first; empty for an answer without any.
std::vector<std::vector<std::string>> point_tags(const boost::json::value& metric);

// Every line of `text` that parses as a JSON object (JSON-lines answers: /timeline,
// /api/v1/export).
std::vector<boost::json::object> json_object_lines(std::string_view text);

class FakeIntakeClient {
 public:
  explicit FakeIntakeClient(std::uint16_t port,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : port_(port), timeout_(timeout) {}

  // Parsed answers of the query API (datadog-wire.md §7.1); a null value when the call failed.
  boost::json::value metrics(std::string_view name) const;
  boost::json::value payloads(std::string_view endpoint = "") const;
  boost::json::value logs() const;
  boost::json::value traces() const;
  boost::json::value faults() const;
  bool reset() const;
  // body: {"endpoint":"/api/v2/series","statuses":[503,503],"delay_ms":0,...}
  bool set_fault(std::string_view json_body) const;
  bool clear_faults() const;
  // How many requests to endpoint were rejected with that reason (e.g. "fault: hang").
  std::size_t rejections(std::string_view endpoint, std::string_view reason) const;

  // Polls metrics(name) until pred holds or the time limit passes; the last answer that held.
  std::optional<boost::json::value> wait_for_metric(
      std::string_view name, const std::function<bool(const boost::json::value&)>& pred,
      std::chrono::milliseconds timeout) const;
  // Polls until at least n payloads were accepted on endpoint.
  std::optional<boost::json::value> wait_for_payloads(std::string_view endpoint, std::size_t n,
                                                      std::chrono::milliseconds timeout) const;

  std::uint16_t port() const { return port_; }

 private:
  boost::json::value get(const std::string& target) const;
  bool send(std::string method, std::string target, std::string body) const;

  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
};

// The real lastcall-fakeintake on an ephemeral port; killed with the test.
class FakeIntakeProcess {
 public:
  // extra_args: e.g. {"--fault", "/api/v2/series=503,200"}. nullptr (and *error) on failure.
  // binary: the executable; empty = built_binary("lastcall-fakeintake").
  static std::unique_ptr<FakeIntakeProcess> start(std::vector<std::string> extra_args = {},
                                                  std::string* error = nullptr,
                                                  std::string binary = {});
  std::uint16_t port() const { return port_; }
  FakeIntakeClient client() const { return FakeIntakeClient(port_); }
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

}  // namespace lc::test
