#include "intake.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "core/logger.h"
#include "core/strings.h"
#include "decompress.h"
#include "endpoints.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

constexpr std::string_view kDropKind = "fakeintake";

std::string media_type_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  return to_lower(trim(content_type.substr(0, semi)));
}

// Identity of a point for the replace-and-count-duplicates rule (§7.1): tags as a set.
std::string identity(const std::string& name, std::vector<std::string> tags,
                     const std::string& host, std::int64_t ts) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::string key = name;
  key += '\x1f';
  for (const auto& t : tags) {
    key += t;
    key += '\x1e';
  }
  key += '\x1f';
  key += host;
  key += '\x1f';
  key += std::to_string(ts);
  return key;
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

}  // namespace

std::string Verdict::body() const {
  if (accepted()) return R"({"status":"ok"})";
  json::object o{{"errors", json::array{json::string(reason)}}};
  return json::serialize(o);
}

Intake::Intake(SelfMetrics& self, IntakeLimits limits, RecordSink record)
    : self_(self), limits_(limits), record_(std::move(record)) {}

Verdict Intake::reject(const IntakeRequest& request, int status, std::string reason) {
  record_rejection(request.path, status, reason);
  return Verdict{status, std::move(reason)};
}

void Intake::record_rejection(std::string_view endpoint, int status, std::string_view reason) {
  if (rejections_.size() >= limits_.max_payloads) {
    rejections_.pop_front();
    self_.dropped(kDropKind, "rejection_cap");
  }
  rejections_.push_back(Rejection{std::string(endpoint), status, std::string(reason)});
  if (record_) {
    record_(json::object{
        {"kind", "rejection"}, {"endpoint", endpoint}, {"status", status}, {"reason", reason}});
  }
}

const FaultPlan* Intake::plan_for(std::string_view endpoint) const {
  if (auto it = faults_.find(endpoint); it != faults_.end()) return &it->second;
  if (auto it = faults_.find(std::string_view("*")); it != faults_.end()) return &it->second;
  return nullptr;
}

Verdict Intake::submit(const IntakeRequest& request, int accept_status) {
  const EndpointSpec* spec = find_endpoint(request.path);
  if (spec == nullptr) return reject(request, 404, "unknown intake endpoint " + request.path);

  const FaultPlan* plan = plan_for(request.path);
  if (!request.api_key || trim(*request.api_key).empty()) {
    return reject(request, 403, "missing or empty DD-API-KEY");
  }
  if (plan != nullptr && plan->require_key && *request.api_key != *plan->require_key) {
    return reject(request, 403, "DD-API-KEY rejected");
  }

  const std::string media = media_type_of(request.content_type);
  Decoder decode = nullptr;
  std::string accepted;
  for (const auto& ct : spec->content_types) {
    if (ct.media_type == media) decode = ct.decode;
    if (!accepted.empty()) accepted += " or ";
    accepted += ct.media_type;
  }
  if (decode == nullptr) {
    return reject(request, 400,
                  "Content-Type '" + escape_for_log(request.content_type, 60) +
                      "' not accepted by " + request.path + " (want " + accepted + ")");
  }
  auto encoding = parse_content_encoding(request.content_encoding);
  if (!encoding) return reject(request, 400, encoding.error().message);
  if (request.body.size() > spec->max_compressed) {
    return reject(request, 413,
                  "body of " + std::to_string(request.body.size()) + " bytes exceeds " +
                      std::to_string(spec->max_compressed) + " for " + request.path);
  }
  auto body = decompress(request.body, *encoding, spec->max_uncompressed);
  if (!body) {
    const int status = body.error().code == ErrorCode::kTooLarge ? 413 : 400;
    return reject(request, status, body.error().message);
  }
  if (body->empty()) return reject(request, 400, "empty body");
  auto decoded = decode(*body);
  if (!decoded) return reject(request, 400, decoded.error().message);
  if (spec->max_items != 0) {
    const std::size_t items = spec->item_name == "points" ? decoded->points.size() : decoded->items;
    if (items > spec->max_items) {
      return reject(request, 413,
                    std::to_string(items) + " " + std::string(spec->item_name) + " exceed " +
                        std::to_string(spec->max_items) + " per payload");
    }
  }
  const std::size_t bytes = body->size();
  store(request, media, bytes, std::move(*decoded), accept_status);
  return Verdict{accept_status, {}};
}

