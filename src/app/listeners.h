// app/listeners.h — binding the receivers of a mode before anything else happens, and the one
// `listening:` line with the ports actually bound (architecture.md "Modes"). A port that cannot be
// bound is logged naming the port and the mode runs without that receiver.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/event_loop.h"
#include "core/self_metrics.h"
#include "net/http_server.h"

namespace lc::app {

// An HTTP listener whose socket is bound (the port is known and the kernel queues connections)
// but whose server is not made yet: a mode binds before its event loop exists (the init wrapper
// binds, spawns its child, then builds the loop, serverless-init.md §2).
struct ReservedHttp {
  net::HttpServerOptions options;
  net::ListeningSocket socket;
};

struct Listeners {
  std::unique_ptr<net::HttpServer> local_api;
  std::optional<ReservedHttp> local_api_socket;    // reserve_local_api() → serve_local_api()
  std::vector<std::pair<std::string, int>> bound;  // in announcement order
  // Where the HTTP listeners count refused requests (dropped{kind:<listener>, reason}); set by the
  // mode before binding; outlives the listeners.
  SelfMetrics* self_metrics = nullptr;

  void bind_local_api(EventLoop& loop, const FinalConfig& config);
  // bind_local_api() in two steps: the socket (no loop needed), then the server on the loop.
  void reserve_local_api(const FinalConfig& config);
  void serve_local_api(EventLoop& loop);
  void add(std::string name, int port) { bound.emplace_back(std::move(name), port); }
  // "listening: telemetry=8999 dogstatsd=8125 local_api=8124", at every level but off.
  void announce() const;
  void start_all();
};

// Binds one HTTP server; on failure logs an error naming the port and returns nullptr.
std::unique_ptr<net::HttpServer> bind_http(EventLoop& loop, const std::string& name,
                                           const std::string& host, int port, Listeners& listeners,
                                           std::size_t default_max_body = 64 * 1024);
// The same with every option given (options.name is the listener's name; self_metrics is set
// from `listeners` when empty).
std::unique_ptr<net::HttpServer> bind_http(EventLoop& loop, net::HttpServerOptions options,
                                           Listeners& listeners);
// bind_http() in two steps. reserve_http() binds the socket and adds the listener to `listeners`
// (call before announce()); on failure it logs an error naming the port and returns nullopt.
std::optional<ReservedHttp> reserve_http(net::HttpServerOptions options, Listeners& listeners);
// The server on a reserved socket (nullptr, logged, if it cannot be made).
std::unique_ptr<net::HttpServer> serve_http(EventLoop& loop, ReservedHttp reserved);

}  // namespace lc::app
