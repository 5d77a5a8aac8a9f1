#include "net/http_wire.h"

#include <ostream>  // boost/core/detail/string_view.hpp needs it complete

#include <boost/beast/http/status.hpp>

#include "core/strings.h"

namespace lc::net {
namespace {

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '<' || c == '>' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '"' ||
        c == '/' || c == '?' || c == '=' || c == '{' || c == '}') {
      return false;
    }
  }
  return true;
}

bool valid_header_value(std::string_view value) {
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

int sane_status(int status) { return status >= 100 && status <= 999 ? status : 500; }

void append_head(std::string& out, const HttpResponse& response, int status) {
  out.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  out.append(reason_phrase(status)).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    if (!valid_header_name(name) || !valid_header_value(value)) continue;
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "Connection")) {
      continue;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
}

}  // namespace

std::string_view reason_phrase(int status) {
  const auto s = boost::beast::http::int_to_status(static_cast<unsigned>(status));
  if (s == boost::beast::http::status::unknown) return "Unknown";
  return boost::beast::http::obsolete_reason(s);
}

std::string serialize_response(const HttpResponse& response, bool close, bool head_request) {
  const int status = sane_status(response.status);
  const bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  std::string out;
  out.reserve(256 + response.body.size());
  append_head(out, response, status);
  if (!no_body) {
    out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  }
  out.append(close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
  out.append("\r\n");
  if (!no_body && !head_request) out.append(response.body);
  return out;
}

std::string serialize_truncated_response(const HttpResponse& response) {
  const int status = sane_status(response.status);
  std::string out;
  append_head(out, response, status);
  out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  out.append("Connection: close\r\n\r\n");
  out.append(std::string_view(response.body).substr(0, response.body.size() / 2));
  return out;
}

}  // namespace lc::net
