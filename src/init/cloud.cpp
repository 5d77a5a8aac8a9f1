// init/cloud.cpp — platform detection and platform tags (serverless-init.md §5.1, §5.3, §5.4).
#include "init/cloud.h"

#include <fmt/format.h>

#include <cstddef>
#include <utility>

#include "core/strings.h"

namespace lc::init {
namespace {

// Adds tags in §5.3 order; the set a key goes to follows §5.4.
class TagList {
 public:
  explicit TagList(std::vector<CloudTag>& out) : out_(out) {}

  // A low-cardinality key of the platform's enhanced set: every set.
  void enhanced(std::string key, std::string value) {
    out_.push_back({std::move(key), std::move(value), kEveryTagSet});
  }
  // Any other platform tag: base, custom metrics, logs, traces.
  void platform(std::string key, std::string value) {
    out_.push_back({std::move(key), std::move(value), kPlatformTagSets});
  }
  // A per-instance key (container_id and its copies): neither custom nor enhanced metrics.
  void per_instance(std::string key, std::string value) {
    out_.push_back({std::move(key), std::move(value), kHighCardinalityTagSets});
  }
  // Cloud Run's "a tag is omitted when its variable is empty" (§5.3).
  void platform_if_set(std::string key, const std::string& value) {
    if (!value.empty()) platform(std::move(key), value);
  }
  void enhanced_if_set(std::string key, const std::string& value) {
    if (!value.empty()) enhanced(std::move(key), value);
  }

