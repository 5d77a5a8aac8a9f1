#include "tools/sandbox/faults.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/strings.h"
#include "tools/sandbox/common.h"

namespace lc::sandbox {
namespace {

Error bad(std::string_view knob, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("fault {}: {}", knob, why));
}

std::optional<std::string> as_string(const boost::json::value& v) {
  if (!v.is_string()) return std::nullopt;
  return std::string(v.get_string().data(), v.get_string().size());
}

std::optional<std::int64_t> as_int(const boost::json::value& v) {
  boost::json::object tmp;
  tmp["v"] = v;
  return get_int(tmp, "v");
}

std::optional<bool> as_bool(const boost::json::value& v) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string())
    return parse_bool(std::string_view(v.get_string().data(), v.get_string().size()));
  return std::nullopt;
}

std::optional<int> as_nonneg_int(const boost::json::value& v, std::int64_t max) {
  const auto n = as_int(v);
  if (!n || *n < 0 || *n > max) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace

bool is_oom_flavour(std::string_view f) {
  static constexpr std::string_view kFlavours[] = {"node", "node_sigkill", "python", "java",
                                                   "go",   "ruby",         "dotnet", "memory_only"};
  for (auto k : kFlavours) {
    if (k == f) return true;
  }
  return false;
}

Expected<Faults> apply_faults(const Faults& current, std::string_view body) {
  auto parsed = parse_json(body);
  if (!parsed) return parsed.error().with_prefix("faults: ");
  const auto* obj = parsed->if_object();
  if (obj == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "faults: body must be an object");
  Faults f = current;
  for (const auto& kv : *obj) {
    const std::string_view key(kv.key().data(), kv.key().size());
    const auto& v = kv.value();
    const auto s = as_string(v);
    if (key == "late_report") {
      if (s == "none")
        f.late_report = LateReport::kNone;
      else if (s == "after_next_invoke")
        f.late_report = LateReport::kAfterNextInvoke;
      else if (s == "at_shutdown")
        f.late_report = LateReport::kAtShutdown;
      else
        return bad(key, "expected none, after_next_invoke or at_shutdown");
    } else if (key == "shutdown_reason_case") {
      if (s == "lower")
        f.shutdown_reason_upper = false;
      else if (s == "upper")
        f.shutdown_reason_upper = true;
      else
        return bad(key, "expected lower or upper");
    } else if (key == "deadline_ms") {
      if (s == "absolute")
        f.deadline_relative = false;
      else if (s == "relative")
        f.deadline_relative = true;
      else
        return bad(key, "expected absolute or relative");
    } else if (key == "drop_batches") {
      f.drop_probability = 0;
      f.drop_every_n = 0;
      if (v.is_number()) {
        const double p = v.to_number<double>();
        if (!(p >= 0.0 && p <= 1.0)) return bad(key, "a probability must be in [0, 1]");
        f.drop_probability = p;
      } else if (s && starts_with(*s, "every_n:")) {
        const auto n = parse_int(std::string_view(*s).substr(8));
        if (!n || *n < 1 || *n > 1000000) return bad(key, "every_n:N needs N >= 1");
        f.drop_every_n = static_cast<int>(*n);
      } else if (s == "none" || s == "off") {
      } else {
        return bad(key, "expected a probability or \"every_n:N\"");
      }
    } else if (key == "listener_errors") {
      f.listener_error_status = 0;
      f.listener_error_reset = false;
      f.listener_error_count = 0;
      if (s && (*s == "none" || *s == "off")) continue;
      const auto colon = s ? s->find(':') : std::string::npos;
      if (!s || colon == std::string::npos)
        return bad(key, "expected \"status:count\" or \"reset:count\"");
      const std::string what = s->substr(0, colon);
      const auto count = parse_int(std::string_view(*s).substr(colon + 1));
      if (!count || *count < 0 || *count > 1000) return bad(key, "count must be in [0, 1000]");
      if (what == "reset") {
        f.listener_error_reset = true;
      } else {
        const auto status = parse_int(what);
        if (!status || *status < 300 || *status > 599) return bad(key, "status must be 3xx-5xx");
        f.listener_error_status = static_cast<int>(*status);
      }
      f.listener_error_count = static_cast<int>(*count);
    } else if (key == "rie_lmi_delivery") {
      const auto b = as_bool(v);
      if (!b) return bad(key, "expected a boolean");
      f.rie_lmi_delivery = *b;
    } else if (key == "record_format") {
      if (s != "text" && s != "json" && s != "json_java" && s != "mixed") {
        return bad(key, "expected text, json, json_java or mixed");
      }
      f.record_format = *s;
    } else if (key == "text_prefix") {
      if (s != "managed" && s != "bare") return bad(key, "expected managed or bare");
      f.text_prefix = *s;
    } else if (key == "omit_optional") {
      f.omit_optional.clear();
      std::vector<std::string> names;
      if (s) {
        for (auto p : split_any(*s, ", ")) names.emplace_back(p);
      } else if (v.is_array()) {
        for (const auto& e : v.get_array()) {
          const auto es = as_string(e);
          if (!es) return bad(key, "expected strings");
          names.push_back(*es);
        }
      } else {
        return bad(key, "expected a list of field names");
      }
      for (auto& n : names) {
        if (n != "phase" && n != "metrics" && n != "spans" && n != "tracing" &&
            n != "initDurationMs" && n != "errorType") {
          return bad(key, "unknown field " + escape_for_log(n, 32));
        }
        f.omit_optional.insert(n);
      }
    } else if (key == "unknown_types" || key == "batch_bytes_2x" || key == "suppressed_init" ||
               key == "extension_crash" || key == "no_shutdown_registration") {
      const auto b = as_bool(v);
      if (!b) return bad(key, "expected a boolean");
      if (key == "unknown_types") f.unknown_types = *b;
      if (key == "batch_bytes_2x") f.batch_bytes_2x = *b;
      if (key == "suppressed_init") f.suppressed_init = *b;
      if (key == "extension_crash") f.extension_crash = *b;
      if (key == "no_shutdown_registration") f.no_shutdown_registration = *b;
    } else if (key == "batch_bytes") {
      if (s == "2x")
        f.batch_bytes_2x = true;
      else if (s == "1x")
        f.batch_bytes_2x = false;
      else
        return bad(key, "expected \"2x\" or \"1x\"");
    } else if (key == "replay_init") {
      if (s == "on")
        f.replay_init = true;
      else if (s == "off")
        f.replay_init = false;
      else if (v.is_bool())
        f.replay_init = v.get_bool();
      else
        return bad(key, "expected on or off");
    } else if (key == "init_timeout_ms" || key == "function_timeout_ms") {
      std::optional<int> n;
      if (!v.is_null()) {
        n = as_nonneg_int(v, 900000);
        if (!n || *n < 1) return bad(key, "expected milliseconds in [1, 900000] or null");
      }
      (key == "init_timeout_ms" ? f.init_timeout_ms : f.function_timeout_ms) = n;
    } else if (key == "oom") {
      if (v.is_null() || s == "none" || s == "") {
        f.oom.clear();
      } else if (s && is_oom_flavour(*s)) {
        f.oom = *s;
      } else {
        return bad(key, "unknown OOM flavour");
      }
    } else if (key == "subscribe_response") {
      if (v.is_null()) {
        f.subscribe_response.reset();
        continue;
      }
      const auto n = as_int(v);
      if (!n || (*n != 200 && *n != 202 && *n != 400 && *n != 404 && *n != 500)) {
        return bad(key, "expected 200, 202, 400, 404, 500 or null");
      }
      f.subscribe_response = static_cast<int>(*n);
    } else if (key == "delivery_delay_ms") {
      const auto n = as_nonneg_int(v, 600000);
      if (!n) return bad(key, "expected milliseconds in [0, 600000]");
      f.delivery_delay_ms = *n;
    } else {
      return bad(key, "unknown knob");
    }
  }
  return f;
}

boost::json::object describe_faults(const Faults& f) {
  boost::json::object o;
  o["late_report"] = f.late_report == LateReport::kNone              ? "none"
                     : f.late_report == LateReport::kAfterNextInvoke ? "after_next_invoke"
                                                                     : "at_shutdown";
  o["shutdown_reason_case"] = f.shutdown_reason_upper ? "upper" : "lower";
  o["deadline_ms"] = f.deadline_relative ? "relative" : "absolute";
  if (f.drop_every_n > 0) {
    o["drop_batches"] = fmt::format("every_n:{}", f.drop_every_n);
  } else {
    o["drop_batches"] = f.drop_probability;
  }
  o["listener_errors"] =
      f.listener_error_count == 0
          ? std::string("none")
          : fmt::format("{}:{}",
                        f.listener_error_reset ? std::string("reset")
                                               : std::to_string(f.listener_error_status),
                        f.listener_error_count);
  o["rie_lmi_delivery"] = f.rie_lmi_delivery;
  o["record_format"] = f.record_format;
  o["text_prefix"] = f.text_prefix;
  boost::json::array omit;
  for (const auto& n : f.omit_optional) omit.emplace_back(n);
  o["omit_optional"] = std::move(omit);
  o["unknown_types"] = f.unknown_types;
  o["replay_init"] = f.replay_init ? "on" : "off";
  o["batch_bytes"] = f.batch_bytes_2x ? "2x" : "1x";
  o["suppressed_init"] = f.suppressed_init;
  o["init_timeout_ms"] = f.init_timeout_ms ? boost::json::value(*f.init_timeout_ms) : nullptr;
  o["function_timeout_ms"] =
      f.function_timeout_ms ? boost::json::value(*f.function_timeout_ms) : nullptr;
  o["oom"] = f.oom.empty() ? std::string("none") : f.oom;
  o["extension_crash"] = f.extension_crash;
  o["no_shutdown_registration"] = f.no_shutdown_registration;
  o["subscribe_response"] =
      f.subscribe_response ? boost::json::value(*f.subscribe_response) : nullptr;
  o["delivery_delay_ms"] = f.delivery_delay_ms;
  return o;
}

}  // namespace lc::sandbox
