// core/self_metrics.h — lastcall's own counters (`lastcall.*`), e.g. lastcall.dropped{kind,reason}.
// Any thread may increment (the DogStatsD receive thread counts its drops); the flush path reads a
// snapshot. Every drop anywhere in the pipeline goes through dropped() (architecture.md "Data
// path").
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lc {

class SelfMetrics {
 public:
  // key: metric name plus sorted "k:v" tags, e.g. {"lastcall.dropped",
  // {"kind:dogstatsd","reason:bad_value"}}
  struct Key {
    std::string name;
    std::vector<std::string> tags;
    bool operator<(const Key& o) const { return std::tie(name, tags) < std::tie(o.name, o.tags); }
  };

  void increment(std::string_view name, std::vector<std::string> tags = {}, std::uint64_t n = 1);
  void dropped(std::string_view kind, std::string_view reason, std::uint64_t n = 1);

  std::uint64_t get(std::string_view name, std::vector<std::string> tags = {}) const;
  std::uint64_t dropped_count(std::string_view kind, std::string_view reason) const;
  std::uint64_t dropped_total() const;
  std::vector<std::pair<Key, std::uint64_t>> snapshot() const;
  // "dropped{kind:dogstatsd,reason:bad_value}=3 ..." for a flush summary line; empty if none.
  std::string summary() const;

 private:
  mutable std::mutex mu_;
  std::map<Key, std::uint64_t> counters_;
};

}  // namespace lc