 private:
  std::vector<CloudTag>& out_;
};

std::string or_unknown(const std::string& value) {
  return value.empty() ? std::string(kUnknown) : value;
}

// The copy prefix of Cloud Run's tags: gcr. (service), gcrfx. (function), gcrj. (job).
std::string_view gcp_prefix(Platform platform) {
  switch (platform) {
    case Platform::kCloudRunService:
      return "gcr.";
    case Platform::kCloudRunFunction:
      return "gcrfx.";
    case Platform::kCloudRunJob:
      return "gcrj.";
    default:
      return "";
  }
}

bool is_cloud_run(Platform platform) { return !gcp_prefix(platform).empty(); }

std::string_view origin_of(Platform platform) {
  switch (platform) {
    case Platform::kMicrovm:
      return "lambdamicrovm";
    case Platform::kCloudRunFunction:
    case Platform::kCloudRunService:
      return "cloudrun";
    case Platform::kCloudRunJob:
      return "cloudrunjobs";
    case Platform::kContainerApp:
      return "containerapp";
    case Platform::kAppService:
      return "appservice";
    case Platform::kLocal:
      break;
  }
  return "local";
}

void cloud_run_tags(Platform platform, const CloudEnv& env, TagList& out) {
  const std::string p(gcp_prefix(platform));
  if (platform == Platform::kCloudRunJob) {
    out.platform_if_set("job_name", env.cloud_run_job);
    out.platform_if_set(p + "job_name", env.cloud_run_job);
    out.platform_if_set(p + "execution_name", env.cloud_run_execution);
    out.platform_if_set(p + "task_index", env.cloud_run_task_index);
    out.platform_if_set(p + "task_attempt", env.cloud_run_task_attempt);
    out.platform_if_set(p + "task_count", env.cloud_run_task_count);
    return;
  }
  out.enhanced_if_set("revision_name", env.k_revision);
  out.enhanced_if_set("service_name", env.k_service);
  out.platform_if_set("configuration_name", env.k_configuration);
  out.platform_if_set(p + "revision_name", env.k_revision);
  out.platform_if_set(p + "service_name", env.k_service);
  out.platform_if_set(p + "configuration_name", env.k_configuration);
  if (platform == Platform::kCloudRunFunction) {
    out.platform_if_set(p + "build_function_target", env.function_target);
    out.platform_if_set(p + "function_signature_type", env.function_signature_type);
  }
}

// Region: the third-from-last '.'-token of CONTAINER_APP_ENV_DNS_SUFFIX
// ("<name>.<region>.azurecontainerapps.io"); fewer than three tokens → unknown (§5.3, where Go
// indexes out of range).
std::string container_app_region(std::string_view dns_suffix) {
  const auto tokens = split_any(trim(dns_suffix), ".");
  if (tokens.size() < 3) return std::string(kUnknown);
  return std::string(tokens[tokens.size() - 3]);
}

void container_app_tags(const CloudEnv& env, TagList& out, std::vector<std::string>& warnings) {
  const std::string region = container_app_region(env.container_app_env_dns_suffix);
  out.enhanced_if_set("app_name", env.container_app_name);
  out.enhanced("region", region);
  out.enhanced_if_set("revision", env.container_app_revision);
  out.platform_if_set("replica_name", env.container_app_replica_name);
  out.platform_if_set("aca.app.name", env.container_app_name);
  out.platform("aca.app.region", region);
  out.platform_if_set("aca.app.revision", env.container_app_revision);
  out.platform_if_set("aca.replica.name", env.container_app_replica_name);
  const std::string& subscription = env.azure_subscription_id;
  const std::string& group = env.azure_resource_group;
  out.platform_if_set("subscription_id", subscription);
  out.platform_if_set("aca.subscription.id", subscription);
  out.platform_if_set("resource_group", group);
  out.platform_if_set("aca.resource.group", group);
  if (!subscription.empty() && !group.empty()) {
    const std::string id =
        fmt::format("/subscriptions/{}/resourcegroups/{}/providers/microsoft.app/containerapps/{}",
                    subscription, group, to_lower(env.container_app_name));
    out.platform("resource_id", id);
    out.platform("aca.resource.id", id);
  }
  // Go stops the process here (log.Fatalf); lastcall only says what is missing (§5.3).
  if (subscription.empty()) {
    warnings.emplace_back(
        "DD_AZURE_SUBSCRIPTION_ID is not set: Container Apps metrics and logs have no "
        "subscription_id or resource_id tag");
  }
  if (group.empty()) {
    warnings.emplace_back(
        "DD_AZURE_RESOURCE_GROUP is not set: Container Apps metrics and logs have no "
        "resource_group or resource_id tag");
  }
}

void app_service_tags(const CloudEnv& env, TagList& out) {
  const std::string site = or_unknown(env.website_site_name);
  // WEBSITE_OWNER_NAME is "<subscription>+<webspace>".
  const std::string owner = env.website_owner_name;
  const std::string subscription = or_unknown(owner.substr(0, owner.find('+')));
  const std::string group = or_unknown(env.website_resource_group);
  std::string resource_id(kUnknown);
  if (!env.website_site_name.empty() && !env.website_resource_group.empty() &&
      subscription != kUnknown) {
    resource_id =
        to_lower(fmt::format("/subscriptions/{}/resourcegroups/{}/providers/microsoft.web/sites/{}",
                             subscription, group, site));
  }
  out.enhanced("app_name", site);
  out.enhanced("region", or_unknown(env.region_name));
  out.platform("aas.site.name", site);
  out.platform("aas.site.kind", "app");
  out.platform("aas.site.type", "app");
  out.platform("aas.resource.group", group);
  out.platform("aas.subscription.id", subscription);
  out.platform("aas.resource.id", resource_id);
  out.platform("aas.environment.instance_id", or_unknown(env.website_instance_id));
  out.platform("aas.environment.instance_name", or_unknown(env.computername));
  out.platform("aas.environment.os", "linux");
  out.platform("aas.environment.runtime", or_unknown(env.dd_runtime));
}

// arn:aws:lambda:<region>:<account>:microvm-image:<name>; the name may itself contain ':'.
void microvm_tags(std::string_view arn, TagList& out) {
  std::string region(kUnknown), account(kUnknown), image(kUnknown);
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t colon = arn.find(':', start);
    fields.push_back(arn.substr(start, colon == std::string_view::npos ? arn.npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() >= 7 && fields[0] == "arn") {
    if (!fields[3].empty()) region = std::string(fields[3]);
    if (!fields[4].empty()) account = std::string(fields[4]);
    std::string name(fields[6]);
    for (std::size_t i = 7; i < fields.size(); ++i) name.append(":").append(fields[i]);
    if (!name.empty()) image = std::move(name);
  }
  // Every microVM tag is in the enhanced set (§5.4).
  out.enhanced("resource_type", "lambdamicrovm");
  out.enhanced("resource_provider", "aws");
  out.enhanced("region", region);
  out.enhanced("account_id", account);
  out.enhanced("image_name", image);
  out.enhanced("resource_id", arn.empty() ? std::string(kUnknown) : std::string(arn));
}

}  // namespace

std::string_view platform_name(Platform platform) {
  switch (platform) {
    case Platform::kMicrovm:
      return "microvm";
    case Platform::kCloudRunFunction:
      return "cloudrun_function";
    case Platform::kCloudRunService:
      return "cloudrun_service";
    case Platform::kCloudRunJob:
      return "cloudrun_job";
    case Platform::kContainerApp:
      return "containerapp";
    case Platform::kAppService:
      return "appservice";
    case Platform::kLocal:
      break;
  }
  return "local";
}

Platform detect_platform(const CloudEnv& env, bool microvm_arn_present) {
  if (microvm_arn_present) return Platform::kMicrovm;
  if (!env.k_service.empty() && !env.function_target.empty()) return Platform::kCloudRunFunction;
  if (!env.k_service.empty()) return Platform::kCloudRunService;
  if (!env.cloud_run_job.empty()) return Platform::kCloudRunJob;
  if (!env.container_app_name.empty()) return Platform::kContainerApp;
  // Older Go serverless-init looked for APPSVC_RUN_ZIP; either identifies App Service.
  if (!env.website_stack.empty() || !env.appsvc_run_zip.empty()) return Platform::kAppService;
  return Platform::kLocal;
}

CloudIdentity cloud_identity(Platform platform, const CloudEnv& env, std::string_view microvm_arn) {
  CloudIdentity id;
  id.platform = platform;
  id.origin = std::string(origin_of(platform));
  // Cloud Run jobs keep the service's log source (§5.1).
  id.ddsource_default = platform == Platform::kCloudRunJob ? "cloudrun" : id.origin;
  id.needs_metadata = is_cloud_run(platform);
  TagList out(id.tags);
  out.enhanced("origin", id.origin);
  switch (platform) {
    case Platform::kCloudRunFunction:
    case Platform::kCloudRunService:
    case Platform::kCloudRunJob:
      cloud_run_tags(platform, env, out);
      break;
    case Platform::kContainerApp:
      container_app_tags(env, out, id.warnings);
      break;
    case Platform::kAppService:
      app_service_tags(env, out);
      break;
    case Platform::kMicrovm:
      microvm_tags(trim(microvm_arn), out);
      break;
    case Platform::kLocal:
      id.infos.emplace_back("no supported serverless platform detected");
      break;
  }
  // §5.3: every platform's traces carry _dd.origin as a payload tag, not a metric or log tag.
  id.tags.push_back({"_dd.origin", id.origin, kTracePayloadTagSets});
  return id;
}

std::vector<CloudTag> metadata_tags(Platform platform, const CloudEnv& env,
                                    const GcpMetadata& metadata) {
  std::vector<CloudTag> tags;
  if (!is_cloud_run(platform)) return tags;
  const std::string p(gcp_prefix(platform));
  const std::string container_id = or_unknown(metadata.container_id);
  const std::string location = or_unknown(metadata.location);
  const std::string project = or_unknown(metadata.project_id);
  TagList out(tags);
  out.per_instance("container_id", container_id);
  out.enhanced("location", location);
  out.enhanced("project_id", project);
  out.per_instance(p + "container_id", container_id);
  out.platform(p + "location", location);
  out.platform(p + "project_id", project);
  // A resource name made of "unknown" parts would name no resource: left out until both are known.
  if (location == kUnknown || project == kUnknown) return tags;
  const std::string base = fmt::format("projects/{}/locations/{}", project, location);
  switch (platform) {
    case Platform::kCloudRunService:
      out.platform_if_set(p + "resource_name",
                          env.k_service.empty() ? "" : base + "/services/" + env.k_service);
      break;
    case Platform::kCloudRunFunction:
      if (!env.k_service.empty() && !env.function_target.empty()) {
        out.platform(p + "resource_name", fmt::format("{}/services/{}/functions/{}", base,
                                                      env.k_service, env.function_target));
      }
      break;
    case Platform::kCloudRunJob:
      out.platform_if_set(p + "resource_name",
                          env.cloud_run_job.empty() ? "" : base + "/jobs/" + env.cloud_run_job);
      break;
    default:
      break;
  }
  return tags;
}

void apply_tags(const std::vector<CloudTag>& cloud_tags, TagSets& tags) {
  for (const CloudTag& tag : cloud_tags) tags.set(tag.key, tag.value, tag.sets);
}

std::string_view find_tag(const std::vector<CloudTag>& tags, std::string_view key) {
  for (const CloudTag& tag : tags) {
    if (tag.key == key) return tag.value;
  }
  return {};
}

std::string describe(const CloudIdentity& identity) {
  std::string tags = "[";
  for (const CloudTag& tag : identity.tags) {
    if (tags.size() > 1) tags.push_back(',');
    tags += json_quote(tag.key + ":" + tag.value);
  }
  tags.push_back(']');
  return fmt::format(
      "{{\"platform\":\"{}\",\"origin\":{},\"ddsource\":{},\"tags\":{},\"needs_metadata\":{}}}",
      platform_name(identity.platform), json_quote(identity.origin),
      json_quote(identity.ddsource_default), tags, identity.needs_metadata ? "true" : "false");
}

}  // namespace lc::init
