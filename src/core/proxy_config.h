// core/proxy_config.h — the outbound HTTP proxy (DD_PROXY_*, NO_PROXY), the part of the
// configuration net/ needs. Filled by finalize_config() (core/config.h) from the forward rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lc {

struct ProxyConfig {
  std::string host;  // empty = no proxy
  std::uint16_t port = 0;
  std::string user, password;  // secrets
  std::vector<std::string> no_proxy;
};

}  // namespace lc
