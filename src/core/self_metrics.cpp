#include "core/self_metrics.h"

#include <algorithm>

namespace lc {

struct SelfMetrics::Slot {
  std::uint64_t hash = 0;
  Type type = Type::kCounter;
  std::string name;
  std::vector<std::string> tags;
  std::atomic<std::uint64_t> value{0};
};

namespace {

// Every drop reason the code counts today (kind, reason): registered at construction, so counting
// one never allocates, not even the first time. A reason missing here still works (registered at
// first use).
constexpr std::pair<std::string_view, std::string_view> kKnownDrops[] = {
    {"dogstatsd", "truncated"},     {"dogstatsd", "bad_utf8"},
    {"dogstatsd", "bad_format"},    {"dogstatsd", "bad_type"},
    {"dogstatsd", "bad_value"},     {"dogstatsd", "bad_sample_rate"},
    {"dogstatsd", "bad_timestamp"}, {"dogstatsd", "too_many_tags"},
    {"dogstatsd", "reserved_name"}, {"dogstatsd", "name_too_long"},
    {"dogstatsd", "bad_event"},     {"dogstatsd", "bad_service_check"},
    {"dogstatsd", "unsupported"},   {"dogstatsd", "queue_full"},
    {"dogstatsd", "kernel_buffer"}, {"dogstatsd", "too_old"},
    {"dogstatsd", "item_too_big"},  {"dogstatsd", "no_sketch_endpoint"},
    {"dogstatsd", "context_limit"}, {"dogstatsd", "memory_budget"},
    {"dogstatsd", "set_full"},      {"dogstatsd", "window_full"},
    {"dogstatsd", "overflow"},      {"telemetry", "too_large"},
    {"telemetry", "malformed"},
};

constexpr std::string_view kKindPrefix = "kind:";
constexpr std::string_view kReasonPrefix = "reason:";

// "key:value" → value cut to `max` bytes (a tag without ':' is cut as a whole).
void cut_tag(std::string& tag, std::size_t max) {
  const std::size_t colon = tag.find(':');
  const std::size_t start = colon == std::string::npos ? 0 : colon + 1;
  if (tag.size() - start > max) tag.resize(start + max);
}

}  // namespace

SelfMetrics::SelfMetrics() : buckets_(new std::atomic<std::uint32_t>[kBuckets]) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  folded_ = &slot_for(kFolded, {}, Type::kCounter)->value;
  // The known drops' keys are canonical as written ("kind:" < "reason:", short values): added
  // directly, without the general path's sorting and cutting.
  MutexLock lock(mu_);
  for (const auto& [kind, reason] : kKnownDrops) {
    const Piece pieces[] = {{kKindPrefix, kind}, {kReasonPrefix, reason}};
    const std::uint64_t hash = hash_of(kDropped, pieces);
    if (find(hash, kDropped, pieces) != nullptr) continue;
    add_locked(hash, kDropped,
               {std::string(kKindPrefix).append(kind), std::string(kReasonPrefix).append(reason)},
               Type::kCounter);
  }
}

SelfMetrics::~SelfMetrics() = default;

SelfMetrics::Slot& SelfMetrics::slot(std::size_t index) const {
  return chunks_[index / kChunkSlots][index % kChunkSlots];
}

std::uint64_t SelfMetrics::hash_of(std::string_view name, std::span<const Piece> tags) {
  // FNV-1a over name '\0' (tag '\0')*: the same bytes whether a tag comes whole or in pieces.
  std::uint64_t h = 14695981039346656037ull;
  const auto mix = [&h](std::string_view s) {
    for (const char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  };
  const auto end = [&h] { h *= 1099511628211ull; };  // the '\0' separator
  mix(name);
  end();
  for (const auto& t : tags) {
    mix(t.prefix);
    mix(t.value);
    end();
  }
  return h;
}

SelfMetrics::Slot* SelfMetrics::find(std::uint64_t hash, std::string_view name,
                                     std::span<const Piece> tags) const {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    const std::uint32_t index =
        buckets_[(hash + i) & (kBuckets - 1)].load(std::memory_order_acquire);
    if (index == 0) return nullptr;
    Slot* s = &slot(index - 1);
    if (s->hash != hash || s->name != name || s->tags.size() != tags.size()) continue;
    bool same = true;
    for (std::size_t t = 0; t < tags.size() && same; ++t) {
      const std::string_view have = s->tags[t];
      same = have.size() == tags[t].prefix.size() + tags[t].value.size() &&
             have.substr(0, tags[t].prefix.size()) == tags[t].prefix &&
             have.substr(tags[t].prefix.size()) == tags[t].value;
    }
    if (same) return s;
  }
  return nullptr;
}

