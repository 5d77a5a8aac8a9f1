// SelfMetrics: counting by key and by handle, the bound on distinct keys (folded into `other` and
// counted), tag values cut, per-flush deltas through a cursor, the drop line's text, and counting
// from several threads while keys are being added. (No allocation on the hot path:
// tests/unit/metrics/alloc_test.cpp.)
#include "core/self_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace lc {
namespace {

std::uint64_t sum_of(const std::vector<SelfMetrics::Entry>& entries, std::string_view name) {
  std::uint64_t total = 0;
  for (const auto& e : entries) {
    if (e.key.name == name) total += e.value;
  }
  return total;
}

TEST(SelfMetrics, CountsByKeyAndByHandle) {
  SelfMetrics self;
  self.dropped("dogstatsd", "bad_value");
  self.dropped("dogstatsd", "bad_value", 2);
  self.increment("lastcall.dropped", {"reason:bad_value", "kind:dogstatsd"});  // any tag order
  EXPECT_EQ(self.dropped_count("dogstatsd", "bad_value"), 4u);
  EXPECT_EQ(self.get("lastcall.dropped", {"kind:dogstatsd", "reason:bad_value"}), 4u);

  const auto queue_full = self.drop_counter("dogstatsd", "queue_full");
  queue_full.add(5);
  self.dropped("dogstatsd", "queue_full");
  EXPECT_EQ(queue_full.value(), 6u);
  EXPECT_EQ(self.dropped_count("dogstatsd", "queue_full"), 6u);

  self.dropped("proxy", "a_reason_nobody_registered", 3);  // registered at first use
  EXPECT_EQ(self.dropped_count("proxy", "a_reason_nobody_registered"), 3u);
  EXPECT_EQ(self.dropped_total(), 13u);

  const auto events = self.counter("lastcall.dogstatsd.events");
  events.add();
  EXPECT_EQ(self.get("lastcall.dogstatsd.events"), 1u);
  SelfMetrics::Counter none;
  none.add();  // a default handle counts nothing
  EXPECT_EQ(none.value(), 0u);

  EXPECT_EQ(self.summary(),
            "lastcall.dogstatsd.events=1 lastcall.dropped{kind:dogstatsd,reason:bad_value}=4 "
            "lastcall.dropped{kind:dogstatsd,reason:queue_full}=6 "
            "lastcall.dropped{kind:proxy,reason:a_reason_nobody_registered}=3");
}

TEST(SelfMetrics, KnownDropReasonsExistBeforeTheFirstDrop) {
  SelfMetrics self;
  const std::size_t keys = self.key_count();
  EXPECT_GT(keys, 20u);
  self.dropped("dogstatsd", "bad_format");
  self.dropped("dogstatsd", "kernel_buffer");
  self.dropped("telemetry", "malformed");
  EXPECT_EQ(self.key_count(), keys);  // nothing new was registered
  EXPECT_EQ(self.summary().find("=0"), std::string::npos) << self.summary();
}

TEST(SelfMetrics, AttackerChosenTagValuesAreFoldedIntoOtherAndCounted) {
  SelfMetrics self;
  // A telemetry type per event, chosen by whoever sends the events.
  const std::size_t n = 3 * SelfMetrics::kMaxKeys;
  for (std::size_t i = 0; i < n; ++i) {
    self.increment("lastcall.telemetry.events", {"type:attacker." + std::to_string(i)});
  }
  EXPECT_LE(self.key_count(), SelfMetrics::kMaxKeys + 1);  // the cap, plus the one `other` key
  const auto all = self.snapshot();
  EXPECT_EQ(sum_of(all, "lastcall.telemetry.events"), n);  // nothing lost, only folded
  const std::uint64_t other = self.get("lastcall.telemetry.events", {"type:other"});
  EXPECT_GT(other, n / 2);
  EXPECT_EQ(self.get(SelfMetrics::kFolded), other);

  // A drop with an unknown reason past the cap keeps its (code-chosen) kind.
  self.dropped("telemetry", "never.seen.before", 2);
  EXPECT_EQ(self.dropped_count("telemetry", "other"), 2u);
  EXPECT_EQ(self.dropped_count("telemetry", "never.seen.before"), 0u);
  EXPECT_EQ(self.get(SelfMetrics::kFolded), other + 2);
  // Keys that existed before the cap still count as themselves.
  self.dropped("dogstatsd", "bad_value");
  EXPECT_EQ(self.dropped_count("dogstatsd", "bad_value"), 1u);
  self.increment("lastcall.telemetry.events", {"type:attacker.0"});
  EXPECT_EQ(self.get("lastcall.telemetry.events", {"type:attacker.0"}), 2u);
  EXPECT_LE(self.key_count(), SelfMetrics::kMaxKeys + 2);
}

TEST(SelfMetrics, EvenTheFoldRoomIsBounded) {
  SelfMetrics self;
  // Distinct names (each would need its own `other` key) cannot grow the table past its size.
  for (std::size_t i = 0; i < 4 * SelfMetrics::kMaxKeys; ++i) {
    self.increment("lastcall.test." + std::to_string(i), {"k:v"});
  }
  EXPECT_LE(self.key_count(), SelfMetrics::kMaxKeys + SelfMetrics::kFoldReserve);
  EXPECT_GT(self.get(SelfMetrics::kFolded), 0u);
}

TEST(SelfMetrics, LongTagValuesAreCut) {
  SelfMetrics self;
  const std::string huge(10000, 'x');
  self.increment("lastcall.telemetry.events", {"type:" + huge});
  self.dropped("telemetry", huge);
  const std::string cut(SelfMetrics::kMaxTagValue, 'x');
  EXPECT_EQ(self.get("lastcall.telemetry.events", {"type:" + cut}), 1u);
  EXPECT_EQ(self.dropped_count("telemetry", cut), 1u);
  self.dropped("telemetry", huge);  // the same key again
  EXPECT_EQ(self.dropped_count("telemetry", cut), 2u);
}

TEST(SelfMetrics, DeltaReportsWhatChangedSinceTheCursorsLastCall) {
  SelfMetrics self;
  SelfMetrics::Cursor a, b;
  EXPECT_TRUE(self.take_delta(a).empty());
  self.dropped("dogstatsd", "bad_value", 3);
  self.dropped("dogstatsd", "queue_full", 12);
  auto d = self.take_delta(a);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].key.tags, (std::vector<std::string>{"kind:dogstatsd", "reason:bad_value"}));
  EXPECT_EQ(d[0].value, 3u);
  EXPECT_EQ(d[1].value, 12u);
  EXPECT_TRUE(self.take_delta(a).empty());  // nothing new

  self.dropped("dogstatsd", "bad_value");
  const auto depth = self.gauge("lastcall.forward.retry_queue_payloads");
  depth.set(7);
  d = self.take_delta(a);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].key.name, "lastcall.dropped");
  EXPECT_EQ(d[0].value, 1u);
  EXPECT_EQ(d[1].type, SelfMetrics::Type::kGauge);
  EXPECT_EQ(d[1].value, 7u);
  d = self.take_delta(a);  // a gauge is reported at every call, with its current value
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].value, 7u);

  // Another cursor has its own idea of what was reported.
  d = self.take_delta(b);
  EXPECT_EQ(sum_of(d, "lastcall.dropped"), 16u);
}

