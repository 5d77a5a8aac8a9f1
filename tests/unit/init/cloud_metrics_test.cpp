// init/cloud_metrics.h: the lifecycle metrics of serverless-init.md §5.5 per platform through a
// FakeMetricSink (names, types, values, timestamps, point tags), and the CPU collector on cgroup v1
// and v2 fixture trees (tests/fixtures/cgroup/) and a FakeProcReader (rate math).
#include "init/cloud_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fakes/fake_metric_sink.h"
#include "fakes/fake_proc_reader.h"
#include "test_paths.h"

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Point = fakes::FakeMetricSink::Point;

constexpr std::int64_t kT0 = 1700000000;

std::string cgroup_fixture(std::string_view name) {
  return std::string(LC_TEST_SOURCE_DIR) + "/tests/fixtures/cgroup/" + std::string(name);
}

std::vector<std::string> names_of(const fakes::FakeMetricSink& sink) {
  std::vector<std::string> out;
  for (const Point& p : sink.points()) out.push_back(p.name);
  return out;
}

CloudEnv cloud_run_env() {
  CloudEnv env;
  env.k_service = "web";
  env.k_revision = "web-00042-abc";
  env.k_configuration = "web";
  return env;
}

GcpMetadata metadata() {
  GcpMetadata m;
  m.container_id = "c1";
  m.location = "us-central1";
  m.project_id = "p";
  return m;
}

void expect_lifecycle_point(const Point* p, std::int64_t timestamp) {
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, MetricType::kDistribution);
  EXPECT_EQ(p->value(), 1.0);
  EXPECT_EQ(p->timestamp, timestamp);
}

// --- lifecycle ---------------------------------------------------------------------------------

// Acceptance scenario 20: the new name carries no point tags (the encoder adds the enhanced set);
// the legacy name carries the base tags the enhanced set lacks, metadata included.
TEST(CloudMetrics, CloudRunServiceColdStartPairWaitsForMetadataForTheLegacyName) {
  const CloudEnv env = cloud_run_env();
  const CloudIdentity id = cloud_identity(Platform::kCloudRunService, env);
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(id, true, sink);
  metrics.emit_start(kT0);
  EXPECT_THAT(names_of(sink), ElementsAre("gcp.run.container.enhanced.cold_start"));
  expect_lifecycle_point(sink.find("gcp.run.container.enhanced.cold_start"), kT0);
  EXPECT_THAT(sink.find("gcp.run.container.enhanced.cold_start")->tags, IsEmpty());

  metrics.add_tags(metadata_tags(Platform::kCloudRunService, env, metadata()));
  const Point* legacy = sink.find("gcp.run.enhanced.cold_start");
  expect_lifecycle_point(legacy, kT0);
  EXPECT_THAT(
      legacy->tags,
      UnorderedElementsAre("configuration_name:web", "gcr.revision_name:web-00042-abc",
                           "gcr.service_name:web", "gcr.configuration_name:web", "container_id:c1",
                           "gcr.container_id:c1", "gcr.location:us-central1", "gcr.project_id:p",
                           "gcr.resource_name:projects/p/locations/us-central1/"
                           "services/web"));

  metrics.emit_shutdown();
  EXPECT_THAT(names_of(sink),
              ElementsAre("gcp.run.container.enhanced.cold_start", "gcp.run.enhanced.cold_start",
                          "gcp.run.container.enhanced.shutdown", "gcp.run.enhanced.shutdown"));
  expect_lifecycle_point(sink.find("gcp.run.container.enhanced.shutdown"), 0);
  EXPECT_EQ(sink.find("gcp.run.enhanced.shutdown")->tags,
            sink.find("gcp.run.enhanced.cold_start")->tags);
  EXPECT_EQ(sink.count("gcp.run.enhanced.cold_start"), 1u);
}

TEST(CloudMetrics, ShutdownBeforeMetadataReleasesTheLegacyColdStart) {
  const CloudIdentity id = cloud_identity(Platform::kCloudRunFunction, [] {
    CloudEnv env = cloud_run_env();
    env.function_target = "f";
    return env;
  }());
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(id, true, sink);
  metrics.emit_start(kT0);
  metrics.emit_shutdown();
  EXPECT_THAT(names_of(sink),
              ElementsAre("gcp.run.container.enhanced.cold_start", "gcp.run.enhanced.cold_start",
                          "gcp.run.container.enhanced.shutdown", "gcp.run.enhanced.shutdown"));
  expect_lifecycle_point(sink.find("gcp.run.enhanced.cold_start"), kT0);
  // Metadata arriving later emits nothing twice.
  metrics.add_tags({});
  EXPECT_EQ(sink.count("gcp.run.enhanced.cold_start"), 1u);
}

