// Issue 16, "done when", extension mode (run alone: ctest -L extension_metrics): the real lastcall
// as the Lambda extension in lastcall-sandbox, a fake-runtime function sending DogStatsD and
// calling /lambda/flush, and lastcall-fakeintake decoding what arrived.
// - After the function's flush, the intake holds the exact values (counts as rates of sum / 10,
//   histogram aggregates, set sizes, distribution sketches; datadog-wire.md §2.3) within 2 s while
//   the invocation is still open (lambda-agent.md §7.1).
// - SHUTDOWN: what the function sent after its flush arrives, nothing is sent twice, and lastcall
//   exits 0 before deadlineMs (lambda-agent.md §6.5).
// - DD_ENV=prod with DD_TAGS=env:dev,team:a: points carry env:prod and team:a, never env:dev
//   (lambda-agent.md §3.5).
// Samples are stamped `|T` 30 s back so a burst never splits across 10 s windows (conventions.md
// §16a); the test polls the intake with a time limit and never sleeps.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sandbox::testing::find_entry;
using sandbox::testing::str;

// A function timeout well above the 4 s the function sleeps after its flush.
LambdaRigOptions metrics_rig(std::map<std::string, std::string> env = {}) {
  LambdaRigOptions o;
  o.env = std::move(env);
  o.sandbox_args = {"--function-timeout-ms", "20000"};
  return o;
}

// One datagram: the lines joined with '\n', each stamped |T<ts>.
std::string datagram(std::initializer_list<std::string_view> lines, std::int64_t ts) {
  std::string out;
  for (const auto line : lines) {
    if (!out.empty()) out += '\n';
    out += std::string(line) + "|T" + std::to_string(ts);
  }
  return out;
}

// What a /fakeintake/metrics answer must show; `what` names it in failure messages.
struct Expectation {
  std::string name;
  std::string what;
  std::function<bool(const json::value&)> holds;
};

const json::array* points_of(const json::value& m) {
  const auto* o = m.if_object();
  const auto* p = o != nullptr ? o->if_contains("points") : nullptr;
  return p != nullptr && p->is_array() ? &p->get_array() : nullptr;
}

bool near(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

// A count: RATE points of interval 10 whose Σ value × interval is `count`, no duplicates.
Expectation count_of(std::string name, double count) {
  return {name, "rate points summing to count " + std::to_string(count),
          [count](const json::value& m) {
            const auto* pts = points_of(m);
            if (pts == nullptr || pts->empty()) return false;
            for (const auto& p : *pts) {
              if (json_number(p, "interval") != 10 || str(p.at("type")) != "rate") return false;
            }
            return near(json_number(m, "count"), count) && json_number(m, "duplicates") == 0;
          }};
}

// One gauge point with this value (histogram aggregates, set sizes).
Expectation gauge_of(std::string name, double value) {
  return {name, "one gauge point " + std::to_string(value), [value](const json::value& m) {
            const auto* pts = points_of(m);
            return pts != nullptr && pts->size() == 1 && str(pts->at(0).at("type")) == "gauge" &&
                   near(json_number(pts->at(0), "value"), value);
          }};
}

// One RATE point with this value (the `.count` of a histogram: Σw / 10).
Expectation rate_point_of(std::string name, double value) {
  return {name, "one rate point " + std::to_string(value), [value](const json::value& m) {
            const auto* pts = points_of(m);
            return pts != nullptr && pts->size() == 1 && str(pts->at(0).at("type")) == "rate" &&
                   near(json_number(pts->at(0), "value"), value);
          }};
}

// The distribution merged over all its sketches, none of them sent twice.
Expectation sketch_of(std::string name, double cnt, double sum, double min, double max) {
  return {name,
          "sketch cnt " + std::to_string(cnt) + " sum " + std::to_string(sum) + " min " +
              std::to_string(min) + " max " + std::to_string(max),
          [=](const json::value& m) {
            const auto* o = m.if_object();
            const auto* sk = o != nullptr ? o->if_contains("sketch") : nullptr;
            return sk != nullptr && json_number(m, "duplicates") == 0 &&
                   near(json_number(*sk, "cnt"), cnt) && near(json_number(*sk, "sum"), sum) &&
                   near(json_number(*sk, "min"), min) && near(json_number(*sk, "max"), max);
          }};
}

// Any point or sketch at all (what the tag test needs; the flush test checks values).
Expectation present(std::string name) {
  return {name, "a point or a sketch", [](const json::value& m) {
            const auto* pts = points_of(m);
            const auto* o = m.if_object();
            return (pts != nullptr && !pts->empty()) ||
                   (o != nullptr && o->if_contains("sketch") != nullptr);
          }};
}

// Polls the intake until every expectation holds or `limit` passes; failures name what is
// missing and what the intake answered.
::testing::AssertionResult intake_holds(const FakeIntakeClient& intake,
                                        const std::vector<Expectation>& expected,
                                        std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<bool> done(expected.size(), false);
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!done[i]) done[i] = expected[i].holds(intake.metrics(expected[i].name));
      all = all && done[i];
    }
    if (all) return ::testing::AssertionSuccess();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(20ms);  // polling interval, not a wait
  }
  auto failure = ::testing::AssertionFailure();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (done[i]) continue;
    failure << expected[i].name << ": expected " << expected[i].what << ", intake has "
            << json::serialize(intake.metrics(expected[i].name)) << "\n";
  }
  return failure;
}

