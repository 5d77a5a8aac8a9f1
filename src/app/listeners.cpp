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
  auto reserved = reserve_http(std::move(options), listeners);
  return reserved ? serve_http(loop, std::move(*reserved)) : nullptr;
}

std::optional<ReservedHttp> reserve_http(net::HttpServerOptions options, Listeners& listeners) {
  if (options.self_metrics == nullptr) options.self_metrics = listeners.self_metrics;
  auto socket = net::ListeningSocket::open(options.name, options.host, options.port);
  if (!socket) {
    LC_ERROR("cannot listen for {} on {}:{}: {}; running without it", options.name, options.host,
             options.port, socket.error().message);
    return std::nullopt;
  }
  listeners.add(options.name, socket->port());
  return ReservedHttp{std::move(options), std::move(socket).value()};
}

std::unique_ptr<net::HttpServer> serve_http(EventLoop& loop, ReservedHttp reserved) {
  const std::string name = reserved.options.name;
  auto server = net::HttpServer::create(loop.io(), SystemClock::instance(), loop,
                                        std::move(reserved.options), std::move(reserved.socket));
  if (!server) {
    LC_ERROR("cannot serve {}: {}; running without it", name, server.error().message);
    return nullptr;
  }
  return std::move(server).value();
}

void Listeners::bind_local_api(EventLoop& loop, const FinalConfig& config) {
  reserve_local_api(config);
  serve_local_api(loop);
}

void Listeners::reserve_local_api(const FinalConfig& config) {
  net::HttpServerOptions options;
  options.host = config.common.local_api_host;
  options.port = static_cast<std::uint16_t>(config.common.local_api_port);
  options.name = "local_api";
  local_api_socket = reserve_http(std::move(options), *this);
}

void Listeners::serve_local_api(EventLoop& loop) {
  if (!local_api_socket) return;
  local_api = serve_http(loop, std::move(*local_api_socket));
  local_api_socket.reset();
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
