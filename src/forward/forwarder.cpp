#include "forward/forwarder.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "core/logger.h"
#include "forward/payload_split.h"

namespace lc::forward {
namespace {

constexpr std::size_t kMaxAbandonedTracked = 4096;

// Acceptance windows (datadog-wire.md §4.0), measured from when the Forwarder first took the
// payload: points are at most one bucket older than that.
constexpr std::int64_t kMetricsWindowMs = 3600 * 1000;
constexpr std::int64_t kLogsWindowMs = 18 * 3600 * 1000;
constexpr std::int64_t kTracesWindowMs = 3600 * 1000;

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::string human_bytes(std::size_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024.0);
  return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0));
}

std::uint64_t item_count(const Payload& p) { return p.items > 0 ? p.items : 1; }

std::string count_text(const FlushSummary::Count& c) {
  return fmt::format("{} ({})", plural(c.payloads, "payload"), plural(c.items, "item"));
}

}  // namespace

ForwarderOptions ForwarderOptions::from_config(const ForwardConfig& forward,
                                               const CommonConfig& common) {
  ForwarderOptions o;
  const std::int64_t budget = std::min(forward.retry_queue_bytes, common.memory_budget_bytes);
  o.retry_queue_bytes = static_cast<std::size_t>(std::max<std::int64_t>(0, budget));
  return o;
}

std::uint64_t FlushSummary::dropped_items() const {
  std::uint64_t n = 0;
  for (const auto& [key, count] : dropped) n += count.items;
  return n;
}

std::string FlushSummary::not_sent_text() const {
  std::string out;
  for (const char* kind : {"metrics", "logs", "traces"}) {
    if (!out.empty()) out += ", ";
    auto it = queued_by_kind.find(kind);
    const Count c = it == queued_by_kind.end() ? Count{} : it->second;
    out += std::string(kind) + " " + plural(c.payloads, "payload");
    if (c.payloads > 0) out += " (" + plural(c.items, "item") + ")";
  }
  return out;
}

std::string FlushSummary::to_string() const {
  std::string out = "sent " + count_text(sent);
  if (queued.payloads > 0) out += "; queued for retry " + count_text(queued);
  for (const auto& [key, count] : dropped) out += "; dropped " + key + " " + count_text(count);
  if (abandoned_in_flight > 0) {
    out +=
        fmt::format("; deadline reached with {} in flight", plural(abandoned_in_flight, "request"));
  } else if (deadline_reached) {
    out += "; deadline reached";
  }
  if (aborted) out += "; aborted";
  out += fmt::format("; retry queue {} {}", plural(retry_queue_payloads, "payload"),
                     human_bytes(retry_queue_bytes));
  return out;
}

Forwarder::Forwarder(std::vector<Route> routes, ForwarderOptions options, const Clock& clock,
                     TimerService& timers, SelfMetrics& self, Rng rng, net::HttpClient* client)
    : routes_(std::move(routes)),
      options_(options),
      clock_(clock),
      timers_(timers),
      self_(self),
      rng_(std::move(rng)),
      client_(client),
      queue_(options.retry_queue_bytes, options.memory_budget) {
  if (!rng_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    rng_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (options_.max_in_flight < 1) options_.max_in_flight = 1;
}

Forwarder::~Forwarder() {
  alive_.reset();  // the timers cancel themselves as members go
}

void Forwarder::flush(std::vector<Payload> payloads, Deadline deadline, OnDone on_done,
                      FlushOrder order) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  const bool outer = in_flush_call_;
  in_flush_call_ = true;
  if (!cycle_) {
    cycle_ = std::make_unique<Cycle>();
    cycle_->deadline = deadline;
    cycle_->waiters.push_back(std::move(on_done));
    add_work(std::move(payloads), order, /*redrive=*/true);
    arm_deadline();
  } else {
    cycle_->waiters.push_back(std::move(on_done));
    if (deadline.at < cycle_->deadline.at) {
      cycle_->deadline = deadline;
      arm_deadline();
    }
    add_work(std::move(payloads), order, /*redrive=*/false);
  }
  pump();
  in_flush_call_ = outer;
}