// Acceptance scenario 21.
TEST(CloudMetrics, CloudRunJobTaskMetrics) {
  CloudEnv env;
  env.cloud_run_job = "etl";
  env.cloud_run_task_index = "3";
  const CloudIdentity id = cloud_identity(Platform::kCloudRunJob, env);
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(id, true, sink);
  metrics.emit_start(kT0);
  metrics.emit_task_end(1, Millis(1234));
  metrics.emit_shutdown();
  EXPECT_THAT(names_of(sink),
              ElementsAre("gcp.run.job.enhanced.task.started", "gcp.run.job.enhanced.task.ended",
                          "gcp.run.job.enhanced.task.duration"));
  expect_lifecycle_point(sink.find("gcp.run.job.enhanced.task.started"), kT0);
  const Point* ended = sink.find("gcp.run.job.enhanced.task.ended");
  expect_lifecycle_point(ended, 0);
  EXPECT_THAT(ended->tags, ElementsAre("exit_code:1", "succeeded:false"));
  const Point* duration = sink.find("gcp.run.job.enhanced.task.duration");
  ASSERT_NE(duration, nullptr);
  EXPECT_EQ(duration->type, MetricType::kDistribution);
  EXPECT_EQ(duration->value(), 1234.0);
}

TEST(CloudMetrics, CloudRunJobSuccess) {
  CloudEnv env;
  env.cloud_run_job = "etl";
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kCloudRunJob, env), true, sink);
  metrics.emit_task_end(0, Millis(5));
  EXPECT_THAT(sink.find("gcp.run.job.enhanced.task.ended")->tags,
              ElementsAre("exit_code:0", "succeeded:true"));
}

TEST(CloudMetrics, ContainerAppUsesGoNamesWithoutLegacy) {
  CloudEnv env;
  env.container_app_name = "app";
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kContainerApp, env), true, sink);
  metrics.emit_start(kT0);
  metrics.emit_task_end(0, Millis(1));  // not a job: nothing
  metrics.emit_shutdown();
  EXPECT_THAT(names_of(sink), ElementsAre("azure.containerapp.enhanced.cold_start",
                                          "azure.containerapp.enhanced.shutdown"));
  expect_lifecycle_point(sink.find("azure.containerapp.enhanced.cold_start"), kT0);
}

TEST(CloudMetrics, AppServicePairsWithLegacyBaseTags) {
  CloudEnv env;
  env.website_stack = "DOCKER";
  env.website_site_name = "site";
  env.region_name = "eastus";
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kAppService, env), true, sink);
  metrics.emit_start(kT0);  // no metadata on Azure: the legacy name leaves at once
  metrics.emit_shutdown();
  EXPECT_THAT(
      names_of(sink),
      ElementsAre("azure.app_services.enhanced.cold_start", "azure.appservice.enhanced.cold_start",
                  "azure.app_services.enhanced.shutdown", "azure.appservice.enhanced.shutdown"));
  EXPECT_THAT(sink.find("azure.app_services.enhanced.cold_start")->tags, IsEmpty());
  const Point* legacy = sink.find("azure.appservice.enhanced.cold_start");
  expect_lifecycle_point(legacy, kT0);
  EXPECT_THAT(legacy->tags, ::testing::Contains("aas.site.name:site"));
  EXPECT_THAT(legacy->tags, ::testing::Not(::testing::Contains("app_name:site")));
  EXPECT_THAT(legacy->tags, ::testing::Not(::testing::Contains("origin:appservice")));
}

TEST(CloudMetrics, LocalColdStartAndShutdown) {
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kLocal, CloudEnv{}), true, sink);
  metrics.emit_start(kT0);
  metrics.emit_shutdown();
  EXPECT_THAT(names_of(sink), ElementsAre("datadog.serverless_agent.enhanced.cold_start",
                                          "datadog.serverless_agent.enhanced.shutdown"));
  expect_lifecycle_point(sink.find("datadog.serverless_agent.enhanced.cold_start"), kT0);
}

