// logs/log_processor: record forms, JSON messages (lambda-agent.md §5.3), processing rules through
// the processor (§5.5), the entry and batch limits and both entry shapes (datadog-wire.md §4.5),
// the memory budget. Every assertion reads the decoded payload JSON.
#include "logs/log_processor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/logger.h"

namespace lc::logs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kTime = 1761055503165;
constexpr std::string_view kArn = "arn:aws:lambda:us-east-1:123456789012:function:my-fn";

LogRecord text_record(std::string message, std::string request_id = "r1",
                      LogStatus status = LogStatus::kInfo) {
  LogRecord r;
  r.message = std::move(message);
  r.timestamp_ms = kTime;
  r.request_id = std::move(request_id);
  r.status = status;
  r.source = "lambda";
  return r;
}

LogRecord object_record(std::string_view json, std::string request_id = "r1") {
  LogRecord r;
  auto parsed = parse_json(json);
  EXPECT_TRUE(parsed.has_value()) << json;
  if (parsed) r.object = std::move(*parsed);
  r.timestamp_ms = kTime;
  r.request_id = std::move(request_id);
  return r;
}

LogProcessorOptions lambda_options(std::string rules = "") {
  LogProcessorOptions o;
  o.lambda_shape = true;
  o.service = "checkout";
  o.ddsource = "lambda";
  o.processing_rules_json = std::move(rules);
  return o;
}

LogProcessorOptions flat_options() {
  LogProcessorOptions o;
  o.lambda_shape = false;
  o.service = "web";
  return o;
}

// The entries of every payload, in order; each body must be a JSON array of valid UTF-8.
std::vector<boost::json::object> decode(const std::vector<Payload>& payloads) {
  std::vector<boost::json::object> out;
  for (const Payload& p : payloads) {
    EXPECT_EQ(p.kind, PayloadKind::kLogs);
    EXPECT_EQ(p.path, "/api/v2/logs");
    EXPECT_EQ(p.content_type, "application/json");
    EXPECT_EQ(p.content_encoding, "");
    auto parsed = parse_json(p.body);
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
    if (!parsed || !parsed->is_array()) {
      ADD_FAILURE() << "body is not a JSON array";
      continue;
    }
    EXPECT_EQ(parsed->as_array().size(), p.items);
    for (auto& v : parsed->as_array()) {
      EXPECT_TRUE(v.is_object());
      if (v.is_object()) out.push_back(std::move(v.as_object()));
    }
  }
  return out;
}

// The Lambda shape's inner `message` object of an entry.
const boost::json::object& inner(const boost::json::object& entry) {
  static const boost::json::object kEmpty;
  const auto* m = json::object_member(entry, "message");
  EXPECT_NE(m, nullptr);
  return m != nullptr ? *m : kEmpty;
}

std::string str(const boost::json::object& o, std::string_view key) {
  return std::string(json::string_member(o, key).value_or("<absent>"));
}

class LogProcessorTest : public ::testing::Test {
 protected:
  std::vector<boost::json::object> run(LogProcessorOptions options, std::vector<LogRecord> records,
                                       MemoryBudget* budget = nullptr) {
    LogProcessor p(std::move(options), self_, tags_, budget);
    for (auto& r : records) p.add(std::move(r));
    return decode(p.flush());
  }
  // One record through a Lambda-shape processor: its single entry.
  boost::json::object one(LogRecord record, std::string rules = "") {
    std::vector<LogRecord> records;
    records.push_back(std::move(record));
    auto entries = run(lambda_options(std::move(rules)), std::move(records));
    EXPECT_EQ(entries.size(), 1u);
    return entries.empty() ? boost::json::object() : entries[0];
  }

  SelfMetrics self_;
  TagSets tags_;
};

// --- record forms ----------------------------------------------------------------------------

TEST_F(LogProcessorTest, TextRecordIsAStringMessage) {
  const auto e = one(text_record("hello world"));
  const auto& m = inner(e);
  EXPECT_EQ(str(m, "message"), "hello world");
  EXPECT_EQ(str(m, "status"), "info");
  EXPECT_EQ(json::int64_member(m, "timestamp"), kTime);
  EXPECT_EQ(str(*json::object_member(m, "lambda"), "request_id"), "r1");
  EXPECT_EQ(str(e, "service"), "checkout");
  EXPECT_EQ(str(e, "ddsource"), "lambda");
  EXPECT_EQ(self_.get("lastcall.logs.entries"), 1u);
}