void Forwarder::abort(AbortMode mode) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  abort_mode_ = mode;
  if (cycle_ && !pumping_) {
    finish(/*deadline_reached=*/false, /*aborted=*/true);  // calls abort_all()
  } else if (cycle_) {
    // Called from inside a callback of ours: end at the next turn instead of under our feet.
    abort_pending_ = true;
    cycle_->deadline = Deadline{clock_.steady_now()};
    arm_deadline();
  } else if (client_ != nullptr && mode == AbortMode::kStopExchanges) {
    client_->abort_all();  // requests abandoned by an earlier flush
    forget_abandoned();
  }
}

void Forwarder::add_work(std::vector<Payload> payloads, FlushOrder order, bool redrive) {
  Cycle& c = *cycle_;
  const std::int64_t now_ms = clock_.wall_ms();
  std::vector<Work> retry;
  std::vector<Work> fresh;
  if (redrive) {
    for (auto& q : queue_.take_all()) {
      Work w{q.id, q.route, std::move(q.payload), q.first_seen_ms, 0, true};
      if (too_old(w, now_ms)) {
        drop(w, "too_old");
      } else {
        retry.push_back(std::move(w));
      }
    }
  }
  for (auto& p : payloads) {
    auto shared = std::make_shared<const Payload>(std::move(p));
    bool routed = false;
    for (std::size_t r = 0; r < routes_.size(); ++r) {
      if (!routes_[r].endpoint.accepts(shared->kind) || routes_[r].exporter == nullptr) continue;
      fresh.push_back(Work{next_work_id_++, r, shared, now_ms, 0, false});
      routed = true;
    }
    if (!routed) drop(Work{0, 0, shared, now_ms, 0, false}, "no_endpoint");
  }
  // lambda-agent.md §8.3: without a key nothing is sent and nothing is kept growing.
  auto keyed = [&](std::vector<Work>& list) {
    std::vector<Work> kept;
    kept.reserve(list.size());
    for (auto& w : list) {
      if (routes_[w.route].endpoint.api_key.empty()) {
        auto& n = c.no_key[routes_[w.route].endpoint.name];
        n.payloads += 1;
        n.items += item_count(*w.payload);
        drop(w, "no_api_key");
      } else {
        kept.push_back(std::move(w));
      }
    }
    list = std::move(kept);
  };
  keyed(retry);
  keyed(fresh);
  // A queued copy whose abandoned request still runs waits for that request's answer.
  std::erase_if(retry, [&](Work& w) {
    if (!abandoned_ids_.contains(w.id)) return false;
    const std::uint64_t id = w.id;
    c.held.emplace(id, std::move(w));
    return true;
  });
  auto& first = order == FlushOrder::kRetryFirst ? retry : fresh;
  auto& second = order == FlushOrder::kRetryFirst ? fresh : retry;
  for (auto& w : first) c.pending.push_back(std::move(w));
  for (auto& w : second) c.pending.push_back(std::move(w));
  // By value: metrics, then logs, then traces; the order above holds within a class.
  std::stable_sort(c.pending.begin(), c.pending.end(), [](const Work& a, const Work& b) {
    return value_class(a.payload->kind) < value_class(b.payload->kind);
  });
}

void Forwarder::arm_deadline() {
  Cycle& c = *cycle_;
  c.deadline_timer.cancel();
  if (c.deadline.at == SteadyTime::max()) return;
  c.deadline_timer = timers_.schedule_after(c.deadline.remaining(clock_), [this] {
    if (!cycle_) return;
    cycle_->deadline_fired = true;
    pump();
  });
}

void Forwarder::pump() {
  if (pumping_) {
    repump_ = true;
    return;
  }
  pumping_ = true;
  do {
    repump_ = false;
    while (cycle_ && !cycle_->pending.empty() &&
           cycle_->in_flight.size() < options_.max_in_flight && !expired()) {
      Work w = std::move(cycle_->pending.front());
      cycle_->pending.pop_front();
      dispatch(std::move(w));
    }
    if (!cycle_) continue;
    const bool is_expired = expired();
    // Held copies keep a flush with a deadline open: their requests answer by their own deadline.
    const bool idle = cycle_->pending.empty() && cycle_->in_flight.empty() &&
                      cycle_->backing_off.empty() &&
                      (cycle_->held.empty() || cycle_->deadline.at == SteadyTime::max());
    if (!is_expired && !idle) continue;
    if (in_flush_call_) {
      // on_done never runs inside flush(): finish at the next turn of the loop.
      if (!finish_timer_.armed())
        finish_timer_ = timers_.schedule_after(Millis(0), [this] { pump(); });
    } else {
      pumping_ = false;  // finish() hands control to callers, who may flush() again
      finish(is_expired && !idle, abort_pending_);
      pumping_ = true;
    }
  } while (repump_);
  pumping_ = false;
}

