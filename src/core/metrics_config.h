// core/metrics_config.h — the metrics stage's configuration part: DogStatsD, aggregation,
// enhanced metrics. Filled by finalize_config() (core/config.h) from the rows of area metrics;
// no field carries a default of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lc {

// DD_DOGSTATSD_SO_RCVBUF unset or 0, as --check-config shows it: the receiver asks for the largest
// receive buffer the kernel allows, at most 8 MiB (net::UdpReceiver::kMaxDefaultRcvbuf).
inline constexpr std::string_view kSoRcvbufRule = "net.core.rmem_max, at most 8 MiB";

struct MetricsConfig {
  bool use_v2_series{};
  bool sketch_fallback_series{};  // LASTCALL_SKETCH_FALLBACK (v1 series only)
  bool enhanced_metrics{};
  bool proc_enhanced_metrics{};
  std::int64_t usage_sample_ms{};  // LASTCALL_USAGE_SAMPLE_MS (lambda-agent.md §3.2)
  // LASTCALL_PRICE_PER_GB_SECOND / LASTCALL_PRICE_PER_REQUEST (lambda-agent.md §3.4); 0 = unset,
  // the price table applies.
  double price_per_gb_second{};
  double price_per_request{};
  std::string dogstatsd_host;
  int dogstatsd_port{};
  std::string dogstatsd_socket;
  int dogstatsd_buffer_size{};
  int dogstatsd_queue_size{};
  int dogstatsd_so_rcvbuf{};     // 0 = kSoRcvbufRule (lambda-agent.md §8.2)
  std::string statsd_namespace;  // with trailing '.' when set
  std::vector<std::string> statsd_namespace_blacklist;
  std::vector<std::string> histogram_aggregates;
  std::vector<double> histogram_percentiles;
  bool histogram_copy_to_distribution{};
  std::string histogram_copy_to_distribution_prefix;
};

}  // namespace lc