TEST_F(LogProcessorTest, JsonTextRecordIsAnObjectMessage) {
  const auto e = one(text_record("  \n{\"level\":\"error\",\"msg\":\"boom\",\"n\":1.5}  "));
  const auto& m = inner(e);
  const auto* msg = json::object_member(m, "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(str(*msg, "msg"), "boom");
  EXPECT_EQ(str(*msg, "level"), "error");
  EXPECT_EQ(json::double_member(*msg, "n"), 1.5);
  EXPECT_EQ(str(m, "status"), "error");
}

TEST_F(LogProcessorTest, TextThatIsNotAJsonObjectStaysText) {
  for (const char* text : {"{not json", "[1,2,3]", "{\"a\":1} trailing", "x {\"a\":1}"}) {
    const auto e = one(text_record(text));
    EXPECT_EQ(str(inner(e), "message"), text);
  }
}

TEST_F(LogProcessorTest, ObjectRecordIsAnObjectMessage) {
  const auto e =
      one(object_record(R"({"requestId":"r1","level":"WARN","message":"slow","ms":1200})"));
  const auto& m = inner(e);
  const auto* msg = json::object_member(m, "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(str(*msg, "message"), "slow");
  EXPECT_EQ(json::int64_member(*msg, "ms"), 1200);
  EXPECT_EQ(str(m, "status"), "warn");
}

TEST_F(LogProcessorTest, InvalidUtf8InTextBecomesReplacementCharacters) {
  const auto e = one(text_record(std::string("ok \xff\xfe caf\xc3\xa9 \xe2\x82", 14)));
  EXPECT_EQ(str(inner(e), "message"),
            "ok \xEF\xBF\xBD\xEF\xBF\xBD caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(LogProcessorTest, ControlCharactersAndQuotesAreEscaped) {
  const std::string text = std::string("a\"b\\c\n\t\x01 end");
  EXPECT_EQ(str(inner(one(text_record(text))), "message"), text);
}

// --- §5.3 JSON unwrapping ----------------------------------------------------------------------

TEST_F(LogProcessorTest, TopLevelDdtagsAreAppendedAndRemoved) {
  tags_.set("env", "prod");
  auto record = text_record(R"({"ddtags":"team:core,tier:1","msg":"x"})");
  record.tags = {"source_tag:a"};
  const auto e = one(std::move(record));
  EXPECT_EQ(str(e, "ddtags"), "env:prod,source_tag:a,team:core,tier:1");
  const auto* msg = json::object_member(inner(e), "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->if_contains("ddtags"), nullptr);
  EXPECT_EQ(str(*msg, "msg"), "x");
}

TEST_F(LogProcessorTest, NestedMessageObjectWithoutDdtagsIsUnwrapped) {
  const auto e = one(object_record(R"({"level":"debug","message":{"event":"login","user":"u1"}})"));
  const auto& m = inner(e);
  const auto* msg = json::object_member(m, "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->size(), 2u);
  EXPECT_EQ(str(*msg, "event"), "login");
  EXPECT_EQ(str(*msg, "user"), "u1");
  EXPECT_EQ(str(m, "status"), "debug");
  EXPECT_EQ(e.if_contains("ddtags"), nullptr);
}

TEST_F(LogProcessorTest, NestedMessageObjectWithItsOwnDdtags) {
  const auto e = one(text_record(R"({"message":{"ddtags":"inner:1","event":"login"}})"));
  EXPECT_EQ(str(e, "ddtags"), "inner:1");
  const auto* msg = json::object_member(inner(e), "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->size(), 1u);
  EXPECT_EQ(str(*msg, "event"), "login");
}

TEST_F(LogProcessorTest, TopLevelAndNestedDdtagsTogether) {
  tags_.set("env", "prod");
  const auto e =
      one(object_record(R"({"ddtags":"outer:1","message":{"ddtags":"inner:2","event":"login"}})"));
  EXPECT_EQ(str(e, "ddtags"), "env:prod,outer:1,inner:2");
  const auto* msg = json::object_member(inner(e), "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(boost::json::serialize(*msg), R"({"event":"login"})");
}

TEST_F(LogProcessorTest, NonStringDdtagsAndStringMessageStayInPlace) {
  const auto e = one(object_record(R"({"ddtags":["a:1"],"message":"plain"})"));
  EXPECT_EQ(e.if_contains("ddtags"), nullptr);
  const auto* msg = json::object_member(inner(e), "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(boost::json::serialize(*msg), R"({"ddtags":["a:1"],"message":"plain"})");
}

// --- §5.3 status table -------------------------------------------------------------------------

struct StatusRow {
  const char* input;
  LogStatus status;
};

class StatusMapping : public LogProcessorTest, public ::testing::WithParamInterface<StatusRow> {};

TEST_P(StatusMapping, LevelAndStatusMapCaseInsensitively) {
  const StatusRow row = GetParam();
  EXPECT_EQ(log_status_from_level(row.input), row.status);
  const std::string name(log_status_name(row.status));
  for (const char* key : {"level", "status"}) {
    const auto e = one(text_record(fmt::format(R"({{"{}":"{}"}})", key, row.input)));
    EXPECT_EQ(str(inner(e), "status"), name) << key << "=" << row.input;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, StatusMapping,
    ::testing::Values(
        StatusRow{"FATAL", LogStatus::kCritical}, StatusRow{"fatal", LogStatus::kCritical},
        StatusRow{"CRITICAL", LogStatus::kCritical}, StatusRow{"Critical", LogStatus::kCritical},
        StatusRow{"ERROR", LogStatus::kError}, StatusRow{"error", LogStatus::kError},
        StatusRow{"ERR", LogStatus::kError}, StatusRow{"WARN", LogStatus::kWarn},
        StatusRow{"warn", LogStatus::kWarn}, StatusRow{"WARNING", LogStatus::kWarn},
        StatusRow{"INFO", LogStatus::kInfo}, StatusRow{"info", LogStatus::kInfo},
        StatusRow{"INFORMATION", LogStatus::kInfo}, StatusRow{"DEBUG", LogStatus::kDebug},
        StatusRow{"debug", LogStatus::kDebug}, StatusRow{"TRACE", LogStatus::kTrace},
        StatusRow{"trace", LogStatus::kTrace}));

TEST_F(LogProcessorTest, UnknownOrAbsentLevelKeepsTheRecordStatus) {
  EXPECT_EQ(log_status_from_level("notice"), std::nullopt);
  EXPECT_EQ(log_status_from_level(""), std::nullopt);
  for (const char* text : {R"({"level":"notice"})", R"({"level":30})", R"({"msg":"x"})",
                           "END RequestId: r1 Task timed out after 3.00 seconds"}) {
    const auto e = one(text_record(text, "r1", LogStatus::kError));
    EXPECT_EQ(str(inner(e), "status"), "error") << text;
  }
}

TEST_F(LogProcessorTest, LevelComesBeforeStatus) {
  EXPECT_EQ(str(inner(one(text_record(R"({"level":"warn","status":"error"})"))), "status"), "warn");
  // A level that is not a string does not count: status is next.
  EXPECT_EQ(str(inner(one(text_record(R"({"level":50,"status":"error"})"))), "status"), "error");
  // A JSON status wins over the producer's.
  EXPECT_EQ(str(inner(one(text_record(R"({"level":"info"})", "r1", LogStatus::kError))), "status"),
            "info");
}

// --- §5.5 rules through the processor ---------------------------------------------------------

TEST_F(LogProcessorTest, ExcludedEntriesAreCountedByRuleNotAsLosses) {
  LogProcessor p(
      lambda_options(
          R"([{"type":"exclude_at_match","name":"drop_platform","pattern":"^(START|END|REPORT) RequestId"}])"),
      self_, tags_);
  p.add(text_record("START RequestId: r1 Version: $LATEST"));
  p.add(text_record("hello"));
  p.add(text_record("END RequestId: r1"));
  p.add(text_record("REPORT RequestId: r1 Duration: 1.00 ms"));
  const auto entries = decode(p.flush());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(str(inner(entries[0]), "message"), "hello");
  EXPECT_EQ(self_.get("lastcall.logs.excluded", {"rule:drop_platform"}), 3u);
  EXPECT_EQ(self_.get("lastcall.logs.entries"), 1u);
  EXPECT_EQ(self_.dropped_total(), 0u);
}

TEST_F(LogProcessorTest, IncludeRuleAndMaskRuleInOrder) {
  const auto entries = run(lambda_options(R"([
        {"type":"include_at_match","name":"only_orders","pattern":"order"},
        {"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+","replace_placeholder":"api_key=[REDACTED]"}])"),
                           [] {
                             std::vector<LogRecord> r;
                             r.push_back(text_record("order 1 api_key=abc123"));
                             r.push_back(text_record("healthcheck api_key=abc123"));
                             r.push_back(text_record("order 2"));
                             return r;
                           }());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(str(inner(entries[0]), "message"), "order 1 api_key=[REDACTED]");
  EXPECT_EQ(str(inner(entries[1]), "message"), "order 2");
  EXPECT_EQ(self_.get("lastcall.logs.excluded", {"rule:only_orders"}), 1u);
}

TEST_F(LogProcessorTest, RulesSeeAnObjectAsItsJson) {
  // The serialized object contains the key, so a rule can match on it.
  const auto entries =
      run(lambda_options(
              R"([{"type":"exclude_at_match","name":"hb","pattern":"\"kind\":\"heartbeat\""}])"),
          [] {
            std::vector<LogRecord> r;
            r.push_back(object_record(R"({"kind":"heartbeat"})"));
            r.push_back(object_record(R"({"kind":"order"})"));
            return r;
          }());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(str(*json::object_member(inner(entries[0]), "message"), "kind"), "order");
  EXPECT_EQ(self_.get("lastcall.logs.excluded", {"rule:hb"}), 1u);
}

TEST_F(LogProcessorTest, MaskingInsideAnObjectKeepsTheObject) {
  LogProcessor p(
      lambda_options(
          R"([{"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+","replace_placeholder":"api_key=[REDACTED]"}])"),
      self_, tags_);
  p.add(object_record(R"({"user":"bob","url":"/x?api_key=abc123","level":"error"})"));
  p.add(text_record(R"({"user":"eve","url":"/y?api_key=zzz"})"));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_THAT(payloads[0].body, Not(HasSubstr("abc123")));
  EXPECT_THAT(payloads[0].body, Not(HasSubstr("zzz")));
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), 2u);
  const auto* m0 = json::object_member(inner(entries[0]), "message");
  ASSERT_NE(m0, nullptr);
  EXPECT_EQ(str(*m0, "url"), "/x?api_key=[REDACTED]");
  EXPECT_EQ(str(*m0, "user"), "bob");
  EXPECT_EQ(str(inner(entries[0]), "status"), "error");
  const auto* m1 = json::object_member(inner(entries[1]), "message");
  ASSERT_NE(m1, nullptr);
  EXPECT_EQ(str(*m1, "url"), "/y?api_key=[REDACTED]");
}

TEST_F(LogProcessorTest, MaskThatBreaksTheObjectShipsText) {
  const auto e = one(
      object_record(R"({"user":"bob","token":"s3cr3t"})"),
      R"([{"type":"mask_sequences","name":"drop_token","pattern":"\"token\":\"[^\"]*\"","replace_placeholder":"<token>"}])");
  EXPECT_EQ(str(inner(e), "message"), R"({"user":"bob",<token>})");
}

TEST_F(LogProcessorTest, MaskThatLeavesAnotherJsonValueShipsText) {
  const auto e = one(
      object_record(R"({"token":"s3cr3t"})"),
      R"j([{"type":"mask_sequences","name":"all","pattern":"^\\{.*\\}$","replace_placeholder":"[1]"}])j");
  EXPECT_EQ(str(inner(e), "message"), "[1]");
}

TEST_F(LogProcessorTest, EveryRuleProblemIsWarnedOnceNamingTheRule) {
  std::vector<std::string> lines;
  Logger::instance().set_sink([&](std::string_view line) { lines.emplace_back(line); });
  {
    LogProcessor p(lambda_options(R"([
      {"type":"exclude_at_match","name":"bad_regex","pattern":"(x"},
      {"type":"nope","name":"odd_type","pattern":"x"},
      {"type":"exclude_at_match","pattern":"x"},
      {"type":"exclude_at_match","name":"no_pattern"},
      {"type":"exclude_at_match","name":"keep","pattern":"drop"}])"),
                   self_, tags_);
    EXPECT_EQ(p.rules().rules().size(), 1u);
    p.add(text_record("drop this"));
    p.add(text_record("(x stays"));
    const auto entries = decode(p.flush());
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(str(inner(entries[0]), "message"), "(x stays");
  }
  Logger::instance().set_sink(nullptr);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], HasSubstr("WARN"));
  EXPECT_THAT(lines[0], HasSubstr("'bad_regex'"));
  EXPECT_THAT(lines[1], HasSubstr("'odd_type': unknown type"));
  EXPECT_THAT(lines[2], HasSubstr("missing name"));
  EXPECT_THAT(lines[3], HasSubstr("'no_pattern': missing pattern"));
}

