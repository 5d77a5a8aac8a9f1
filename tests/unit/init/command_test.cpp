// init/command.h: the one-string split of serverless-init.md §1.2, the child's environment of
// §3.1 (defaults only when unset, the tracer table with fake directories) and the exit status of
// §3.4 from real wait statuses.
#include "init/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lc::init {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Env = std::vector<std::pair<std::string, std::string>>;

PathPredicate none() {
  return [](const std::string&) { return false; };
}
PathPredicate only(std::set<std::string> existing) {
  return [existing = std::move(existing)](const std::string& p) { return existing.count(p) > 0; };
}

// --- §1.2 one-string compatibility -------------------------------------------------------------

TEST(PrepareCommand, OneArgumentWithSpacesIsSplitOnRunsOfWhitespace) {
  const auto c = prepare_command({"  node \t server.js\n--port  8080 "}, none());
  EXPECT_TRUE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("node", "server.js", "--port", "8080"));
}

TEST(PrepareCommand, EchoHiBecomesTwoArguments) {
  const auto c = prepare_command({"echo hi"}, none());
  EXPECT_TRUE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("echo", "hi"));
}

TEST(PrepareCommand, AnExistingFileIsNotSplit) {
  const auto c = prepare_command({"/tmp/my app/run"}, only({"/tmp/my app/run"}));
  EXPECT_FALSE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("/tmp/my app/run"));
}

TEST(PrepareCommand, TheFileCheckAsksForTheExactArgument) {
  std::vector<std::string> asked;
  const auto c = prepare_command({" a b"}, [&](const std::string& p) {
    asked.push_back(p);
    return false;
  });
  EXPECT_THAT(asked, ElementsAre(" a b"));
  EXPECT_THAT(c.argv, ElementsAre("a", "b"));
}

TEST(PrepareCommand, SeveralArgumentsAreNeverSplit) {
  const auto c = prepare_command({"sh", "-c", "echo a b"}, none());
  EXPECT_FALSE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("sh", "-c", "echo a b"));
}

TEST(PrepareCommand, OneArgumentWithoutWhitespaceIsKept) {
  std::vector<std::string> asked;
  const auto c = prepare_command({"server"}, [&](const std::string& p) {
    asked.push_back(p);
    return false;
  });
  EXPECT_FALSE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("server"));
  EXPECT_THAT(asked, IsEmpty());  // no file check needed
}

TEST(PrepareCommand, OnlyAsciiWhitespaceSplits) {
  // U+00A0 (no-break space, C2 A0 in UTF-8) is not ASCII whitespace.
  const auto c = prepare_command({"a\xC2\xA0"
                                  "b"},
                                 none());
  EXPECT_FALSE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("a\xC2\xA0"
                                  "b"));
  EXPECT_THAT(prepare_command({"a\vb\fc\rd"}, none()).argv, ElementsAre("a", "b", "c", "d"));
}

TEST(PrepareCommand, OnlyWhitespaceIsLeftForExecToReport) {
  const auto c = prepare_command({"  \t "}, none());
  EXPECT_FALSE(c.was_split);
  EXPECT_THAT(c.argv, ElementsAre("  \t "));
}

TEST(PrepareCommand, RealFilesystemOverload) {
  const std::string dir = ::testing::TempDir() + "lc cmd " + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/run me";
  std::ofstream(file) << "#!/bin/sh\n";
  EXPECT_THAT(prepare_command({file}).argv, ElementsAre(file));
  EXPECT_TRUE(prepare_command({dir + "/absent x"}).was_split);
  std::filesystem::remove_all(dir);
}

// --- §3.1 environment --------------------------------------------------------------------------

std::vector<std::string> defaults() {
  return {"DD_INSTRUMENTATION_TELEMETRY_ENABLED=false", "DD_REMOTE_CONFIGURATION_ENABLED=false",
          "DD_APM_ENABLED=true", "DD_TRACE_ENABLED=true"};
}

TEST(ChildEnvironment, ParentThenDefaultsWhenNoTracer) {
  const auto env = child_environment({{"HOME", "/root"}, {"PATH", "/bin"}}, none());
  std::vector<std::string> want = {"HOME=/root", "PATH=/bin"};
  for (auto& d : defaults()) want.push_back(d);
  EXPECT_EQ(env, want);
}

