#include "forward/status.h"

#include <ctime>
#include <string>

namespace lc::forward {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string host_of(std::string_view url) {
  auto p = url.find("://");
  std::string_view rest = p == std::string_view::npos ? url : url.substr(p + 3);
  auto end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  auto at = rest.rfind('@');  // never echo userinfo
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  return std::string(rest);
}

std::string printable_excerpt(std::string_view body, std::size_t max) {
  std::string out;
  for (char c : body.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u != 0x7f ? c : (c == '\n' || c == '\t' ? ' ' : '?'));
  }
  return out;
}

std::string_view transport_reason(ErrorCode code) {
  // The kinds of transport failure keep their error-code names as reasons (dns, connect, ...).
  switch (code) {
    case ErrorCode::kTimeout:
    case ErrorCode::kDns:
    case ErrorCode::kConnect:
    case ErrorCode::kTls:
    case ErrorCode::kNetwork:
    case ErrorCode::kProtocol:
      return error_code_name(code);
    default:
      return "transport";
  }
}

}  // namespace

std::optional<std::string_view> response_header(const net::HttpClientResponse& response,
                                                std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, WallTime now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (value.size() > 9) return std::nullopt;  // > 30 years: nonsense
    return std::stoll(std::string(value)) * 1000;
  }
  // IMF-fixdate, the only HTTP-date form senders are required to produce (RFC 9110 §5.6.7).
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::int64_t at_s = timegm(&tm);
  const std::int64_t now_ms = std::chrono::duration_cast<Millis>(now.time_since_epoch()).count();
  const std::int64_t delta = at_s * 1000 - now_ms;
  return delta > 0 ? delta : 0;
}

SendOutcome classify_response(const Expected<net::HttpClientResponse>& result, WallTime now,
                              std::string_view url) {
  using K = SendOutcome::Kind;
  SendOutcome out;
  if (!result) {
    const Error& err = result.error();
    if (err.code == ErrorCode::kInvalidArgument) {
      out.kind = K::kDrop;
      out.reason = "bad_url";
      out.detail = "intake URL rejected: " + err.message;
      return out;
    }
    out.kind = K::kRetry;
    out.reason = std::string(transport_reason(err.code));
    out.detail = err.message;
    return out;
  }
  const int status = result->status;
  out.status = status;
  if (status >= 200 && status <= 299) {
    out.kind = K::kOk;
    return out;
  }
  // A 1xx is no answer at all (the HttpClient skips interim ones; one that reaches here means the
  // intake never gave a final answer): the payload was not refused, so it is retried.
  if ((status >= 100 && status <= 199) || status == 408 || status == 429 ||
      (status >= 500 && status <= 599)) {
    out.kind = K::kRetry;
    out.reason = "http_" + std::to_string(status);
    if (auto ra = response_header(*result, "Retry-After")) {
      if (auto ms = parse_retry_after(*ra, now)) out.retry_after_ms = *ms;
    }
    return out;
  }
  if (status == 413) {
    out.kind = K::kSplit;
    out.reason = "too_large";
    return out;
  }
  out.kind = K::kDrop;
  switch (status) {
    case 400:
      out.reason = "bad_request";
      out.detail =
          "intake answered 400 for " + host_of(url) + ": " + printable_excerpt(result->body, 200);
      break;
    case 401:
    case 403:
      out.reason = "forbidden";
      out.detail = "API key rejected by " + host_of(url);
      break;
    case 404:
      out.reason = "not_found";
      out.detail = "intake answered 404 for " + std::string(url) + " (check the URL override)";
      break;
    default:
      out.reason = "http_" + std::to_string(status);
      break;
  }
  return out;
}

}  // namespace lc::forward
