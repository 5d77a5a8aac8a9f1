// init/cloud.h: platform detection (serverless-init.md §5.1), the tags of every platform (§5.3)
// and the sets they go to (§5.4), on fixture environments.
#include "init/cloud.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lc::init {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

std::vector<std::string> key_values(const std::vector<CloudTag>& tags) {
  std::vector<std::string> out;
  for (const CloudTag& t : tags) out.push_back(t.key + ":" + t.value);
  return out;
}

TagSetMask mask_of(const std::vector<CloudTag>& tags, std::string_view key) {
  for (const CloudTag& t : tags) {
    if (t.key == key) return t.sets;
  }
  ADD_FAILURE() << "no tag " << key;
  return {};
}

CloudEnv cloud_run_service_env() {
  CloudEnv env;
  env.k_service = "web";
  env.k_revision = "web-00042-abc";
  env.k_configuration = "web";
  return env;
}

GcpMetadata answered_metadata() {
  GcpMetadata m;
  m.container_id = "00bf4bf02d";
  m.location = "us-central1";
  m.project_id = "p";
  return m;
}

// --- detection -------------------------------------------------------------------------------

TEST(DetectPlatform, FirstMatchWinsInTableOrder) {
  CloudEnv env;
  EXPECT_EQ(detect_platform(env, false), Platform::kLocal);
  env.website_stack = "DOCKER";
  EXPECT_EQ(detect_platform(env, false), Platform::kAppService);
  env.container_app_name = "app";
  EXPECT_EQ(detect_platform(env, false), Platform::kContainerApp);
  env.cloud_run_job = "etl";
  EXPECT_EQ(detect_platform(env, false), Platform::kCloudRunJob);
  env.k_service = "web";
  EXPECT_EQ(detect_platform(env, false), Platform::kCloudRunService);
  env.function_target = "helloHttp";
  EXPECT_EQ(detect_platform(env, false), Platform::kCloudRunFunction);
  EXPECT_EQ(detect_platform(env, true), Platform::kMicrovm);
}

TEST(DetectPlatform, FunctionTargetAloneIsNotCloudRun) {
  CloudEnv env;
  env.function_target = "helloHttp";
  EXPECT_EQ(detect_platform(env, false), Platform::kLocal);
}

TEST(DetectPlatform, OlderAppServiceVariableIsAccepted) {
  CloudEnv env;
  env.appsvc_run_zip = "1";
  EXPECT_EQ(detect_platform(env, false), Platform::kAppService);
}

TEST(PlatformName, EveryPlatformHasAName) {
  EXPECT_EQ(platform_name(Platform::kMicrovm), "microvm");
  EXPECT_EQ(platform_name(Platform::kCloudRunFunction), "cloudrun_function");
  EXPECT_EQ(platform_name(Platform::kCloudRunService), "cloudrun_service");
  EXPECT_EQ(platform_name(Platform::kCloudRunJob), "cloudrun_job");
  EXPECT_EQ(platform_name(Platform::kContainerApp), "containerapp");
  EXPECT_EQ(platform_name(Platform::kAppService), "appservice");
  EXPECT_EQ(platform_name(Platform::kLocal), "local");
}

// --- Cloud Run -------------------------------------------------------------------------------

TEST(CloudIdentity, CloudRunServiceTagsFromEnvironmentAndMetadata) {
  const CloudEnv env = cloud_run_service_env();
  const CloudIdentity id = cloud_identity(Platform::kCloudRunService, env);
  EXPECT_EQ(id.origin, "cloudrun");
  EXPECT_EQ(id.ddsource_default, "cloudrun");
  EXPECT_TRUE(id.needs_metadata);
  EXPECT_THAT(id.warnings, IsEmpty());
  EXPECT_THAT(
      key_values(id.tags),
      ElementsAre("origin:cloudrun", "revision_name:web-00042-abc", "service_name:web",
                  "configuration_name:web", "gcr.revision_name:web-00042-abc",
                  "gcr.service_name:web", "gcr.configuration_name:web", "_dd.origin:cloudrun"));
  EXPECT_THAT(
      key_values(metadata_tags(Platform::kCloudRunService, env, answered_metadata())),
      ElementsAre("container_id:00bf4bf02d", "location:us-central1", "project_id:p",
                  "gcr.container_id:00bf4bf02d", "gcr.location:us-central1", "gcr.project_id:p",
                  "gcr.resource_name:projects/p/locations/us-central1/services/web"));
}

