#include "forward/retry_queue.h"

#include <algorithm>

namespace lc::forward {

int value_class(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kLogs:
      return 1;
    case PayloadKind::kTraces:
    case PayloadKind::kTraceStats:
      return 2;
    default:
      return 0;
  }
}

RetryQueue::~RetryQueue() {
  for (const auto& q : routes_) {
    for (const auto& e : q) release(e);
  }
}

std::size_t RetryQueue::charge_of(const QueuedPayload& e) {
  return e.bytes() + sizeof(Payload) + sizeof(QueuedPayload) + 2 * MemoryBudget::kAllocOverhead +
         32;
}

std::size_t RetryQueue::size() const {
  std::size_t n = 0;
  for (const auto& q : routes_) n += q.size();
  return n;
}

namespace {
constexpr std::string_view kQueueFull = "retry_queue_full";
constexpr std::string_view kMemoryBudget = "memory_budget";
}  // namespace

std::vector<QueuedPayload> RetryQueue::push(QueuedPayload entry) {
  std::vector<QueuedPayload> evicted;
  const std::size_t need = entry.bytes();
  if (need > budget_) {
    entry.evicted_for = kQueueFull;
    evicted.push_back(std::move(entry));
    return evicted;
  }
  if (routes_.size() <= entry.route) routes_.resize(entry.route + 1);
  const int entry_class = value_class(entry.payload->kind);
  const ValueClass memory_class = value_class_of(entry.payload->kind);
  const std::size_t charge = charge_of(entry);
  while (bytes_ + need > budget_ || !memory_.admits(memory_class, charge)) {
    const std::string_view reason = bytes_ + need > budget_ ? kQueueFull : kMemoryBudget;
    // The oldest entry of the lowest-value class present, the incoming one included.
    std::deque<QueuedPayload>* victim_q = nullptr;
    std::size_t victim_i = 0;
    int victim_class = entry_class;
    std::uint64_t victim_id = entry.id;
    for (auto& q : routes_) {
      for (std::size_t i = 0; i < q.size(); ++i) {
        const int c = value_class(q[i].payload->kind);
        if (c > victim_class || (c == victim_class && q[i].id < victim_id)) {
          victim_q = &q;
          victim_i = i;
          victim_class = c;
          victim_id = q[i].id;
        }
      }
    }
    if (victim_q == nullptr) {  // the incoming entry is the one to go
      entry.evicted_for = reason;
      evicted.push_back(std::move(entry));
      return evicted;
    }
    bytes_ -= (*victim_q)[victim_i].bytes();
    release((*victim_q)[victim_i]);
    (*victim_q)[victim_i].evicted_for = reason;
    evicted.push_back(std::move((*victim_q)[victim_i]));
    victim_q->erase(victim_q->begin() + static_cast<std::ptrdiff_t>(victim_i));
  }
  bytes_ += need;
  memory_.charge(memory_class, charge);
  auto& q = routes_[entry.route];
  // FIFO by age: an entry coming back from a flush goes behind older ones of its route.
  auto pos = std::upper_bound(q.begin(), q.end(), entry.id,
                              [](std::uint64_t id, const QueuedPayload& e) { return id < e.id; });
  q.insert(pos, std::move(entry));
  return evicted;
}

std::vector<QueuedPayload> RetryQueue::take_all() {
  std::vector<QueuedPayload> out;
  out.reserve(size());
  for (auto& q : routes_) {
    for (auto& e : q) {
      release(e);
      out.push_back(std::move(e));
    }
    q.clear();
  }
  bytes_ = 0;
  std::sort(out.begin(), out.end(),
            [](const QueuedPayload& a, const QueuedPayload& b) { return a.id < b.id; });
  return out;
}

bool RetryQueue::remove(std::uint64_t id) {
  for (auto& q : routes_) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (it->id == id) {
        bytes_ -= it->bytes();
        release(*it);
        q.erase(it);
        return true;
      }
    }
  }
  return false;
}

}  // namespace lc::forward