SelfMetrics::Slot* SelfMetrics::add_locked(std::uint64_t hash, std::string_view name,
                                           std::vector<std::string> tags, Type type) {
  const std::size_t index = size_.load(std::memory_order_relaxed);
  if (index >= kMaxSlots) return nullptr;
  auto& chunk = chunks_[index / kChunkSlots];
  if (!chunk) chunk = std::make_unique<Slot[]>(kChunkSlots);
  Slot& s = slot(index);
  s.hash = hash;
  s.type = type;
  s.name = std::string(name);
  s.tags = std::move(tags);
  for (std::size_t i = 0; i < kBuckets; ++i) {
    auto& b = buckets_[(hash + i) & (kBuckets - 1)];
    if (b.load(std::memory_order_relaxed) == 0) {
      // Publishes the slot's key (and its chunk) to lock-free readers.
      b.store(static_cast<std::uint32_t>(index + 1), std::memory_order_release);
      break;
    }
  }
  size_.store(index + 1, std::memory_order_release);
  return &s;
}

SelfMetrics::Slot* SelfMetrics::find_or_add(std::string_view name, std::vector<std::string> tags,
                                            Type type, std::uint64_t* folded) {
  std::vector<Piece> pieces;
  pieces.reserve(tags.size());
  for (const auto& t : tags) pieces.push_back({{}, t});
  const std::uint64_t hash = hash_of(name, pieces);
  if (Slot* s = find(hash, name, pieces)) return s;
  MutexLock lock(mu_);
  if (Slot* s = find(hash, name, pieces)) return s;
  if (size_.load(std::memory_order_relaxed) < kMaxKeys) {
    return add_locked(hash, name, std::move(tags), type);
  }
  // Full: fold into `other` (the code-chosen kind stays) and count the fold.
  if (folded != nullptr) *folded = 1;
  for (auto& t : tags) {
    if (t.starts_with(kKindPrefix)) continue;
    const std::size_t colon = t.find(':');
    t = colon == std::string::npos ? std::string("other") : t.substr(0, colon + 1) + "other";
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  for (std::size_t i = 0; i < tags.size(); ++i) pieces[i] = {{}, tags[i]};
  pieces.resize(tags.size());
  const std::uint64_t folded_hash = hash_of(name, pieces);
  if (Slot* s = find(folded_hash, name, pieces)) return s;
  return add_locked(folded_hash, name, std::move(tags), type);
}

SelfMetrics::Slot* SelfMetrics::slot_for(std::string_view name, std::vector<std::string> tags,
                                         Type type) {
  for (auto& t : tags) cut_tag(t, kMaxTagValue);
  std::sort(tags.begin(), tags.end());
  std::uint64_t folded = 0;
  Slot* s = find_or_add(name, std::move(tags), type, &folded);
  if (folded != 0 && folded_ != nullptr) folded_->fetch_add(1, std::memory_order_relaxed);
  return s;
}

SelfMetrics::Counter SelfMetrics::counter(std::string_view name, std::vector<std::string> tags) {
  Slot* s = slot_for(name, std::move(tags), Type::kCounter);
  return Counter(s != nullptr ? &s->value : nullptr);
}

SelfMetrics::Counter SelfMetrics::drop_counter(std::string_view kind, std::string_view reason) {
  return counter(kDropped, {std::string(kKindPrefix) + std::string(kind),
                            std::string(kReasonPrefix) + std::string(reason)});
}

SelfMetrics::Gauge SelfMetrics::gauge(std::string_view name, std::vector<std::string> tags) {
  Slot* s = slot_for(name, std::move(tags), Type::kGauge);
  return Gauge(s != nullptr ? &s->value : nullptr);
}

void SelfMetrics::increment(std::string_view name, std::vector<std::string> tags, std::uint64_t n) {
  for (auto& t : tags) cut_tag(t, kMaxTagValue);
  std::sort(tags.begin(), tags.end());
  std::uint64_t folded = 0;
  Slot* s = find_or_add(name, std::move(tags), Type::kCounter, &folded);
  if (folded != 0) folded_->fetch_add(n, std::memory_order_relaxed);
  if (s != nullptr) s->value.fetch_add(n, std::memory_order_relaxed);
}

void SelfMetrics::set_gauge(std::string_view name, std::vector<std::string> tags,
                            std::uint64_t value) {
  gauge(name, std::move(tags)).set(value);
}

void SelfMetrics::dropped(std::string_view kind, std::string_view reason, std::uint64_t n) {
  // "kind:" < "reason:", so the pieces are already in the canonical (sorted) order.
  const Piece pieces[] = {{kKindPrefix, kind}, {kReasonPrefix, reason}};
  if (Slot* s = find(hash_of(kDropped, pieces), kDropped, pieces)) {
    s->value.fetch_add(n, std::memory_order_relaxed);
    return;
  }
  increment(kDropped,
            {std::string(kKindPrefix) + std::string(kind),
             std::string(kReasonPrefix) + std::string(reason)},
            n);
}

std::uint64_t SelfMetrics::get(std::string_view name, std::vector<std::string> tags) const {
  std::sort(tags.begin(), tags.end());
  std::vector<Piece> pieces;
  pieces.reserve(tags.size());
  for (const auto& t : tags) pieces.push_back({{}, t});
  const Slot* s = find(hash_of(name, pieces), name, pieces);
  return s != nullptr ? s->value.load(std::memory_order_relaxed) : 0;
}

std::uint64_t SelfMetrics::dropped_count(std::string_view kind, std::string_view reason) const {
  const Piece pieces[] = {{kKindPrefix, kind}, {kReasonPrefix, reason}};
  const Slot* s = find(hash_of(kDropped, pieces), kDropped, pieces);
  return s != nullptr ? s->value.load(std::memory_order_relaxed) : 0;
}

std::uint64_t SelfMetrics::dropped_total() const {
  std::uint64_t total = 0;
  const std::size_t n = size_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slot(i);
    if (s.name == kDropped) total += s.value.load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<SelfMetrics::Entry> SelfMetrics::snapshot() const {
  std::vector<Entry> out;
  const std::size_t n = size_.load(std::memory_order_acquire);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slot(i);
    out.push_back({{s.name, s.tags}, s.type, s.value.load(std::memory_order_relaxed)});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return out;
}

std::vector<SelfMetrics::Entry> SelfMetrics::take_delta(Cursor& cursor) const {
  std::vector<Entry> out;
  const std::size_t n = size_.load(std::memory_order_acquire);
  if (cursor.seen_.size() < n) cursor.seen_.resize(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slot(i);
    const std::uint64_t v = s.value.load(std::memory_order_relaxed);
    if (s.type == Type::kGauge) {
      out.push_back({{s.name, s.tags}, s.type, v});
      continue;
    }
    if (v == cursor.seen_[i]) continue;
    out.push_back({{s.name, s.tags}, s.type, v - cursor.seen_[i]});
    cursor.seen_[i] = v;
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return out;
}

std::string SelfMetrics::summary() const {
  std::string out;
  for (const auto& e : snapshot()) {
    if (e.value == 0) continue;
    if (!out.empty()) out.push_back(' ');
    out += e.key.name;
    if (!e.key.tags.empty()) {
      out.push_back('{');
      for (size_t i = 0; i < e.key.tags.size(); ++i) {
        if (i) out.push_back(',');
        out += e.key.tags[i];
      }
      out.push_back('}');
    }
    out += "=" + std::to_string(e.value);
  }
  return out;
}

std::string SelfMetrics::drops_text(std::span<const Entry> entries, std::uint64_t* total) {
  std::string out;
  std::uint64_t sum = 0;
  for (const auto& e : entries) {
    if (e.key.name != kDropped || e.type != Type::kCounter || e.value == 0) continue;
    std::string_view kind = "-", reason = "-";
    for (const auto& t : e.key.tags) {
      const std::string_view tv = t;
      if (tv.starts_with(kKindPrefix)) kind = tv.substr(kKindPrefix.size());
      if (tv.starts_with(kReasonPrefix)) reason = tv.substr(kReasonPrefix.size());
    }
    if (!out.empty()) out += ", ";
    out.append(kind).append("/").append(reason).append(" ").append(std::to_string(e.value));
    sum += e.value;
  }
  if (total != nullptr) *total = sum;
  return out;
}

}  // namespace lc