TEST(CloudIdentity, CloudRunEmptyVariablesAreOmitted) {
  CloudEnv env;
  env.k_service = "web";
  const CloudIdentity id = cloud_identity(Platform::kCloudRunService, env);
  EXPECT_THAT(key_values(id.tags), ElementsAre("origin:cloudrun", "service_name:web",
                                               "gcr.service_name:web", "_dd.origin:cloudrun"));
}

TEST(CloudIdentity, CloudRunFunctionUsesGcrfxPrefixAndFunctionTags) {
  CloudEnv env = cloud_run_service_env();
  env.function_target = "helloHttp";
  env.function_signature_type = "http";
  const CloudIdentity id = cloud_identity(Platform::kCloudRunFunction, env);
  EXPECT_EQ(id.origin, "cloudrun");
  EXPECT_THAT(key_values(id.tags),
              ElementsAre("origin:cloudrun", "revision_name:web-00042-abc", "service_name:web",
                          "configuration_name:web", "gcrfx.revision_name:web-00042-abc",
                          "gcrfx.service_name:web", "gcrfx.configuration_name:web",
                          "gcrfx.build_function_target:helloHttp",
                          "gcrfx.function_signature_type:http", "_dd.origin:cloudrun"));
  EXPECT_THAT(
      key_values(metadata_tags(Platform::kCloudRunFunction, env, answered_metadata())),
      ElementsAre(
          "container_id:00bf4bf02d", "location:us-central1", "project_id:p",
          "gcrfx.container_id:00bf4bf02d", "gcrfx.location:us-central1", "gcrfx.project_id:p",
          "gcrfx.resource_name:projects/p/locations/us-central1/services/web/functions/helloHttp"));
}

TEST(CloudIdentity, CloudRunJobTags) {
  CloudEnv env;
  env.cloud_run_job = "etl";
  env.cloud_run_execution = "etl-x7k2p";
  env.cloud_run_task_index = "3";
  env.cloud_run_task_attempt = "0";
  env.cloud_run_task_count = "10";
  const CloudIdentity id = cloud_identity(Platform::kCloudRunJob, env);
  EXPECT_EQ(id.origin, "cloudrunjobs");
  EXPECT_EQ(id.ddsource_default, "cloudrun");
  EXPECT_TRUE(id.needs_metadata);
  EXPECT_THAT(key_values(id.tags),
              ElementsAre("origin:cloudrunjobs", "job_name:etl", "gcrj.job_name:etl",
                          "gcrj.execution_name:etl-x7k2p", "gcrj.task_index:3",
                          "gcrj.task_attempt:0", "gcrj.task_count:10", "_dd.origin:cloudrunjobs"));
  EXPECT_THAT(
      key_values(metadata_tags(Platform::kCloudRunJob, env, answered_metadata())),
      ElementsAre("container_id:00bf4bf02d", "location:us-central1", "project_id:p",
                  "gcrj.container_id:00bf4bf02d", "gcrj.location:us-central1", "gcrj.project_id:p",
                  "gcrj.resource_name:projects/p/locations/us-central1/jobs/etl"));
}

TEST(MetadataTags, UnknownMetadataGivesUnknownTagsAndNoResourceName) {
  const GcpMetadata unknown;  // every field `unknown`, as after a failed fetch
  EXPECT_THAT(
      key_values(metadata_tags(Platform::kCloudRunService, cloud_run_service_env(), unknown)),
      ElementsAre("container_id:unknown", "location:unknown", "project_id:unknown",
                  "gcr.container_id:unknown", "gcr.location:unknown", "gcr.project_id:unknown"));
}

TEST(MetadataTags, NoneOutsideCloudRun) {
  EXPECT_THAT(metadata_tags(Platform::kContainerApp, CloudEnv{}, answered_metadata()), IsEmpty());
  EXPECT_THAT(metadata_tags(Platform::kLocal, CloudEnv{}, answered_metadata()), IsEmpty());
}

