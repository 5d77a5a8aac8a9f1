// The real lastcall in sidecar mode with the real lastcall-fakeintake, about the tags added to what
// it sends (lambda-agent.md §3.5): DD_ENV wins over an env: item of DD_TAGS (which is dropped, with
// a debug line), the other DD_TAGS items stay, on series and sketches alike; --check-config says
// which DD_TAGS items are used and why.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::vector<std::string> tags_of(const json::value& item) {
  std::vector<std::string> out;
  const auto* o = item.if_object();
  const auto* tags = o ? o->if_contains("tags") : nullptr;
  if (tags == nullptr || !tags->is_array()) return out;
  for (const auto& t : tags->as_array()) {
    if (t.is_string()) out.emplace_back(t.as_string());
  }
  return out;
}

bool non_empty(const json::value& answer, std::string_view member) {
  const auto* o = answer.if_object();
  const auto* a = o ? o->if_contains(member) : nullptr;
  return a != nullptr && a->is_array() && !a->as_array().empty();
}

bool contains(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

TEST(SidecarTags, DdEnvWinsOverTheEnvItemOfDdTags) {
  std::string error;
  auto intake = FakeIntakeProcess::start({}, &error);
  ASSERT_NE(intake, nullptr) << error;
  auto agent = SidecarProcess::start(
      "http://127.0.0.1:" + std::to_string(intake->port()),
      {{"DD_LOG_LEVEL", "debug"}, {"DD_ENV", "prod"}, {"DD_TAGS", "env:dev,team:a"}});
  ASSERT_TRUE(agent.started());
  // Stamped into a closed bucket so the burst never splits across windows (conventions.md §16a).
  const std::string t = "|T" + std::to_string(wall_s() - 30);
  ASSERT_TRUE(send_udp(agent.dogstatsd, "tags.count:1|c|#z:1" + t + "\ntags.dist:2|d|#z:1" + t));

  const auto client = intake->client();
  std::optional<json::value> series;
  for (int attempt = 0; attempt < 50 && !series; ++attempt) {
    ASSERT_TRUE(agent.flush());
    series = client.wait_for_metric(
        "tags.count", [](const json::value& v) { return non_empty(v, "points"); }, 200ms);
  }
  const std::string log = agent.process->output(ChildProcess::Stream::kStderr);
  ASSERT_TRUE(series) << log;
  const auto sketch = client.wait_for_metric(
      "tags.dist", [](const json::value& v) { return non_empty(v, "sketches"); }, 5s);
  ASSERT_TRUE(sketch) << log;

  std::vector<std::vector<std::string>> sent;
  for (const auto& p : series->at("points").as_array()) sent.push_back(tags_of(p));
  for (const auto& s : sketch->at("sketches").as_array()) sent.push_back(tags_of(s));
  ASSERT_EQ(sent.size(), 2u) << json::serialize(*series) << json::serialize(*sketch);
  for (const auto& tags : sent) {
    SCOPED_TRACE(::testing::PrintToString(tags));
    EXPECT_TRUE(contains(tags, "z:1"));
    EXPECT_TRUE(contains(tags, "env:prod"));
    EXPECT_TRUE(contains(tags, "team:a"));
    EXPECT_FALSE(contains(tags, "env:dev"));
    EXPECT_EQ(std::count_if(tags.begin(), tags.end(),
                            [](const std::string& tag) { return tag.rfind("env:", 0) == 0; }),
              1);
  }
  // The dropped item is named once at debug level.
  EXPECT_NE(log.find("user tag env:dev (DD_TAGS/DD_EXTRA_TAGS) dropped: lastcall sets env:prod"),
            std::string::npos)
      << log;
}

TEST(SidecarTags, CheckConfigShowsTheDdTagsItemsUsed) {
  ProcessOptions o;
  o.argv = {built_binary("lastcall"), "--check-config"};
  o.env = {{"DD_API_KEY", "sidecar-test-key-0123456789"},
           {"DD_ENV", "prod"},
           {"DD_TAGS", "env:dev,team:a"}};
  std::string error;
  auto p = ChildProcess::start(o, &error);
  ASSERT_NE(p, nullptr) << error;
  const auto status = p->wait_exit(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  const std::string out = p->output(ChildProcess::Stream::kStdout);
  std::string line;
  for (std::size_t start = 0; start < out.size();) {
    const std::size_t end = std::min(out.find('\n', start), out.size());
    if (out.compare(start, 8, "DD_TAGS ") == 0) line = out.substr(start, end - start);
    start = end + 1;
  }
  ASSERT_FALSE(line.empty()) << out;
  EXPECT_NE(line.find("= team:a "), std::string::npos) << line;
  EXPECT_NE(line.find("DD_ENV is set: env:dev dropped, lambda-agent.md §3.5"), std::string::npos)
      << line;
}

}  // namespace
}  // namespace lc::test