TEST_F(LogProcessorTest, RulesThatAreNotAnArrayAreOneWarningAndNoRules) {
  std::vector<std::string> lines;
  Logger::instance().set_sink([&](std::string_view line) { lines.emplace_back(line); });
  LogProcessor p(lambda_options(R"({"type":"exclude_at_match","name":"n","pattern":"x"})"), self_,
                 tags_);
  Logger::instance().set_sink(nullptr);
  EXPECT_TRUE(p.rules().empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("not a JSON array"));
  p.add(text_record("x"));
  EXPECT_EQ(decode(p.flush()).size(), 1u);
}

// --- envelope ----------------------------------------------------------------------------------

TEST_F(LogProcessorTest, LambdaShapeIsExactlyTheWireExample) {
  tags_.set("region", "us-east-1");
  tags_.set("env", "prod");
  tags_.set("function_arn", kArn, TagSetMask::of({TagSetId::kBase}));
  LogProcessor p(lambda_options(), self_, tags_);
  p.add(text_record("START RequestId: 459921b5-0000 Version: $LATEST", "459921b5-0000"));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0].items, 1u);
  EXPECT_EQ(
      payloads[0].body,
      R"([{"hostname":"arn:aws:lambda:us-east-1:123456789012:function:my-fn","service":"checkout","ddsource":"lambda",)"
      R"("ddtags":"region:us-east-1,env:prod",)"
      R"("message":{"message":"START RequestId: 459921b5-0000 Version: $LATEST",)"
      R"("lambda":{"arn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn","request_id":"459921b5-0000"},)"
      R"("timestamp":1761055503165,"status":"info"}}])");
  EXPECT_EQ(p.buffered(), 0u);
}