void Intake::store(const IntakeRequest& request, std::string_view media_type, std::size_t bytes,
                   DecodedPayload decoded, int status) {
  for (auto& p : decoded.points) {
    auto& m = metrics_[p.name];
    const std::string key = identity(p.name, p.tags, p.host, p.timestamp);
    if (auto it = m.point_index.find(key); it != m.point_index.end()) {
      m.points[it->second] = std::move(p);
      ++m.duplicates;
      continue;
    }
    if (stored_points_ >= limits_.max_points) {
      self_.dropped(kDropKind, "point_cap");
      continue;
    }
    m.point_index.emplace(key, m.points.size());
    m.points.push_back(std::move(p));
    ++stored_points_;
  }
  for (auto& s : decoded.sketches) {
    auto& m = metrics_[s.name];
    const std::string key = identity(s.name, s.tags, s.host, s.ts);
    if (auto it = m.sketch_index.find(key); it != m.sketch_index.end()) {
      m.sketches[it->second] = std::move(s);
      ++m.duplicates;
      continue;
    }
    if (stored_points_ >= limits_.max_points) {
      self_.dropped(kDropKind, "point_cap");
      continue;
    }
    m.sketch_index.emplace(key, m.sketches.size());
    m.sketches.push_back(std::move(s));
    ++stored_points_;
  }
  for (auto& e : decoded.log_entries) {
    if (log_entries_.size() >= limits_.max_log_entries) {
      self_.dropped(kDropKind, "log_cap");
      continue;
    }
    log_entries_.push_back(std::move(e));
  }
  while (!payloads_.empty() && (payloads_.size() >= limits_.max_payloads ||
                                stored_payload_bytes_ + bytes > limits_.max_payload_bytes)) {
    stored_payload_bytes_ -= payloads_.front().bytes;
    payloads_.pop_front();
    self_.dropped(kDropKind, "payload_cap");
  }
  stored_payload_bytes_ += bytes;
  StoredPayload sp;
  sp.endpoint = request.path;
  sp.status = status;
  sp.content_type = std::string(media_type);
  sp.content_encoding = to_lower(trim(request.content_encoding));
  sp.compressed_bytes = request.body.size();
  sp.bytes = bytes;
  sp.items = decoded.items;
  sp.oversize_entries = decoded.oversize_entries;
  sp.api_key = request.api_key.value_or("");
  json::object headers;
  for (const auto& [name, value] : request.headers) headers[to_lower(name)] = value;
  sp.headers = std::move(headers);
  if (sp.oversize_entries > 0) {
    LC_WARN("{}: {} log entries over 1 MiB (the intake would truncate them)", sp.endpoint,
            sp.oversize_entries);
  }
  sp.decoded = std::move(decoded.decoded);
  if (record_) {
    record_(json::object{{"kind", "payload"},
                         {"endpoint", sp.endpoint},
                         {"status", sp.status},
                         {"content_type", sp.content_type},
                         {"content_encoding", sp.content_encoding},
                         {"compressed_bytes", sp.compressed_bytes},
                         {"bytes", sp.bytes},
                         {"headers", sp.headers},
                         {"decoded", sp.decoded}});
  }
  payloads_.push_back(std::move(sp));
}

FaultAction Intake::take_fault(std::string_view endpoint) {
  FaultAction action;
  auto it = faults_.find(endpoint);
  if (it == faults_.end()) it = faults_.find(std::string_view("*"));
  if (it == faults_.end()) return action;
  FaultPlan& plan = it->second;
  if (!plan.statuses.empty()) {
    action.status = plan.statuses.front();
    plan.statuses.pop_front();
  }
  action.delay_ms = plan.delay_ms;
  action.hang = plan.hang;
  action.close_mid_response = plan.close_mid_response;
  action.retry_after_s = plan.retry_after_s;
  return action;
}

void Intake::set_fault(std::string endpoint, FaultPlan plan) {
  if (plan.empty()) {
    faults_.erase(endpoint);
    return;
  }
  faults_[std::move(endpoint)] = std::move(plan);
}

void Intake::clear_faults() { faults_.clear(); }

boost::json::value Intake::faults_json() const {
  json::object o;
  for (const auto& [endpoint, plan] : faults_) o[endpoint] = to_json_value(plan);
  return json::object{{"faults", std::move(o)}};
}

boost::json::value Intake::payloads_json(std::string_view endpoint) const {
  json::array payloads, rejections;
  for (const auto& p : payloads_) {
    if (!endpoint.empty() && p.endpoint != endpoint) continue;
    payloads.push_back(json::object{{"endpoint", p.endpoint},
                                    {"status", p.status},
                                    {"content_type", p.content_type},
                                    {"content_encoding", p.content_encoding},
                                    {"compressed_bytes", p.compressed_bytes},
                                    {"bytes", p.bytes},
                                    {"items", p.items},
                                    {"oversize_entries", p.oversize_entries},
                                    {"api_key", p.api_key},
                                    {"headers", p.headers},
                                    {"decoded", p.decoded}});
  }
  for (const auto& r : rejections_) {
    if (!endpoint.empty() && r.endpoint != endpoint) continue;
    rejections.push_back(
        json::object{{"endpoint", r.endpoint}, {"status", r.status}, {"reason", r.reason}});
  }
  return json::object{{"payloads", std::move(payloads)}, {"rejections", std::move(rejections)}};
}

