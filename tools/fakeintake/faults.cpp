#include "faults.h"

#include <boost/json.hpp>

#include "core/strings.h"
#include "json_util.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

Expected<void> check_endpoint(std::string_view endpoint) {
  if (endpoint == "*") return {};
  if (endpoint.empty() || endpoint.front() != '/') {
    return bad("fault endpoint must be a request path such as /api/v2/series, or *");
  }
  return {};
}

}  // namespace

Expected<std::pair<std::string, FaultPlan>> parse_fault_flag(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return bad("--fault wants ENDPOINT=STATUS[,STATUS...]");
  const std::string endpoint(trim(text.substr(0, eq)));
  if (auto ok = check_endpoint(endpoint); !ok) return ok.error();
  FaultPlan plan;
  for (std::string_view piece : split_any(text.substr(eq + 1), ",")) {
    const auto status = parse_int(piece);
    if (!status || *status < 100 || *status > 599) {
      return bad("--fault: '" + std::string(piece) + "' is not an HTTP status (100..599)");
    }
    plan.statuses.push_back(static_cast<int>(*status));
  }
  if (plan.statuses.empty()) return bad("--fault: no statuses after '='");
  return std::make_pair(endpoint, std::move(plan));
}

Expected<std::pair<std::string, FaultPlan>> parse_fault_json(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  if (!doc->is_object()) return bad("fault body must be a JSON object");
  const auto* endpoint = json_field(*doc, "endpoint");
  if (endpoint == nullptr || !endpoint->is_string())
    return bad("fault needs a string \"endpoint\"");
  const std::string path(endpoint->get_string());
  if (auto ok = check_endpoint(path); !ok) return ok.error();
  FaultPlan plan;
  for (const auto& [key, value] : doc->get_object()) {
    if (key == "endpoint") continue;
    if (key == "statuses") {
      const auto* arr = value.if_array();
      if (arr == nullptr) return bad("\"statuses\" must be an array of HTTP statuses");
      for (const auto& s : *arr) {
        const auto status = json_int(s);
        if (!status || *status < 100 || *status > 599) {
          return bad("\"statuses\" must hold HTTP statuses (100..599)");
        }
        plan.statuses.push_back(static_cast<int>(*status));
      }
    } else if (key == "delay_ms") {
      const auto d = json_int(value);
      if (!d || *d < 0 || *d > 3600000) return bad("\"delay_ms\" must be 0..3600000");
      plan.delay_ms = static_cast<int>(*d);
    } else if (key == "hang" || key == "close_mid_response") {
      if (!value.is_bool()) return bad("\"" + std::string(key) + "\" must be a boolean");
      (key == "hang" ? plan.hang : plan.close_mid_response) = value.get_bool();
    } else if (key == "retry_after_s") {
      const auto r = json_int(value);
      if (!r || *r < 0 || *r > 86400) return bad("\"retry_after_s\" must be 0..86400");
      plan.retry_after_s = static_cast<int>(*r);
    } else if (key == "require_key") {
      if (value.is_null()) continue;
      if (!value.is_string()) return bad("\"require_key\" must be a string");
      plan.require_key = std::string(value.get_string());
    } else {
      return bad("unknown fault field \"" + std::string(key) + "\"");
    }
  }
  return std::make_pair(path, std::move(plan));
}

boost::json::value to_json_value(const FaultPlan& plan) {
  json::array statuses;
  for (int s : plan.statuses) statuses.emplace_back(s);
  json::object o{{"statuses", std::move(statuses)},
                 {"delay_ms", plan.delay_ms},
                 {"hang", plan.hang},
                 {"close_mid_response", plan.close_mid_response}};
  if (plan.require_key) o["require_key"] = *plan.require_key;
  if (plan.retry_after_s >= 0) o["retry_after_s"] = plan.retry_after_s;
  return o;
}

}  // namespace lc::fakeintake