TEST_F(LogProcessorTest, FlatShapeIsExactlyTheWireExample) {
  tags_.set("env", "dev");
  LogProcessor p(flat_options(), self_, tags_);
  p.add(text_record("listening on :8080", ""));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0].body,
            R"([{"message":"listening on :8080","service":"web","ddtags":"env:dev",)"
            R"("status":"info","timestamp":1761055503165}])");
}

TEST_F(LogProcessorTest, FlatShapeWithHostnameSourceAndObjectMessage) {
  auto options = flat_options();
  options.hostname = "host-1";
  options.ddsource = "nodejs";
  options.service = "";
  const auto entries = run(options, [] {
    std::vector<LogRecord> r;
    r.push_back(text_record(R"({"level":"error","msg":"x","ddtags":"a:b"})", ""));
    return r;
  }());
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(str(e, "hostname"), "host-1");
  EXPECT_EQ(str(e, "ddsource"), "nodejs");
  EXPECT_EQ(e.if_contains("service"), nullptr);
  EXPECT_EQ(str(e, "ddtags"), "a:b");
  EXPECT_EQ(str(e, "status"), "error");
  EXPECT_EQ(json::int64_member(e, "timestamp"), kTime);
  EXPECT_EQ(e.if_contains("lambda"), nullptr);
  const auto* msg = json::object_member(e, "message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(str(*msg, "msg"), "x");
}

TEST_F(LogProcessorTest, FunctionArnArrivingAfterAddLandsAtFlush) {
  LogProcessor p(lambda_options(), self_, tags_);
  p.add(text_record("before the first invoke", ""));
  p.add(text_record("with an id", "r2"));
  tags_.set("function_arn", kArn);  // the first INVOKE
  const auto entries = decode(p.flush());
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    EXPECT_EQ(str(e, "hostname"), kArn);
    EXPECT_EQ(str(*json::object_member(inner(e), "lambda"), "arn"), kArn);
    EXPECT_THAT(str(e, "ddtags"), HasSubstr(std::string("function_arn:") + std::string(kArn)));
  }
  EXPECT_EQ(json::object_member(inner(entries[0]), "lambda")->if_contains("request_id"), nullptr);
  EXPECT_EQ(str(*json::object_member(inner(entries[1]), "lambda"), "request_id"), "r2");
}

