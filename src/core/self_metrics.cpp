#include "core/self_metrics.h"

#include <algorithm>

namespace lc {

void SelfMetrics::increment(std::string_view name, std::vector<std::string> tags, std::uint64_t n) {
  std::sort(tags.begin(), tags.end());
  std::lock_guard lock(mu_);
  counters_[Key{std::string(name), std::move(tags)}] += n;
}

void SelfMetrics::dropped(std::string_view kind, std::string_view reason, std::uint64_t n) {
  increment("lastcall.dropped", {"kind:" + std::string(kind), "reason:" + std::string(reason)}, n);
}

std::uint64_t SelfMetrics::get(std::string_view name, std::vector<std::string> tags) const {
  std::sort(tags.begin(), tags.end());
  std::lock_guard lock(mu_);
  auto it = counters_.find(Key{std::string(name), std::move(tags)});
  return it == counters_.end() ? 0 : it->second;
}

std::uint64_t SelfMetrics::dropped_count(std::string_view kind, std::string_view reason) const {
  return get("lastcall.dropped", {"kind:" + std::string(kind), "reason:" + std::string(reason)});
}

std::uint64_t SelfMetrics::dropped_total() const {
  std::lock_guard lock(mu_);
  std::uint64_t total = 0;
  for (const auto& [key, value] : counters_) {
    if (key.name == "lastcall.dropped") total += value;
  }
  return total;
}

std::vector<std::pair<SelfMetrics::Key, std::uint64_t>> SelfMetrics::snapshot() const {
  std::lock_guard lock(mu_);
  return {counters_.begin(), counters_.end()};
}

std::string SelfMetrics::summary() const {
  std::string out;
  for (const auto& [key, value] : snapshot()) {
    if (!out.empty()) out.push_back(' ');
    out += key.name;
    if (!key.tags.empty()) {
      out.push_back('{');
      for (size_t i = 0; i < key.tags.size(); ++i) {
        if (i) out.push_back(',');
        out += key.tags[i];
      }
      out.push_back('}');
    }
    out += "=" + std::to_string(value);
  }
  return out;
}

}  // namespace lc