bool has_tag(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

// Runs one invocation on its own thread (POST /invoke blocks until the function answered), so the
// test can watch the intake while the invocation is open.
class Invocation {
 public:
  Invocation(LambdaRig& rig, std::string payload, std::string id)
      : thread_([this, &rig, payload = std::move(payload), id = std::move(id)] {
          response_ = rig.invoke(payload, id);
        }) {}
  ~Invocation() {
    if (thread_.joinable()) thread_.join();
  }
  Invocation(const Invocation&) = delete;
  Invocation& operator=(const Invocation&) = delete;
  sandbox::BlockingResponse join() {
    thread_.join();
    return response_;
  }

 private:
  sandbox::BlockingResponse response_;
  std::thread thread_;
};

TEST(ExtensionMetrics, FlushDeliversExactValuesWhileTheInvocationIsOpenAndShutdownTheRest) {
  LambdaRig rig(metrics_rig());
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  // DogStatsD is bound before register, on the port the function was given (lambda-agent.md §1.2
  // step 2), and named in the one listening: line.
  ASSERT_TRUE(rig.listening().contains("dogstatsd")) << rig.listening_line();
  EXPECT_EQ(rig.listening().at("dogstatsd"), rig.dogstatsd_port()) << rig.listening_line();
  const std::int64_t ts = wall_s() - 30;
  const std::int64_t bucket = ts - ts % 10;

  // Before the flush: counts with a sample rate, packed values, h, ms, s, d.
  json::array before = {
      datagram({"fn.requests:1|c|#route:/home", "fn.requests:1|c|#route:/home",
                "fn.requests:2|c|@0.5|#route:/home"},
               ts),
      datagram({"fn.latency:10:20:30:40|h"}, ts),
      datagram({"fn.latency:50|h|@0.5"}, ts),
      datagram({"fn.db:5:15|ms"}, ts),
      datagram({"fn.users:alice|s", "fn.users:bob|s", "fn.users:alice|s"}, ts),
      datagram({"fn.size:1:2:3|d"}, ts),
      datagram({"fn.size:3|d|@0.5"}, ts),
  };
  // After the flush, in the same invocation: more of one count, a new count, one more value of the
  // distribution. These reach the intake at SHUTDOWN at the latest.
  json::array after = {
      datagram({"fn.requests:3|c|#route:/home", "fn.late:7|c"}, ts),
      // The same context: its later sketch of the already-sent window takes the next second.
      datagram({"fn.size:10|d"}, ts),
  };
  json::object payload;
  payload["statsd"] = before;
  payload["flush"] = true;
  payload["sleep_ms"] = 4000;  // the invocation stays open while the test reads the intake
  payload["steps"] = json::array{json::object{{"statsd", after}}};
  payload["respond"] = json::object{{"ok", true}};

  Invocation invocation(rig, json::serialize(payload), "m-1");
  // The function's flush was answered: from here the intake must hold everything within 2 s.
  ASSERT_TRUE(rig.wait("log", 1, {{"name", "runtime"}, {"line", "fake-runtime: flush -> 200"}}))
      << rig.diagnostics();
  const std::vector<Expectation> flushed = {
      count_of("fn.requests", 6),  // 1 + 1 + 2/0.5, sent as the rate 0.6
      gauge_of("fn.latency.max", 50),
      gauge_of("fn.latency.median", 30),
      gauge_of("fn.latency.avg", 200.0 / 6),  // (10+20+30+40 + 50·2) / 6
      rate_point_of("fn.latency.count", 0.6),
      gauge_of("fn.latency.95percentile", 50),
      gauge_of("fn.db.max", 15),
      gauge_of("fn.db.median", 5),
      gauge_of("fn.db.avg", 10),
      rate_point_of("fn.db.count", 0.2),
      gauge_of("fn.db.95percentile", 15),
      gauge_of("fn.users", 2),
      sketch_of("fn.size", 5, 12, 1, 3),  // 1, 2, 3 and 3 weighted 2
  };
  const auto intake = rig.intake();
  // Every datagram the function sent before its flush is in that flush (issue 16: "the open
  // bucket and a metric emitted just before are always in it"), so the intake has it all.
  EXPECT_TRUE(intake_holds(intake, flushed, 2250ms)) << rig.diagnostics();
  // Read after the intake had the data: the function had not answered yet.
  const auto open = rig.timeline();
  EXPECT_LT(find_entry(open, "runtime.response", {{"request_id", "m-1"}}), 0)
      << "the invocation ended before the data was at the intake";

  const auto reply = invocation.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"ok":true})");
  const auto requests = intake.metrics("fn.requests");
  const auto* pts = points_of(requests);
  ASSERT_TRUE(pts != nullptr && !pts->empty()) << requests;
  EXPECT_NEAR(json_number(pts->at(0), "value"), 0.6, 1e-12);
  EXPECT_EQ(json_number(pts->at(0), "timestamp"), static_cast<double>(bucket));
  for (const auto& tags : point_tags(requests))
    EXPECT_TRUE(has_tag(tags, "route:/home")) << requests;

  const LastcallExit down = rig.shutdown();
  ASSERT_EQ(down.status, 200) << down.summary;
  ASSERT_TRUE(down.seen) << down.summary;
  EXPECT_EQ(down.exit_code, 0) << rig.diagnostics();
  EXPECT_FALSE(down.sigkilled);
  EXPECT_TRUE(down.exited_before_deadline) << down.summary;
  ASSERT_TRUE(down.ms_before_deadline.has_value()) << down.summary;
  EXPECT_GT(*down.ms_before_deadline, 0.0);

  // lastcall has exited, so its final flush is over; poll briefly for the intake's bookkeeping.
  const std::vector<Expectation> final_state = {
      count_of("fn.requests", 9),  // the 3 sent after the flush added, no point sent twice
      count_of("fn.late", 7),
      sketch_of("fn.size", 6, 22, 1, 10),  // both parts, no duplicate
      gauge_of("fn.latency.max", 50),      // sent once, not again at SHUTDOWN
      gauge_of("fn.users", 2),
  };
  EXPECT_TRUE(intake_holds(intake, final_state, 2s)) << rig.diagnostics();
}

