// The real lastcall as an init wrapper on a simulated cloud (serverless-init.md §5, §11 scenarios
// 19–22): the platform's variables set, a fake GCP metadata server (or one that never answers) on
// an ephemeral port through GCE_METADATA_HOST, the tags and enhanced metrics decoded at the intake.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/fakeintake_client.h"
#include "support/wrapper_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A loopback HTTP/1.1 server on an ephemeral port answering GETs by path from a fixed table, one
// request per connection; or, with answer=false, a socket that accepts connections into its
// backlog and never reads them (a black-holed metadata server).
class FakeMetadataServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };
  explicit FakeMetadataServer(std::map<std::string, Answer> answers, bool answer = true)
      : answers_(std::move(answers)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (answer) thread_ = std::thread([this] { serve(); });
  }
  ~FakeMetadataServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      const size_t sp1 = req.find(' ');
      const size_t sp2 = req.find(' ', sp1 + 1);
      const std::string path = sp1 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      Answer a{404, "<html>not found</html>"};
      if (auto it = answers_.find(path); it != answers_.end()) a = it->second;
      const bool flavor = req.find("Metadata-Flavor: Google") != std::string::npos;
      if (!flavor) a = {403, "missing Metadata-Flavor"};
      const std::string resp =
          "HTTP/1.1 " + std::to_string(a.status) +
          " X\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(a.body.size()) +
          "\r\nConnection: close\r\n\r\n" + a.body;
      [[maybe_unused]] const ssize_t w = ::write(c, resp.data(), resp.size());
      ::close(c);
    }
  }

  std::map<std::string, Answer> answers_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// The tags of a metric's first series point, or of its first sketch context (distributions).
std::vector<std::string> first_point_tags(const json::value& answer) {
  auto all = point_tags(answer);
  return all.empty() ? std::vector<std::string>() : std::move(all.front());
}

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
bool has_key(const std::vector<std::string>& v, std::string_view key) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& t) {
    return t.size() > key.size() && t.compare(0, key.size(), key) == 0 && t[key.size()] == ':';
  });
}

struct Rig {
  std::unique_ptr<FakeIntakeProcess> intake;
  std::unique_ptr<WrapperProcess> wrapper;
  static Rig start(WrapperOptions o) {
    Rig r;
    std::string error;
    r.intake = FakeIntakeProcess::start({}, &error);
    EXPECT_NE(r.intake, nullptr) << error;
    if (r.intake) {
      r.wrapper = WrapperProcess::start("http://127.0.0.1:" + std::to_string(r.intake->port()), o);
    }
    return r;
  }
};

std::vector<std::string> log_tags(const json::object& e) {
  std::vector<std::string> out;
  const auto* t = e.if_contains("ddtags");
  if (t == nullptr || !t->is_string()) return out;
  std::string s(t->get_string());
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

TEST(WrapperCloud, CloudRunServiceTagsAndColdStart) {
  // §11.20.
  FakeMetadataServer md(
      {{"/computeMetadata/v1/instance/id", {200, "Container-ABC\n"}},
       {"/computeMetadata/v1/instance/region", {200, "projects/123/regions/us-central1"}},
       {"/computeMetadata/v1/project/project-id", {200, "p"}}});
  auto r =
      Rig::start(wrapped({"sh", "-c", "echo hello-cloud"}, {{"K_SERVICE", "web"},
                                                            {"K_REVISION", "web-00042-abc"},
                                                            {"K_CONFIGURATION", "web"},
                                                            {"GCE_METADATA_HOST", md.host()}}));
  ASSERT_TRUE(r.wrapper);
  // A custom metric sent by a client while lastcall runs (hello-cloud exits at once, so send
  // it before the final flush could start: the child is quick, the UDP port stays bound until
  // lastcall stops receiving).
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0) << r.wrapper->stderr_bytes();
  const auto client = r.intake->client();
  const json::value cold = client.metrics("gcp.run.container.enhanced.cold_start");
  const auto tags = first_point_tags(cold);
  EXPECT_TRUE(has(tags, "service_name:web")) << json::serialize(cold);
  EXPECT_TRUE(has(tags, "revision_name:web-00042-abc")) << json::serialize(cold);
  EXPECT_TRUE(has(tags, "location:us-central1")) << json::serialize(cold);
  EXPECT_TRUE(has(tags, "project_id:p")) << json::serialize(cold);
  EXPECT_TRUE(has(tags, "origin:cloudrun")) << json::serialize(cold);
  EXPECT_FALSE(has_key(tags, "container_id")) << json::serialize(cold);
  const json::value legacy = client.metrics("gcp.run.enhanced.cold_start");
  EXPECT_TRUE(has(first_point_tags(legacy),
                  "gcr.resource_name:projects/p/locations/us-central1/services/web"))
      << json::serialize(legacy);
  EXPECT_TRUE(has(first_point_tags(legacy), "container_id:container-abc"))
      << json::serialize(legacy);
  const json::value shutdown = client.metrics("gcp.run.container.enhanced.shutdown");
  EXPECT_FALSE(first_point_tags(shutdown).empty()) << json::serialize(shutdown);
  const auto logs = wait_for_flat_logs(client, 1);
  ASSERT_EQ(logs.size(), 1u);
  const auto lt = log_tags(logs[0]);
  EXPECT_TRUE(has(lt, "container_id:container-abc")) << json::serialize(logs[0]);
  EXPECT_TRUE(has(lt, "service_name:web")) << json::serialize(logs[0]);
  EXPECT_EQ(logs[0].at("ddsource").as_string(), "cloudrun");
}