boost::json::value Intake::metrics_json(std::string_view name) const {
  json::object out{{"name", name}};
  json::array points;
  double count = 0;
  bool has_count = false;
  std::uint64_t duplicates = 0;
  json::array sketches;
  auto it = metrics_.find(std::string(name));
  if (it != metrics_.end()) {
    const MetricState& m = it->second;
    duplicates = m.duplicates;
    for (const auto& p : m.points) {
      points.push_back(to_json_value(p));
      if (p.type == "rate" || p.type == "count") {
        count += p.value * static_cast<double>(p.interval);
        has_count = true;
      }
    }
    if (!m.sketches.empty()) {
      // Merged over every point, and per context (tags as a set, host).
      struct Merged {
        std::vector<std::string> tags;
        std::string host;
        std::int64_t cnt = 0;
        double sum = 0, min = 0, max = 0, avg = 0;
        std::map<std::int32_t, std::uint64_t> bins;
      };
      Merged all;
      std::map<std::string, Merged> contexts;
      // The summary merge of datadog-wire.md §3.4 (avg is a running mean, not sum/cnt).
      auto fold = [](Merged& into, const SketchPoint& s) {
        if (into.cnt == 0) {
          into.min = s.min;
          into.max = s.max;
          into.avg = s.avg;
        } else {
          into.min = std::min(into.min, s.min);
          into.max = std::max(into.max, s.max);
          into.avg += (s.avg - into.avg) * static_cast<double>(s.cnt) /
                      static_cast<double>(into.cnt + s.cnt);
        }
        into.cnt += s.cnt;
        into.sum += s.sum;
        for (std::size_t i = 0; i < s.k.size() && i < s.n.size(); ++i) into.bins[s.k[i]] += s.n[i];
      };
      for (const auto& s : m.sketches) {
        sketches.push_back(to_json_value(s));
        fold(all, s);
        auto& ctx = contexts[identity(s.name, s.tags, s.host, 0)];
        if (ctx.cnt == 0) {
          ctx.tags = s.tags;
          std::sort(ctx.tags.begin(), ctx.tags.end());
          ctx.host = s.host;
        }
        fold(ctx, s);
      }
      auto summary = [](const Merged& mg, bool with_bins) {
        json::object o{
            {"cnt", mg.cnt}, {"sum", mg.sum}, {"min", mg.min}, {"max", mg.max}, {"avg", mg.avg}};
        if (with_bins) {
          json::array k, n;
          for (const auto& [key, c] : mg.bins) {
            k.emplace_back(key);
            n.emplace_back(c);
          }
          o["tags"] = string_array(mg.tags);
          o["host"] = mg.host;
          o["k"] = std::move(k);
          o["n"] = std::move(n);
        }
        return o;
      };
      out["sketch"] = summary(all, false);
      json::array ctx_out;
      for (const auto& [key, mg] : contexts) ctx_out.push_back(summary(mg, true));
      out["contexts"] = std::move(ctx_out);
    }
  }
  out["points"] = std::move(points);
  out["count"] = has_count ? json::value(count) : json::value(nullptr);
  out["duplicates"] = duplicates;
  out["sketches"] = std::move(sketches);
  return out;
}

boost::json::value Intake::metric_names_json() const {
  json::array names;
  for (const auto& [name, state] : metrics_) names.emplace_back(name);
  return json::object{{"names", std::move(names)}};
}

boost::json::value Intake::logs_json() const {
  json::array entries;
  for (const auto& e : log_entries_) entries.push_back(e);
  return json::object{{"entries", std::move(entries)}};
}

boost::json::value Intake::traces_json() const {
  json::array chunks, spans;
  for (const auto& p : payloads_) {
    if (p.endpoint != "/api/v0.2/traces") continue;
    const auto* tps =
        p.decoded.is_object() ? p.decoded.as_object().if_contains("tracerPayloads") : nullptr;
    if (tps == nullptr || !tps->is_array()) continue;
    for (const auto& tp : tps->get_array()) {
      const auto* cs = tp.is_object() ? tp.as_object().if_contains("chunks") : nullptr;
      if (cs == nullptr || !cs->is_array()) continue;
      for (const auto& chunk : cs->get_array()) {
        chunks.push_back(chunk);
        const auto* ss = chunk.is_object() ? chunk.as_object().if_contains("spans") : nullptr;
        if (ss == nullptr || !ss->is_array()) continue;
        for (const auto& span : ss->get_array()) spans.push_back(span);
      }
    }
  }
  return json::object{{"chunks", std::move(chunks)}, {"spans", std::move(spans)}};
}

void Intake::reset() {
  payloads_.clear();
  rejections_.clear();
  metrics_.clear();
  log_entries_.clear();
  stored_points_ = 0;
  stored_payload_bytes_ = 0;
}

}  // namespace lc::fakeintake
