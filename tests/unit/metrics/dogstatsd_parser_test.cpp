// Every grammar rule of datadog-wire.md §1.2–1.8 and every malformed case of the §1.9 table.
#include "metrics/dogstatsd_parser.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics_test_util.h"

namespace lc::metrics {
namespace {

using testing::CollectingVisitor;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ParserTest : public ::testing::Test {
 protected:
  CollectingVisitor parse(std::string_view packet, ParserOptions options = {},
                          bool truncated = false) {
    DogStatsdParser parser(std::move(options), self_);
    CollectingVisitor v;
    parser.parse_packet(packet, truncated, v);
    return v;
  }
  std::uint64_t dropped(std::string_view reason) const {
    return self_.dropped_count("dogstatsd", reason);
  }
  // Parses one line that must be rejected with exactly `reason`.
  void expect_drop(std::string_view line, std::string_view reason) {
    SelfMetrics fresh;
    DogStatsdParser parser({}, fresh);
    CollectingVisitor v;
    parser.parse_packet(line, false, v);
    EXPECT_THAT(v.samples, IsEmpty()) << line;
    EXPECT_EQ(fresh.dropped_count("dogstatsd", reason), 1u) << line << " → " << fresh.summary();
    EXPECT_EQ(fresh.dropped_total(), 1u) << line << " → " << fresh.summary();
  }
  // Parses one line that must be accepted.
  testing::OwnedSample expect_ok(std::string_view line, ParserOptions options = {}) {
    SelfMetrics fresh;
    DogStatsdParser parser(std::move(options), fresh);
    CollectingVisitor v;
    parser.parse_packet(line, false, v);
    EXPECT_EQ(fresh.dropped_total(), 0u) << line << " → " << fresh.summary();
    EXPECT_EQ(v.samples.size(), 1u) << line;
    return v.samples.empty() ? testing::OwnedSample{} : v.samples[0];
  }
  SelfMetrics self_;
};

TEST_F(ParserTest, AllSixTypes) {
  auto v = parse("a:1|c\nb:2|g\nc:x|s\nd:3|h\ne:4|ms\nf:5|d");
  ASSERT_EQ(v.samples.size(), 6u);
  EXPECT_EQ(v.samples[0].type, MetricType::kCount);
  EXPECT_EQ(v.samples[1].type, MetricType::kGauge);
  EXPECT_EQ(v.samples[2].type, MetricType::kSet);
  EXPECT_EQ(v.samples[2].set_member, "x");
  EXPECT_EQ(v.samples[3].type, MetricType::kHistogram);
  EXPECT_EQ(v.samples[4].type, MetricType::kTimer);
  EXPECT_EQ(v.samples[5].type, MetricType::kDistribution);
  EXPECT_THAT(v.samples[5].values, ElementsAre(5.0));
  EXPECT_EQ(dropped("bad_format") + dropped("bad_type"), 0u);
}

TEST_F(ParserTest, PackedValuesAndEmptyItems) {
  EXPECT_THAT(expect_ok("load:1:2:3|g").values, ElementsAre(1, 2, 3));
  EXPECT_THAT(expect_ok("a:1::2|d").values, ElementsAre(1, 2));
  EXPECT_THAT(expect_ok("a:-1.5:+2e3:.5|h").values, ElementsAre(-1.5, 2000, 0.5));
}

TEST_F(ParserTest, SetMemberIsVerbatimIncludingColons) {
  auto s = expect_ok("users:a:b|s");
  EXPECT_EQ(s.set_member, "a:b");
  EXPECT_THAT(s.values, IsEmpty());
}

TEST_F(ParserTest, GaugeSignIsPlainValue) {
  EXPECT_THAT(expect_ok("g:+5|g").values, ElementsAre(5.0));
  EXPECT_THAT(expect_ok("g:-5|g").values, ElementsAre(-5.0));
}

TEST_F(ParserTest, SampleRate) {
  EXPECT_DOUBLE_EQ(expect_ok("x:3|c|@0.5").rate, 0.5);
  EXPECT_DOUBLE_EQ(expect_ok("x:1|c|@2").rate, 1.0);
  EXPECT_DOUBLE_EQ(expect_ok("x:1|c|@0").rate, 1.0);
  EXPECT_DOUBLE_EQ(expect_ok("x:1|c|@-0.5").rate, 1.0);
  expect_drop("x:1|c|@abc", "bad_sample_rate");
  expect_drop("x:1|c|@", "bad_sample_rate");
}

// datadog-wire.md §1.3 rule 7: the rate is read as the Agent reads it (Go strconv.ParseFloat), and
// a parsed rate outside (0, 1] — NaN and the infinities included — counts as 1.
TEST_F(ParserTest, NonFiniteSampleRateIsTreatedAsOne) {
  for (const char* line :
       {"x:3|c|@NaN", "x:3|c|@nan", "x:3|c|@inf", "x:3|c|@+Inf", "x:3|c|@-inf", "x:3|c|@Infinity",
        "x:3|c|@-INFINITY", "x:3|c|@1e-999", "x:3|c|@-1e-999", "x:3|c|@1e308"}) {
    SCOPED_TRACE(line);
    const auto s = expect_ok(line);
    EXPECT_DOUBLE_EQ(s.rate, 1.0);
    EXPECT_THAT(s.values, ElementsAre(3.0));
  }
  EXPECT_DOUBLE_EQ(expect_ok("x:1|c|@1e-300").rate, DogStatsdParser::kMinSampleRate);
}

TEST_F(ParserTest, UnparsableSampleRateIsDropped) {
  // Go rejects these too: other spellings of the special values, overflow, hex, trailing junk.
  for (const char* line : {"x:1|c|@abc", "x:1|c|@", "x:1|c|@-nan", "x:1|c|@+NaN", "x:1|c|@in",
                           "x:1|c|@infin", "x:1|c|@1e999", "x:1|c|@-1e999", "x:1|c|@0x1p-1",
                           "x:1|c|@0.5x", "x:1|c|@+-0.5", "x:1|c|@1e-999x", "x:1|c|@nan0"}) {
    SCOPED_TRACE(line);
    expect_drop(line, "bad_sample_rate");
  }
}

TEST_F(ParserTest, Tags) {
  auto s = expect_ok("x:1|c|#b:2,a:1,,a:1,c");
  EXPECT_THAT(s.tags, ElementsAre("a:1", "b:2", "c"));
  EXPECT_THAT(expect_ok("x:1|c|#a,,b").tags, ElementsAre("a", "b"));
  // Passed through byte for byte: no trimming, no lower-casing.
  EXPECT_THAT(expect_ok("x:1|c|# A:B ").tags, ElementsAre(" A:B "));
}

// A tag field repeated from the previous line is not split again: its tags (and host:) come from
// the parser's own copy, so they stay right after the packet they came from is gone, and a line
// without tags, an event or a service check between two lines does not disturb them.
TEST_F(ParserTest, ARepeatedTagFieldGivesTheSameTagsFromTheParsersOwnCopy) {
  DogStatsdParser parser({}, self_);
  CollectingVisitor v;
  std::string packet = "a:1|c|#b:2,host:h1,a:1";
  parser.parse_packet(packet, false, v);
  packet.assign("bb:22|c|#b:2,host:h1,a:1");  // same field, elsewhere in the same buffer
  parser.parse_packet(packet, false, v);
  packet.assign("c:3|c\n_e{1,1}:t|x|#ev:1\n_sc|s|0|#sc:1\nd:4|c|#b:2,host:h1,a:1");
  parser.parse_packet(packet, false, v);
  packet.assign("e:5|c|#b:2,host:h2,a:1\nf:6|c|#b:2,host:h1,a:1,a:1");
  parser.parse_packet(packet, false, v);
  std::fill(packet.begin(), packet.end(), 'z');
  ASSERT_EQ(v.samples.size(), 6u);
  for (const std::size_t i : {0, 1, 3}) {
    EXPECT_THAT(v.samples[i].tags, ElementsAre("a:1", "b:2")) << i;
    EXPECT_TRUE(v.samples[i].has_host) << i;
    EXPECT_EQ(v.samples[i].host, "h1") << i;
  }
  EXPECT_THAT(v.samples[2].tags, IsEmpty());
  EXPECT_FALSE(v.samples[2].has_host);
  EXPECT_EQ(v.samples[4].host, "h2");
  EXPECT_THAT(v.samples[5].tags, ElementsAre("a:1", "b:2"));
  EXPECT_EQ(v.samples[5].host, "h1");
  ASSERT_EQ(v.events.size(), 1u);
  EXPECT_THAT(v.events[0].tags, ElementsAre("ev:1"));
  ASSERT_EQ(v.checks.size(), 1u);
  EXPECT_THAT(v.checks[0].tags, ElementsAre("sc:1"));
  EXPECT_EQ(self_.dropped_total(), 0u);
}

TEST_F(ParserTest, FieldsInAnyOrderLastRepeatWins) {
  auto s = expect_ok("x:1|c|#a:1|@0.5|T1700000000|#b:2|@0.25|T1700000010");
  EXPECT_THAT(s.tags, ElementsAre("b:2"));
  EXPECT_DOUBLE_EQ(s.rate, 0.25);
  EXPECT_EQ(s.timestamp, 1700000010);
}

TEST_F(ParserTest, OriginAndUnknownFieldsIgnored) {
  auto s = expect_ok("x:1|c|c:abc123|e:it-false,cn-x|card:high|zzz|#a:1");
  EXPECT_THAT(s.tags, ElementsAre("a:1"));
  EXPECT_DOUBLE_EQ(s.rate, 1.0);
  expect_ok("x:1|c|zzz");
}

TEST_F(ParserTest, Timestamp) {
  EXPECT_EQ(expect_ok("x:1|g|T1700000015").timestamp, 1700000015);
  expect_drop("x:1|g|Tabc", "bad_timestamp");
  expect_drop("x:1|g|T0", "bad_timestamp");
  expect_drop("x:1|g|T-5", "bad_timestamp");
  expect_drop("x:1|g|T", "bad_timestamp");
  expect_drop("x:1|g|T1.5", "bad_timestamp");
}

TEST_F(ParserTest, FramingCrlfEmptyLinesTrailingNewline) {
  auto v = parse("a:1|c\r\n\n\nb:2|g\r\n");
  ASSERT_EQ(v.samples.size(), 2u);
  EXPECT_EQ(v.samples[0].name, "a");
  EXPECT_EQ(v.samples[1].name, "b");
  EXPECT_EQ(self_.dropped_total(), 0u);
}

TEST_F(ParserTest, OneBadLineDoesNotAffectNeighbours) {
  auto v = parse("ok.one:1|c\nbad.value:abc|c\nnocolon|c\nx:1|zz\n:1|c\nok.two:5|g\n");
  ASSERT_EQ(v.samples.size(), 2u);
  EXPECT_EQ(v.samples[0].name, "ok.one");
  EXPECT_EQ(v.samples[1].name, "ok.two");
  EXPECT_EQ(dropped("bad_value"), 1u);
  EXPECT_EQ(dropped("bad_format"), 2u);
  EXPECT_EQ(dropped("bad_type"), 1u);
  EXPECT_EQ(self_.dropped_total(), 4u);
}

TEST_F(ParserTest, MalformedTable) {  // datadog-wire.md §1.9, row by row
  expect_ok("page.views:1|c");
  expect_drop("page.views:1", "bad_format");
  expect_drop("page.views|c", "bad_format");
  expect_drop(":1|c", "bad_format");
  expect_drop("page.views:|c", "bad_format");
  expect_drop("page.views:::|c", "bad_format");
  expect_drop("page.views:abc|c", "bad_value");
  expect_drop("x:NaN|g", "bad_value");
  expect_drop("x:nan|g", "bad_value");
  expect_drop("x:Inf|g", "bad_value");
  expect_drop("x:-inf|g", "bad_value");
  expect_drop("x:1e999|g", "bad_value");
  expect_drop("x:0x10|g", "bad_value");
  expect_drop("x:1e|g", "bad_value");
  expect_drop("x:1:b|d", "bad_value");
  expect_drop("x:+-1|g", "bad_value");
  expect_drop("x: 1|g", "bad_value");
  expect_drop("page.views:1|x", "bad_type");
  expect_drop("page.views:1|C", "bad_type");
  expect_drop("page.views:1|", "bad_type");
  expect_drop("page.views:1|mss", "bad_type");
  expect_drop("x:1|c|@abc", "bad_sample_rate");
  expect_ok("x:1|c|@2");
  expect_ok("x:1|c|@0");
  expect_drop("x:1|g|Tabc", "bad_timestamp");
  expect_drop("x:1|g|T0", "bad_timestamp");
  EXPECT_THAT(expect_ok("x:1|c|#a,,b").tags, ElementsAre("a", "b"));
  expect_ok("x:1|c|zzz");
  expect_drop("_e{5,4}:abc|d", "bad_event");
  expect_drop("_sc|name|7", "bad_service_check");
  expect_drop("a|b:1|c", "bad_format");
}

TEST_F(ParserTest, TagLimitCountsDistinctTags) {
  std::string line = "x:1|c|#";
  for (int i = 0; i < 100; ++i) line += "t" + std::to_string(i) + ",";
  line += "t0,t1";  // duplicates do not count
  EXPECT_EQ(expect_ok(line).tags.size(), 100u);
  line += ",t100";
  expect_drop(line, "too_many_tags");
}

TEST_F(ParserTest, HugeTagListsAreRejectedWithoutQuadraticWork) {
  // ~30 000 distinct tags in one 64 KiB line: rejected, and quickly (no re-sorting per tag).
  std::string line = "x:1|c|#";
  for (int i = 0; line.size() < 65000; ++i) line += std::to_string(i) + ",";
  expect_drop(line, "too_many_tags");
  // Many duplicates of few tags stay acceptable.
  std::string dup = "x:1|c|#";
  for (int i = 0; i < 5000; ++i) dup += "t" + std::to_string(i % 7) + ",";
  EXPECT_EQ(expect_ok(dup).tags.size(), 7u);
}

TEST_F(ParserTest, NameLengthLimit) {
  expect_ok(std::string(200, 'n') + ":1|c");
  expect_drop(std::string(201, 'n') + ":1|c", "name_too_long");
}

TEST_F(ParserTest, BadUtf8DropsOnlyThatLine) {
  auto v = parse("a:1|c\nb\xff:1|c\nc:1|c|#\xc3\xa9t\xc3\xa9\nd:1|c|#\xed\xa0\x80\ne\xc0\xaf:1|c");
  ASSERT_EQ(v.samples.size(), 2u);
  EXPECT_EQ(v.samples[0].name, "a");
  EXPECT_EQ(v.samples[1].name, "c");
  EXPECT_THAT(v.samples[1].tags, ElementsAre("\xc3\xa9t\xc3\xa9"));
  EXPECT_EQ(dropped("bad_utf8"), 3u);  // invalid byte, surrogate, overlong
}

TEST_F(ParserTest, BadUtf8InsideLongAsciiRunsDropsOnlyThatLine) {
  // The bad byte sits past the first 16 ASCII bytes, and the packet's other lines are long ASCII.
  auto v = parse(
      "first.metric.with.a.long.name:1|c|#env:production\n"
      "second.metric.with.a.long.name\xfe:1|c|#env:production\n"
      "third.metric.with.a.long.name:1|c|#env:production,t\xc3\xa9");
  ASSERT_EQ(v.samples.size(), 2u);
  EXPECT_EQ(v.samples[0].name, "first.metric.with.a.long.name");
  EXPECT_EQ(v.samples[1].name, "third.metric.with.a.long.name");
  EXPECT_EQ(dropped("bad_utf8"), 1u);
}

TEST_F(ParserTest, TagsAreSortedBytewiseAndDeduplicatedForAnyCount) {
  // Tags sharing long prefixes, shorter than 8 bytes, with bytes >= 0x80 (compared unsigned) and
  // duplicates; from 1 to 60 tags, so small and large lists are both covered.
  const std::vector<std::string> pool = {"a",
                                         "ab",
                                         "abc",
                                         "abcdefg",
                                         "abcdefgh",
                                         "abcdefgh:",
                                         "abcdefghi",
                                         "abcdefgh:1",
                                         "abcdefgh:10",
                                         "abcdefgh:2",
                                         "service:a",
                                         "service:b",
                                         "service",
                                         "services:x",
                                         "z",
                                         "\xc3\xa9t\xc3\xa9",
                                         "\xc3\xa9",
                                         "env:prod",
                                         "env:pro",
                                         "env:prod2",
                                         "kube_namespace:x",
                                         "kube_namespace:y",
                                         "~",
                                         "0",
                                         "A",
                                         "a:b:c",
                                         "abcdefgh\x7f",
                                         "abcdefgh\xc2\x80"};
  std::uint64_t seed = 42;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>(seed >> 33);
  };
  for (std::size_t n = 1; n <= 60; ++n) {
    for (int round = 0; round < 5; ++round) {
      std::vector<std::string> tags;
      std::string line = "x:1|c|#";
      for (std::size_t i = 0; i < n; ++i) {
        tags.push_back(pool[next() % pool.size()]);
        if (i > 0) line += ',';
        line += tags.back();
      }
      std::sort(tags.begin(), tags.end());
      tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
      EXPECT_EQ(expect_ok(line).tags, tags) << line;
    }
  }
}

TEST_F(ParserTest, ValuesParseAsFromCharsWould) {
  const char* const ok[] = {"0",
                            "-0",
                            "+0",
                            "7",
                            "007",
                            "-42",
                            "+42",
                            "1.5",
                            "-.5",
                            "1e3",
                            "1E-3",
                            "123456789012345",
                            "-123456789012345",
                            "1234567890123456",
                            "12345678901234567",
                            "+99999999999999999999",
                            "9007199254740993"};
  for (const char* text : ok) {
    const auto s = expect_ok(std::string("x:") + text + "|g");
    ASSERT_EQ(s.values.size(), 1u) << text;
    const double want = std::strtod(text, nullptr);
    EXPECT_EQ(s.values[0], want) << text;
    EXPECT_EQ(std::signbit(s.values[0]), std::signbit(want)) << text;
  }
  for (const char* text : {"-", "+", "+-1", "--1", "1-2", "1+", "0x10", "12a", "1 ", " 1", "١"}) {
    expect_drop(std::string("x:") + text + "|g", "bad_value");
  }
}

TEST_F(ParserTest, Utf8Validator) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80 emoji \xe2\x82\xac"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xe2\x82"));       // cut sequence
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST_F(ParserTest, HostTagSidecarBecomesHost) {
  auto s = expect_ok("x:1|g|#env:dev,host:h1,a:1");
  EXPECT_TRUE(s.has_host);
  EXPECT_EQ(s.host, "h1");
  EXPECT_THAT(s.tags, ElementsAre("a:1", "env:dev"));
}

