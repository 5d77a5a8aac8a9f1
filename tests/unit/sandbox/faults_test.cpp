// Fault knobs (§7.6): parsing, partial updates, rejection of unknown knobs and bad values.
#include "tools/sandbox/faults.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace lc::sandbox {
namespace {

TEST(Faults, ParsesEveryKnob) {
  auto f = apply_faults(Faults{}, R"({
    "late_report":"after_next_invoke", "shutdown_reason_case":"upper", "deadline_ms":"relative",
    "drop_batches":"every_n:3", "listener_errors":"503:2", "rie_lmi_delivery":true,
    "record_format":"json_java", "text_prefix":"managed", "omit_optional":["phase","spans"],
    "unknown_types":true, "replay_init":"off", "batch_bytes":"2x", "suppressed_init":true,
    "init_timeout_ms":500, "function_timeout_ms":700, "oom":"python", "extension_crash":true,
    "no_shutdown_registration":true, "subscribe_response":404, "delivery_delay_ms":200})");
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->late_report, LateReport::kAfterNextInvoke);
  EXPECT_TRUE(f->shutdown_reason_upper);
  EXPECT_TRUE(f->deadline_relative);
  EXPECT_EQ(f->drop_every_n, 3);
  EXPECT_EQ(f->listener_error_status, 503);
  EXPECT_EQ(f->listener_error_count, 2);
  EXPECT_TRUE(f->rie_lmi_delivery);
  EXPECT_EQ(f->record_format, "json_java");
  EXPECT_EQ(f->text_prefix, "managed");
  EXPECT_TRUE(f->omits("phase"));
  EXPECT_TRUE(f->omits("spans"));
  EXPECT_FALSE(f->omits("metrics"));
  EXPECT_TRUE(f->unknown_types);
  EXPECT_FALSE(f->replay_init);
  EXPECT_TRUE(f->batch_bytes_2x);
  EXPECT_TRUE(f->suppressed_init);
  EXPECT_EQ(f->init_timeout_ms, 500);
  EXPECT_EQ(f->function_timeout_ms, 700);
  EXPECT_EQ(f->oom, "python");
  EXPECT_EQ(f->subscribe_response, 404);
  EXPECT_EQ(f->delivery_delay_ms, 200);

  const auto d = describe_faults(*f);
  EXPECT_EQ(d.at("late_report").as_string(), "after_next_invoke");
  EXPECT_EQ(d.at("listener_errors").as_string(), "503:2");
  EXPECT_EQ(d.at("drop_batches").as_string(), "every_n:3");
}

TEST(Faults, APutChangesOnlyTheKnobsItNames) {
  Faults base;
  base.delivery_delay_ms = 50;
  auto f = apply_faults(base, R"({"late_report":"at_shutdown"})");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->late_report, LateReport::kAtShutdown);
  EXPECT_EQ(f->delivery_delay_ms, 50);
  auto reset = apply_faults(*f, R"({"listener_errors":"reset:1","drop_batches":0.5})");
  ASSERT_TRUE(reset.has_value());
  EXPECT_TRUE(reset->listener_error_reset);
  EXPECT_EQ(reset->listener_error_count, 1);
  EXPECT_DOUBLE_EQ(reset->drop_probability, 0.5);
}

TEST(Faults, RejectsUnknownKnobsAndBadValues) {
  const char* bad[] = {"",
                       "[]",
                       "nope",
                       R"({"no_such_knob":1})",
                       R"({"late_report":"sometimes"})",
                       R"({"drop_batches":1.5})",
                       R"({"drop_batches":"every_n:0"})",
                       R"({"listener_errors":"503"})",
                       R"({"listener_errors":"200:1"})",
                       R"({"listener_errors":"503:x"})",
                       R"({"record_format":"xml"})",
                       R"({"omit_optional":["requestId"]})",
                       R"({"oom":"cobol"})",
                       R"({"subscribe_response":201})",
                       R"({"delivery_delay_ms":-1})",
                       R"({"function_timeout_ms":0})",
                       R"({"unknown_types":"maybe"})"};
  for (const char* body : bad) {
    EXPECT_FALSE(apply_faults(Faults{}, body).has_value()) << body;
  }
}

TEST(Faults, OomFlavours) {
  for (const char* f :
       {"node", "node_sigkill", "python", "java", "go", "ruby", "dotnet", "memory_only"}) {
    EXPECT_TRUE(is_oom_flavour(f)) << f;
  }
  EXPECT_FALSE(is_oom_flavour("perl"));
}

}  // namespace
}  // namespace lc::sandbox