TEST_F(LogProcessorTest, EmptyEnvelopeFieldsAreOmitted) {
  auto options = lambda_options();
  options.service = "";
  options.ddsource = "";
  const auto entries = run(options, [] {
    std::vector<LogRecord> r;
    r.push_back(text_record("no id, no arn, no tags", ""));
    return r;
  }());
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.size(), 1u);  // only `message`
  EXPECT_EQ(inner(e).if_contains("lambda"), nullptr);
  EXPECT_EQ(str(inner(e), "status"), "info");
}

TEST_F(LogProcessorTest, OptionsFromConfigPerMode) {
  LogsConfig logs;
  logs.processing_rules_json = "[]";
  CommonConfig common;
  common.service = "CheckOut";
  common.source = "nodejs";
  common.hostname = "box";
  const auto ext = LogProcessorOptions::from(logs, common, Mode::kExtension);
  EXPECT_TRUE(ext.lambda_shape);
  EXPECT_EQ(ext.ddsource, "lambda");
  EXPECT_EQ(ext.service, "checkout");
  EXPECT_EQ(ext.hostname, "");
  EXPECT_EQ(ext.processing_rules_json, "[]");
  for (Mode mode : {Mode::kWrapper, Mode::kSidecar}) {
    const auto o = LogProcessorOptions::from(logs, common, mode);
    EXPECT_FALSE(o.lambda_shape);
    EXPECT_EQ(o.ddsource, "nodejs");
    EXPECT_EQ(o.hostname, "box");
    EXPECT_EQ(o.service, "checkout");
  }
  common.hostname = "none";
  EXPECT_EQ(LogProcessorOptions::from(logs, common, Mode::kSidecar).hostname, "");
}