TEST(ChildEnvironment, DefaultsNeverOverrideUserValuesEvenEmptyOnes) {
  const auto env = child_environment({{"DD_TRACE_ENABLED", "false"},
                                      {"DD_APM_ENABLED", ""},
                                      {"DD_REMOTE_CONFIGURATION_ENABLED", "true"},
                                      {"DD_INSTRUMENTATION_TELEMETRY_ENABLED", "true"}},
                                     none());
  EXPECT_THAT(env, ElementsAre("DD_TRACE_ENABLED=false",
                               "DD_APM_ENABLED=", "DD_REMOTE_CONFIGURATION_ENABLED=true",
                               "DD_INSTRUMENTATION_TELEMETRY_ENABLED=true"));
}

// The variables a tracer row touches, as NAME=value, after the parent's.
std::vector<std::string> tracer_vars(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (const auto& v : env) {
    if (v.rfind("DD_INSTRUMENTATION_", 0) == 0 || v.rfind("DD_REMOTE_", 0) == 0 ||
        v.rfind("DD_APM_", 0) == 0 || v.rfind("DD_TRACE_", 0) == 0) {
      continue;
    }
    out.push_back(v);
  }
  return out;
}

TEST(ChildEnvironment, NodeTracerSetsPathAndOptions) {
  const auto env = child_environment({}, only({"/dd_tracer/node/"}));
  EXPECT_THAT(tracer_vars(env),
              ElementsAre("NODE_PATH=/dd_tracer/node/:/dd_tracer/node/node_modules",
                          "NODE_OPTIONS=--require dd-trace/init"));
}

TEST(ChildEnvironment, NodeTracerExtendsExistingValuesInPlace) {
  const auto env = child_environment(
      {{"NODE_OPTIONS", "--max-old-space-size=512"}, {"X", "1"}, {"NODE_PATH", "/app/lib"}},
      only({"/dd_tracer/node/"}));
  EXPECT_THAT(tracer_vars(env),
              ElementsAre("NODE_OPTIONS=--max-old-space-size=512 --require dd-trace/init", "X=1",
                          "NODE_PATH=/app/lib:/dd_tracer/node/:/dd_tracer/node/node_modules"));
}

TEST(ChildEnvironment, EmptyExistingValueGetsNoLeadingSeparator) {
  const auto env = child_environment({{"NODE_OPTIONS", ""}}, only({"/dd_tracer/node/"}));
  EXPECT_THAT(tracer_vars(env),
              ElementsAre("NODE_OPTIONS=--require dd-trace/init",
                          "NODE_PATH=/dd_tracer/node/:/dd_tracer/node/node_modules"));
}

TEST(ChildEnvironment, JavaTracerAppendsToJavaToolOptions) {
  EXPECT_THAT(tracer_vars(child_environment({}, only({"/dd_tracer/java/"}))),
              ElementsAre("JAVA_TOOL_OPTIONS=-javaagent:/dd_tracer/java/dd-java-agent.jar"));
  EXPECT_THAT(
      tracer_vars(child_environment({{"JAVA_TOOL_OPTIONS", "-Xmx1g"}}, only({"/dd_tracer/java/"}))),
      ElementsAre("JAVA_TOOL_OPTIONS=-Xmx1g -javaagent:/dd_tracer/java/dd-java-agent.jar"));
}

TEST(ChildEnvironment, DotnetTracerWritesOnlyUnsetVariables) {
  EXPECT_THAT(
      tracer_vars(child_environment({}, only({"/dd_tracer/dotnet/"}))),
      ElementsAre("CORECLR_ENABLE_PROFILING=1",
                  "CORECLR_PROFILER={846F5F1C-F9AE-4B07-969E-05C26BC060D8}",
                  "CORECLR_PROFILER_PATH=/dd_tracer/dotnet/Datadog.Trace.ClrProfiler.Native.so",
                  "DD_DOTNET_TRACER_HOME=/dd_tracer/dotnet/"));
  EXPECT_THAT(tracer_vars(child_environment(
                  {{"CORECLR_ENABLE_PROFILING", "0"}, {"CORECLR_PROFILER_PATH", "/mine.so"}},
                  only({"/dd_tracer/dotnet/"}))),
              ElementsAre("CORECLR_ENABLE_PROFILING=0", "CORECLR_PROFILER_PATH=/mine.so",
                          "CORECLR_PROFILER={846F5F1C-F9AE-4B07-969E-05C26BC060D8}",
                          "DD_DOTNET_TRACER_HOME=/dd_tracer/dotnet/"));
}