// §5.4 and acceptance scenario 20: custom metrics carry no container_id, logs do; the enhanced set
// holds only the low-cardinality keys.
TEST(CloudTagSets, CloudRunTagsLandInTheRightSets) {
  const CloudEnv env = cloud_run_service_env();
  const CloudIdentity id = cloud_identity(Platform::kCloudRunService, env);
  TagSets sets;
  apply_tags(id.tags, sets);
  apply_tags(metadata_tags(Platform::kCloudRunService, env, answered_metadata()), sets);

  EXPECT_THAT(sets.tags(TagSetId::kEnhancedMetrics),
              UnorderedElementsAre("origin:cloudrun", "revision_name:web-00042-abc",
                                   "service_name:web", "location:us-central1", "project_id:p"));
  const auto& custom = sets.tags(TagSetId::kCustomMetrics);
  EXPECT_THAT(custom, Not(Contains("container_id:00bf4bf02d")));
  EXPECT_THAT(custom, Not(Contains("gcr.container_id:00bf4bf02d")));
  EXPECT_THAT(custom, Contains("gcr.resource_name:projects/p/locations/us-central1/services/web"));
  EXPECT_THAT(custom, Contains("service_name:web"));
  EXPECT_THAT(custom, Not(Contains("_dd.origin:cloudrun")));
  for (const TagSetId set : {TagSetId::kBase, TagSetId::kLogs, TagSetId::kTraces}) {
    EXPECT_THAT(sets.tags(set), Contains("container_id:00bf4bf02d")) << tag_set_name(set);
    EXPECT_THAT(sets.tags(set), Contains("configuration_name:web")) << tag_set_name(set);
  }
  EXPECT_THAT(sets.tags(TagSetId::kLogs), Not(Contains("_dd.origin:cloudrun")));
  EXPECT_THAT(sets.tags(TagSetId::kBase), Not(Contains("_dd.origin:cloudrun")));
  EXPECT_THAT(sets.tags(TagSetId::kTraces), Contains("_dd.origin:cloudrun"));
}

TEST(CloudTagSets, MasksFollowTheSpec) {
  const CloudEnv env = cloud_run_service_env();
  const auto meta = metadata_tags(Platform::kCloudRunService, env, answered_metadata());
  EXPECT_EQ(mask_of(meta, "container_id"), kHighCardinalityTagSets);
  EXPECT_EQ(mask_of(meta, "gcr.container_id"), kHighCardinalityTagSets);
  EXPECT_EQ(mask_of(meta, "location"), kEveryTagSet);
  EXPECT_EQ(mask_of(meta, "gcr.location"), kPlatformTagSets);
  EXPECT_FALSE(kHighCardinalityTagSets.has(TagSetId::kCustomMetrics));
  EXPECT_FALSE(kHighCardinalityTagSets.has(TagSetId::kEnhancedMetrics));
  EXPECT_FALSE(kPlatformTagSets.has(TagSetId::kEnhancedMetrics));
  EXPECT_TRUE(kPlatformTagSets.has(TagSetId::kCustomMetrics));
}

// --- Azure Container Apps --------------------------------------------------------------------

CloudEnv container_app_env() {
  CloudEnv env;
  env.container_app_name = "My-App";
  env.container_app_revision = "my-app--rev1";
  env.container_app_replica_name = "my-app--rev1-5d9f8b-xk2lp";
  env.container_app_env_dns_suffix = "happyhill-70162bb9.northcentralus.azurecontainerapps.io";
  env.azure_subscription_id = "sub-1";
  env.azure_resource_group = "rg-1";
  return env;
}

TEST(CloudIdentity, ContainerAppFullTags) {
  const CloudIdentity id = cloud_identity(Platform::kContainerApp, container_app_env());
  EXPECT_EQ(id.origin, "containerapp");
  EXPECT_EQ(id.ddsource_default, "containerapp");
  EXPECT_FALSE(id.needs_metadata);
  EXPECT_THAT(id.warnings, IsEmpty());
  const std::string rid =
      "/subscriptions/sub-1/resourcegroups/rg-1/providers/microsoft.app/containerapps/my-app";
  EXPECT_THAT(
      key_values(id.tags),
      ElementsAreArray(std::vector<std::string>{
          "origin:containerapp", "app_name:My-App", "region:northcentralus",
          "revision:my-app--rev1", "replica_name:my-app--rev1-5d9f8b-xk2lp", "aca.app.name:My-App",
          "aca.app.region:northcentralus", "aca.app.revision:my-app--rev1",
          "aca.replica.name:my-app--rev1-5d9f8b-xk2lp", "subscription_id:sub-1",
          "aca.subscription.id:sub-1", "resource_group:rg-1", "aca.resource.group:rg-1",
          "resource_id:" + rid, "aca.resource.id:" + rid, "_dd.origin:containerapp"}));
  TagSets sets;
  apply_tags(id.tags, sets);
  EXPECT_THAT(sets.tags(TagSetId::kEnhancedMetrics),
              UnorderedElementsAre("origin:containerapp", "app_name:My-App",
                                   "region:northcentralus", "revision:my-app--rev1"));
}

