// tests/support/sandbox_harness.h — runs the real lastcall-sandbox binary for a test:
// a temporary extensions dir holding the binary under the names a test wants (it then acts as the
// scripted fake-extension), the scripted fake-runtime, the control interface, the timeline, and
// the telemetry batches each fake extension received (decoded from its record file).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "tools/sandbox/blocking_http.h"

namespace lc::sandbox::testing {

struct SandboxSetup {
  // extension file name → its script (LASTCALL_FAKE_EXTENSIONS entry); record_file is added.
  std::map<std::string, boost::json::object> extensions;
  std::vector<std::string> args;          // extra sandbox options (before --runtime)
  std::vector<std::string> runtime_args;  // after "fake-runtime"
  // Another runtime command instead of `lastcall-sandbox fake-runtime` (runtime_args follow it).
  std::vector<std::string> runtime = {};
  // extension file name → another executable installed under that name (e.g. the real lastcall).
  std::map<std::string, std::string> binaries = {};
};

class SandboxHarness {
 public:
  explicit SandboxHarness(SandboxSetup setup);
  ~SandboxHarness();

  bool started() const { return control_port_ != 0; }
  std::uint16_t api_port() const { return api_port_; }
  std::uint16_t control_port() const { return control_port_; }
  std::string output() const;
  // Every line the sandbox's child `name` (an extension's file name, or the runtime) wrote to one
  // stream, as the timeline recorded them ("log" entries), in order.
  std::vector<std::string> lines_of(const std::string& name, std::string_view stream = "stdout");

  BlockingResponse control(const std::string& method, const std::string& target,
                           const std::string& body = "", net::Headers headers = {});
  BlockingResponse api(const std::string& method, const std::string& target,
                       const std::string& body = "", net::Headers headers = {});
  // GET /wait; true when matched (false on 408).
  bool wait(const std::string& event, int count = 1,
            const std::map<std::string, std::string>& filters = {}, int timeout_ms = 20000);
  BlockingResponse invoke(const std::string& payload, const std::string& request_id = "",
                          net::Headers headers = {});
  std::vector<boost::json::object> timeline();
  // Every telemetry event one fake extension received, in arrival order (duplicates included).
  std::vector<boost::json::object> received(const std::string& extension) const;
  std::filesystem::path dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<lc::test::ChildProcess> proc_;
  std::uint16_t api_port_ = 0;
  std::uint16_t control_port_ = 0;
};

// Index of the first entry at or after `from` with this event whose fields equal `fields`
// (string form); -1 when none.
int find_entry(const std::vector<boost::json::object>& tl, std::string_view event,
               const std::map<std::string, std::string>& fields = {}, int from = 0);
// Every position found (not -1) and strictly increasing: the events happened in this order. An
// order check written as EXPECT_LT(a, b) would pass when `a` is missing.
::testing::AssertionResult in_order(std::initializer_list<int> positions);
int count_entries(const std::vector<boost::json::object>& tl, std::string_view event,
                  const std::map<std::string, std::string>& fields = {});
// The events of one type (optionally for one requestId) among received events.
std::vector<boost::json::object> of_type(const std::vector<boost::json::object>& events,
                                         std::string_view type, std::string_view request_id = "");
std::string str(const boost::json::value& v);

}  // namespace lc::sandbox::testing