TEST_F(LogProcessorTest, DescribeIsOneJsonObject) {
  LogProcessor p(
      lambda_options(R"([{"type":"exclude_at_match","name":"drop","pattern":"x"},{"type":"?"}])"),
      self_, tags_);
  auto parsed = parse_json(p.describe());
  ASSERT_TRUE(parsed.has_value());
  ASSERT_TRUE(parsed->is_object());
  EXPECT_EQ(str(parsed->as_object(), "shape"), "lambda");
  EXPECT_EQ(json::int64_member(parsed->as_object(), "rule_problems"), 1);
  EXPECT_EQ(json::array_member(parsed->as_object(), "rules")->size(), 1u);
}

// --- batches -----------------------------------------------------------------------------------

TEST_F(LogProcessorTest, BatchesHoldAtMost1000EntriesInArrivalOrder) {
  LogProcessor p(lambda_options(), self_, tags_);
  for (int i = 0; i < 2500; ++i) p.add(text_record(fmt::format("line {}", i)));
  EXPECT_EQ(p.buffered(), 2500u);
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 3u);
  EXPECT_EQ(payloads[0].items, 1000u);
  EXPECT_EQ(payloads[1].items, 1000u);
  EXPECT_EQ(payloads[2].items, 500u);
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), 2500u);
  for (int i = 0; i < 2500; ++i) {
    ASSERT_EQ(str(inner(entries[i]), "message"), fmt::format("line {}", i));
  }
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_TRUE(p.flush().empty());
  EXPECT_EQ(self_.get("lastcall.logs.entries"), 2500u);
}

