#include "app/listeners.h"

#include "core/logger.h"

namespace lc::app {

std::unique_ptr<net::HttpServer> bind_http(EventLoop& loop, const std::string& name,
                                           const std::string& host, int port, Listeners& listeners,
                                           std::size_t default_max_body) {
  net::HttpServerOptions options;
  options.host = host;
  options.port = static_cast<std::uint16_t>(port);
  options.name = name;
  options.default_max_body = default_max_body;
  return bind_http(loop, std::move(options), listeners);
}

std::unique_ptr<net::HttpServer> bind_http(EventLoop& loop, net::HttpServerOptions options,
                                           Listeners& listeners) {
  if (options.self_metrics == nullptr) options.self_metrics = listeners.self_metrics;
  const std::string name = options.name;
  const std::string host = options.host;
  const int port = options.port;
  auto server =
      net::HttpServer::create(loop.io(), SystemClock::instance(), loop, std::move(options));
  if (!server) {
    LC_ERROR("cannot listen for {} on {}:{}: {}; running without it", name, host, port,
             server.error().message);
    return nullptr;
  }
  listeners.add(name, (*server)->port());
  return std::move(server).value();
}

void Listeners::bind_local_api(EventLoop& loop, const FinalConfig& config) {
  local_api = bind_http(loop, "local_api", config.common.local_api_host,
                        config.common.local_api_port, *this);
}

void Listeners::announce() const {
  std::string line = "listening:";
  for (const auto& [name, port] : bound) line += " " + name + "=" + std::to_string(port);
  Logger::instance().log_always(LogLevel::kInfo, line);
}

void Listeners::start_all() {
  if (local_api) local_api->start();
}

}  // namespace lc::app