void Forwarder::dispatch(Work work) {
  const std::uint64_t token = next_token_++;
  auto payload = work.payload;
  Exporter* exporter = routes_[work.route].exporter;
  const Deadline deadline = cycle_->deadline;
  cycle_->in_flight.emplace(token, std::move(work));
  std::weak_ptr<bool> alive = alive_;
  exporter->send(std::move(payload), deadline, [this, alive, token](const SendOutcome& outcome) {
    if (alive.expired()) return;
    on_outcome(token, outcome);
  });
}

void Forwarder::on_outcome(std::uint64_t token, const SendOutcome& outcome) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  if (!cycle_) {
    on_late_outcome(token, outcome);
    return;
  }
  auto it = cycle_->in_flight.find(token);
  if (it == cycle_->in_flight.end()) {
    on_late_outcome(token, outcome);
    return;
  }
  Work w = std::move(it->second);
  cycle_->in_flight.erase(it);
  switch (outcome.kind) {
    case SendOutcome::Kind::kOk:
      cycle_->summary.sent.payloads += 1;
      cycle_->summary.sent.items += w.payload->items;
      count_sent(w, outcome);
      break;
    case SendOutcome::Kind::kDrop:
      log_once(w, outcome);
      drop(w, outcome.reason.empty() ? "http_" + std::to_string(outcome.status) : outcome.reason);
      break;
    case SendOutcome::Kind::kSplit:
      split(std::move(w), outcome);
      break;
    case SendOutcome::Kind::kRetry:
      retry_later(std::move(w), outcome);
      break;
  }
  pump();
}

void Forwarder::on_late_outcome(std::uint64_t token, const SendOutcome& outcome) {
  auto it = abandoned_.find(token);
  if (it == abandoned_.end()) return;
  const std::uint64_t id = it->second;
  abandoned_.erase(it);
  abandoned_ids_.erase(id);
  if (outcome.kind != SendOutcome::Kind::kOk) {
    release_held(id);  // the intake does not have it: the held copy goes out now
    return;
  }
  // Acknowledged after its flush gave up on it: no need to send the queued copy again.
  if (queue_.remove(id)) {
    LC_DEBUG("forward: a request abandoned at a deadline was acknowledged later; unqueued");
    return;
  }
  if (!cycle_) return;
  if (auto h = cycle_->held.find(id); h != cycle_->held.end()) {
    cycle_->summary.sent.payloads += 1;
    cycle_->summary.sent.items += h->second.payload->items;
    cycle_->held.erase(h);
    LC_DEBUG(
        "forward: a request abandoned earlier was acknowledged late; its held copy is dropped");
    pump();
    return;
  }
  // Its copy may already be redriven by the running flush (after a cut): unschedule it while it
  // waits. A copy already in flight cannot be called back.
  auto& pending = cycle_->pending;
  auto it_p =
      std::find_if(pending.begin(), pending.end(), [id](const Work& w) { return w.id == id; });
  if (it_p != pending.end()) {
    cycle_->summary.sent.payloads += 1;
    cycle_->summary.sent.items += it_p->payload->items;
    pending.erase(it_p);
    LC_DEBUG("forward: a request abandoned earlier was acknowledged late; its resend is dropped");
    pump();
    return;
  }
  for (auto b = cycle_->backing_off.begin(); b != cycle_->backing_off.end(); ++b) {
    if (b->second.work.id != id) continue;
    cycle_->summary.sent.payloads += 1;
    cycle_->summary.sent.items += b->second.work.payload->items;
    cycle_->backing_off.erase(b);
    pump();
    return;
  }
}