TEST(ChildEnvironment, PythonTracerIsPrependedToPythonPath) {
  EXPECT_THAT(tracer_vars(child_environment({}, only({"/dd_tracer/python/"}))),
              ElementsAre("PYTHONPATH=/dd_tracer/python/"));
  EXPECT_THAT(
      tracer_vars(child_environment({{"PYTHONPATH", "/app"}}, only({"/dd_tracer/python/"}))),
      ElementsAre("PYTHONPATH=/dd_tracer/python/:/app"));
}

TEST(ChildEnvironment, OnlyTheFirstExistingTracerIsUsed) {
  const std::set<std::string> all = {"/dd_tracer/node/", "/dd_tracer/java/", "/dd_tracer/dotnet/",
                                     "/dd_tracer/python/"};
  EXPECT_THAT(tracer_vars(child_environment({}, only(all))),
              ElementsAre("NODE_PATH=/dd_tracer/node/:/dd_tracer/node/node_modules",
                          "NODE_OPTIONS=--require dd-trace/init"));
  EXPECT_THAT(tracer_vars(child_environment(
                  {}, only({"/dd_tracer/java/", "/dd_tracer/dotnet/", "/dd_tracer/python/"}))),
              ElementsAre("JAVA_TOOL_OPTIONS=-javaagent:/dd_tracer/java/dd-java-agent.jar"));
  EXPECT_THAT(
      tracer_vars(child_environment({}, only({"/dd_tracer/dotnet/", "/dd_tracer/python/"}))),
      ::testing::Contains("DD_DOTNET_TRACER_HOME=/dd_tracer/dotnet/"));
  EXPECT_THAT(
      tracer_vars(child_environment({}, only({"/dd_tracer/dotnet/", "/dd_tracer/python/"}))),
      ::testing::Not(::testing::Contains("PYTHONPATH=/dd_tracer/python/")));
}

TEST(ChildEnvironment, FromTheEnvironmentSeamAsFromItsPairs) {
  // The wrapper reads its environment through the seam, without a copy; the result is the same.
  const MapEnvironment parent(std::map<std::string, std::string>{
      {"DD_TRACE_ENABLED", "false"}, {"HOME", "/root"}, {"NODE_OPTIONS", "--x"}});
  EXPECT_EQ(child_environment(parent), child_environment(parent.all()));
  EXPECT_THAT(child_environment(parent), ::testing::Contains("DD_TRACE_ENABLED=false"));
}

TEST(ChildEnvironment, OnlyTheFirstOfTwoEntriesOfANameIsExtended) {
  const auto env =
      child_environment({{"NODE_OPTIONS", "a"}, {"NODE_OPTIONS", "b"}}, only({"/dd_tracer/node/"}));
  EXPECT_THAT(tracer_vars(env),
              ElementsAre("NODE_OPTIONS=a --require dd-trace/init", "NODE_OPTIONS=b",
                          "NODE_PATH=/dd_tracer/node/:/dd_tracer/node/node_modules"));
}

TEST(ChildEnvironment, DefaultsStillAddedWithATracer) {
  const auto env = child_environment({}, only({"/dd_tracer/java/"}));
  for (const auto& d : defaults()) EXPECT_THAT(env, ::testing::Contains(d));
}

// --- §3.4 exit status --------------------------------------------------------------------------

int wait_status_of(void (*body)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(99);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(ExitStatusOf, ExitCodeAndSignals) {
  EXPECT_EQ(exit_status_of(wait_status_of([] { ::_exit(0); })), 0);
  EXPECT_EQ(exit_status_of(wait_status_of([] { ::_exit(3); })), 3);
  EXPECT_EQ(exit_status_of(wait_status_of([] { ::_exit(255); })), 255);
  EXPECT_EQ(exit_status_of(wait_status_of([] {
              ::signal(SIGTERM, SIG_DFL);
              sigset_t term;
              sigemptyset(&term);
              sigaddset(&term, SIGTERM);
              ::sigprocmask(SIG_UNBLOCK, &term, nullptr);
              ::kill(::getpid(), SIGTERM);
            })),
            143);
  EXPECT_EQ(exit_status_of(wait_status_of([] { ::kill(::getpid(), SIGKILL); })), 137);
}

}  // namespace
}  // namespace lc::init
