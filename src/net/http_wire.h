// net/http_wire.h — HTTP/1.1 bytes for the server's answers, and a one-shot request parser with the
// server's limits. Internal to net/: used by http_server.cpp, the fuzz target and unit tests.
// Pure functions; no I/O, no Beast types in this header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "net/http_types.h"

namespace lc::net {

// Status line, sanitized headers (CR/LF/NUL or malformed names dropped; Content-Length,
// Transfer-Encoding and Connection replaced by ours) and body. 1xx/204/304 carry no body;
// a HEAD answer keeps Content-Length but omits the body.
std::string serialize_response(const HttpResponse& response, bool close, bool head_request);

// Status line and headers announcing the full body, followed by only its first half
// (Responder::close_mid_response).
std::string serialize_truncated_response(const HttpResponse& response);

std::string_view reason_phrase(int status);

// Parses one complete request from `bytes` exactly as the server would: header limit, then a
// body limit. kTooLarge for an oversize header or body, kInvalidArgument for malformed input
// or an incomplete message.
Expected<HttpRequest> parse_request(std::string_view bytes, std::size_t max_header_bytes,
                                    std::size_t max_body);

}  // namespace lc::net