TEST(SelfMetrics, DropsTextNamesKindReasonAndCount) {
  SelfMetrics self;
  SelfMetrics::Cursor c;
  self.dropped("dogstatsd", "queue_full", 12);
  self.dropped("dogstatsd", "bad_value", 3);
  self.increment("lastcall.dogstatsd.events");
  std::uint64_t total = 0;
  const auto d = self.take_delta(c);
  EXPECT_EQ(SelfMetrics::drops_text(d, &total), "dogstatsd/bad_value 3, dogstatsd/queue_full 12");
  EXPECT_EQ(total, 15u);
  EXPECT_EQ(SelfMetrics::drops_text(self.take_delta(c), &total), "");
  EXPECT_EQ(total, 0u);
}

TEST(SelfMetrics, ThreadsCountWhileKeysAreAdded) {
  SelfMetrics self;
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&self, t] {
      for (int i = 0; i < kPerThread; ++i) {
        self.dropped("dogstatsd", "bad_value");
        if (i % 100 == 0) self.dropped("proxy", "r" + std::to_string(t * 1000 + i / 100));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(self.dropped_count("dogstatsd", "bad_value"),
            static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(self.dropped_total(), static_cast<std::uint64_t>(kThreads * kPerThread) +
                                      static_cast<std::uint64_t>(kThreads * kPerThread / 100));
}

}  // namespace
}  // namespace lc