TEST(CloudMetrics, MicrovmEmitsNoLifecycleMetricHere) {
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kMicrovm, CloudEnv{}, "arn:aws:lambda:r:1:x:y"),
                       true, sink);
  metrics.emit_start(kT0);
  metrics.emit_shutdown();
  EXPECT_EQ(sink.size(), 0u);
}

TEST(CloudMetrics, DisabledEnhancedMetricsEmitNothing) {
  for (const Platform p : {Platform::kCloudRunService, Platform::kCloudRunJob,
                           Platform::kContainerApp, Platform::kAppService, Platform::kLocal}) {
    fakes::FakeMetricSink sink;
    CloudMetrics metrics(cloud_identity(p, cloud_run_env()), false, sink);
    metrics.emit_start(kT0);
    metrics.add_tags(metadata_tags(p, cloud_run_env(), metadata()));
    metrics.emit_task_end(1, Millis(10));
    metrics.emit_shutdown();
    EXPECT_EQ(sink.size(), 0u) << platform_name(p);
  }
}

TEST(CloudMetrics, DescribeNamesTheTable) {
  fakes::FakeMetricSink sink;
  CloudMetrics metrics(cloud_identity(Platform::kLocal, CloudEnv{}), true, sink);
  EXPECT_THAT(metrics.describe(), HasSubstr("datadog.serverless_agent.enhanced.cold_start"));
}

// --- cgroup reading ----------------------------------------------------------------------------

TEST(CpusetSize, Lists) {
  EXPECT_EQ(cpuset_size("0-3"), 4);
  EXPECT_EQ(cpuset_size("0-3,8,10-11\n"), 7);
  EXPECT_EQ(cpuset_size("5"), 1);
  EXPECT_EQ(cpuset_size(""), 0);
  EXPECT_EQ(cpuset_size("3-1"), 0);
  EXPECT_EQ(cpuset_size("x"), 0);
}

TEST(ReadCgroupCpu, V2QuotaBelowCpuset) {
  const SystemProcReader reader(cgroup_fixture("v2_quota"));
  const CgroupCpu cpu = read_cgroup_cpu(reader);
  EXPECT_EQ(cpu.version, 2);
  EXPECT_TRUE(cpu.usage_ok);
  EXPECT_DOUBLE_EQ(cpu.usage_ns, 2.5e9);
  EXPECT_DOUBLE_EQ(cpu.limit_cores, 1.5);
}

TEST(ReadCgroupCpu, V2UnlimitedQuotaUsesCpuset) {
  const SystemProcReader reader(cgroup_fixture("v2_unlimited"));
  const CgroupCpu cpu = read_cgroup_cpu(reader);
  EXPECT_EQ(cpu.version, 2);
  EXPECT_DOUBLE_EQ(cpu.usage_ns, 42000.0);
  EXPECT_DOUBLE_EQ(cpu.limit_cores, 2.0);
}

TEST(ReadCgroupCpu, V1SeparateControllers) {
  const SystemProcReader reader(cgroup_fixture("v1"));
  const CgroupCpu cpu = read_cgroup_cpu(reader);
  EXPECT_EQ(cpu.version, 1);
  EXPECT_DOUBLE_EQ(cpu.usage_ns, 123456789.0);
  EXPECT_DOUBLE_EQ(cpu.limit_cores, 0.5);
}

TEST(ReadCgroupCpu, V1CoMountedUnlimitedQuotaUsesCpuset) {
  const SystemProcReader reader(cgroup_fixture("v1_comounted"));
  const CgroupCpu cpu = read_cgroup_cpu(reader);
  EXPECT_EQ(cpu.version, 1);
  EXPECT_DOUBLE_EQ(cpu.usage_ns, 987654321.0);
  EXPECT_DOUBLE_EQ(cpu.limit_cores, 2.0);
}

TEST(ReadCgroupCpu, NothingReadable) {
  const SystemProcReader reader(cgroup_fixture("does_not_exist"));
  const CgroupCpu cpu = read_cgroup_cpu(reader);
  EXPECT_EQ(cpu.version, 0);
  EXPECT_FALSE(cpu.usage_ok);
  EXPECT_EQ(cpu.limit_cores, 0);
}

// --- CPU collector -----------------------------------------------------------------------------