TEST_F(ParserTest, HostTagLambdaRemovedAndIgnored) {
  ParserOptions o;
  o.lambda_mode = true;
  auto s = expect_ok("x:1|g|#env:dev,host:h1", o);
  EXPECT_FALSE(s.has_host);
  EXPECT_EQ(s.host, "");
  EXPECT_THAT(s.tags, ElementsAre("env:dev"));
}

TEST_F(ParserTest, ReservedNameOnlyInLambdaMode) {
  const std::string line = "aws.lambda.enhanced.invocations:1|d|#functionname:f|T1700000000";
  ParserOptions lambda;
  lambda.lambda_mode = true;
  {
    SelfMetrics fresh;
    DogStatsdParser parser(lambda, fresh);
    CollectingVisitor v;
    parser.parse_packet(line, false, v);
    EXPECT_THAT(v.samples, IsEmpty());
    EXPECT_EQ(fresh.dropped_count("dogstatsd", "reserved_name"), 1u);
  }
  EXPECT_EQ(expect_ok(line).name, "aws.lambda.enhanced.invocations");
}

TEST_F(ParserTest, NamespaceAndBlacklist) {
  ParserOptions o;
  o.namespace_prefix = "app.";
  o.namespace_blacklist = {"datadog.tracer", "jvm"};
  auto v = parse("req:1|c\njvm.heap:3|g\ndatadog.tracer.x:1|c\njvmx:1|g", o);
  ASSERT_EQ(v.samples.size(), 4u);
  EXPECT_EQ(v.samples[0].name, "app.req");
  EXPECT_EQ(v.samples[1].name, "jvm.heap");
  EXPECT_EQ(v.samples[2].name, "datadog.tracer.x");
  EXPECT_EQ(v.samples[3].name, "jvmx");  // prefix match, like the Agent
  // The length limit applies to the final name.
  SelfMetrics fresh;
  DogStatsdParser p(o, fresh);
  CollectingVisitor c;
  p.parse_packet(std::string(197, 'n') + ":1|c", false, c);
  EXPECT_EQ(fresh.dropped_count("dogstatsd", "name_too_long"), 1u);
}

