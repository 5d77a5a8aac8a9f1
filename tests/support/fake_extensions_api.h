// tests/support/fake_extensions_api.h — the one in-process Extensions API (register, next,
// telemetry subscribe) on 127.0.0.1:0 for tests and benchmarks: serves scripted events, records
// every request with its arrival time, and parks /next when no event is queued. Runs its own loop
// thread. Events are scripted before the binary starts or pushed while it runs (push() answers a
// parked /next). Header-only (lc_net), so the benchmarks use it without the test targets. Used by
// the extension integration tests and bench/lambda/cold_start_bench; lastcall-sandbox covers the
// rest.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "core/mutex.h"
#include "net/http_server.h"

namespace lc::test {

class FakeExtensionsApi {
 public:
  struct Recorded {
    std::string method, path, body;
    net::Headers headers;
    std::chrono::steady_clock::time_point received_at;  // on the loop, as the request was handled
    std::string header(std::string_view name) const {
      return std::string(net::find_header(headers, name).value_or(""));
    }
  };

  FakeExtensionsApi() {
    auto server = net::HttpServer::create(loop_.io(), SystemClock::instance(), loop_,
                                          net::HttpServerOptions{});
    if (!server) {
      error_ = server.error().message;
      return;
    }
    server_ = std::move(server).value();
    server_->route("POST", "/2020-01-01/extension/register",
                   [this](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                     record(req);
                     MutexLock lock(mu_);
                     r->respond(register_response);
                   });
    server_->route("PUT", "/2022-07-01/telemetry",
                   [this](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                     record(req);
                     MutexLock lock(mu_);
                     r->respond(telemetry_response);
                   });
    server_->route("GET", std::string(kNextPath),
                   [this](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                     record(req);
                     MutexLock lock(mu_);
                     if (events.empty()) {
                       parked_.push_back(r);  // long poll: answered by a later push()
                       return;
                     }
                     answer(*r, events.front());
                     events.pop_front();
                   });
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }

  ~FakeExtensionsApi() {
    if (!server_) return;
    loop_.post([this] {
      server_->stop();
      parked_.clear();
      loop_.stop();
    });
    thread_.join();
  }

  // False (with the reason in error()) when the listener could not be created.
  bool started() const { return server_ != nullptr; }
  const std::string& error() const { return error_; }
  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  std::vector<Recorded> requests() {
    MutexLock lock(mu_);
    return requests_;
  }

  // Waits until at least n requests have arrived.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (requests_.size() < n) {
      if (!lock.wait_until(cv_, deadline)) return requests_.size() >= n;
    }
    return true;
  }

  // The first request to `path` at index `from` or later, once it has arrived; nullopt on timeout.
  std::optional<Recorded> wait_for_path(std::string_view path, std::size_t from,
                                        std::chrono::milliseconds timeout) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (bool in_time = true;; in_time = lock.wait_until(cv_, deadline)) {
      for (std::size_t i = from; i < requests_.size(); ++i) {
        if (requests_[i].path == path) return requests_[i];
      }
      if (!in_time) return std::nullopt;
    }
  }

  // An event for the binary while it runs: answers the /next waiting for one (the latest), or is
  // queued for the next /next.
  void push(std::string event) {
    loop_.post([this, event = std::move(event)]() mutable {
      MutexLock lock(mu_);
      if (parked_.empty()) {
        events.push_back(std::move(event));
        return;
      }
      answer(*parked_.back(), event);
      parked_.pop_back();
    });
  }

  // How many times /next has been called; wait_for_next_calls waits until it was at least n.
  int next_calls() {
    MutexLock lock(mu_);
    return next_calls_locked();
  }
  bool wait_for_next_calls(int n, std::chrono::milliseconds timeout) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (bool in_time = true;; in_time = lock.wait_until(cv_, deadline)) {
      if (next_calls_locked() >= n) return true;
      if (!in_time) return false;
    }
  }

  // Scripted answers; set before the binary starts (events: or push() them while it runs).
  net::HttpResponse register_response =
      net::HttpResponse::json(200, R"({"functionName":"my-fn","functionVersion":"$LATEST",)"
                                   R"("handler":"index.handler","accountId":"123456789012"})")
          .with_header("Lambda-Extension-Identifier", "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  net::HttpResponse telemetry_response = net::HttpResponse::json(200, "\"OK\"");
  std::deque<std::string> events;

 private:
  static constexpr std::string_view kNextPath = "/2020-01-01/extension/event/next";

  static void answer(net::Responder& r, const std::string& event) {
    r.respond(net::HttpResponse::json(200, event)
                  .with_header("Lambda-Extension-Event-Identifier", "ev-1"));
  }

  int next_calls_locked() LC_REQUIRES(mu_) {
    int n = 0;
    for (const auto& r : requests_) n += r.path == kNextPath ? 1 : 0;
    return n;
  }

  void record(const net::HttpRequest& req) {
    MutexLock lock(mu_);
    requests_.push_back(
        {req.method, req.path, req.body, req.headers, std::chrono::steady_clock::now()});
    cv_.notify_all();
  }

  EventLoop loop_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  std::vector<Recorded> requests_ LC_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<net::Responder>> parked_;  // loop thread only
  std::string error_;
};

}  // namespace lc::test
