#include "forward/http_exporter.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/version.h"
#include "forward/compression.h"
#include "forward/status.h"

namespace lc::forward {
namespace {

constexpr std::size_t kCacheSize = 8;
constexpr const char* kAgentPayloadVersion = "v5.0.141";

bool is_metrics(PayloadKind k) {
  return k == PayloadKind::kSeriesV2 || k == PayloadKind::kSeriesV1 ||
         k == PayloadKind::kSketches || k == PayloadKind::kEvents ||
         k == PayloadKind::kServiceChecks;
}

}  // namespace

PayloadLimits payload_limits(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kSeriesV2:
      return {512000, 5242880, 0};
    case PayloadKind::kSeriesV1:
    case PayloadKind::kSketches:
    case PayloadKind::kEvents:
    case PayloadKind::kServiceChecks:
      return {2621440, 4194304, 0};
    case PayloadKind::kLogs:
      return {0, 5242880, 1000};
    case PayloadKind::kTraces:  // hard cap; encoders aim at 3.2 MB
    case PayloadKind::kTraceStats:
      return {0, 12 * 1000 * 1000, 0};
  }
  return {};
}

HttpExporterOptions HttpExporterOptions::from_config(const ForwardConfig& forward) {
  HttpExporterOptions o;
  o.metrics_codec = forward.metrics_compressor;
  o.metrics_level = forward.metrics_compression_level;
  o.logs_compress = forward.logs_use_compression;
  o.logs_level = forward.logs_compression_level;
  o.apm_level = forward.apm_compression_level;
  o.request_timeout = Millis(std::max(1, forward.flush_timeout_s) * std::int64_t{1000});
  return o;
}

HttpExporter::HttpExporter(Endpoint endpoint, HttpExporterOptions options, net::HttpClient& client,
                           const Clock& clock)
    : endpoint_(std::move(endpoint)), options_(std::move(options)), client_(client), clock_(clock) {
  if (options_.version.empty()) options_.version = kVersion;
}

Compressor HttpExporter::codec_for(PayloadKind kind, int& level) const {
  switch (kind) {
    case PayloadKind::kLogs:
      level = options_.logs_level;
      return options_.logs_compress ? Compressor::kZstd : Compressor::kNone;
    case PayloadKind::kTraces:
      level = options_.apm_level;
      return Compressor::kZstd;
    case PayloadKind::kTraceStats:
      level = 6;
      return Compressor::kGzip;  // always gzip, as the Agent and bottlecap send stats
    default:
      level = options_.metrics_level;
      return options_.metrics_codec;
  }
}

Expected<HttpExporter::Encoded> HttpExporter::encode(
    const std::shared_ptr<const Payload>& payload) {
  cache_.erase(std::remove_if(cache_.begin(), cache_.end(),
                              [](const Encoded& e) { return e.source.expired(); }),
               cache_.end());
  for (const auto& e : cache_) {
    if (e.source.lock() == payload) return e;
  }
  const PayloadLimits limits = payload_limits(payload->kind);
  if (limits.max_items != 0 && payload->items > limits.max_items) {
    return make_error(ErrorCode::kTooLarge, fmt::format("{} items over the limit of {}",
                                                        payload->items, limits.max_items));
  }
  Encoded enc;
  enc.source = payload;
  if (!payload->content_encoding.empty()) {
    // Already compressed by its producer: sent as is; only the compressed limit can be checked.
    enc.body = std::make_shared<const std::string>(payload->body);
    enc.encoding = payload->content_encoding;
  } else {
    if (limits.max_uncompressed != 0 && payload->body.size() > limits.max_uncompressed) {
      return make_error(ErrorCode::kTooLarge,
                        fmt::format("{} B uncompressed over the limit of {} B",
                                    payload->body.size(), limits.max_uncompressed));
    }
    int level = 3;
    const Compressor codec = codec_for(payload->kind, level);
    if (codec == Compressor::kNone) {
      enc.body = std::make_shared<const std::string>(payload->body);
    } else {
      auto packed = compress(codec, payload->body, level);
      if (!packed) return packed.error();
      enc.body = std::make_shared<const std::string>(std::move(*packed));
      enc.encoding = std::string(content_encoding(codec));
    }
  }
  if (limits.max_compressed != 0 && enc.body->size() > limits.max_compressed) {
    return make_error(ErrorCode::kTooLarge, fmt::format("{} B compressed over the limit of {} B",
                                                        enc.body->size(), limits.max_compressed));
  }
  if (cache_.size() >= kCacheSize) cache_.erase(cache_.begin());
  cache_.push_back(enc);
  return enc;
}

