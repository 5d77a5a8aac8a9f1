// net/bound_port.h — the local port a bound IPv4 or IPv6 socket got (getsockname), for the
// listeners that bind port 0: the DogStatsD receiver and the HTTP servers' ListeningSocket.
// Header-only: lc_net_udp and lc_net both use it without depending on each other.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>

namespace lc::net {

// nullopt when getsockname fails (errno says why).
inline std::optional<std::uint16_t> bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

}  // namespace lc::net
