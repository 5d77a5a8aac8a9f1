// core/self_metrics.h — lastcall's own counters and gauges (`lastcall.*`), e.g.
// lastcall.dropped{kind,reason}. Every drop anywhere in the pipeline goes through dropped() or a
// pre-registered Counter (architecture.md "Data path"). Any thread may count (the DogStatsD receive
// thread counts its drops); the flush path reads snapshots and per-flush deltas through a Cursor.
//
// Hot path: a key that exists is found in a fixed open-addressed table by a lock-free probe and
// counted with one relaxed atomic add; nothing is allocated and no lock is taken. A Counter handle,
// obtained once at setup, skips even the probe. Only the first use of a new key takes the lock and
// allocates (the drop reasons the code knows are registered at construction).
//
// The key space is bounded: at most kMaxKeys distinct keys. Beyond that a new key is folded into
// the same name with every tag value but `kind` replaced by `other` (e.g. a telemetry `type` chosen
// by whoever sends us events becomes `type:other`), and each folded increment is counted in
// `lastcall.self_metrics.folded`. Tag values are cut to kMaxTagValue bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/mutex.h"

namespace lc {

class SelfMetrics {
 public:
  enum class Type : std::uint8_t { kCounter, kGauge };

  // key: metric name plus sorted "k:v" tags, e.g. {"lastcall.dropped",
  // {"kind:dogstatsd","reason:bad_value"}}
  struct Key {
    std::string name;
    std::vector<std::string> tags;
    bool operator<(const Key& o) const { return std::tie(name, tags) < std::tie(o.name, o.tags); }
    bool operator==(const Key& o) const = default;
  };
  struct Entry {
    Key key;
    Type type = Type::kCounter;
    std::uint64_t value = 0;
  };

  // A registered counter: add() is one relaxed atomic increment. Default-constructed: counts
  // nothing. Valid as long as the SelfMetrics that made it.
  class Counter {
   public:
    Counter() = default;
    void add(std::uint64_t n = 1) const {
      if (value_ != nullptr) value_->fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t value() const {
      return value_ != nullptr ? value_->load(std::memory_order_relaxed) : 0;
    }

   private:
    friend class SelfMetrics;
    explicit Counter(std::atomic<std::uint64_t>* value) : value_(value) {}
    std::atomic<std::uint64_t>* value_ = nullptr;
  };

  // A registered gauge: set() stores the current value (e.g. retry-queue depth).
  class Gauge {
   public:
    Gauge() = default;
    void set(std::uint64_t v) const {
      if (value_ != nullptr) value_->store(v, std::memory_order_relaxed);
    }
    std::uint64_t value() const {
      return value_ != nullptr ? value_->load(std::memory_order_relaxed) : 0;
    }

   private:
    friend class SelfMetrics;
    explicit Gauge(std::atomic<std::uint64_t>* value) : value_(value) {}
    std::atomic<std::uint64_t>* value_ = nullptr;
  };

  // What a flush has already reported: deltas are taken against it (one cursor per consumer, e.g.
  // the per-flush drop line and the self-metrics sent to the intake). Used by one thread.
  class Cursor {
   private:
    friend class SelfMetrics;
    std::vector<std::uint64_t> seen_;
  };

  static constexpr std::string_view kDropped = "lastcall.dropped";
  static constexpr std::string_view kFolded = "lastcall.self_metrics.folded";
  static constexpr std::size_t kMaxKeys = 512;      // distinct keys, known ones included
  static constexpr std::size_t kFoldReserve = 128;  // room for the `other` keys beyond kMaxKeys
  static constexpr std::size_t kMaxTagValue = 100;  // bytes kept of a tag value

  SelfMetrics();
  ~SelfMetrics();
  SelfMetrics(const SelfMetrics&) = delete;
  SelfMetrics& operator=(const SelfMetrics&) = delete;

  // Handles, obtained once at setup (allocates the key if it is new; lock-free afterwards).
  Counter counter(std::string_view name, std::vector<std::string> tags = {});
  Counter drop_counter(std::string_view kind, std::string_view reason);
  Gauge gauge(std::string_view name, std::vector<std::string> tags = {});

  // String-keyed, for rare events: sorts the tags and allocates.
  void increment(std::string_view name, std::vector<std::string> tags = {}, std::uint64_t n = 1);
  void set_gauge(std::string_view name, std::vector<std::string> tags, std::uint64_t value);
  // lastcall.dropped{kind,reason}: no allocation and no lock once the key exists.
  void dropped(std::string_view kind, std::string_view reason, std::uint64_t n = 1);

  std::uint64_t get(std::string_view name, std::vector<std::string> tags = {}) const;
  std::uint64_t dropped_count(std::string_view kind, std::string_view reason) const;
  std::uint64_t dropped_total() const;
  std::size_t key_count() const { return size_.load(std::memory_order_acquire); }

  // Every key with its current value, sorted by key.
  std::vector<Entry> snapshot() const;
  // What changed since the cursor's last call, sorted by key, and advances the cursor: counters
  // that grew (value = the increase), and every gauge (value = its current value).
  std::vector<Entry> take_delta(Cursor& cursor) const;

  // "lastcall.dropped{kind:dogstatsd,reason:bad_value}=3 ..." of everything counted; empty if
  // nothing was.
  std::string summary() const;
  // The lastcall.dropped entries of `entries` as "dogstatsd/bad_value 3, dogstatsd/queue_full 12";
  // `total` (if given) receives their sum. Empty when there is none.
  static std::string drops_text(std::span<const Entry> entries, std::uint64_t* total = nullptr);

 private:
  struct Slot;
  struct Piece {
    std::string_view prefix, value;  // one tag: prefix + value ("kind:" + "dogstatsd")
  };
  static constexpr std::size_t kMaxSlots = kMaxKeys + kFoldReserve;
  static constexpr std::size_t kBuckets = 2048;  // power of two, at most a third full
  // Slots are allocated a chunk at a time, when the first key of a chunk is added: a process
  // counts a few dozen keys, and every mode builds its SelfMetrics before it can do anything
  // (the wrapper's child waits for it, serverless-init.md §2).
  static constexpr std::size_t kChunkSlots = 32;
  static constexpr std::size_t kChunks = (kMaxSlots + kChunkSlots - 1) / kChunkSlots;

  static std::uint64_t hash_of(std::string_view name, std::span<const Piece> tags);
  // Lock-free: the slot of (name, tags) if it exists.
  Slot* find(std::uint64_t hash, std::string_view name, std::span<const Piece> tags) const;
  // The slot of a canonical key (sorted, cut tags), created (or folded) under the lock; nullptr
  // when even the fold room is used up (then only kFolded counts).
  Slot* find_or_add(std::string_view name, std::vector<std::string> tags, Type type,
                    std::uint64_t* folded);
  Slot* add_locked(std::uint64_t hash, std::string_view name, std::vector<std::string> tags,
                   Type type) LC_REQUIRES(mu_);
  Slot* slot_for(std::string_view name, std::vector<std::string> tags, Type type);
  // Slot `index` < size_ (its chunk exists).
  Slot& slot(std::size_t index) const;

  // Slots [0, size_) are published; a chunk is allocated under mu_ before size_ reaches it.
  std::unique_ptr<Slot[]> chunks_[kChunks];
  // kBuckets, open addressing: a slot's index + 1 (0 = empty); half the size of pointers.
  std::unique_ptr<std::atomic<std::uint32_t>[]> buckets_;
  std::atomic<std::size_t> size_{0};
  Mutex mu_;  // serialises adding keys; never taken to count
  std::atomic<std::uint64_t>* folded_ = nullptr;
};

}  // namespace lc