TEST_F(ParserTest, TruncatedDatagramDropsPartialLastLine) {
  auto v = parse("a:1|c\nb:2|c\nc:3|", {}, /*truncated=*/true);
  ASSERT_EQ(v.samples.size(), 2u);
  EXPECT_EQ(dropped("truncated"), 1u);
  EXPECT_EQ(self_.dropped_total(), 1u);
  SelfMetrics fresh;
  DogStatsdParser p({}, fresh);
  CollectingVisitor c;
  p.parse_packet("a:1|c", true, c);  // no newline at all: the whole datagram is partial
  EXPECT_THAT(c.samples, IsEmpty());
  EXPECT_EQ(fresh.dropped_count("dogstatsd", "truncated"), 1u);
}

TEST_F(ParserTest, RealClientLines) {  // datadog-wire.md §1.7
  auto v = parse(
      "my.counter:1|c|#env:dev,route:/a,code:200\n"
      "my.gauge:12.5|g|#env:dev,host:h1\n"
      "my.histo:33|h|#env:dev,h:1\n"
      "my.dist:0.25|d|#env:dev,fn:x\n"
      "my.timer:120|ms|#env:dev,t:1\n"
      "my.set:user42|s|#env:dev\n"
      "pfx.s.counter.sfx:1|c|@0.5|#i:1\n"
      "probe.biz.latency:12.5|d|#route:/"
      "a,env:dev,dd_lambda_layer:datadog-nodev20.20.2|T1795390031");
  ASSERT_EQ(v.samples.size(), 8u);
  EXPECT_THAT(v.samples[0].tags, ElementsAre("code:200", "env:dev", "route:/a"));
  EXPECT_EQ(v.samples[1].host, "h1");
  EXPECT_THAT(v.samples[2].tags, ElementsAre("env:dev", "h:1"));
  EXPECT_DOUBLE_EQ(v.samples[6].rate, 0.5);
  EXPECT_EQ(v.samples[7].timestamp, 1795390031);
  EXPECT_EQ(self_.dropped_total(), 0u);
}

