// Logs (datadog-wire.md §4.5), events and service checks (§4.8): JSON bodies.
#include <boost/json.hpp>

#include "decoders.h"
#include "json_util.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxEntryBytes = 1048576;

Error bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

bool is_string_field(const json::value& obj, std::string_view key) {
  const auto* v = json_field(obj, key);
  return v != nullptr && v->is_string();
}

}  // namespace

Expected<DecodedPayload> decode_logs(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  const auto* arr = doc->if_array();
  if (arr == nullptr) return bad("logs body must be a JSON array of entries");
  DecodedPayload out;
  std::size_t index = 0;
  for (const auto& entry : *arr) {
    const std::string where = "entry[" + std::to_string(index++) + "]";
    if (!entry.is_object()) return bad(where + " must be an object");
    const auto* message = json_field(entry, "message");
    if (message == nullptr || !(message->is_string() || message->is_object())) {
      return bad(where + ": \"message\" must be a string or an object");
    }
    for (const char* key : {"hostname", "service", "ddsource", "ddtags", "status"}) {
      const auto* v = json_field(entry, key);
      if (v != nullptr && !v->is_string()) return bad(where + ": \"" + key + "\" must be a string");
    }
    if (const auto* ts = json_field(entry, "timestamp"); ts != nullptr && !json_int(*ts)) {
      return bad(where + ": \"timestamp\" must be an integer (epoch ms)");
    }
    if (to_json(entry).size() > kMaxEntryBytes) ++out.oversize_entries;
    out.log_entries.push_back(entry);
  }
  out.items = arr->size();
  out.decoded = std::move(*doc);
  return out;
}

Expected<DecodedPayload> decode_events(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  if (!doc->is_object()) return bad("event body must be a JSON object");
  if (!is_string_field(*doc, "title") || !is_string_field(*doc, "text")) {
    return bad("event needs string \"title\" and \"text\"");
  }
  for (const char* key :
       {"priority", "host", "alert_type", "aggregation_key", "source_type_name"}) {
    const auto* v = json_field(*doc, key);
    if (v != nullptr && !v->is_string())
      return bad(std::string("event: \"") + key + "\" must be a string");
  }
  if (const auto* d = json_field(*doc, "date_happened"); d != nullptr && !json_int(*d)) {
    return bad("event: \"date_happened\" must be an integer (epoch s)");
  }
  if (const auto* tags = json_field(*doc, "tags"); tags != nullptr && !tags->is_array()) {
    return bad("event: \"tags\" must be an array");
  }
  DecodedPayload out;
  out.items = 1;
  out.decoded = std::move(*doc);
  return out;
}

Expected<DecodedPayload> decode_check_runs(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  const auto* arr = doc->if_array();
  if (arr == nullptr) return bad("check_run body must be a JSON array");
  std::size_t index = 0;
  for (const auto& item : *arr) {
    const std::string where = "check[" + std::to_string(index++) + "]";
    if (!item.is_object()) return bad(where + " must be an object");
    if (!is_string_field(item, "check")) return bad(where + ": \"check\" must be a string");
    const auto* status = json_field(item, "status");
    const auto sv = status ? json_int(*status) : std::nullopt;
    if (!sv || *sv < 0 || *sv > 3) return bad(where + ": \"status\" must be 0..3");
    if (const auto* h = json_field(item, "host_name"); h != nullptr && !h->is_string()) {
      return bad(where + ": \"host_name\" must be a string");
    }
  }
  DecodedPayload out;
  out.items = arr->size();
  out.decoded = std::move(*doc);
  return out;
}

}  // namespace lc::fakeintake
