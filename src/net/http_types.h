// net/http_types.h — plain request/response values shared by our HTTP server and client.
// No Beast types leak out of net/: stages and tools see only these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lc::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup (first match).
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: "/path?query"
  std::string path;    // "/path" (not percent-decoded)
  std::string query;   // "a=1&b=2" (raw)
  Headers headers;
  std::string body;    // fully read; chunked transfer-encoding already decoded
  std::string remote;  // "127.0.0.1:40000"

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // Value of one query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;

  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body);
  // {"errorType":"...","errorMessage":"..."} — the Lambda APIs' error shape.
  static HttpResponse error(int status, std::string_view error_type, std::string_view message);
  HttpResponse& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// "http://host:port/prefix" split into parts; https default port 443, http 80.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // path + query, "/" when empty
};
std::optional<Url> parse_url(std::string_view url);

std::string percent_decode(std::string_view s);

}  // namespace lc::net
