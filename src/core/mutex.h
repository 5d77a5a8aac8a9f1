// core/mutex.h — the one lock type of the project: std::mutex annotated for clang's
// -Wthread-safety, a scoped lock, a condition variable that waits on it, and the annotation
// macros (empty on g++). Used wherever a lock is unavoidable (architecture.md "Threads and time");
// pipeline state itself belongs to the loop thread and takes no lock.
//
// Waiting: write the predicate loop in the caller, where the analysis knows the lock is held:
//   lc::MutexLock lock(mu_);
//   while (!done_) lock.wait(cv_);
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define LC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LC_THREAD_ANNOTATION(x)
#endif

#define LC_CAPABILITY(x) LC_THREAD_ANNOTATION(capability(x))
#define LC_SCOPED_CAPABILITY LC_THREAD_ANNOTATION(scoped_lockable)
#define LC_GUARDED_BY(x) LC_THREAD_ANNOTATION(guarded_by(x))
#define LC_PT_GUARDED_BY(x) LC_THREAD_ANNOTATION(pt_guarded_by(x))
#define LC_REQUIRES(...) LC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LC_EXCLUDES(...) LC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define LC_ACQUIRE(...) LC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define LC_RELEASE(...) LC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define LC_TRY_ACQUIRE(...) LC_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define LC_NO_THREAD_SAFETY_ANALYSIS LC_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace lc {

class LC_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() LC_ACQUIRE() { mu_.lock(); }
  void unlock() LC_RELEASE() { mu_.unlock(); }
  bool try_lock() LC_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  std::mutex mu_;
};

// Waited on through MutexLock, so a wait always happens with the lock held.
class CondVar {
 public:
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  friend class MutexLock;
  std::condition_variable_any cv_;
};

class LC_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) LC_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() LC_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Unlocks, waits for a notification (or a spurious wake-up) and locks again.
  void wait(CondVar& cv) { cv.cv_.wait(mu_); }
  // As wait(); false when `deadline` passed instead.
  template <typename Clock, typename Duration>
  bool wait_until(CondVar& cv, const std::chrono::time_point<Clock, Duration>& deadline) {
    return cv.cv_.wait_until(mu_, deadline) == std::cv_status::no_timeout;
  }
  template <typename Rep, typename Period>
  bool wait_for(CondVar& cv, const std::chrono::duration<Rep, Period>& timeout) {
    return cv.cv_.wait_for(mu_, timeout) == std::cv_status::no_timeout;
  }

 private:
  Mutex& mu_;
};

}  // namespace lc
