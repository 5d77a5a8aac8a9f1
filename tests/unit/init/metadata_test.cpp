// init/metadata.h: the GCP metadata fetch of serverless-init.md §5.2 on a FakeHttpClient and a
// FakeClock (answers, failures, the overall deadline), and one real exchange with an in-test
// HTTP server on port 0.
#include "init/metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/logger.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_http_client.h"
#include "net/http_server.h"

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Reply = fakes::FakeHttpClient::Reply;

Reply body(int status, std::string text, Millis delay = Millis(0)) {
  Reply r = Reply::with_status(status, delay);
  r.body = std::move(text);
  return r;
}

class MetadataFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_level_ = Logger::instance().level();
    Logger::instance().set_level(LogLevel::kInfo);
    Logger::instance().set_sink([this](std::string_view line) {
      if (line.find("metadata:") != std::string_view::npos) lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    Logger::instance().set_sink(nullptr);
    Logger::instance().set_level(saved_level_);
  }

  // Scripts the three answers: id, region, project.
  void answers(Reply id, Reply region, Reply project) {
    http_.script_for("/instance/id", {std::move(id)});
    http_.script_for("/instance/region", {std::move(region)});
    http_.script_for("/project/project-id", {std::move(project)});
  }

  std::unique_ptr<MetadataFetcher> start(MetadataOptions options = {}) {
    auto f = std::make_unique<MetadataFetcher>(std::move(options), http_, clock_, clock_);
    f->start([this](const GcpMetadata& m) {
      ++calls_;
      got_ = m;
    });
    return f;
  }

  fakes::FakeClock clock_;
  fakes::FakeHttpClient http_{clock_};
  int calls_ = 0;
  std::optional<GcpMetadata> got_;
  std::vector<std::string> lines_;
  LogLevel saved_level_ = LogLevel::kInfo;
};

TEST_F(MetadataFetcherTest, ThreeConcurrentGetsWithTheMetadataHeader) {
  answers(body(200, "00bf4bf02d\n"), body(200, "projects/123/regions/us-central1"),
          body(200, "my-project"));
  const auto f = start();
  ASSERT_EQ(http_.requests().size(), 3u);  // all three sent before any answer
  std::vector<std::string> urls;
  for (const auto& r : http_.requests()) {
    urls.push_back(r.request.url);
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.header("Metadata-Flavor"), "Google");
    EXPECT_EQ(r.deadline.at, clock_.steady_now() + Millis(300));
  }
  EXPECT_THAT(urls,
              ElementsAre("http://metadata.google.internal/computeMetadata/v1/instance/id",
                          "http://metadata.google.internal/computeMetadata/v1/instance/region",
                          "http://metadata.google.internal/computeMetadata/v1/project/project-id"));
  EXPECT_EQ(calls_, 0);
  clock_.advance(Millis(0));
  ASSERT_EQ(calls_, 1);
  EXPECT_EQ(got_->container_id, "00bf4bf02d");
  EXPECT_EQ(got_->location, "us-central1");
  EXPECT_EQ(got_->project_id, "my-project");
  EXPECT_TRUE(f->finished());
  EXPECT_THAT(lines_, IsEmpty());
  EXPECT_EQ(clock_.pending_timers(), 0u);  // the overall deadline is cancelled
}

TEST_F(MetadataFetcherTest, ValuesAreLowerCasedAndTrimmed) {
  answers(body(200, "  ABC-Def \r\n"), body(200, "Projects/1/Regions/EUROPE-West1\n"),
          body(200, "\tMy-Project "));
  const auto f = start();
  clock_.advance(Millis(0));
  ASSERT_TRUE(got_);
  EXPECT_EQ(got_->container_id, "abc-def");
  EXPECT_EQ(got_->location, "europe-west1");
  EXPECT_EQ(got_->project_id, "my-project");
}

TEST_F(MetadataFetcherTest, RegionWithoutSlashIsTakenWhole) {
  EXPECT_EQ(region_from_metadata("us-east4"), "us-east4");
  EXPECT_EQ(region_from_metadata("projects/1/regions/asia-east1"), "asia-east1");
  EXPECT_EQ(region_from_metadata("projects/1/regions/"), "");
}

