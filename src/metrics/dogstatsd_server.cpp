#include "metrics/dogstatsd_server.h"

#include <fmt/format.h>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::metrics {

ParserOptions DogStatsdServer::parser_options(const MetricsConfig& metrics, Mode mode) {
  ParserOptions o;
  o.lambda_mode = mode == Mode::kExtension;
  o.namespace_prefix = metrics.statsd_namespace;
  o.namespace_blacklist = metrics.statsd_namespace_blacklist;
  return o;
}

DogStatsdServer::DogStatsdServer(ParserOptions parser_options, AggregatorConfig aggregator_config,
                                 SelfMetrics& self, const Clock& clock, const TagSets& tags,
                                 MemoryBudget* budget)
    : self_(self),
      clock_(clock),
      parser_(std::move(parser_options), self),
      aggregator_(std::move(aggregator_config), self, clock, tags, budget) {}

std::unique_ptr<DogStatsdServer> DogStatsdServer::create(const MetricsConfig& metrics,
                                                         const CommonConfig& common,
                                                         const TagSets& tags, Mode mode,
                                                         SelfMetrics& self, const Clock& clock,
                                                         MemoryBudget* budget) {
  return std::make_unique<DogStatsdServer>(parser_options(metrics, mode),
                                           AggregatorConfig::from(metrics, common, mode), self,
                                           clock, tags, budget);
}

void DogStatsdServer::handle_datagram(std::string_view packet, bool truncated) {
  now_s_ = clock_.wall_s();
  parser_.parse_packet(packet, truncated, *this);
}

void DogStatsdServer::on_metric(const MetricSample& sample) {
  ++metrics_;
  aggregator_.add(sample, now_s_);
}

void DogStatsdServer::on_event(const EventMessage& event) {
  ++events_;
  self_.increment("lastcall.dogstatsd.events");
  self_.dropped(DogStatsdParser::kDropKind, "unsupported");
  LC_DEBUG("dogstatsd: event \"{}\" received; events are not forwarded (dropped, unsupported)",
           escape_for_log(event.title, 100));
}

void DogStatsdServer::on_service_check(const ServiceCheckMessage& check) {
  ++service_checks_;
  self_.increment("lastcall.dogstatsd.service_checks");
  self_.dropped(DogStatsdParser::kDropKind, "unsupported");
  LC_DEBUG("dogstatsd: service check \"{}\" received; not forwarded (dropped, unsupported)",
           escape_for_log(check.name, 100));
}

std::string DogStatsdServer::describe() const {
  const auto& c = aggregator_.config();
  return fmt::format(
      "{{\"component\":\"dogstatsd\",\"series\":\"{}\",\"sketches\":\"{}\",\"max_contexts\":{},"
      "\"histogram_aggregates\":{},\"histogram_percentiles\":{},\"tag_set\":\"{}\","
      "\"base_tags\":{}}}",
      c.series_format == SeriesFormat::kV2Protobuf ? "v2" : "v1",
      c.sketch_output == SketchOutput::kSketchPayload
          ? "sketches"
          : (c.sketch_output == SketchOutput::kV1SeriesFallback ? "v1_fallback" : "drop"),
      c.max_contexts, c.histogram_aggregates.size(), c.histogram_percentiles.size(),
      tag_set_name(c.tag_set), aggregator_.base_tags().size());
}

}  // namespace lc::metrics
