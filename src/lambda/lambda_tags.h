// lambda/lambda_tags.h — the Lambda base tags of lambda-agent.md §3.5 (region, account, function
// name and ARN, memory, architecture, runtime, init type, extension version) in the TagSets every
// encoder reads at flush. Built by the extension composition root right after the pipeline; told
// the late facts on the loop thread: the register reply's account, the first INVOKE's ARN when
// the reply had none, and "the first /next returned" (the runtime scan). Owns no tags itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common_config.h"
#include "core/lambda_config.h"
#include "core/proc_reader.h"
#include "core/tag_sets.h"

namespace lc::lambda {

// §3.5: kept for backend parity (bottlecap's value).
inline constexpr std::string_view kDdExtensionVersion = "99-next";

struct LambdaTag {
  std::string key, value;
};

// The tags the environment and uname give at start, in the order they are set: region,
// functionname (lower-cased), resource (name[:version] unless $LATEST), executedversion (only
// when not $LATEST), memorysize, architecture, init_type, dd_extension_version, lastcall_version.
// An unset variable gives no tag. `machine` is uname's (aarch64 → arm64).
std::vector<LambdaTag> environment_lambda_tags(const LambdaConfig& lambda,
                                               std::string_view machine);

// uname().machine as the architecture tag and the cost table name it: aarch64/arm64 → arm64,
// x86_64/amd64 → x86_64, anything else as given.
std::string normalize_architecture(std::string_view machine);

// arn:<partition>:lambda:<region>:<account>:function:<name>, lower-cased (§1.2 step 4). The
// partition follows the region (cn-* → aws-cn, us-gov-* → aws-us-gov, else aws).
std::string build_function_arn(std::string_view region, std::string_view account,
                               std::string_view function_name);

// The account (5th field) of an ARN such as an INVOKE's invokedFunctionArn; empty when it is not
// an ARN with a 12-digit account.
std::string account_from_arn(std::string_view arn);

// `<x>` of an AWS_EXECUTION_ENV=AWS_Lambda_<x> entry in a NUL-separated environ; empty if none.
std::string runtime_from_environ(std::string_view environ);
// provided.al2 / provided.al2023 from /etc/os-release text; empty for anything else.
std::string runtime_from_os_release(std::string_view os_release);

class LambdaTags {
 public:
  // proc: rooted at /proc; etc: a reader rooted at /etc (only "os-release" is read), a second
  // SystemProcReader in production. own_pid: skipped by the runtime scan, like PID 1.
  // Sets every environment tag at once (no /proc read here: uname only).
  LambdaTags(const LambdaConfig& lambda, const ProcReader& proc, const ProcReader& etc,
             TagSets& tags, int own_pid);

  // The register reply's accountId (§1.2 step 4). Empty: the ARN-derived tags wait for the first
  // INVOKE's ARN, and one warning says so.
  void set_account(std::string_view account_id);
  // An invokedFunctionArn (first INVOKE; in LMI the functionArn of platform.initStart/start):
  // gives the account when the register reply had none. Cheap no-op once the account is known.
  void note_function_arn(std::string_view arn);
  // After the first /next returned: scans /proc/<pid>/environ of the PIDs other than 1 and our
  // own for AWS_EXECUTION_ENV, else reads /etc/os-release. Once per process; later calls return.
  // Points already aggregated carry the tag too: encoders read the TagSets at flush.
  void resolve_runtime();

  const std::string& account() const { return account_; }
  // Empty until resolve_runtime() ran, and when nothing was found.
  const std::string& runtime() const { return runtime_; }
  bool runtime_resolved() const { return runtime_resolved_; }

 private:
  void apply_account(const std::string& account);
  std::string scan_runtime() const;

  LambdaConfig lambda_;
  const ProcReader& proc_;
  const ProcReader& etc_;
  TagSets& tags_;
  int own_pid_;
  std::string account_;
  std::string runtime_;
  bool runtime_resolved_ = false;
  bool warned_no_account_ = false;
};

// What --check-config shows in extension mode: the base tags from the environment (the tag sets
// built from `common` and `lambda`, plus environment_lambda_tags), the custom-metrics exclusions,
// and the tags resolved at run time (account_id/aws_account, function_arn, runtime).
std::string render_lambda_tags_for_check_config(const CommonConfig& common,
                                                const LambdaConfig& lambda,
                                                std::string_view machine);

}  // namespace lc::lambda