void Forwarder::release_held(std::uint64_t id) {
  if (!cycle_) return;  // a queued copy is no longer held: the next flush sends it
  auto h = cycle_->held.find(id);
  if (h == cycle_->held.end()) return;
  Work w = std::move(h->second);
  cycle_->held.erase(h);
  // At once, but not ahead of a higher value class still waiting.
  auto& pending = cycle_->pending;
  const int cls = value_class(w.payload->kind);
  auto pos = std::find_if(pending.begin(), pending.end(),
                          [cls](const Work& p) { return value_class(p.payload->kind) >= cls; });
  pending.insert(pos, std::move(w));
  pump();
}

void Forwarder::forget_abandoned() {
  std::vector<std::uint64_t> ids;
  ids.reserve(abandoned_ids_.size());
  for (const auto& [id, token] : abandoned_ids_) ids.push_back(id);
  abandoned_.clear();
  abandoned_ids_.clear();
  for (const auto id : ids) release_held(id);
}

void Forwarder::retry_later(Work work, const SendOutcome& outcome) {
  work.attempts += 1;
  const auto& route = routes_[work.route].endpoint;
  if (!route.reliable) {
    drop(work, "unreliable_endpoint");
    return;
  }
  // Counted by why the attempt failed (dns, connect, tls, timeout, network, http_503, …).
  self_.increment(
      "lastcall.forward.retries",
      {fmt::format("kind:{}", payload_drop_kind(work.payload->kind)), "reason:" + outcome.reason});
  if (work.attempts >= options_.max_attempts) {
    LC_DEBUG("forward: {} {} failed {} times ({}); kept for the next flush", route.name,
             payload_kind_name(work.payload->kind), work.attempts, outcome.reason);
    to_queue(std::move(work));
    return;
  }
  const Millis remaining = cycle_->deadline.remaining(clock_);
  Millis delay = backoff_delay(work.attempts);
  if (outcome.retry_after_ms >= 0) {
    const Millis asked(outcome.retry_after_ms);
    if (asked >= remaining) {  // does not fit this flush: the next one will try
      to_queue(std::move(work));
      return;
    }
    delay = std::max(delay, asked);
  }
  if (delay >= remaining) {
    to_queue(std::move(work));
    return;
  }
  LC_DEBUG("forward: {} {} attempt {} failed ({}); retrying in {} ms", route.name,
           payload_kind_name(work.payload->kind), work.attempts, outcome.reason, delay.count());
  const std::uint64_t key = next_token_++;
  auto timer = timers_.schedule_after(delay, [this, key] { on_backoff_done(key); });
  cycle_->backing_off.emplace(key, Backoff{std::move(timer), std::move(work)});
}

void Forwarder::on_backoff_done(std::uint64_t key) {
  if (!cycle_) return;
  auto it = cycle_->backing_off.find(key);
  if (it == cycle_->backing_off.end()) return;
  Work w = std::move(it->second.work);
  cycle_->backing_off.erase(it);
  cycle_->pending.push_front(std::move(w));
  pump();
}

void Forwarder::split(Work work, const SendOutcome& outcome) {
  auto halves = split_payload(*work.payload);
  if (!halves) {
    // A single item cannot shrink: 413 → too_large, over our own limit → item_too_big.
    const bool single = halves.error().code == ErrorCode::kTooLarge;
    const std::string reason =
        single && !outcome.reason.empty() ? outcome.reason : std::string("too_large");
    const std::string key = routes_[work.route].endpoint.name + "/" + reason;
    if (cycle_->logged.insert(key).second) {
      LC_WARN("forward: {} {} payload of {} B dropped ({}): {}{}",
              routes_[work.route].endpoint.name, payload_kind_name(work.payload->kind),
              work.payload->body.size(), reason, halves.error().message,
              outcome.detail.empty() ? "" : "; " + outcome.detail);
    }
    drop(work, reason);
    return;
  }
  LC_DEBUG("forward: {} {} payload of {} items split ({})", routes_[work.route].endpoint.name,
           payload_kind_name(work.payload->kind), work.payload->items,
           outcome.status == 413 ? "413" : outcome.detail);
  Work a = work;
  Work b = std::move(work);
  a.payload = std::make_shared<const Payload>(std::move(halves->first));
  b.payload = std::make_shared<const Payload>(std::move(halves->second));
  a.attempts = b.attempts = 0;
  a.from_queue = b.from_queue = false;
  a.id = next_work_id_++;
  b.id = next_work_id_++;
  cycle_->pending.push_front(std::move(b));
  cycle_->pending.push_front(std::move(a));
}

