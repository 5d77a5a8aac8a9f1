// tests/fakes/fake_http_client.h — a net::HttpClient that records every request and answers from
// a script (statuses, headers, bodies, transport errors, delays, hangs) on a FakeClock's timers.
// For unit tests of anything that sends HTTP (forward/, lambda/). Answers always arrive
// asynchronously, when the test advances the clock (advance(0ms) for an immediate answer).
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
    if (times_out && !has_deadline) {
      never_answered_.push_back(std::move(done));  // hangs for good, like a stalled peer
      return;
    }
    const Millis when = times_out ? until_deadline : reply.delay;
    auto alive = alive_;
    answers_.push_back(
        clock_.schedule_after(when, [this, alive, index, times_out, reply = std::move(reply),
                                     done = std::move(done)]() mutable {
          if (!*alive) return;
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
        }));
  }

  void close_idle() override { ++close_idle_calls_; }

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
  std::vector<Timer> answers_;  // one per answered request; destroying the client cancels them
  std::deque<Reply> any_;
  std::map<std::string, std::deque<Reply>> by_url_;
  Reply default_;
  std::vector<Recorded> requests_;
  std::vector<Callback> never_answered_;
  std::size_t in_flight_ = 0;
  int close_idle_calls_ = 0;
};

}  // namespace lc::fakes
