#include "tools/sandbox/requests.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

#include "core/strings.h"
#include "net/http_types.h"
#include "tools/sandbox/common.h"

namespace lc::sandbox {
namespace {

Rejection forbidden(std::string type, std::string message) {
  return Rejection{403, std::move(type), std::move(message)};
}
Rejection validation(std::string message) {
  return Rejection{400, "ValidationError", std::move(message)};
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Reads an optional bounded integer member of `buffering` into out.
std::optional<Rejection> bounded(const boost::json::object& o, std::string_view key, int lo, int hi,
                                 int& out) {
  if (o.if_contains(key) == nullptr) return std::nullopt;
  const auto n = get_int(o, key);
  if (!n || *n < lo || *n > hi) {
    return validation(fmt::format("buffering.{} must be an integer in [{}, {}]", key, lo, hi));
  }
  out = static_cast<int>(*n);
  return std::nullopt;
}

}  // namespace

Expected<RegisterRequest, Rejection> parse_register(std::optional<std::string_view> name_header,
                                                    std::optional<std::string_view> feature_header,
                                                    std::string_view body, bool lmi) {
  RegisterRequest req;
  if (!name_header || trim(*name_header).empty()) {
    return forbidden("Extension.InvalidExtensionName",
                     "Lambda-Extension-Name header is missing or empty");
  }
  req.name = std::string(trim(*name_header));
  if (feature_header) {
    for (auto f : split_any(*feature_header, ",")) {
      if (trim(f) == "accountId") req.want_account_id = true;  // unknown features are ignored
    }
  }
  auto parsed = parse_json(body);
  if (!parsed) return forbidden("InvalidRequestFormat", "register body: " + parsed.error().message);
  const auto* obj = parsed->if_object();
  if (obj == nullptr) return forbidden("InvalidRequestFormat", "register body must be an object");
  if (obj->if_contains("configurationKeys") != nullptr) {
    return forbidden("InvalidRequestFormat", "configurationKeys is not supported");
  }
  const auto* events = obj->if_contains("events");
  if (events == nullptr || !events->is_array()) {
    return forbidden("InvalidRequestFormat", "register body needs an \"events\" array");
  }
  for (const auto& e : events->get_array()) {
    if (!e.is_string()) {
      return forbidden("InvalidRequestFormat", "\"events\" must hold strings");
    }
    const std::string name = upper(std::string_view(e.get_string().data(), e.get_string().size()));
    if (name == "INVOKE") {
      if (lmi) {
        return forbidden("Extension.InvalidEventType",
                         "INVOKE is not available in Lambda Managed Instances");
      }
      req.invoke = true;
    } else if (name == "SHUTDOWN") {
      req.shutdown = true;
    } else {
      return forbidden("Extension.InvalidEventType",
                       fmt::format("unknown event type {}", escape_for_log(name, 64)));
    }
    if (std::find(req.events.begin(), req.events.end(), name) == req.events.end()) {
      req.events.push_back(name);
    }
  }
  return req;
}

std::optional<Rejection> check_identifier_header(std::optional<std::string_view> header) {
  if (!header || header->empty()) {
    return forbidden("Extension.MissingExtensionIdentifier",
                     "Lambda-Extension-Identifier header is missing");
  }
  if (!is_uuid(trim(*header))) {
    return forbidden("Extension.InvalidExtensionIdentifier",
                     "Lambda-Extension-Identifier is not a UUID");
  }
  return std::nullopt;
}

bool SubscribeRequest::wants(std::string_view type) const {
  return std::find(types.begin(), types.end(), type) != types.end();
}

Expected<SubscribeRequest, Rejection> parse_subscribe(std::string_view body, bool lmi) {
  SubscribeRequest req;
  auto parsed = parse_json(body);
  if (!parsed) return validation("subscribe body: " + parsed.error().message);
  const auto* obj = parsed->if_object();
  if (obj == nullptr) return validation("subscribe body must be a JSON object");

  const auto schema = get_string(*obj, "schemaVersion");
  if (!schema) return validation("schemaVersion is required and must be a string");
  req.schema_version = std::string(*schema);
  static constexpr std::string_view kSchemas[] = {"2022-07-01", "2022-12-13", "2025-01-29"};
  if (lmi && req.schema_version != "2025-01-29") {
    return validation(
        fmt::format("schemaVersion {} is not supported in Lambda Managed Instances; "
                    "use 2025-01-29",
                    escape_for_log(req.schema_version, 32)));
  }
  if (std::find(std::begin(kSchemas), std::end(kSchemas), req.schema_version) ==
      std::end(kSchemas)) {
    return validation(
        fmt::format("schemaVersion {} is not supported", escape_for_log(req.schema_version, 32)));
  }

  const auto* types = obj->if_contains("types");
  if (types == nullptr || !types->is_array() || types->get_array().empty()) {
    return validation("types must be a non-empty array");
  }
  for (const auto& t : types->get_array()) {
    if (!t.is_string()) return validation("types must hold strings");
    const std::string_view name(t.get_string().data(), t.get_string().size());
    if (name != "platform" && name != "function" && name != "extension") {
      return validation(fmt::format("unknown type {}", escape_for_log(name, 32)));
    }
    if (!req.wants(name)) req.types.emplace_back(name);
  }

  if (const auto* b = obj->if_contains("buffering"); b != nullptr) {
    const auto* bo = b->if_object();
    if (bo == nullptr) return validation("buffering must be an object");
    if (auto r = bounded(*bo, "maxItems", kMinMaxItems, kMaxMaxItems, req.max_items)) return *r;
    if (auto r = bounded(*bo, "maxBytes", kMinMaxBytes, kMaxMaxBytes, req.max_bytes)) return *r;
    if (auto r = bounded(*bo, "timeoutMs", kMinTimeoutMs, kMaxTimeoutMs, req.timeout_ms)) return *r;
  }

  const auto* dest_v = obj->if_contains("destination");
  if (dest_v == nullptr || !dest_v->is_object()) return validation("destination must be an object");
  const auto& dest = dest_v->get_object();
  const auto protocol = get_string(dest, "protocol");
  if (!protocol) return validation("destination.protocol is required");
  if (*protocol == "TCP") {
    return validation("destination.protocol TCP is not supported by lastcall-sandbox; use HTTP");
  }
  if (*protocol != "HTTP") return validation("destination.protocol must be HTTP");
  const auto uri = get_string(dest, "URI");
  if (!uri) return validation("destination.URI is required");
  req.uri = std::string(*uri);
  const auto url = net::parse_url(*uri);
  if (!url || url->scheme != "http") {
    return validation("destination.URI must be an http:// URL");
  }
  if (url->host != "sandbox" && url->host != "sandbox.localdomain") {
    return validation(
        fmt::format("destination.URI host must be sandbox.localdomain or sandbox, not {}",
                    escape_for_log(url->host, 64)));
  }
  if (url->port == 0) return validation("destination.URI needs a port");
  req.port = url->port;
  req.path = url->target.empty() ? "/" : url->target;
  return req;
}

std::map<std::string, std::string> parse_query(std::string_view raw_query) {
  std::map<std::string, std::string> out;
  for (auto part : split_any(raw_query, "&")) {
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      out[net::percent_decode(part)] = "";
    } else {
      out[net::percent_decode(part.substr(0, eq))] = net::percent_decode(part.substr(eq + 1));
    }
  }
  return out;
}

Expected<WaitQuery, Rejection> parse_wait_query(std::string_view raw_query) {
  WaitQuery q;
  auto params = parse_query(raw_query);
  for (auto& [k, v] : params) {
    if (k == "event") {
      q.event = v;
    } else if (k == "count") {
      const auto n = parse_int(v);
      if (!n || *n < 0 || *n > 1000000)
        return validation("count must be an integer in [0, 1000000]");
      q.count = static_cast<std::size_t>(*n);
    } else if (k == "timeout_ms") {
      const auto n = parse_int(v);
      if (!n || *n < 0 || *n > 600000) {
        return validation("timeout_ms must be an integer in [0, 600000]");
      }
      q.timeout_ms = *n;
    } else {
      q.filters[k] = v;
    }
  }
  if (q.event.empty()) return validation("event is required");
  return q;
}

Expected<std::string, Rejection> parse_shutdown_reason(std::optional<std::string_view> reason) {
  if (!reason || reason->empty()) return std::string("spindown");
  const std::string r = to_lower(*reason);
  if (r != "spindown" && r != "timeout" && r != "failure") {
    return validation("reason must be spindown, timeout or failure");
  }
  return r;
}

}  // namespace lc::sandbox