TEST(ExtensionMetrics, DedicatedEnvWinsOverDdTags) {
  LambdaRig rig(metrics_rig({{"DD_ENV", "prod"}, {"DD_TAGS", "env:dev,team:a"}}));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  const std::int64_t ts = wall_s() - 30;
  json::object payload;
  payload["statsd"] = json::array{datagram({"fn.tagged:1|c|#route:/x"}, ts),
                                  datagram({"fn.tagged.dist:4|d|#route:/x"}, ts)};
  payload["respond"] = "ok";
  const auto reply = rig.invoke(json::serialize(payload), "t-1");
  EXPECT_EQ(reply.status, 200);
  // The final flush at SHUTDOWN sends them at the latest. Values, and that nothing is sent twice,
  // are the flush test's business; here only the tags count.
  const LastcallExit down = rig.shutdown();
  EXPECT_EQ(down.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(down.exited_before_deadline) << down.summary;
  const auto intake = rig.intake();
  ASSERT_TRUE(intake_holds(intake, {present("fn.tagged"), present("fn.tagged.dist")}, 2s))
      << rig.diagnostics();
  for (const char* name : {"fn.tagged", "fn.tagged.dist"}) {
    const auto m = intake.metrics(name);
    const auto all = point_tags(m);
    ASSERT_FALSE(all.empty()) << m;
    for (const auto& tags : all) {
      EXPECT_TRUE(has_tag(tags, "env:prod")) << name << " " << m;
      EXPECT_TRUE(has_tag(tags, "team:a")) << name << " " << m;
      EXPECT_TRUE(has_tag(tags, "route:/x")) << name << " " << m;
      EXPECT_FALSE(has_tag(tags, "env:dev")) << name << " " << m;
      EXPECT_EQ(std::count_if(tags.begin(), tags.end(),
                              [](const std::string& t) { return t.rfind("env:", 0) == 0; }),
                1)
          << name << " " << m;
    }
  }
}

}  // namespace
}  // namespace lc::test
