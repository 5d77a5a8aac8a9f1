// End to end with a real client: npm hot-shots sends every DogStatsD type to the real lastcall
// (sidecar mode), which forwards to lastcall-fakeintake; the decoded output must be exact.
#include <gtest/gtest.h>

#include "test_paths.h"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <filesystem>

#include "support/ci.h"
#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"
#include "support/wrapper_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string source_dir() { return LC_TEST_SOURCE_DIR; }

TEST(HotShotsE2E, EveryTypeDecodesExactly) {
  const std::string node_dir = source_dir() + "/tests/e2e/node";
  if (!std::filesystem::exists(node_dir + "/node_modules/hot-shots")) {
    LC_SKIP_UNLESS_CI() << "npm package hot-shots is not installed (scripts/setup installs it)";
  }
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto agent_process = SidecarProcess::start("http://127.0.0.1:" + std::to_string(intake->port()),
                                             {{"DD_FLUSH_INTERVAL", "3600"}});
  ASSERT_TRUE(agent_process.started());
  auto& agent = agent_process.process;
  const std::map<std::string, int> ports = {{"dogstatsd", agent_process.dogstatsd},
                                            {"local_api", agent_process.local_api}};

  // hotshots_send.js aligns its burst to the 10 s window once Node has started (§16a).
  ProcessOptions n;
  n.argv = {"/usr/bin/env", "node", node_dir + "/hotshots_send.js",
            std::to_string(ports.at("dogstatsd"))};
  n.inherit_env = true;
  auto sender = ChildProcess::start(n, &error);
  ASSERT_NE(sender, nullptr) << error;
  ASSERT_EQ(sender->wait_exit(30s), 0) << sender->output(ChildProcess::Stream::kStderr);

  auto client = intake->client();
  const auto flush = [&] {
    [[maybe_unused]] auto flushed = http_request(static_cast<std::uint16_t>(ports.at("local_api")),
                                                 {"POST", "/lambda/flush", {}, ""});
  };
  std::optional<json::value> counter;
  for (int i = 0; i < 50 && !counter; ++i) {
    flush();
    counter = client.wait_for_metric(
        "hs.counter",
        [](const json::value& v) { return v.at("count").to_number<double>() >= 3 - 1e-9; }, 200ms);
  }
  ASSERT_TRUE(counter) << agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NEAR(counter->at("count").to_number<double>(), 3.0, 1e-9);
  const auto& cp = counter->at("points").as_array().at(0);
  EXPECT_EQ(cp.at("type").as_string(), "rate");
  const auto& tags = cp.at("tags").as_array();
  EXPECT_EQ(tags.size(), 2u);
  EXPECT_NE(std::find(tags.begin(), tags.end(), json::value("env:e2e")), tags.end());
  EXPECT_NE(std::find(tags.begin(), tags.end(), json::value("route:/a")), tags.end());

  auto value_of = [&](const char* name) {
    auto m = client.wait_for_metric(
        name, [](const json::value& v) { return !v.at("points").as_array().empty(); }, 5s);
    EXPECT_TRUE(m) << name;
    return m ? m->at("points").as_array().back().at("value").to_number<double>() : -1.0;
  };
  EXPECT_EQ(value_of("hs.gauge"), 7.0);
  EXPECT_EQ(value_of("hs.set"), 2.0);
  EXPECT_EQ(value_of("hs.histo.max"), 30.0);
  EXPECT_EQ(value_of("hs.histo.avg"), 20.0);
  EXPECT_EQ(value_of("hs.histo.median"), 10.0);
  EXPECT_NEAR(value_of("hs.histo.count"), 0.2, 1e-12);
  EXPECT_EQ(value_of("hs.timer.max"), 120.0);
  auto dist = client.wait_for_metric(
      "hs.dist",
      [](const json::value& v) { return v.as_object().if_contains("sketch") != nullptr; }, 5s);
  ASSERT_TRUE(dist);
  EXPECT_EQ(dist->at("sketch").at("cnt").to_number<int>(), 2);
  EXPECT_EQ(dist->at("sketch").at("sum").to_number<double>(), 4.0);
  EXPECT_EQ(dist->at("sketch").at("min").to_number<double>(), 1.0);
  EXPECT_EQ(dist->at("sketch").at("max").to_number<double>(), 3.0);
}

TEST(HotShotsE2E, FromTheWrappedChild) {
  // The init wrapper (issue: init-wrapper mode): hot-shots runs as lastcall's child and finds the
  // ephemeral DogStatsD port in DD_DOGSTATSD_PORT, which lastcall sets for it; the child exits,
  // and the final flush (open bucket included) carries everything it sent.
  const std::string node_dir = source_dir() + "/tests/e2e/node";
  if (!std::filesystem::exists(node_dir + "/node_modules/hot-shots")) {
    LC_SKIP_UNLESS_CI() << "npm package hot-shots is not installed (scripts/setup installs it)";
  }
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  WrapperOptions o;
  o.command = {"/bin/sh", "-c", "exec node \"$0\" \"$DD_DOGSTATSD_PORT\"",
               node_dir + "/hotshots_send.js"};
  o.env = {{"PATH", std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin:/bin"}};
  auto wrapper =
      WrapperProcess::start("http://127.0.0.1:" + std::to_string(intake->port()), std::move(o));
  ASSERT_TRUE(wrapper && wrapper->started());
  ASSERT_EQ(wrapper->wait_exit(60s), 0) << wrapper->stderr_bytes();
  auto client = intake->client();
  const json::value counter = client.metrics("hs.counter");
  EXPECT_NEAR(counter.at("count").to_number<double>(), 3.0, 1e-9) << wrapper->stderr_bytes();
  const json::value dist = client.metrics("hs.dist");
  ASSERT_TRUE(dist.as_object().contains("sketch")) << json::serialize(dist);
  EXPECT_EQ(dist.at("sketch").at("cnt").to_number<int>(), 2);
}

}  // namespace
}  // namespace lc::test