TEST_F(LogProcessorTest, BatchesHoldAtMost5MBOfBody) {
  LogProcessor p(lambda_options(), self_, tags_);
  constexpr int kEntries = 20;
  for (int i = 0; i < kEntries; ++i) {
    p.add(text_record(fmt::format("{:04} ", i) + std::string(700000, 'a' + (i % 26))));
  }
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 3u);  // 7 entries of ~700 kB fit in 5 242 880 bytes, 8 do not
  std::size_t total = 0;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_LE(payloads[i].body.size(), kMaxBatchBytes);
    if (i + 1 < payloads.size()) {
      EXPECT_GT(payloads[i].body.size() + 700100, kMaxBatchBytes);  // one more would not fit
    }
    total += payloads[i].items;
  }
  EXPECT_EQ(payloads[0].items, 7u);
  EXPECT_EQ(payloads[1].items, 7u);
  EXPECT_EQ(total, static_cast<std::size_t>(kEntries));
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) {
    EXPECT_EQ(str(inner(entries[i]), "message").substr(0, 5), fmt::format("{:04} ", i));
  }
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 0u);
}

TEST_F(LogProcessorTest, SmallerLimitsFromOptions) {
  auto options = lambda_options();
  options.max_batch_entries = 3;
  options.max_batch_bytes = 700;
  LogProcessor p(options, self_, tags_);
  for (int i = 0; i < 10; ++i) p.add(text_record(fmt::format("entry number {}", i)));
  const auto payloads = p.flush();
  std::size_t n = 0;
  for (const auto& payload : payloads) {
    EXPECT_LE(payload.items, 3u);
    EXPECT_LE(payload.body.size(), 700u);
    n += payload.items;
  }
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(decode(payloads).size(), 10u);
}

// --- the 1 MiB entry limit -------------------------------------------------------------------

// The serialized size of the single entry of a one-entry body.
std::size_t entry_bytes(const Payload& p) { return p.body.size() - 2; }

TEST_F(LogProcessorTest, OversizedEntryIsCutAtACharacterBoundaryAndMarked) {
  tags_.set("function_arn", kArn);
  LogProcessor p(lambda_options(), self_, tags_);
  std::string text = "x";  // an odd start so a byte-count cut would land inside a character
  for (int i = 0; i < 800000; ++i) text += "\xC3\xA9";  // é: 1.6 MB
  p.add(text_record(text));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_LE(entry_bytes(payloads[0]), kMaxEntryBytes);
  EXPECT_GT(entry_bytes(payloads[0]), kMaxEntryBytes - 4096);
  const auto entries = decode(payloads);  // strict UTF-8: no character was split
  ASSERT_EQ(entries.size(), 1u);
  const auto& m = inner(entries[0]);
  const std::string message = str(m, "message");
  ASSERT_GT(message.size(), kTruncatedMarker.size());
  EXPECT_TRUE(message.ends_with(kTruncatedMarker));
  const std::string kept = message.substr(0, message.size() - kTruncatedMarker.size());
  EXPECT_TRUE(text.starts_with(kept));
  EXPECT_EQ(kept.size() % 2, 1u);
  EXPECT_EQ(json::bool_member(m, "lastcall.truncated"), true);
  EXPECT_EQ(entries[0].if_contains("lastcall.truncated"), nullptr);
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 1u);
}

TEST_F(LogProcessorTest, EscapesCountTowardsTheEntryLimit) {
  LogProcessor p(lambda_options(), self_, tags_);
  p.add(text_record(std::string(600000, '"')));  // 600 kB raw, 1.2 MB escaped
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_LE(entry_bytes(payloads[0]), kMaxEntryBytes);
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), 1u);
  const std::string message = str(inner(entries[0]), "message");
  EXPECT_TRUE(message.ends_with(kTruncatedMarker));
  EXPECT_GT(message.size(), 500000u);
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 1u);
}

