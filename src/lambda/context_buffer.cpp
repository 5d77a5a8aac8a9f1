#include "lambda/context_buffer.h"

#include <algorithm>

#include "core/logger.h"

namespace lc::lambda {

ContextBuffer::ContextBuffer(std::size_t capacity, const Clock& clock, SelfMetrics& self)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      clock_(clock),
      evicted_(self.counter("lastcall.lambda.context_evicted")),
      evicted_open_(self.counter("lastcall.lambda.context_evicted_open")) {}

InvocationContext* ContextBuffer::find(std::string_view id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &*it->second;
}

InvocationContext& ContextBuffer::get_or_create(std::string_view id) {
  if (auto* found = find(id)) return *found;
  if (contexts_.size() >= capacity_) evict_oldest();
  contexts_.push_back(InvocationContext{});
  auto it = std::prev(contexts_.end());
  it->request_id = std::string(id);
  it->created_ms = clock_.wall_ms();
  index_.emplace(it->request_id, it);
  return *it;
}

void ContextBuffer::release(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  auto ctx = it->second;
  remember(*ctx);
  index_.erase(it);
  contexts_.erase(ctx);
}

const ContextBuffer::Released* ContextBuffer::released(std::string_view id) const {
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    if (it->id == id) return &*it;
  }
  return nullptr;
}

void ContextBuffer::evict_oldest() {
  if (on_evict_) on_evict_(contexts_.front());
  const InvocationContext& old = contexts_.front();
  ++evicted_total_;
  evicted_.add();
  if (!old.report_seen) evicted_open_.add();
  LC_DEBUG(
      "invocation context {} evicted after {} ms (invoke:{} start:{} runtimeDone:{} report:{})",
      old.request_id, clock_.wall_ms() - old.created_ms, old.invoke_seen, old.start_seen,
      old.runtime_done_seen, old.report_seen);
  // Late evidence for it still deduplicates (§2.2, §4.3).
  remember(old);
  index_.erase(old.request_id);
  contexts_.pop_front();
}

void ContextBuffer::remember(const InvocationContext& ctx) {
  if (recent_.size() >= kRecentCapacity) recent_.pop_front();
  recent_.push_back(Released{ctx.request_id, ctx.tags, ctx.report_seen});
}

}  // namespace lc::lambda
