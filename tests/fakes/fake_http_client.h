// tests/fakes/fake_http_client.h — a net::HttpClient that records every request and answers from
// a script (statuses, headers, bodies, transport errors, delays, hangs) on a FakeClock's timers.
// For unit tests of anything that sends HTTP (forward/, lambda/). Answers (and the "aborted" errors
// of abort_all()) always arrive asynchronously, when the test advances the clock (advance(0ms) for
// an immediate answer).
#pragma once

#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fakes/fake_clock.h"
#include "net/http_client.h"

namespace lc::fakes {

class FakeHttpClient final : public net::HttpClient {
 public:
  struct Reply {
    int status = 200;
    net::Headers headers;
    std::string body;
    std::optional<Error> error;  // a transport error instead of a response
    Millis delay{0};             // time from the request to the answer
    bool hang = false;           // no answer of its own: kTimeout at the request's deadline

    static Reply with_status(int status, Millis delay = Millis(0)) {
      Reply r;
      r.status = status;
      r.delay = delay;
      return r;
    }
    static Reply failure(ErrorCode code, std::string message, Millis delay = Millis(0)) {
      Reply r;
      r.error = Error{code, std::move(message)};
      r.delay = delay;
      return r;
    }
    static Reply hanging() {
      Reply r;
      r.hang = true;
      return r;
    }
    Reply& header(std::string name, std::string value) {
      headers.emplace_back(std::move(name), std::move(value));
      return *this;
    }
  };

  struct Recorded {
    net::HttpClientRequest request;
    Deadline deadline;
    SteadyTime sent_at;
    bool answered = false;
    bool aborted = false;       // stopped by abort_all() before its answer
    std::optional<int> status;  // what it was answered with (nullopt: transport error / pending)

    const std::string& body() const { return *request.body; }
    std::optional<std::string> header(std::string_view name) const {
      for (const auto& [k, v] : request.headers) {
        if (k.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < k.size() && same; ++i) {
          same = std::tolower(static_cast<unsigned char>(k[i])) ==
                 std::tolower(static_cast<unsigned char>(name[i]));
        }
        if (same) return v;
      }
      return std::nullopt;
    }
  };

  explicit FakeHttpClient(FakeClock& clock) : clock_(clock) {}
  ~FakeHttpClient() override { *alive_ = false; }

  // Replies for any URL, used in order once the URL-specific scripts are empty.
  void script(std::vector<Reply> replies) {
    for (auto& r : replies) any_.push_back(std::move(r));
  }
  // Replies for URLs containing `url_part`, used in order; checked before script().
  void script_for(std::string url_part, std::vector<Reply> replies) {
    auto& q = by_url_[std::move(url_part)];
    for (auto& r : replies) q.push_back(std::move(r));
  }
  // The answer once every script is used up (default: 200 at once).
  void set_default(Reply reply) { default_ = std::move(reply); }

  void request(net::HttpClientRequest request, Deadline deadline, Callback done) override {
    Reply reply = next_reply(request.url);
    const std::size_t index = requests_.size();
    Recorded rec;
    rec.request = std::move(request);
    rec.deadline = deadline;
    rec.sent_at = clock_.steady_now();
    requests_.push_back(std::move(rec));
    const bool has_deadline = deadline.at != SteadyTime::max();
    const Millis until_deadline = deadline.remaining(clock_);
    const bool times_out = reply.hang || (has_deadline && reply.delay >= until_deadline);
    ++in_flight_;
    Pending& p = pending_[index];
    p.done = std::move(done);
    if (times_out && !has_deadline) return;  // hangs for good, like a stalled peer
    const Millis when = times_out ? until_deadline : reply.delay;
    auto alive = alive_;
    p.answer =
        clock_.schedule_after(when, [this, alive, index, times_out, reply = std::move(reply)] {
          if (!*alive) return;
          auto it = pending_.find(index);
          if (it == pending_.end()) return;
          Callback done = std::move(it->second.done);
          pending_.erase(it);
          --in_flight_;
          requests_[index].answered = true;
          if (times_out) {
            done(Error{ErrorCode::kTimeout, "request deadline passed"});
          } else if (reply.error) {
            done(*reply.error);
          } else {
            requests_[index].status = reply.status;
            net::HttpClientResponse resp;
            resp.status = reply.status;
            resp.headers = reply.headers;
            resp.body = reply.body;
            done(std::move(resp));
          }
        });
  }

  void close_idle() override { ++close_idle_calls_; }

  // As the real client: every request not yet answered is stopped and gets kNetwork "aborted" at
  // the next advance() (never inside abort_all()); its scripted answer never comes.
  std::size_t abort_all() override {
    ++abort_all_calls_;
    auto stopped = std::move(pending_);
    pending_.clear();
    auto alive = alive_;
    for (auto& [index, p] : stopped) {
      p.answer.cancel();  // its scripted answer never comes
      --in_flight_;
      requests_[index].aborted = true;
      aborts_.push_back(clock_.schedule_after(Millis(0), [alive, done = std::move(p.done)] {
        if (*alive) done(Error{ErrorCode::kNetwork, "request aborted before an answer"});
      }));
    }
    return stopped.size();
  }

  const std::vector<Recorded>& requests() const { return requests_; }
  // Requests whose URL contains `url_part`.
  std::vector<const Recorded*> requests_to(std::string_view url_part) const {
    std::vector<const Recorded*> out;
    for (const auto& r : requests_) {
      if (r.request.url.find(url_part) != std::string::npos) out.push_back(&r);
    }
    return out;
  }
  std::size_t in_flight() const { return in_flight_; }
  int close_idle_calls() const { return close_idle_calls_; }
  int abort_all_calls() const { return abort_all_calls_; }

 private:
  Reply next_reply(const std::string& url) {
    for (auto& [part, q] : by_url_) {
      if (!q.empty() && url.find(part) != std::string::npos) {
        Reply r = std::move(q.front());
        q.pop_front();
        return r;
      }
    }
    if (!any_.empty()) {
      Reply r = std::move(any_.front());
      any_.pop_front();
      return r;
    }
    return default_;
  }

  FakeClock& clock_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  struct Pending {
    Callback done;
    Timer answer;  // unarmed for a request that hangs for good
  };
  std::deque<Reply> any_;
  std::map<std::string, std::deque<Reply>> by_url_;
  Reply default_;
  std::vector<Recorded> requests_;
  // By request index, until answered or aborted; destroying the client cancels the timers.
  std::map<std::size_t, Pending> pending_;
  std::vector<Timer> aborts_;  // the "aborted" answers abort_all() scheduled
  std::size_t in_flight_ = 0;
  int close_idle_calls_ = 0;
  int abort_all_calls_ = 0;
};

}  // namespace lc::fakes