TEST_F(ParserTest, Events) {
  auto v = parse("_e{15,9}:deploy happened|text body|t:info|#env:dev,ev:1");
  ASSERT_EQ(v.events.size(), 1u);
  EXPECT_EQ(v.events[0].title, "deploy happened");
  EXPECT_EQ(v.events[0].text, "text body");
  EXPECT_EQ(v.events[0].alert_type, "info");
  EXPECT_EQ(v.events[0].priority, "normal");
  EXPECT_THAT(v.events[0].tags, ElementsAre("env:dev", "ev:1"));

  auto w = parse("_e{5,6}:a\\nbc|l1\\nl2|d:1700000000|h:h1|k:agg|p:low|s:src|t:error|t:bogus|x:y");
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].title, "a\nbc");
  EXPECT_EQ(w.events[0].text, "l1\nl2");
  EXPECT_EQ(w.events[0].date, 1700000000);
  EXPECT_EQ(w.events[0].host, "h1");
  EXPECT_EQ(w.events[0].aggregation_key, "agg");
  EXPECT_EQ(w.events[0].priority, "low");
  EXPECT_EQ(w.events[0].source_type, "src");
  EXPECT_EQ(w.events[0].alert_type, "error");  // invalid t:bogus ignored, event kept
  EXPECT_EQ(self_.dropped_total(), 0u);

  expect_drop("_e{5,4}:abc|d", "bad_event");
  expect_drop("_e{0,4}:|abcd", "bad_event");
  expect_drop("_e{x,4}:abcde|abcd", "bad_event");
  expect_drop("_e{3,4}:abcXabcd", "bad_event");
  expect_drop("_e{3,2}:abc|abcd", "bad_event");  // text longer than announced
  expect_drop("_e{3,4", "bad_event");
  expect_drop("_e{99999999999999999999,1}:a|b", "bad_event");
}