TEST_F(LogProcessorTest, EntryJustUnderTheLimitIsNotTruncated) {
  LogProcessor p(lambda_options(), self_, tags_);
  p.add(text_record(std::string(kMaxEntryBytes - 8192, 'a')));
  const auto entries = decode(p.flush());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(str(inner(entries[0]), "message").size(), kMaxEntryBytes - 8192);
  EXPECT_EQ(inner(entries[0]).if_contains("lastcall.truncated"), nullptr);
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 0u);
}

TEST_F(LogProcessorTest, OversizedObjectIsTruncatedAsText) {
  LogProcessor p(lambda_options(), self_, tags_);
  p.add(object_record(R"({"level":"warn","data":")" + std::string(1200000, 'd') + "\"}"));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_LE(entry_bytes(payloads[0]), kMaxEntryBytes);
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), 1u);
  const auto& m = inner(entries[0]);
  const std::string message = str(m, "message");
  EXPECT_TRUE(message.starts_with(R"({"level":"warn","data":"ddd)"));
  EXPECT_TRUE(message.ends_with(kTruncatedMarker));
  EXPECT_EQ(str(m, "status"), "warn");
  EXPECT_EQ(json::bool_member(m, "lastcall.truncated"), true);
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 1u);
}

TEST_F(LogProcessorTest, FlatShapeTruncationAttributeIsTopLevel) {
  LogProcessor p(flat_options(), self_, tags_);
  p.add(text_record(std::string(2 * kMaxEntryBytes, 'z')));
  const auto payloads = p.flush();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_LE(entry_bytes(payloads[0]), kMaxEntryBytes);
  const auto entries = decode(payloads);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(json::bool_member(entries[0], "lastcall.truncated"), true);
  EXPECT_TRUE(str(entries[0], "message").ends_with(kTruncatedMarker));
  EXPECT_EQ(self_.get("lastcall.logs.truncated"), 1u);
}

// --- memory budget -----------------------------------------------------------------------------

TEST_F(LogProcessorTest, MemoryBudgetRefusalIsCountedAndReleasedAtFlush) {
  MemoryBudget budget(16384, &self_);  // logs may use 7/8 of it
  LogProcessor p(lambda_options(), self_, tags_, &budget);
  int kept = 0;
  for (int i = 0; i < 40; ++i) {
    p.add(text_record(fmt::format("{:04} ", i) + std::string(1000, 'm')));
    if (p.buffered() > static_cast<std::size_t>(kept)) ++kept;
  }
  ASSERT_GT(kept, 5);
  ASSERT_LT(kept, 40);
  const std::uint64_t refused = 40 - static_cast<std::uint64_t>(kept);
  EXPECT_EQ(self_.dropped_count("logs", "memory_budget"), refused);
  EXPECT_EQ(budget.refusals(ValueClass::kLogs), refused);
  EXPECT_EQ(budget.used(ValueClass::kLogs), p.buffered_bytes());
  EXPECT_LE(budget.used(ValueClass::kLogs), budget.limit(ValueClass::kLogs));
  EXPECT_EQ(self_.get("lastcall.logs.entries"), static_cast<std::uint64_t>(kept));

  const auto entries = decode(p.flush());
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(kept));
  for (int i = 0; i < kept; ++i) {
    EXPECT_EQ(str(inner(entries[i]), "message").substr(0, 5), fmt::format("{:04} ", i));
  }
  EXPECT_EQ(budget.used(ValueClass::kLogs), 0u);
  EXPECT_EQ(p.buffered_bytes(), 0u);

  // Room again after the flush.
  p.add(text_record("after the flush"));
  EXPECT_EQ(p.buffered(), 1u);
  EXPECT_EQ(self_.dropped_count("logs", "memory_budget"), refused);
}

TEST_F(LogProcessorTest, DestroyingTheProcessorReleasesItsCharge) {
  MemoryBudget budget(1 << 20, &self_);
  {
    LogProcessor p(lambda_options(), self_, tags_, &budget);
    p.add(text_record(std::string(5000, 'k')));
    EXPECT_GT(budget.used(ValueClass::kLogs), 5000u);
  }
  EXPECT_EQ(budget.used(ValueClass::kLogs), 0u);
}

}  // namespace
}  // namespace lc::logs