// Acceptance scenario 22: no subscription, a DNS suffix without region → one warning, region
// unknown, no resource_id; nothing fatal.
TEST(CloudIdentity, ContainerAppShortDnsSuffixAndMissingSubscription) {
  CloudEnv env = container_app_env();
  env.azure_subscription_id.clear();
  env.container_app_env_dns_suffix = "local";
  const CloudIdentity id = cloud_identity(Platform::kContainerApp, env);
  ASSERT_EQ(id.warnings.size(), 1u);
  EXPECT_THAT(id.warnings[0], HasSubstr("DD_AZURE_SUBSCRIPTION_ID"));
  EXPECT_EQ(find_tag(id.tags, "region"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aca.app.region"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "resource_group"), "rg-1");
  EXPECT_EQ(find_tag(id.tags, "resource_id"), "");
  EXPECT_EQ(find_tag(id.tags, "aca.resource.id"), "");
  EXPECT_EQ(find_tag(id.tags, "subscription_id"), "");
}

TEST(CloudIdentity, ContainerAppBothAzureVariablesMissingWarnsTwice) {
  CloudEnv env = container_app_env();
  env.azure_subscription_id.clear();
  env.azure_resource_group.clear();
  env.container_app_env_dns_suffix = "a.b";  // two tokens: still too short
  const CloudIdentity id = cloud_identity(Platform::kContainerApp, env);
  ASSERT_EQ(id.warnings.size(), 2u);
  EXPECT_THAT(id.warnings[1], HasSubstr("DD_AZURE_RESOURCE_GROUP"));
  EXPECT_EQ(find_tag(id.tags, "region"), "unknown");
}

// --- Azure App Service -----------------------------------------------------------------------

TEST(CloudIdentity, AppServiceTagsWithOwnerNameSplit) {
  CloudEnv env;
  env.website_stack = "DOCKER";
  env.website_site_name = "My-Site";
  env.region_name = "eastus";
  env.website_resource_group = "My-RG";
  env.website_owner_name = "8c56d827-5f07-45ce-8f2b-6c5001db5c6f+apm-EastUSwebspace";
  env.website_instance_id = "a1b2c3";
  env.computername = "pd1sdlwk0001";
  env.dd_runtime = "node";
  const CloudIdentity id = cloud_identity(Platform::kAppService, env);
  EXPECT_EQ(id.origin, "appservice");
  EXPECT_EQ(id.ddsource_default, "appservice");
  EXPECT_THAT(
      key_values(id.tags),
      ElementsAreArray(std::vector<std::string>{
          "origin:appservice", "app_name:My-Site", "region:eastus", "aas.site.name:My-Site",
          "aas.site.kind:app", "aas.site.type:app", "aas.resource.group:My-RG",
          "aas.subscription.id:8c56d827-5f07-45ce-8f2b-6c5001db5c6f",
          "aas.resource.id:/subscriptions/8c56d827-5f07-45ce-8f2b-6c5001db5c6f/resourcegroups/"
          "my-rg/providers/microsoft.web/sites/my-site",
          "aas.environment.instance_id:a1b2c3", "aas.environment.instance_name:pd1sdlwk0001",
          "aas.environment.os:linux", "aas.environment.runtime:node", "_dd.origin:appservice"}));
  TagSets sets;
  apply_tags(id.tags, sets);
  EXPECT_THAT(sets.tags(TagSetId::kEnhancedMetrics),
              UnorderedElementsAre("origin:appservice", "app_name:My-Site", "region:eastus"));
}

TEST(CloudIdentity, AppServiceMissingSourcesAreUnknown) {
  CloudEnv env;
  env.website_stack = "DOCKER";
  env.website_site_name = "site";
  const CloudIdentity id = cloud_identity(Platform::kAppService, env);
  EXPECT_EQ(find_tag(id.tags, "region"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.resource.group"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.subscription.id"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.resource.id"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.environment.instance_id"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.environment.instance_name"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "aas.environment.runtime"), "unknown");
  EXPECT_THAT(id.warnings, IsEmpty());
}

TEST(CloudIdentity, AppServiceOwnerWithoutPlusIsTheSubscription) {
  CloudEnv env;
  env.website_owner_name = "sub-only";
  const CloudIdentity id = cloud_identity(Platform::kAppService, env);
  EXPECT_EQ(find_tag(id.tags, "aas.subscription.id"), "sub-only");
}

// --- AWS Lambda MicroVM ----------------------------------------------------------------------

TEST(CloudIdentity, MicrovmArnSplit) {
  const std::string arn = "arn:aws:lambda:us-east-1:123456789012:microvm-image:my-image";
  const CloudIdentity id = cloud_identity(Platform::kMicrovm, CloudEnv{}, arn);
  EXPECT_EQ(id.origin, "lambdamicrovm");
  EXPECT_EQ(id.ddsource_default, "lambdamicrovm");
  EXPECT_FALSE(id.needs_metadata);
  EXPECT_THAT(key_values(id.tags),
              ElementsAre("origin:lambdamicrovm", "resource_type:lambdamicrovm",
                          "resource_provider:aws", "region:us-east-1", "account_id:123456789012",
                          "image_name:my-image", "resource_id:" + arn, "_dd.origin:lambdamicrovm"));
  for (const CloudTag& tag : id.tags) {
    if (tag.key != "_dd.origin") {
      EXPECT_EQ(tag.sets, kEveryTagSet) << tag.key;
    }
  }
}

TEST(CloudIdentity, MicrovmImageNameWithColonsIsRejoined) {
  const std::string arn = "arn:aws:lambda:eu-west-1:1:microvm-image:name:v2";
  const CloudIdentity id = cloud_identity(Platform::kMicrovm, CloudEnv{}, arn);
  EXPECT_EQ(find_tag(id.tags, "image_name"), "name:v2");
  EXPECT_EQ(find_tag(id.tags, "region"), "eu-west-1");
}

TEST(CloudIdentity, MicrovmUnparsableArnGivesUnknown) {
  const CloudIdentity id = cloud_identity(Platform::kMicrovm, CloudEnv{}, "not-an-arn");
  EXPECT_EQ(find_tag(id.tags, "region"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "account_id"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "image_name"), "unknown");
  EXPECT_EQ(find_tag(id.tags, "resource_id"), "not-an-arn");

  const CloudIdentity empty_fields =
      cloud_identity(Platform::kMicrovm, CloudEnv{}, "arn:aws:lambda::123:microvm-image:");
  EXPECT_EQ(find_tag(empty_fields.tags, "region"), "unknown");
  EXPECT_EQ(find_tag(empty_fields.tags, "account_id"), "123");
  EXPECT_EQ(find_tag(empty_fields.tags, "image_name"), "unknown");

  const CloudIdentity absent = cloud_identity(Platform::kMicrovm, CloudEnv{});
  EXPECT_EQ(find_tag(absent.tags, "resource_id"), "unknown");
  EXPECT_EQ(find_tag(absent.tags, "region"), "unknown");
}

// --- local -----------------------------------------------------------------------------------

TEST(CloudIdentity, LocalHasOriginOnlyAndOneInfoLine) {
  const CloudIdentity id = cloud_identity(Platform::kLocal, CloudEnv{});
  EXPECT_EQ(id.origin, "local");
  EXPECT_THAT(key_values(id.tags), ElementsAre("origin:local", "_dd.origin:local"));
  EXPECT_THAT(id.infos, ElementsAre("no supported serverless platform detected"));
  EXPECT_THAT(id.warnings, IsEmpty());
  EXPECT_FALSE(id.needs_metadata);
}

TEST(CloudIdentity, DescribeIsJsonWithPlatformAndTags) {
  const std::string d =
      describe(cloud_identity(Platform::kCloudRunService, cloud_run_service_env()));
  EXPECT_THAT(d, HasSubstr("\"platform\":\"cloudrun_service\""));
  EXPECT_THAT(d, HasSubstr("\"service_name:web\""));
  EXPECT_THAT(d, HasSubstr("\"needs_metadata\":true"));
}

}  // namespace
}  // namespace lc::init
