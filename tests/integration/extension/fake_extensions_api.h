// tests/integration/extension/fake_extensions_api.h — an in-test Extensions API (register, next,
// telemetry subscribe) on 127.0.0.1:0, serving scripted events, recording every request. Runs its
// own loop thread. For the first-slice tests of the real binary; lastcall-sandbox covers the rest.
#pragma once

#include <chrono>
#include <deque>
#include <string>
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
    std::string header(std::string_view name) const {
      return std::string(net::find_header(headers, name).value_or(""));
    }
  };

  FakeExtensionsApi() {
    auto server = net::HttpServer::create(loop_.io(), net::HttpServerOptions{});
    if (!server) throw std::runtime_error(server.error().message);
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
    server_->route("GET", "/2020-01-01/extension/event/next",
                   [this](net::HttpRequest& req, std::shared_ptr<net::Responder> r) {
                     record(req);
                     MutexLock lock(mu_);
                     if (events.empty()) {
                       parked_.push_back(r);  // long poll: never answered
                       return;
                     }
                     r->respond(net::HttpResponse::json(200, events.front())
                                    .with_header("Lambda-Extension-Event-Identifier", "ev-1"));
                     events.pop_front();
                   });
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }

  ~FakeExtensionsApi() {
    loop_.post([this] {
      server_->stop();
      parked_.clear();
      loop_.stop();
    });
    thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }
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

  // Scripted answers; set before the binary starts.
  net::HttpResponse register_response =
      net::HttpResponse::json(200, R"({"functionName":"my-fn","functionVersion":"$LATEST",)"
                                   R"("handler":"index.handler","accountId":"123456789012"})")
          .with_header("Lambda-Extension-Identifier", "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  net::HttpResponse telemetry_response = net::HttpResponse::json(200, "\"OK\"");
  std::deque<std::string> events;

 private:
  void record(const net::HttpRequest& req) {
    MutexLock lock(mu_);
    requests_.push_back({req.method, req.path, req.body, req.headers});
    cv_.notify_all();
  }

  EventLoop loop_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  std::vector<Recorded> requests_ LC_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<net::Responder>> parked_;  // loop thread only
};

}  // namespace lc::test
