// forward/forward_stage.h — the whole forward stage built from its configuration parts
// (ForwardConfig, CommonConfig) in one call: one HttpExporter per resolved Endpoint and the
// Forwarder routing to them. Called once by each
// composition root (app/); the returned object owns the exporters and the Forwarder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/common_config.h"
#include "core/forward_config.h"
#include "core/self_metrics.h"
#include "forward/forwarder.h"
#include "forward/http_exporter.h"
#include "net/http_client.h"

namespace lc::forward {

struct ForwardStage {
  std::vector<std::unique_ptr<HttpExporter>> exporters;  // one per Endpoint, in route order
  std::unique_ptr<Forwarder> forwarder;                  // routes point into `exporters`

  // One JSON object: the forwarder's routes and settings and each exporter's codecs.
  std::string describe() const;
};

// `client`, `clock`, `timers`, `self` and `budget` must outlive the stage. `rng` as in Forwarder.
// `budget`: the memory budget the retry queue charges (null: unlimited).
ForwardStage make_forward_stage(const ForwardConfig& forward, const CommonConfig& common,
                                net::HttpClient& client, const Clock& clock, TimerService& timers,
                                SelfMetrics& self, Forwarder::Rng rng = {},
                                MemoryBudget* budget = nullptr);

}  // namespace lc::forward
