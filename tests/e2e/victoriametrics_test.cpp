// End to end with a real metrics database: lastcall (sidecar, series v1 + deflate, the
// VictoriaMetrics profile of datadog-wire.md §4.3) sends to VictoriaMetrics' Datadog endpoint, and
// VictoriaMetrics' own export API returns the values.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "support/ci.h"
#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// VictoriaMetrics does not report a port bound with :0, so take a free one from the kernel.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Every exported sample of one metric as (value, labels) from /api/v1/export's JSON lines.
std::vector<json::object> export_series(int port, const std::string& name) {
  [[maybe_unused]] auto flushed =
      http_request(static_cast<std::uint16_t>(port), {"GET", "/internal/force_flush", {}, ""});
  auto r = http_request(
      static_cast<std::uint16_t>(port),
      {"GET", "/api/v1/export?match%5B%5D=%7B__name__%3D%22" + name + "%22%7D", {}, ""});
  if (!r || r->status != 200) return {};
  return json_object_lines(r->body);
}

TEST(VictoriaMetricsE2E, V1SeriesAreStoredAndQueryable) {
  const std::string vm_bin = "/usr/bin/victoria-metrics";
  if (!std::filesystem::exists(vm_bin)) {
    LC_SKIP_UNLESS_CI() << "victoria-metrics is not installed (scripts/setup installs it)";
  }
  const auto data_dir =
      std::filesystem::temp_directory_path() / ("lastcall-vm-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data_dir);
  const int vm_port = free_port();
  ProcessOptions vo;
  vo.argv = {vm_bin, "-httpListenAddr=127.0.0.1:" + std::to_string(vm_port),
             "-storageDataPath=" + data_dir.string(), "-retentionPeriod=1"};
  std::string error;
  auto vm = ChildProcess::start(vo, &error);
  ASSERT_NE(vm, nullptr) << error;
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    auto r = http_request(static_cast<std::uint16_t>(vm_port), {"GET", "/health", {}, ""}, 200ms);
    up = r && r->status == 200;
    if (!up) vm->wait_exit(100ms);  // returns early only if VictoriaMetrics died
  }
  ASSERT_TRUE(up) << vm->output(ChildProcess::Stream::kStderr);

  auto agent_process =
      SidecarProcess::start("http://127.0.0.1:" + std::to_string(vm_port) + "/datadog",
                            {{"DD_API_KEY", "vm-does-not-check-keys"},
                             {"DD_USE_V2_API_SERIES", "false"},
                             {"DD_FLUSH_INTERVAL", "3600"},
                             {"DD_TAGS", "team:obs"}});
  ASSERT_TRUE(agent_process.started());
  auto& agent = agent_process.process;
  const std::map<std::string, int> ports = {{"dogstatsd", agent_process.dogstatsd},
                                            {"local_api", agent_process.local_api}};
  const std::int64_t ts = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          60;
  const std::string t = "|T" + std::to_string(ts);
  ASSERT_TRUE(send_udp(ports.at("dogstatsd"),
                       "e2e.vm.requests:5|c|#url:http://x:80/a" + t + "\ne2e.vm.temp:21.5|g" + t));

  std::vector<json::object> req, temp;
  for (int i = 0; i < 60 && (req.empty() || temp.empty()); ++i) {
    [[maybe_unused]] auto flushed = http_request(static_cast<std::uint16_t>(ports.at("local_api")),
                                                 {"POST", "/lambda/flush", {}, ""});
    agent->wait_exit(100ms);  // bounded wait between polls; returns early only if lastcall died
    req = export_series(vm_port, "e2e.vm.requests");
    temp = export_series(vm_port, "e2e.vm.temp");
  }
  ASSERT_FALSE(req.empty()) << agent->output(ChildProcess::Stream::kStderr);
  ASSERT_FALSE(temp.empty());
  // Counts are stored as sent: the per-second rate of the 10 s bucket (5 / 10).
  EXPECT_NEAR(req[0].at("values").as_array().at(0).to_number<double>(), 0.5, 1e-12);
  EXPECT_EQ(req[0].at("metric").at("url").as_string(), "http://x:80/a");
  EXPECT_EQ(req[0].at("metric").at("team").as_string(), "obs");
  EXPECT_EQ(req[0].at("timestamps").as_array().at(0).to_number<std::int64_t>(),
            (ts - ts % 10) * 1000);
  EXPECT_EQ(temp[0].at("values").as_array().at(0).to_number<double>(), 21.5);
  vm.reset();
  std::filesystem::remove_all(data_dir);
}

}  // namespace
}  // namespace lc::test