TEST(WrapperCloud, CustomMetricsCarryNoContainerId) {
  FakeMetadataServer md({{"/computeMetadata/v1/instance/id", {200, "c1"}},
                         {"/computeMetadata/v1/instance/region", {200, "projects/1/regions/r"}},
                         {"/computeMetadata/v1/project/project-id", {200, "p"}}});
  auto r = Rig::start(wrapped({"sh", "-c", "echo ready; exec sleep 60"},
                              {{"K_SERVICE", "web"}, {"GCE_METADATA_HOST", md.host()}}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(send_udp(r.wrapper->dogstatsd(), "app.hits:1|c|#route:a"));
  r.wrapper->flush();
  const auto client = r.intake->client();
  auto hits = client.wait_for_metric(
      "app.hits", [](const json::value& v) { return v.at("count").to_number<double>() >= 1; }, 10s);
  ASSERT_TRUE(hits);
  const auto tags = first_point_tags(*hits);
  EXPECT_TRUE(has(tags, "route:a")) << json::serialize(*hits);
  EXPECT_TRUE(has(tags, "service_name:web")) << json::serialize(*hits);
  EXPECT_FALSE(has_key(tags, "container_id")) << json::serialize(*hits);
  r.wrapper->signal(SIGTERM);
  EXPECT_TRUE(r.wrapper->wait_exit(20s).has_value());
}

TEST(WrapperCloud, UnreachableOrFailingMetadataIsUnknownNeverTheBody) {
  // §11.19: a black-holed metadata server, and one answering 404 with HTML.
  for (const bool black_hole : {true, false}) {
    SCOPED_TRACE(black_hole ? "black hole" : "404 html");
    FakeMetadataServer md({}, /*answer=*/!black_hole);
    const auto t = std::chrono::steady_clock::now();
    auto r = Rig::start(
        wrapped({"sh", "-c", "echo x"}, {{"K_SERVICE", "web"}, {"GCE_METADATA_HOST", md.host()}}));
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
    // Everything decided by the metadata deadline (1 s) plus slack, then the final flush.
    EXPECT_LT(std::chrono::steady_clock::now() - t, 8s);
    const auto logs = wait_for_flat_logs(r.intake->client(), 1);
    ASSERT_EQ(logs.size(), 1u);
    const auto lt = log_tags(logs[0]);
    EXPECT_TRUE(has(lt, "container_id:unknown")) << json::serialize(logs[0]);
    EXPECT_TRUE(has(lt, "location:unknown")) << json::serialize(logs[0]);
    EXPECT_TRUE(has(lt, "project_id:unknown")) << json::serialize(logs[0]);
    EXPECT_EQ(json::serialize(logs[0]).find("html"), std::string::npos);
  }
}

TEST(WrapperCloud, CloudRunJobTaskMetrics) {
  // §11.21.
  FakeMetadataServer md({{"/computeMetadata/v1/instance/id", {200, "c1"}},
                         {"/computeMetadata/v1/instance/region", {200, "projects/1/regions/r"}},
                         {"/computeMetadata/v1/project/project-id", {200, "p"}}});
  auto r = Rig::start(wrapped(
      {"sh", "-c", "sleep 0.3; exit 1"},
      {{"CLOUD_RUN_JOB", "etl"}, {"CLOUD_RUN_TASK_INDEX", "3"}, {"GCE_METADATA_HOST", md.host()}}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 1);
  const auto client = r.intake->client();
  const json::value started = client.metrics("gcp.run.job.enhanced.task.started");
  EXPECT_FALSE(first_point_tags(started).empty()) << json::serialize(started);
  const json::value ended = client.metrics("gcp.run.job.enhanced.task.ended");
  const auto et = first_point_tags(ended);
  EXPECT_TRUE(has(et, "succeeded:false")) << json::serialize(ended);
  EXPECT_TRUE(has(et, "exit_code:1")) << json::serialize(ended);
  const json::value duration = client.metrics("gcp.run.job.enhanced.task.duration");
  ASSERT_TRUE(duration.is_object() && duration.as_object().contains("sketch"))
      << json::serialize(duration);
  const double ms = duration.at("sketch").at("max").to_number<double>();
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 5000);
}

TEST(WrapperCloud, ContainerAppsWithMissingVariablesWarnsAndRuns) {
  // §11.22.
  auto r = Rig::start(
      wrapped({"sh", "-c", "echo aca; exit 9"},
              {{"CONTAINER_APP_NAME", "app"}, {"CONTAINER_APP_ENV_DNS_SUFFIX", "local"}}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 9);
  const auto logs = wait_for_flat_logs(r.intake->client(), 1);
  ASSERT_EQ(logs.size(), 1u);
  const auto lt = log_tags(logs[0]);
  EXPECT_TRUE(has(lt, "region:unknown")) << json::serialize(logs[0]);
  EXPECT_FALSE(has_key(lt, "resource_id")) << json::serialize(logs[0]);
  EXPECT_NE(r.wrapper->stderr_bytes().find("DD_AZURE_SUBSCRIPTION_ID"), std::string::npos)
      << r.wrapper->stderr_bytes();
}

}  // namespace
}  // namespace lc::test