void Forwarder::count_sent(const Work& work, const SendOutcome& outcome) {
  const std::string kind = "kind:" + std::string(payload_drop_kind(work.payload->kind));
  self_.increment("lastcall.forward.payloads_sent", {kind});
  self_.increment("lastcall.forward.bytes_sent", {kind},
                  outcome.body_bytes != 0 ? outcome.body_bytes : work.payload->body.size());
}

void Forwarder::drop(const Work& work, std::string_view reason) {
  const auto kind = payload_drop_kind(work.payload->kind);
  const std::uint64_t n = item_count(*work.payload);
  self_.dropped(kind, reason, n);
  if (cycle_) {
    auto& c = cycle_->summary.dropped[fmt::format("{}/{}", kind, reason)];
    c.payloads += 1;
    c.items += n;
  }
}

void Forwarder::to_queue(Work work) {
  if (!routes_[work.route].endpoint.reliable) {
    drop(work, "unreliable_endpoint");
    return;
  }
  const std::uint64_t id = work.id;
  const std::uint64_t items = work.payload->items;
  const auto kind = payload_drop_kind(work.payload->kind);
  const auto& compact = routes_[work.route].compact;
  if (compact) work.payload = compact(work.payload);
  auto evicted = queue_.push(
      QueuedPayload{work.id, work.route, std::move(work.payload), work.first_seen_ms, {}});
  bool kept = true;
  for (auto& e : evicted) {
    kept = kept && e.id != id;
    drop(Work{e.id, e.route, std::move(e.payload), e.first_seen_ms, 0, true}, e.evicted_for);
  }
  if (kept && cycle_) {
    cycle_->summary.queued.payloads += 1;
    cycle_->summary.queued.items += items;
    auto& k = cycle_->summary.queued_by_kind[std::string(kind)];
    k.payloads += 1;
    k.items += items;
  }
}

void Forwarder::log_once(const Work& work, const SendOutcome& outcome) {
  const auto& route = routes_[work.route].endpoint;
  const std::string key = route.name + "/" + outcome.reason;
  if (!cycle_->logged.insert(key).second) return;
  if (outcome.reason == "forbidden") {
    LC_ERROR("forward: {}", outcome.detail);
  } else if (outcome.reason == "bad_request" || outcome.reason == "not_found" ||
             outcome.reason == "bad_url" || outcome.reason == "encode_error") {
    LC_WARN("forward: {} ({} {}, payload dropped)", outcome.detail, route.name,
            payload_kind_name(work.payload->kind));
  } else {
    LC_WARN("forward: {} answered {} for {}; payload dropped", route.name, outcome.status,
            payload_kind_name(work.payload->kind));
  }
}

