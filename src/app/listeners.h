// app/listeners.h — binding the receivers of a mode before anything else happens, and the one
// `listening:` line with the ports actually bound (architecture.md "Modes"). A port that cannot be
// bound is logged naming the port and the mode runs without that receiver.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/event_loop.h"
#include "core/self_metrics.h"
#include "net/http_server.h"

namespace lc::app {

struct Listeners {
  std::unique_ptr<net::HttpServer> local_api;
  std::vector<std::pair<std::string, int>> bound;  // in announcement order
  // Where the HTTP listeners count refused requests (dropped{kind:<listener>, reason}); set by the
  // mode before binding; outlives the listeners.
  SelfMetrics* self_metrics = nullptr;

  void bind_local_api(EventLoop& loop, const FinalConfig& config);
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

}  // namespace lc::app
