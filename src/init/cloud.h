// init/cloud.h — which serverless platform lastcall runs on and the tags that follow from it
// (serverless-init.md §5.1, §5.3, §5.4). Pure: everything comes from CloudEnv (and the microVM
// image ARN, read elsewhere) or from the GCP metadata answers, so fixture environments test it.
// The init composition root calls it once at start, then metadata_tags() when metadata arrives,
// and writes the result into its TagSets with apply_tags().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/init_config.h"
#include "core/tag_sets.h"

namespace lc::init {

enum class Platform {
  kMicrovm,
  kCloudRunFunction,
  kCloudRunService,
  kCloudRunJob,
  kContainerApp,
  kAppService,
  kLocal,
};

// "microvm", "cloudrun_function", "cloudrun_service", "cloudrun_job", "containerapp",
// "appservice", "local".
std::string_view platform_name(Platform platform);

// §5.1: first match wins, from the environment alone.
Platform detect_platform(const CloudEnv& env, bool microvm_arn_present);

// One of lastcall's own tags and the sets it goes to (§5.4).
struct CloudTag {
  std::string key, value;
  TagSetMask sets;
  bool operator==(const CloudTag&) const = default;
};

struct CloudIdentity {
  Platform platform = Platform::kLocal;
  std::string origin;                 // origin tag value (§5.1)
  std::string ddsource_default;       // log ddsource when DD_SOURCE is unset
  std::vector<CloudTag> tags;         // every tag known from the environment, in §5.3 order
  std::vector<std::string> warnings;  // one warn line each (Container Apps' missing DD_AZURE_*)
  std::vector<std::string> infos;     // one info line each (no platform detected)
  bool needs_metadata = false;        // Cloud Run: metadata_tags() completes the set (§5.2)
};

// The masks of §5.4.
// Low-cardinality keys of the enhanced set: every set.
inline constexpr TagSetMask kEveryTagSet = TagSetMask::all();
// Other platform tags: not the enhanced set.
inline constexpr TagSetMask kPlatformTagSets =
    TagSetMask::of({TagSetId::kBase, TagSetId::kCustomMetrics, TagSetId::kLogs, TagSetId::kTraces});
// container_id (and instance ids): neither custom metrics nor enhanced metrics.
inline constexpr TagSetMask kHighCardinalityTagSets =
    TagSetMask::of({TagSetId::kBase, TagSetId::kLogs, TagSetId::kTraces});
// `_dd.origin`: a trace payload tag only.
inline constexpr TagSetMask kTracePayloadTagSets = TagSetMask::of({TagSetId::kTraces});

// What a tag's value is when its source is missing or unusable.
inline constexpr std::string_view kUnknown = "unknown";

CloudIdentity cloud_identity(Platform platform, const CloudEnv& env,
                             std::string_view microvm_arn = {});

struct GcpMetadata {
  std::string container_id{kUnknown}, location{kUnknown}, project_id{kUnknown};
};

// The tags derived from the metadata server (§5.3): container_id, location, project_id and their
// gcr./gcrfx./gcrj. copies, and <prefix>.resource_name once project and location are known.
// Empty for the platforms that have no metadata.
std::vector<CloudTag> metadata_tags(Platform platform, const CloudEnv& env,
                                    const GcpMetadata& metadata);

// tags.set(key, value, sets) for each, in order.
void apply_tags(const std::vector<CloudTag>& cloud_tags, TagSets& tags);

// The value of `key` in `tags`, empty when absent.
std::string_view find_tag(const std::vector<CloudTag>& tags, std::string_view key);

// {"platform":...,"origin":...,"tags":[...],"needs_metadata":...}
std::string describe(const CloudIdentity& identity);

}  // namespace lc::init