CloudIdentity container_app() {
  CloudEnv env;
  env.container_app_name = "app";
  env.container_app_replica_name = "app--r1-abc";
  env.azure_subscription_id = "s";
  env.azure_resource_group = "g";
  return cloud_identity(Platform::kContainerApp, env);
}

TEST(CpuCollector, V2RateOverTheIntervalFirstSampleSkipped) {
  fakes::FakeProcReader cgroup;
  cgroup.file("cpu.stat", "usage_usec 1000000\nuser_usec 900000\n")
      .file("cpu.max", "200000 100000\n")
      .file("cpuset.cpus.effective", "0-3\n");
  fakes::FakeMetricSink sink;
  CpuCollector cpu(container_app(), true, cgroup, sink, 8);
  ASSERT_TRUE(cpu.active());
  const SteadyTime t(Millis(5000000));
  cpu.sample(t);
  EXPECT_THAT(names_of(sink), ElementsAre("azure.containerapp.enhanced.cpu.limit",
                                          "azure.containerapp.enhanced.instance"));
  EXPECT_EQ(sink.find("azure.containerapp.enhanced.cpu.limit")->value(), 2e9);
  const Point* instance = sink.find("azure.containerapp.enhanced.instance");
  EXPECT_EQ(instance->type, MetricType::kGauge);
  EXPECT_EQ(instance->value(), 1.0);
  EXPECT_THAT(instance->tags, ElementsAre("instance:app--r1-abc"));
  EXPECT_THAT(sink.find("azure.containerapp.enhanced.cpu.limit")->tags, IsEmpty());

  sink.clear();
  // 1.5 s of CPU time over 3 s: half a core = 5e8 nanocores.
  cgroup.file("cpu.stat", "usage_usec 2500000\n");
  cpu.sample(t + Millis(3000));
  const Point* usage = sink.find("azure.containerapp.enhanced.cpu.usage");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->type, MetricType::kGauge);
  EXPECT_DOUBLE_EQ(usage->value(), 5e8);
  EXPECT_THAT(usage->tags, IsEmpty());
  EXPECT_EQ(sink.count("azure.containerapp.enhanced.instance"), 1u);

  sink.clear();
  // Next interval: 0.3 s of CPU over 1.5 s = 2e8 nanocores (from the previous sample, not t).
  cgroup.file("cpu.stat", "usage_usec 2800000\n");
  cpu.sample(t + Millis(4500));
  EXPECT_DOUBLE_EQ(sink.find("azure.containerapp.enhanced.cpu.usage")->value(), 2e8);
}

TEST(CpuCollector, V1RateAndLimit) {
  fakes::FakeProcReader cgroup;
  cgroup.file("cpuacct/cpuacct.usage", "1000000000\n")
      .file("cpu/cpu.cfs_quota_us", "50000\n")
      .file("cpu/cpu.cfs_period_us", "100000\n");
  fakes::FakeMetricSink sink;
  CloudEnv env;
  env.website_stack = "DOCKER";
  env.website_instance_id = "inst-7";
  CpuCollector cpu(cloud_identity(Platform::kAppService, env), true, cgroup, sink, 4);
  const SteadyTime t(Millis(1000));
  cpu.sample(t);
  EXPECT_EQ(sink.count("azure.app_services.enhanced.cpu.usage"), 0u);
  cgroup.file("cpuacct/cpuacct.usage", "1250000000\n");
  cpu.sample(t + Millis(2000));
  // 0.25 s of CPU over 2 s = 1.25e8 nanocores.
  EXPECT_DOUBLE_EQ(sink.find("azure.app_services.enhanced.cpu.usage")->value(), 1.25e8);
  EXPECT_EQ(sink.last("azure.app_services.enhanced.cpu.limit")->value(), 5e8);
  EXPECT_THAT(sink.last("azure.app_services.enhanced.instance")->tags,
              ElementsAre("instance:inst-7"));
}

