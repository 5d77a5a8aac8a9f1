// metrics/dogstatsd_server.h — DogStatsD ingestion glue: raw datagrams → DogStatsdParser →
// MetricAggregator, with events and service checks counted and (not being forwarded) dropped as
// `unsupported` (datadog-wire.md §1.8). Runs on the loop thread; app/ feeds it from the UDP
// receiver (net/udp_receiver.h) and calls flush(). Owns the parser and the aggregator.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/common_config.h"
#include "core/memory_budget.h"
#include "core/metrics_config.h"
#include "core/mode.h"
#include "core/pipeline.h"
#include "core/self_metrics.h"
#include "core/tag_sets.h"
#include "metrics/aggregator.h"
#include "metrics/dogstatsd_parser.h"

namespace lc::metrics {

class DogStatsdServer final : private DogStatsdVisitor {
 public:
  // `tags` outlives the server; the aggregator reads its aggregator_config.tag_set at each flush.
  // `budget`: what the aggregator charges (null: unlimited); outlives the server.
  DogStatsdServer(ParserOptions parser_options, AggregatorConfig aggregator_config,
                  SelfMetrics& self, const Clock& clock, const TagSets& tags = TagSets::none(),
                  MemoryBudget* budget = nullptr);
  // Parser and aggregator settings from the finalized configuration (mode decides Lambda rules);
  // series and sketches carry the custom-metrics set of `tags` (app/ owns it).
  static std::unique_ptr<DogStatsdServer> create(const MetricsConfig& metrics,
                                                 const CommonConfig& common, const TagSets& tags,
                                                 Mode mode, SelfMetrics& self, const Clock& clock,
                                                 MemoryBudget* budget = nullptr);
  static ParserOptions parser_options(const MetricsConfig& metrics, Mode mode);

  // One datagram (or an HTTP /dogstatsd body); `truncated` when the receive buffer cut it.
  void handle_datagram(std::string_view packet, bool truncated = false);

  // Uncompressed series and sketch payloads for the forward stage.
  std::vector<Payload> flush(FlushScope scope) { return aggregator_.flush(scope); }

  MetricAggregator& aggregator() { return aggregator_; }
  std::uint64_t metrics_received() const { return metrics_; }
  std::uint64_t events_received() const { return events_; }
  std::uint64_t service_checks_received() const { return service_checks_; }
  std::string describe() const;  // one small JSON object for the start-up line

 private:
  void on_metric(const MetricSample& sample) override;
  void on_event(const EventMessage& event) override;
  void on_service_check(const ServiceCheckMessage& check) override;

  SelfMetrics& self_;
  const Clock& clock_;
  DogStatsdParser parser_;
  MetricAggregator aggregator_;
  std::int64_t now_s_ = 0;  // wall time read once per datagram
  std::uint64_t metrics_ = 0, events_ = 0, service_checks_ = 0;
};

}  // namespace lc::metrics
