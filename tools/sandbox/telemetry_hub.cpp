#include "tools/sandbox/telemetry_hub.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

#include "core/logger.h"
#include "tools/sandbox/common.h"

namespace lc::sandbox {
namespace {

std::string category_of(std::string_view type) {
  if (type == "function") return "function";
  if (type == "extension") return "extension";
  return "platform";
}

constexpr std::chrono::milliseconds kPostTimeout{3000};

}  // namespace

TelemetryHub::TelemetryHub(const Clock& clock, TimerService& timers, DeliveryClient& client,
                           Timeline& timeline, SelfMetrics& self, Faults& faults)
    : clock_(clock),
      timers_(timers),
      client_(client),
      timeline_(timeline),
      self_(self),
      faults_(faults) {}

TelemetryHub::~TelemetryHub() { clear(); }

void TelemetryHub::subscribe(const std::string& name, const SubscribeRequest& request) {
  auto it = subs_.find(name);
  if (it != subs_.end()) {
    // A new subscription replaces the old one; a batch in flight is finished by its generation.
    subs_.erase(it);  // cancels its timers
  }
  Subscriber& s = subs_[name];
  s.name = name;
  s.request = request;
  s.generation = ++generation_;
  if (faults_.replay_init) {
    for (const auto& item : replay_) {
      if (s.request.wants(item.category)) enqueue(s, item);
    }
  }
  pump(s);
}

void TelemetryHub::emit(std::string_view type, boost::json::value record, std::int64_t time_ms) {
  boost::json::object element;
  element["time"] = iso8601_ms(time_ms);
  element["type"] = type;
  std::string request_id;
  if (const auto* o = record.if_object()) {
    if (auto r = get_string(*o, "requestId")) request_id = std::string(*r);
  }
  element["record"] = std::move(record);
  Item item{category_of(type), std::string(type), std::move(request_id),
            boost::json::serialize(element)};
  if (init_phase_ && replay_.size() < kReplayCap) replay_.push_back(item);
  for (auto& [name, s] : subs_) {
    if (!s.request.wants(item.category)) continue;
    enqueue(s, item);
    pump(s);
  }
}

void TelemetryHub::enqueue(Subscriber& s, const Item& item) {
  const std::size_t cap_items = static_cast<std::size_t>(s.request.max_items) * 4;
  const std::size_t cap_bytes = static_cast<std::size_t>(s.request.max_bytes) * 4;
  if (s.queue.size() >= cap_items || s.queued_bytes + item.json.size() > cap_bytes) {
    ++s.pending_dropped_records;
    s.pending_dropped_bytes += item.json.size();
    self_.dropped("telemetry", "subscriber_queue_full");
    return;
  }
  s.queued_bytes += item.json.size();
  s.queue.push_back(item);
}

std::size_t TelemetryHub::byte_limit(const Subscriber& s) const {
  const auto b = static_cast<std::size_t>(s.request.max_bytes);
  return faults_.batch_bytes_2x ? 2 * b : b;
}

void TelemetryHub::queue_logs_dropped(Subscriber& s, std::string_view reason) {
  if (s.pending_dropped_records == 0) return;
  boost::json::object rec;
  rec["droppedBytes"] = s.pending_dropped_bytes;
  rec["droppedRecords"] = s.pending_dropped_records;
  rec["reason"] = reason;
  boost::json::object element;
  element["time"] = iso8601_ms(clock_.wall_ms());
  element["type"] = "platform.logsDropped";
  element["record"] = std::move(rec);
  Item item{"platform", "platform.logsDropped", "", boost::json::serialize(element)};
  s.pending_dropped_records = 0;
  s.pending_dropped_bytes = 0;
  if (!s.request.wants("platform")) return;
  s.queued_bytes += item.json.size();
  s.queue.push_back(std::move(item));  // never refused: it is the account of what was lost
}

void TelemetryHub::pump(Subscriber& s) {
  if (s.pending_dropped_records > 0 && s.queue.size() < static_cast<size_t>(s.request.max_items)) {
    queue_logs_dropped(s,
                       "Consumer seems to have fallen behind as it has not acknowledged "
                       "receipt of logs.");
  }
  if (frozen_ || s.busy || s.queue.empty()) return;
  const bool full =
      s.queue.size() >= static_cast<size_t>(s.request.max_items) || s.queued_bytes >= byte_limit(s);
  if (full || s.timer_due || s.flush_requested) {
    s.batch_timer.cancel();
    s.timer_due = false;
    send_batch(s);
    return;
  }
  if (!s.batch_timer.armed()) {
    const std::string name = s.name;
    const auto gen = s.generation;
    s.batch_timer = timers_.schedule_after(Millis(s.request.timeout_ms), [this, name, gen] {
      auto it = subs_.find(name);
      if (it == subs_.end() || it->second.generation != gen) return;
      it->second.timer_due = true;
      pump(it->second);
    });
  }
}

void TelemetryHub::send_batch(Subscriber& s) {
  s.batch.clear();
  std::size_t bytes = 2;
  const std::size_t limit = byte_limit(s);
  while (!s.queue.empty() && s.batch.size() < static_cast<size_t>(s.request.max_items)) {
    const auto& next = s.queue.front();
    if (!s.batch.empty() && bytes + next.json.size() + 1 > limit) break;
    bytes += next.json.size() + 1;
    s.queued_bytes -= next.json.size();
    s.batch.push_back(std::move(s.queue.front()));
    s.queue.pop_front();
  }
  if (s.queue.empty()) s.flush_requested = false;
  ++batch_counter_;

  const bool only_accounting = std::all_of(s.batch.begin(), s.batch.end(), [](const Item& i) {
    return i.type == "platform.logsDropped";
  });
  bool drop = false;
  if (!only_accounting) {
    if (faults_.drop_every_n > 0) {
      drop = (++s.batches_sent % static_cast<std::uint64_t>(faults_.drop_every_n)) == 0;
    } else if (faults_.drop_probability > 0) {
      ++s.batches_sent;
      drop = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < faults_.drop_probability;
    }
  }
  if (drop) {
    // The account of earlier losses is never itself discarded: it goes back to the queue front.
    std::vector<Item> keep;
    std::vector<Item> lose;
    for (auto& item : s.batch) {
      (item.type == "platform.logsDropped" ? keep : lose).push_back(std::move(item));
    }
    s.batch = std::move(lose);
    drop_batch(s, "fault:drop_batches");
    for (auto it = keep.rbegin(); it != keep.rend(); ++it) {
      s.queued_bytes += it->json.size();
      s.queue.push_front(std::move(*it));
    }
    pump(s);
    return;
  }

  std::string body;
  body.reserve(bytes);
  body.push_back('[');
  for (std::size_t i = 0; i < s.batch.size(); ++i) {
    if (i) body.push_back(',');
    body += s.batch[i].json;
  }
  body.push_back(']');
  s.body = std::make_shared<const std::string>(std::move(body));
  s.attempt = 0;
  s.busy = true;
  post(s);
}

void TelemetryHub::post(Subscriber& s) {
  s.posting = true;
  const std::string name = s.name;
  const auto gen = s.generation;
  auto go = [this, name, gen] {
    auto it = subs_.find(name);
    if (it == subs_.end() || it->second.generation != gen) return;
    Subscriber& sub = it->second;
    ++sub.attempt;
    client_.post(sub.request.port, faults_.rie_lmi_delivery ? std::string("/") : sub.request.path,
                 sub.body, kPostTimeout,
                 [this, name, gen](DeliveryResult r) { on_result(name, gen, std::move(r)); });
  };
  if (faults_.delivery_delay_ms > 0) {
    s.delivery_delay = timers_.schedule_after(Millis(faults_.delivery_delay_ms), go);
  } else {
    go();
  }
}

void TelemetryHub::on_result(const std::string& name, std::uint64_t generation,
                             DeliveryResult result) {
  auto it = subs_.find(name);
  if (it == subs_.end() || it->second.generation != generation) return;
  Subscriber& s = it->second;
  s.posting = false;
  // listener_errors: the batch was delivered, but the sandbox counts it as failed and sends it
  // again, so the listener sees a duplicate (§7.6).
  Faults& f = faults_;
  std::string injected;
  if (f.listener_error_count > 0 && result.status >= 200 && result.status < 300) {
    --f.listener_error_count;
    if (f.listener_error_reset) {
      injected = "reset";
      result.error = "injected reset";
      result.status = 0;
    } else {
      injected = std::to_string(f.listener_error_status);
      result.status = f.listener_error_status;
    }
  }
  boost::json::object e;
  e["subscriber"] = name;
  e["status"] = result.status;
  e["count"] = s.batch.size();
  e["bytes"] = s.body ? s.body->size() : 0;
  e["attempt"] = s.attempt;
  e["path"] = faults_.rie_lmi_delivery ? std::string("/") : s.request.path;
  boost::json::array types, ids;
  for (const auto& item : s.batch) {
    types.emplace_back(item.type);
    ids.emplace_back(item.request_id);
  }
  e["types"] = std::move(types);
  e["request_ids"] = std::move(ids);
  if (!result.error.empty()) e["error"] = result.error;
  if (!injected.empty()) e["injected"] = injected;
  timeline_.add("telemetry.delivered", std::move(e));

  if (result.status >= 200 && result.status < 300) {
    s.busy = false;
    s.batch.clear();
    s.body.reset();
    pump(s);
    progress();
    return;
  }
  // RIE-LMI parity: a failed batch is dropped, never retried.
  if (s.attempt >= kMaxAttempts || faults_.rie_lmi_delivery) {
    drop_batch(s, faults_.rie_lmi_delivery ? "rie_lmi_no_retry" : "retries_exhausted");
    s.busy = false;
    pump(s);
    progress();
    return;
  }
  const auto backoff = Millis(std::min(50 << std::min(s.attempt, 5), 1000));
  s.retry_timer = timers_.schedule_after(backoff, [this, name, generation] {
    auto it2 = subs_.find(name);
    if (it2 == subs_.end() || it2->second.generation != generation) return;
    if (frozen_) {
      it2->second.retry_waiting_for_thaw = true;
      return;
    }
    post(it2->second);
  });
  progress();
}

void TelemetryHub::drop_batch(Subscriber& s, std::string_view reason) {
  std::uint64_t bytes = 0;
  for (const auto& i : s.batch) bytes += i.json.size();
  boost::json::object e;
  e["subscriber"] = s.name;
  e["count"] = s.batch.size();
  e["bytes"] = bytes;
  e["reason"] = reason;
  timeline_.add("telemetry.dropped", std::move(e));
  self_.dropped("telemetry", reason, s.batch.size());
  s.pending_dropped_records += s.batch.size();
  s.pending_dropped_bytes += bytes;
  s.batch.clear();
  s.body.reset();
  queue_logs_dropped(s, reason == "fault:drop_batches"
                            ? "Some logs were dropped because the batch was discarded."
                            : "Consumer seems to have fallen behind as it has not acknowledged "
                              "receipt of logs.");
}

void TelemetryHub::set_init_phase(bool open) {
  init_phase_ = open;
  if (open) replay_.clear();
}

void TelemetryHub::set_frozen(bool frozen) {
  frozen_ = frozen;
  if (frozen) return;
  for (auto& [name, s] : subs_) {
    if (s.retry_waiting_for_thaw) {
      s.retry_waiting_for_thaw = false;
      post(s);
    } else {
      // The batch timer ran out while frozen (like an overdue timer firing at thaw).
      s.timer_due = !s.queue.empty();
      pump(s);
    }
  }
}

void TelemetryHub::flush_now() {
  for (auto& [name, s] : subs_) {
    s.flush_requested = !s.queue.empty();
    pump(s);
  }
}

bool TelemetryHub::in_flight() const {
  return std::any_of(subs_.begin(), subs_.end(), [](const auto& kv) { return kv.second.posting; });
}

bool TelemetryHub::drained() const {
  return std::all_of(subs_.begin(), subs_.end(),
                     [](const auto& kv) { return !kv.second.busy && kv.second.queue.empty(); });
}

void TelemetryHub::remove(const std::string& name) {
  auto it = subs_.find(name);
  if (it == subs_.end()) return;
  Subscriber& s = it->second;
  const std::size_t lost = s.queue.size() + s.batch.size();
  if (lost > 0) {
    self_.dropped("telemetry", "subscriber_exited", lost);
    boost::json::object e;
    e["subscriber"] = name;
    e["count"] = lost;
    e["reason"] = "subscriber_exited";
    timeline_.add("telemetry.dropped", std::move(e));
  }
  subs_.erase(it);  // cancels its timers
  progress();
}

void TelemetryHub::clear() {
  std::vector<std::string> names;
  for (auto& [name, s] : subs_) names.push_back(name);
  for (const auto& n : names) remove(n);
  replay_.clear();
  init_phase_ = false;
}

void TelemetryHub::progress() {
  if (on_progress_) on_progress_();
}

}  // namespace lc::sandbox
