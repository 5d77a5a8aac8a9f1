#include "support/sidecar_process.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lc::test {

SidecarProcess SidecarProcess::start(const std::string& intake_url,
                                     const std::map<std::string, std::string>& env) {
  SidecarProcess s;
  ProcessOptions o;
  o.argv = {built_binary("lastcall")};
  o.env = {{"DD_API_KEY", "sidecar-test-key-0123456789"},
           {"DD_DD_URL", intake_url},
           {"DD_DOGSTATSD_PORT", "0"},
           {"LASTCALL_LOCAL_API_PORT", "0"},
           {"LASTCALL_BIND_HOST", "127.0.0.1"}};
  for (const auto& [k, v] : env) o.env[k] = v;
  std::string error;
  s.process = ChildProcess::start(o, &error);
  if (!s.process) {
    ADD_FAILURE() << "cannot start lastcall: " << error;
    return s;
  }
  auto line = s.process->wait_for_line_containing("listening:", std::chrono::seconds(20));
  if (!line) {
    ADD_FAILURE() << "no listening line from lastcall:\n"
                  << s.process->output(ChildProcess::Stream::kStderr);
    return s;
  }
  s.listening_line = *line;
  const auto ports = parse_listening_line(*line);
  s.dogstatsd = ports.count("dogstatsd") ? ports.at("dogstatsd") : 0;
  s.local_api = ports.count("local_api") ? ports.at("local_api") : 0;
  s.microvm = ports.count("microvm") ? ports.at("microvm") : 0;
  return s;
}

Expected<BlockingResponse> SidecarProcess::flush() const {
  return http_request(static_cast<std::uint16_t>(local_api), {"POST", "/lambda/flush", {}, ""});
}

}  // namespace lc::test