// Acceptance scenario 19: a 404 with an HTML page is `unknown`, never the HTML (Go used the body).
TEST_F(MetadataFetcherTest, NonOkAnswerIsUnknownNeverTheBody) {
  answers(body(404, "<html><body>Not Found</body></html>"), body(500, "oops"), body(200, "p"));
  const auto f = start();
  clock_.advance(Millis(0));
  ASSERT_EQ(calls_, 1);
  EXPECT_EQ(got_->container_id, "unknown");
  EXPECT_EQ(got_->location, "unknown");
  EXPECT_EQ(got_->project_id, "p");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_THAT(lines_[0], HasSubstr("metadata: container_id unknown (status 404)"));
  EXPECT_THAT(lines_[1], HasSubstr("metadata: location unknown (status 500)"));
  for (const auto& line : lines_) EXPECT_THAT(line, ::testing::Not(HasSubstr("html")));
}

TEST_F(MetadataFetcherTest, OversizedEmptyAndFailedAnswersAreUnknown) {
  answers(body(200, std::string(1025, 'a')), body(200, " \n"),
          Reply::failure(ErrorCode::kConnect, "connection refused"));
  const auto f = start();
  clock_.advance(Millis(0));
  ASSERT_EQ(calls_, 1);
  EXPECT_EQ(got_->container_id, "unknown");
  EXPECT_EQ(got_->location, "unknown");
  EXPECT_EQ(got_->project_id, "unknown");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_THAT(lines_[0], HasSubstr("metadata: container_id unknown (answer over 1024 bytes)"));
  EXPECT_THAT(lines_[1], HasSubstr("metadata: location unknown (empty answer)"));
  EXPECT_THAT(lines_[2], HasSubstr("metadata: project_id unknown ("));
  EXPECT_THAT(lines_[2], HasSubstr("connection refused"));
}

TEST_F(MetadataFetcherTest, ExactlyOneKibibyteIsAccepted) {
  answers(body(200, std::string(1024, 'a')), body(200, "r"), body(200, "p"));
  const auto f = start();
  clock_.advance(Millis(0));
  ASSERT_TRUE(got_);
  EXPECT_EQ(got_->container_id, std::string(1024, 'a'));
}

TEST_F(MetadataFetcherTest, PerRequestTimeoutIsUnknown) {
  answers(Reply::hanging(), body(200, "r"), body(200, "p"));
  const auto f = start();
  clock_.advance(Millis(299));
  EXPECT_EQ(calls_, 0);
  clock_.advance(Millis(1));
  ASSERT_EQ(calls_, 1);
  EXPECT_EQ(got_->container_id, "unknown");
  EXPECT_EQ(got_->location, "r");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr("metadata: container_id unknown (request timeout)"));
}

// A server that answers too slowly for the overall 1 s (here with a per-request timeout longer
// than that): done runs at the overall deadline with `unknown`, and exactly once.
TEST_F(MetadataFetcherTest, OverallDeadlineDecidesWhatIsStillPending) {
  answers(body(200, "late-id", Millis(1500)), body(200, "r", Millis(10)), Reply::hanging());
  MetadataOptions options;
  options.request_timeout = Millis(5000);
  const auto f = start(options);
  clock_.advance(Millis(999));
  EXPECT_EQ(calls_, 0);
  clock_.advance(Millis(1));
  ASSERT_EQ(calls_, 1);
  EXPECT_EQ(got_->container_id, "unknown");
  EXPECT_EQ(got_->location, "r");
  EXPECT_EQ(got_->project_id, "unknown");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_THAT(lines_[0], HasSubstr("metadata: container_id unknown (no answer within 1000 ms)"));
  EXPECT_THAT(lines_[1], HasSubstr("metadata: project_id unknown (no answer within 1000 ms)"));
  clock_.advance(Millis(10000));  // the late answer and the hang's timeout change nothing
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(f->result().container_id, "unknown");
}

TEST_F(MetadataFetcherTest, NoRetries) {
  answers(body(503, ""), body(503, ""), body(503, ""));
  const auto f = start();
  clock_.advance(Millis(5000));
  EXPECT_EQ(http_.requests().size(), 3u);
  EXPECT_EQ(calls_, 1);
}

