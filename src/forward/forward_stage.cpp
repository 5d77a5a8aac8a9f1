#include "forward/forward_stage.h"

namespace lc::forward {

std::string ForwardStage::describe() const {
  std::string out =
      R"({"forwarder":)" + (forwarder ? forwarder->describe() : "null") + R"(,"exporters":[)";
  for (std::size_t i = 0; i < exporters.size(); ++i) {
    if (i) out += ",";
    out += exporters[i]->describe();
  }
  return out + "]}";
}

ForwardStage make_forward_stage(const ForwardConfig& forward, const CommonConfig& common,
                                net::HttpClient& client, const Clock& clock, TimerService& timers,
                                SelfMetrics& self, Forwarder::Rng rng, MemoryBudget* budget) {
  ForwardStage stage;
  const HttpExporterOptions exporter_options = HttpExporterOptions::from_config(forward);
  std::vector<Route> routes;
  for (auto& endpoint : resolve_endpoints(forward)) {
    stage.exporters.push_back(
        std::make_unique<HttpExporter>(endpoint, exporter_options, client, clock));
    HttpExporter* exporter = stage.exporters.back().get();
    routes.push_back(Route{
        std::move(endpoint), exporter,
        [exporter](const std::shared_ptr<const Payload>& p) { return exporter->compact(p); }});
  }
  ForwarderOptions options = ForwarderOptions::from_config(forward, common);
  options.memory_budget = budget;
  stage.forwarder = std::make_unique<Forwarder>(std::move(routes), options, clock, timers, self,
                                                std::move(rng), &client);
  return stage;
}

}  // namespace lc::forward