TEST_F(ParserTest, ServiceChecks) {
  auto v = parse("_sc|svc.check|0|h:h1|#env:dev,ck:1|m:fine | with pipe");
  ASSERT_EQ(v.checks.size(), 1u);
  EXPECT_EQ(v.checks[0].name, "svc.check");
  EXPECT_EQ(v.checks[0].status, 0);
  EXPECT_EQ(v.checks[0].host, "h1");
  EXPECT_THAT(v.checks[0].tags, ElementsAre("ck:1", "env:dev"));
  EXPECT_EQ(v.checks[0].message, "fine | with pipe");
  auto w = parse("_sc|x|3|d:1700000000");
  ASSERT_EQ(w.checks.size(), 1u);
  EXPECT_EQ(w.checks[0].status, 3);
  EXPECT_EQ(w.checks[0].timestamp, 1700000000);
  expect_drop("_sc|name|7", "bad_service_check");
  expect_drop("_sc||0", "bad_service_check");
  expect_drop("_sc|name", "bad_service_check");
  expect_drop("_sc|name|01", "bad_service_check");
}

TEST_F(ParserTest, ScratchBuffersAreReusedAcrossLines) {
  // Samples of one packet are delivered one at a time; a visitor copying them sees each intact.
  auto v = parse("a:1:2|d|#z,y\nb:3|d|#x\nc:4:5:6|h");
  ASSERT_EQ(v.samples.size(), 3u);
  EXPECT_THAT(v.samples[0].values, ElementsAre(1, 2));
  EXPECT_THAT(v.samples[0].tags, ElementsAre("y", "z"));
  EXPECT_THAT(v.samples[1].tags, ElementsAre("x"));
  EXPECT_THAT(v.samples[2].values, ElementsAre(4, 5, 6));
  EXPECT_THAT(v.samples[2].tags, IsEmpty());
}

}  // namespace
}  // namespace lc::metrics
