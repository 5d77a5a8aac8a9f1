// forward/retry_queue.h — payloads not acknowledged in a flush, kept for the next one
// (lambda-agent.md §6.4): one byte budget shared by every route (additional endpoints included),
// FIFO per route, overflow evicting the oldest payload of the lowest-value kind (traces, then
// logs, then metrics). The queue is one of the charges against the memory budget (§6.4): what it
// holds is charged to the MemoryBudget, and a payload the budget cannot take (per its value class)
// evicts like an overflow. Owned by the Forwarder, used on the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "core/memory_budget.h"
#include "core/pipeline.h"

namespace lc::forward {

// 0 = metrics (kept longest), 1 = logs, 2 = traces (evicted first).
int value_class(PayloadKind kind);

struct QueuedPayload {
  std::uint64_t id = 0;   // increases with age; the Forwarder's id for this (payload, route)
  std::size_t route = 0;  // index into the Forwarder's routes
  std::shared_ptr<const Payload> payload;
  std::int64_t first_seen_ms = 0;  // wall clock when the Forwarder first took it (too_old check)
  // Set on an entry push() returns: why it had to go — "retry_queue_full" (the queue's own cap)
  // or "memory_budget" (the cap held, the memory budget did not; lambda-agent.md §6.4).
  std::string_view evicted_for;

  std::size_t bytes() const { return payload ? payload->body.size() + payload->path.size() : 0; }
};

class RetryQueue {
 public:
  // `memory` (optional, outlives the queue): charged with every queued entry.
  explicit RetryQueue(std::size_t budget_bytes, MemoryBudget* memory = nullptr)
      : budget_(budget_bytes), memory_(memory != nullptr ? *memory : MemoryBudget::unlimited()) {}
  ~RetryQueue();
  RetryQueue(const RetryQueue&) = delete;
  RetryQueue& operator=(const RetryQueue&) = delete;

  // What an entry is charged to the memory budget: its bytes plus the Payload, its control
  // block and the queue slot.
  static std::size_t charge_of(const QueuedPayload& e);

  // Appends to the entry's route FIFO, evicting until the budget holds it. The entry itself is
  // the victim when it is the oldest of the lowest-value kind present (or alone over budget).
  // Returns the evicted entries for the caller to count (by their evicted_for reason).
  std::vector<QueuedPayload> push(QueuedPayload entry);

  // Empties the queue: every entry, oldest (lowest id) first.
  std::vector<QueuedPayload> take_all();

  // Removes one entry by id (a late 2xx for an abandoned request); false when not queued.
  bool remove(std::uint64_t id);

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const;
  std::size_t budget() const { return budget_; }

 private:
  void release(const QueuedPayload& e) {
    memory_.release(value_class_of(e.payload->kind), charge_of(e));
  }

  std::size_t budget_;
  MemoryBudget& memory_;
  std::size_t bytes_ = 0;
  std::vector<std::deque<QueuedPayload>> routes_;  // index = route
};

}  // namespace lc::forward
