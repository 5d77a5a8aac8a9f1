// forward/http_exporter.h — the Exporter for one intake Endpoint over net::HttpClient: compresses
// the body per payload kind, enforces the size limits of datadog-wire.md §4.0 before sending, sets
// the intake headers and maps the answer through classify_response(). Created by the composition
// root, one per Endpoint; driven by the Forwarder on the loop thread. Owns a small cache of
// compressed bodies so a retried payload is not compressed again.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/forward_config.h"
#include "core/pipeline.h"
#include "forward/endpoints.h"
#include "net/http_client.h"

namespace lc::forward {

// What lastcall sends at most in one request of a kind (datadog-wire.md §4.0 "Size limits");
// 0 = no limit of that sort.
struct PayloadLimits {
  std::size_t max_compressed = 0;
  std::size_t max_uncompressed = 0;
  std::size_t max_items = 0;
};
PayloadLimits payload_limits(PayloadKind kind);

struct HttpExporterOptions {
  Compressor metrics_codec = Compressor::kZstd;  // series, sketches, events, service checks
  int metrics_level = 3;
  bool logs_compress = true;  // logs use zstd at logs_level unless false
  int logs_level = 3;
  int apm_level = 3;              // traces: zstd; trace stats are always gzip
  Millis request_timeout{30000};  // DD_FLUSH_TIMEOUT: ceiling for one request
  std::string version;            // "0.1.0"; default: lc::kVersion

  static HttpExporterOptions from_config(const ForwardConfig& forward);
};

class HttpExporter final : public Exporter {
 public:
  HttpExporter(Endpoint endpoint, HttpExporterOptions options, net::HttpClient& client,
               const Clock& clock);

  // Outcomes beyond classify_response(): kSplit reason "item_too_big" when the payload is over
  // its kind's limits (the Forwarder splits it or drops a single item), kDrop "encode_error" when
  // compression fails. `done` runs on the loop thread, never inside send().
  void send(std::shared_ptr<const Payload> payload, Deadline deadline,
            std::function<void(SendOutcome)> done) override;

  // The request send() would issue: URL, headers and the (compressed) body. kTooLarge when the
  // payload is over its limits. Exposed for tests and diagnostics.
  Expected<net::HttpClientRequest> build_request(const std::shared_ptr<const Payload>& payload);

  // The payload as this exporter would send it: body compressed with the kind's codec and
  // content_encoding set (from the cache when it was just sent). The retry queue keeps this form,
  // so its budget counts encoded bytes and a redrive is not compressed again. Returns the input
  // when it is already compressed, uncompressed by configuration, would not shrink, or cannot be
  // encoded.
  std::shared_ptr<const Payload> compact(const std::shared_ptr<const Payload>& payload);

  const Endpoint& endpoint() const { return endpoint_; }
  // {"endpoint":"metrics","url":"https://api.datadoghq.com","metrics_codec":"zstd",...}
  std::string describe() const;

 private:
  struct Encoded {
    std::weak_ptr<const Payload> source;
    std::shared_ptr<const std::string> body;
    std::string encoding;
  };
  Expected<Encoded> encode(const std::shared_ptr<const Payload>& payload);
  Compressor codec_for(PayloadKind kind, int& level) const;

  Endpoint endpoint_;
  HttpExporterOptions options_;
  net::HttpClient& client_;
  const Clock& clock_;
  std::vector<Encoded> cache_;  // a few recent bodies, by payload identity
};

}  // namespace lc::forward