Expected<net::HttpClientRequest> HttpExporter::build_request(
    const std::shared_ptr<const Payload>& payload) {
  auto enc = encode(payload);
  if (!enc) return enc.error();
  net::HttpClientRequest req;
  req.method = "POST";
  req.url = endpoint_.base_url + payload->path;
  req.body = enc->body;
  auto& h = req.headers;
  h.emplace_back("DD-API-KEY", endpoint_.api_key);
  h.emplace_back("Content-Type", payload->content_type);
  if (!enc->encoding.empty()) h.emplace_back("Content-Encoding", enc->encoding);
  h.emplace_back("User-Agent", "lastcall/" + options_.version);
  if (is_metrics(payload->kind)) {
    h.emplace_back("DD-Agent-Version", options_.version);
    if (payload->content_type.find("protobuf") != std::string::npos) {
      h.emplace_back("DD-Agent-Payload", kAgentPayloadVersion);
    }
  } else if (payload->kind == PayloadKind::kLogs) {
    h.emplace_back("DD-PROTOCOL", "agent-json");
    h.emplace_back("DD-EVP-ORIGIN", "lastcall");
    h.emplace_back("DD-EVP-ORIGIN-VERSION", options_.version);
  }
  return req;
}

std::shared_ptr<const Payload> HttpExporter::compact(
    const std::shared_ptr<const Payload>& payload) {
  if (!payload->content_encoding.empty()) return payload;
  auto enc = encode(payload);
  if (!enc || enc->encoding.empty() || enc->body->size() >= payload->body.size()) return payload;
  auto out = std::make_shared<Payload>();
  out->kind = payload->kind;
  out->path = payload->path;
  out->content_type = payload->content_type;
  out->content_encoding = enc->encoding;
  out->body = *enc->body;
  out->items = payload->items;
  return out;
}

void HttpExporter::send(std::shared_ptr<const Payload> payload, Deadline deadline,
                        std::function<void(SendOutcome)> done) {
  auto req = build_request(payload);
  if (!req) {
    SendOutcome out;
    if (req.error().code == ErrorCode::kTooLarge) {
      out.kind = SendOutcome::Kind::kSplit;
      out.reason = "item_too_big";
    } else {
      out.kind = SendOutcome::Kind::kDrop;
      out.reason = "encode_error";
    }
    out.detail = req.error().message;
    done(std::move(out));
    return;
  }
  // One request never outlives DD_FLUSH_TIMEOUT nor the flush deadline.
  Deadline request_deadline = Deadline::after(clock_, options_.request_timeout);
  if (deadline.at < request_deadline.at) request_deadline = deadline;
  std::string url = req->url;
  const std::size_t body_bytes = req->body ? req->body->size() : 0;
  client_.request(std::move(*req), request_deadline,
                  [this, url = std::move(url), body_bytes,
                   done = std::move(done)](const Expected<net::HttpClientResponse>& result) {
                    SendOutcome out = classify_response(result, clock_.wall_now(), url);
                    out.body_bytes = body_bytes;
                    done(std::move(out));
                  });
}

std::string HttpExporter::describe() const {
  return fmt::format(
      R"({{"endpoint":"{}","url":"{}","additional":{},"metrics_codec":"{}","metrics_level":{},)"
      R"("logs_compress":{},"logs_level":{},"apm_level":{},"request_timeout_ms":{}}})",
      endpoint_.name, endpoint_.base_url, endpoint_.additional ? "true" : "false",
      compressor_name(options_.metrics_codec), options_.metrics_level,
      options_.logs_compress ? "true" : "false", options_.logs_level, options_.apm_level,
      options_.request_timeout.count());
}

}  // namespace lc::forward