TEST(CpuCollector, CounterGoingBackwardsRestarts) {
  fakes::FakeProcReader cgroup;
  cgroup.file("cpu.stat", "usage_usec 9000000\n");
  fakes::FakeMetricSink sink;
  CpuCollector cpu(container_app(), true, cgroup, sink, 2);
  const SteadyTime t(Millis(1000));
  cpu.sample(t);
  cgroup.file("cpu.stat", "usage_usec 100\n");
  cpu.sample(t + Millis(3000));
  EXPECT_EQ(sink.count("azure.containerapp.enhanced.cpu.usage"), 0u);
  cgroup.file("cpu.stat", "usage_usec 3000100\n");
  cpu.sample(t + Millis(6000));
  EXPECT_DOUBLE_EQ(sink.find("azure.containerapp.enhanced.cpu.usage")->value(), 1e9);
}

TEST(CpuCollector, UnreadableCgroupStillSendsInstanceAndHostLimit) {
  const SystemProcReader cgroup(cgroup_fixture("does_not_exist"));
  fakes::FakeMetricSink sink;
  const CloudEnv env = cloud_run_env();
  CpuCollector cpu(cloud_identity(Platform::kCloudRunService, env), true, cgroup, sink, 4);
  cpu.sample(SteadyTime(Millis(1000)));
  cpu.sample(SteadyTime(Millis(4000)));
  EXPECT_EQ(sink.count("gcp.run.container.enhanced.cpu.usage"), 0u);
  EXPECT_EQ(sink.last("gcp.run.container.enhanced.cpu.limit")->value(), 4e9);
  EXPECT_EQ(sink.count("gcp.run.container.enhanced.instance"), 2u);
  // Before metadata there is no container id; once it arrives it is the instance.
  EXPECT_THAT(sink.find("gcp.run.container.enhanced.instance")->tags, IsEmpty());
  cpu.add_tags(metadata_tags(Platform::kCloudRunService, env, metadata()));
  cpu.sample(SteadyTime(Millis(7000)));
  EXPECT_THAT(sink.last("gcp.run.container.enhanced.instance")->tags, ElementsAre("instance:c1"));
}

TEST(CpuCollector, FixtureTreeLimitIsQuota) {
  const SystemProcReader cgroup(cgroup_fixture("v2_quota"));
  fakes::FakeMetricSink sink;
  CpuCollector cpu(cloud_identity(Platform::kMicrovm, CloudEnv{}, "arn:aws:lambda:r:1:x:y"), true,
                   cgroup, sink, 16);
  cpu.sample(SteadyTime(Millis(1000)));
  EXPECT_EQ(sink.find("aws.lambda.microvm.enhanced.cpu.limit")->value(), 1.5e9);
  EXPECT_EQ(sink.count("aws.lambda.microvm.enhanced.instance"), 1u);
}

TEST(CpuCollector, NothingForLocalJobsOrWhenDisabled) {
  fakes::FakeProcReader cgroup;
  cgroup.file("cpu.stat", "usage_usec 1\n");
  fakes::FakeMetricSink sink;
  CloudEnv job;
  job.cloud_run_job = "etl";
  CpuCollector local(cloud_identity(Platform::kLocal, CloudEnv{}), true, cgroup, sink, 2);
  CpuCollector jobs(cloud_identity(Platform::kCloudRunJob, job), true, cgroup, sink, 2);
  CpuCollector disabled(container_app(), false, cgroup, sink, 2);
  EXPECT_FALSE(local.active());
  EXPECT_FALSE(jobs.active());
  EXPECT_FALSE(disabled.active());
  for (int i = 0; i < 3; ++i) {
    const SteadyTime t(Millis(1000 + 3000 * i));
    local.sample(t);
    jobs.sample(t);
    disabled.sample(t);
  }
  EXPECT_EQ(sink.size(), 0u);
}

TEST(MetricNames, OneTablePerPlatform) {
  EXPECT_EQ(metric_names(Platform::kCloudRunService).cpu_prefix, "gcp.run.container.");
  EXPECT_EQ(metric_names(Platform::kCloudRunFunction).cpu_prefix, "gcp.run.container.");
  EXPECT_EQ(metric_names(Platform::kContainerApp).cpu_prefix, "azure.containerapp.");
  EXPECT_EQ(metric_names(Platform::kAppService).cpu_prefix, "azure.app_services.");
  EXPECT_EQ(metric_names(Platform::kMicrovm).cpu_prefix, "aws.lambda.microvm.");
  EXPECT_EQ(metric_names(Platform::kCloudRunJob).cpu_prefix, "");
  EXPECT_EQ(metric_names(Platform::kLocal).cpu_prefix, "");
}

}  // namespace
}  // namespace lc::init