void Forwarder::finish(bool deadline_reached, bool aborted) {
  abort_pending_ = false;
  Cycle& c = *cycle_;
  c.deadline_timer.cancel();
  finish_timer_.cancel();
  std::vector<Work> left;
  for (auto& [token, w] : c.in_flight) {
    if (auto old = abandoned_ids_.find(w.id); old != abandoned_ids_.end()) {
      abandoned_.erase(old->second);  // one tracked request per payload: the latest
    }
    abandoned_[token] = w.id;
    abandoned_ids_[w.id] = token;
    c.summary.abandoned_in_flight += 1;
    left.push_back(std::move(w));
  }
  while (abandoned_.size() > kMaxAbandonedTracked) {
    // The oldest is forgotten: its copy is no longer held back (it is queued below or already).
    abandoned_ids_.erase(abandoned_.begin()->second);
    abandoned_.erase(abandoned_.begin());
  }
  for (auto& [id, w] : c.held) left.push_back(std::move(w));  // still held: stays queued
  for (auto& [key, b] : c.backing_off) {
    b.timer.cancel();
    left.push_back(std::move(b.work));
  }
  for (auto& w : c.pending) left.push_back(std::move(w));
  c.in_flight.clear();
  c.backing_off.clear();
  c.pending.clear();
  c.held.clear();
  std::sort(left.begin(), left.end(), [](const Work& a, const Work& b) { return a.id < b.id; });
  for (auto& w : left) to_queue(std::move(w));

  c.summary.deadline_reached = deadline_reached || !left.empty();
  c.summary.aborted = aborted;
  c.summary.retry_queue_payloads = queue_.size();
  c.summary.retry_queue_bytes = queue_.bytes();

  if (!c.no_key.empty()) {
    std::string what;
    for (const auto& [name, count] : c.no_key) {
      if (!what.empty()) what += ", ";
      what += name + " " + count_text(count);
    }
    LC_WARN("no API key: dropped {}; telemetry is not sent until DD_API_KEY is set", what);
  }
  const std::string line = "flush: " + c.summary.to_string();
  const bool handed_on = aborted && abort_mode_ == AbortMode::kKeepExchanges;
  if (handed_on && c.summary.dropped.empty()) {
    // Cut for the final flush, which sends what it left: nothing is lost here.
    LC_DEBUG("{} (handed to the final flush)", line);
  } else if (!c.summary.dropped.empty() || c.summary.abandoned_in_flight > 0) {
    LC_WARN("{}", line);
  } else if (c.summary.queued.payloads > 0 || c.summary.deadline_reached) {
    LC_INFO("{}", line);
  } else {
    LC_DEBUG("{}", line);
  }

  // Before the waiters: a flush one of them starts must not be cut. The aborted exchanges answer
  // at a later turn; their tokens are in abandoned_, so the answers only clear those entries.
  if (client_ != nullptr) {
    if (aborted && !handed_on) {
      client_->abort_all();
      forget_abandoned();  // every abandoned request ends: none holds a copy back any more
    } else {
      client_->close_idle();
    }
  }
  abort_mode_ = AbortMode::kStopExchanges;
  auto waiters = std::move(c.waiters);
  const FlushSummary summary = c.summary;
  cycle_.reset();
  for (auto& done : waiters) {
    if (done) done(summary);
  }
}

Millis Forwarder::backoff_delay(int failures) {
  // Capped full jitter: uniform in [0, min(cap, base * 2^(failures-1))].
  std::int64_t ceiling = options_.backoff_base.count();
  for (int i = 1; i < failures && ceiling < options_.backoff_cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, options_.backoff_cap.count());
  const double r = std::clamp(rng_(), 0.0, 1.0);
  return Millis(static_cast<std::int64_t>(r * static_cast<double>(ceiling)));
}

bool Forwarder::too_old(const Work& work, std::int64_t now_ms) const {
  std::int64_t window = kMetricsWindowMs;
  switch (value_class(work.payload->kind)) {
    case 1:
      window = kLogsWindowMs;
      break;
    case 2:
      window = kTracesWindowMs;
      break;
    default:
      break;
  }
  return now_ms - work.first_seen_ms > window;
}

std::string Forwarder::describe() const {
  std::string routes;
  for (const auto& r : routes_) {
    if (!routes.empty()) routes += ",";
    std::string kinds;
    for (auto k : r.endpoint.kinds) {
      if (!kinds.empty()) kinds += ",";
      kinds += fmt::format("\"{}\"", payload_kind_name(k));
    }
    routes +=
        fmt::format(R"({{"name":"{}","url":"{}","kinds":[{}],"api_key":{}}})", r.endpoint.name,
                    r.endpoint.base_url, kinds, r.endpoint.api_key.empty() ? "false" : "true");
  }
  return fmt::format(
      R"({{"component":"forwarder","routes":[{}],"retry_queue_budget":{},"max_attempts":{},)"
      R"("backoff_base_ms":{},"backoff_cap_ms":{},"max_in_flight":{}}})",
      routes, queue_.budget(), options_.max_attempts, options_.backoff_base.count(),
      options_.backoff_cap.count(), options_.max_in_flight);
}

}  // namespace lc::forward
