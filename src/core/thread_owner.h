// core/thread_owner.h — "this state belongs to one thread" checked in debug builds
// (architecture.md "Threads and time": the loop thread owns all pipeline state). A class that
// owns loop state keeps a ThreadOwner member and starts each entry point with
// LC_ASSERT_ON_LOOP(owner_); the first checked call binds the owner to the calling thread, later
// calls from another thread fail the assertion. Release builds compile the checks out.
#pragma once

#include <atomic>
#include <thread>

#include "core/assert.h"

namespace lc {

class ThreadOwner {
 public:
  // True on the owning thread; the first call makes the calling thread the owner.
  bool check() const {
    const std::thread::id self = std::this_thread::get_id();
    std::thread::id expected{};
    if (owner_.compare_exchange_strong(expected, self, std::memory_order_relaxed)) return true;
    return expected == self;
  }
  // Hands the state over: the next checked call binds again (e.g. a test that joined the loop
  // thread and now inspects the state itself).
  void release() { owner_.store(std::thread::id{}, std::memory_order_relaxed); }
  bool bound() const { return owner_.load(std::memory_order_relaxed) != std::thread::id{}; }

 private:
  mutable std::atomic<std::thread::id> owner_{};
};

}  // namespace lc

#define LC_ASSERT_ON_LOOP(owner) \
  LC_ASSERT((owner).check(), "loop-owned state used outside its thread")
