// tools/sandbox/telemetry_hub.h — the Telemetry API's delivery side (lambda-platform.md §4.2-4.3):
// per subscriber a bounded queue, batches closed by maxItems/maxBytes/timeoutMs, one POST in
// flight, retries with backoff, platform.logsDropped on overflow or dropped batches, replay of
// init-phase events to late subscribers, nothing delivered while the sandbox is frozen. Owned by
// the Sandbox, which emits every event through it; runs on the loop thread.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/self_metrics.h"
#include "tools/sandbox/delivery_client.h"
#include "tools/sandbox/faults.h"
#include "tools/sandbox/requests.h"
#include "tools/sandbox/timeline.h"

namespace lc::sandbox {

class TelemetryHub {
 public:
  static constexpr int kMaxAttempts = 6;           // then the batch is dropped and counted
  static constexpr std::size_t kReplayCap = 4096;  // init-phase events kept for late subscribers

  TelemetryHub(const Clock& clock, TimerService& timers, DeliveryClient& client, Timeline& timeline,
               SelfMetrics& self, Faults& faults);
  ~TelemetryHub();

  // Adds or replaces `name`'s subscription; queues the init-phase events it asked for first.
  void subscribe(const std::string& name, const SubscribeRequest& request);
  bool subscribed(const std::string& name) const { return subs_.count(name) != 0; }
  std::size_t subscriber_count() const { return subs_.size(); }

  // Emits one event: {"time":iso(time_ms),"type":type,"record":record} to every subscriber whose
  // types include the category (platform.* → platform; function; extension).
  void emit(std::string_view type, boost::json::value record, std::int64_t time_ms);

  // The init phase: events emitted while it is open are kept for replay.
  void set_init_phase(bool open);
  // Frozen: nothing is sent (events queue). Unfreezing resumes delivery.
  void set_frozen(bool frozen);
  // Closes every open batch now (shutdown, LMI flush before SHUTDOWN).
  void flush_now();
  // No POST in flight and (if include_queued) nothing queued.
  bool in_flight() const;
  bool drained() const;
  // The subscriber's process exited: its queue is dropped (counted).
  void remove(const std::string& name);
  // Environment reset: every subscription and the replay buffer go.
  void clear();

  // Called whenever in_flight()/drained() may have changed (freeze and shutdown re-check).
  void set_on_progress(std::function<void()> fn) { on_progress_ = std::move(fn); }

 private:
  struct Item {
    std::string category;  // platform | function | extension
    std::string type;
    std::string request_id;
    std::string json;  // the serialised element
  };
  struct Subscriber {
    std::string name;
    SubscribeRequest request;
    std::deque<Item> queue;
    std::size_t queued_bytes = 0;
    Timer batch_timer;
    bool timer_due = false;
    bool flush_requested = false;
    // the batch being delivered (or waiting for a retry)
    bool busy = false;
    bool posting = false;
    bool retry_waiting_for_thaw = false;
    std::vector<Item> batch;
    std::shared_ptr<const std::string> body;
    int attempt = 0;
    Timer retry_timer;
    Timer delivery_delay;
    std::uint64_t pending_dropped_records = 0;
    std::uint64_t pending_dropped_bytes = 0;
    std::uint64_t batches_sent = 0;
    std::uint64_t generation = 0;
  };

  void enqueue(Subscriber& s, const Item& item);
  void pump(Subscriber& s);
  void send_batch(Subscriber& s);
  void post(Subscriber& s);
  void on_result(const std::string& name, std::uint64_t generation, DeliveryResult result);
  void drop_batch(Subscriber& s, std::string_view reason);
  void queue_logs_dropped(Subscriber& s, std::string_view reason);
  std::size_t byte_limit(const Subscriber& s) const;
  void progress();

  const Clock& clock_;
  TimerService& timers_;
  DeliveryClient& client_;
  Timeline& timeline_;
  SelfMetrics& self_;
  Faults& faults_;  // listener_error_count is consumed here
  std::map<std::string, Subscriber> subs_;
  std::vector<Item> replay_;
  bool init_phase_ = false;
  bool frozen_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t batch_counter_ = 0;
  std::mt19937 rng_{12345};
  std::function<void()> on_progress_;
};

}  // namespace lc::sandbox
