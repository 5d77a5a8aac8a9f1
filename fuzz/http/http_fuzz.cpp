// fuzz/http — feeds bytes to the server's request parsing path (header limit, then per-route body
// limit, chunked decoding), then to the helpers a handler uses on what came in: query parameters,
// percent-decoding, URL parsing, NO_PROXY matching and answer serialization.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/http_client.h"
#include "net/http_types.h"
#include "net/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Small limits so the fuzzer reaches the 413/431 paths as well as the normal one.
  auto request = lc::net::parse_request(bytes, 2048, 4096);
  if (request) {
    (void)request->query_param("a");
    (void)request->query_param(request->query);
    (void)lc::net::percent_decode(request->path);
    (void)request->header("content-type");
    (void)lc::net::parse_url(request->target);
    (void)lc::net::parse_url("http://" + request->path);
    lc::net::HttpResponse response = lc::net::HttpResponse::text(200, request->body);
    response.headers = request->headers;
    (void)lc::net::serialize_response(response, false, request->method == "HEAD");
    (void)lc::net::serialize_truncated_response(response);
  }
  (void)lc::net::parse_url(bytes);
  const std::size_t nl = bytes.find('\n');
  if (nl != std::string_view::npos) {
    const std::vector<std::string> entries{std::string(bytes.substr(0, nl))};
    (void)lc::net::no_proxy_matches(entries, bytes.substr(nl + 1), 443);
  }
  return 0;
}
