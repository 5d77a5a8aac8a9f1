// core/init_config.h — the wrapper and sidecar modes (serverless-init.md). Filled by
// finalize_config() (core/config.h) from the rows of area init.
#pragma once

#include <cstdint>
#include <string>

namespace lc {

// The cloud platform's own variables (serverless-init.md §5.1, §5.3) as set, empty when unset:
// init/ detects the platform and builds its tags from these alone, so fixture environments test it.
struct CloudEnv {
  std::string k_service, k_revision, k_configuration;
  std::string function_target, function_signature_type;
  std::string cloud_run_job, cloud_run_execution, cloud_run_task_index, cloud_run_task_attempt,
      cloud_run_task_count;
  std::string container_app_name, container_app_revision, container_app_replica_name,
      container_app_env_dns_suffix;
  std::string azure_subscription_id, azure_resource_group;  // DD_AZURE_*
  std::string website_stack, appsvc_run_zip, website_site_name, region_name, website_resource_group,
      website_owner_name, website_instance_id, computername;
  std::string dd_runtime;
  std::string gce_metadata_host;  // GCE_METADATA_HOST
};

enum class SignalTarget { kGroup, kChild };

struct InitConfig {
  std::int64_t flush_interval_ms{};
  std::int64_t shutdown_grace_ms{};  // G: SIGTERM → exit (serverless-init.md §3.5)
  std::int64_t kill_reserve_ms{};    // R: the final flush starts at t_term + G − R
  std::int64_t final_flush_ms{};     // F: the final flush after the child exits on its own
  SignalTarget signal_target{};
  std::int64_t log_line_max_bytes{};   // L (§4.3)
  std::int64_t log_buffer_bytes{};     // §4.6
  bool logs_multiline_indent{};        // LASTCALL_LOGS_MULTILINE=indent (§4.5)
  std::int64_t metadata_timeout_ms{};  // per request (§5.2)
  std::int64_t cpu_sample_ms{};        // §5.5
  CloudEnv cloud;
};

}  // namespace lc