TEST_F(MetadataFetcherTest, MetadataHostOverride) {
  MetadataOptions options;
  options.host = "127.0.0.1:8089";
  const auto f = start(options);
  ASSERT_EQ(http_.requests().size(), 3u);
  EXPECT_EQ(http_.requests()[0].request.url,
            "http://127.0.0.1:8089/computeMetadata/v1/instance/id");
  EXPECT_EQ(metadata_base_url("http://h:1/"), "http://h:1/computeMetadata/v1");
  EXPECT_EQ(metadata_base_url(""), "http://metadata.google.internal/computeMetadata/v1");
}

TEST_F(MetadataFetcherTest, OptionsFromConfig) {
  InitConfig config;
  config.metadata_timeout_ms = 150;
  config.cloud.gce_metadata_host = "meta:80";
  const MetadataOptions options = MetadataOptions::from(config);
  EXPECT_EQ(options.request_timeout, Millis(150));
  EXPECT_EQ(options.overall_timeout, Millis(1000));
  EXPECT_EQ(options.host, "meta:80");
}

TEST_F(MetadataFetcherTest, DestroyedFetcherIgnoresLateAnswers) {
  answers(body(200, "a", Millis(10)), body(200, "b", Millis(10)), body(200, "c", Millis(10)));
  auto f = start();
  f.reset();
  clock_.advance(Millis(2000));
  EXPECT_EQ(calls_, 0);
}

TEST_F(MetadataFetcherTest, DescribeNamesTheUrlAndTimeouts) {
  const auto f = start();
  EXPECT_THAT(f->describe(), HasSubstr("\"request_timeout_ms\":300"));
  EXPECT_THAT(f->describe(), HasSubstr("computeMetadata/v1"));
}

// --- one real exchange -------------------------------------------------------------------------

TEST(MetadataFetcherReal, FetchesFromAServerOnAnEphemeralPort) {
  boost::asio::io_context io{1};
  auto guard = boost::asio::make_work_guard(io);
  fakes::FakeClock clock;
  clock.run_timers_on(io);
  auto created = net::HttpServer::create(io, clock, clock, net::HttpServerOptions{});
  ASSERT_TRUE(created) << created.error().message;
  auto server = std::move(created).value();
  std::vector<std::string> flavors;
  auto answer = [&flavors](std::string text) {
    return [&flavors, text](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
      flavors.emplace_back(req.header("Metadata-Flavor").value_or("<none>"));
      r->respond(net::HttpResponse::text(200, text));
    };
  };
  server->route("GET", "/computeMetadata/v1/instance/id", answer("C0FFEE"));
  server->route("GET", "/computeMetadata/v1/instance/region",
                answer("projects/9/regions/us-east4"));
  server->route("GET", "/computeMetadata/v1/project/project-id",
                [&flavors](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                  flavors.emplace_back(req.header("Metadata-Flavor").value_or("<none>"));
                  r->respond(net::HttpResponse::text(404, "<html>no</html>"));
                });
  server->start();
  auto http = net::make_http_client(io, clock, clock, net::HttpClientOptions{});
  MetadataOptions options;
  options.host = "127.0.0.1:" + std::to_string(server->port());
  MetadataFetcher fetcher(options, *http, clock, clock);
  std::promise<GcpMetadata> result;
  boost::asio::post(io, [&] { fetcher.start([&](const GcpMetadata& m) { result.set_value(m); }); });
  std::thread loop([&io] { io.run(); });
  auto future = result.get_future();
  const bool ready = future.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  std::promise<void> stopped;
  boost::asio::post(io, [&] {
    server->stop();
    http.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  guard.reset();
  io.stop();
  loop.join();
  ASSERT_TRUE(ready);
  const GcpMetadata m = future.get();
  EXPECT_EQ(m.container_id, "c0ffee");
  EXPECT_EQ(m.location, "us-east4");
  EXPECT_EQ(m.project_id, "unknown");
  EXPECT_THAT(flavors, ElementsAre("Google", "Google", "Google"));
}

}  // namespace
}  // namespace lc::init
