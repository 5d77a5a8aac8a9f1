#include "lambda/lambda_tags.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/logger.h"
#include "core/strings.h"
#include "core/version.h"

namespace lc::lambda {
namespace {

constexpr std::string_view kLatest = "$LATEST";
constexpr std::string_view kExecutionEnvPrefix = "AWS_EXECUTION_ENV=AWS_Lambda_";
// An environ larger than this is not a Lambda runtime's (they hold a few KiB).
constexpr std::size_t kMaxEnvironBytes = 256 * 1024;

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

}  // namespace

std::string normalize_architecture(std::string_view machine) {
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine == "x86_64" || machine == "amd64") return "x86_64";
  return std::string(machine);
}

std::vector<LambdaTag> environment_lambda_tags(const LambdaConfig& lambda,
                                               std::string_view machine) {
  std::vector<LambdaTag> out;
  if (!lambda.region.empty()) out.push_back({"region", lambda.region});
  if (!lambda.function_name.empty()) {
    out.push_back({"functionname", to_lower(lambda.function_name)});
    const bool versioned = !lambda.function_version.empty() && lambda.function_version != kLatest;
    out.push_back({"resource", versioned ? lambda.function_name + ":" + lambda.function_version
                                         : lambda.function_name});
  }
  if (!lambda.function_version.empty() && lambda.function_version != kLatest) {
    out.push_back({"executedversion", lambda.function_version});
  }
  if (lambda.memory_size_mb > 0)
    out.push_back({"memorysize", std::to_string(lambda.memory_size_mb)});
  if (!machine.empty()) out.push_back({"architecture", normalize_architecture(machine)});
  if (!lambda.initialization_type.empty()) out.push_back({"init_type", lambda.initialization_type});
  out.push_back({"dd_extension_version", std::string(kDdExtensionVersion)});
  out.push_back({"lastcall_version", kVersion});
  return out;
}

std::string build_function_arn(std::string_view region, std::string_view account,
                               std::string_view function_name) {
  std::string_view partition = "aws";
  if (starts_with(region, "cn-")) partition = "aws-cn";
  if (starts_with(region, "us-gov-")) partition = "aws-us-gov";
  return to_lower(
      fmt::format("arn:{}:lambda:{}:{}:function:{}", partition, region, account, function_name));
}

std::string account_from_arn(std::string_view arn) {
  // arn:partition:service:region:account:resource...
  std::string_view rest = trim(arn);
  if (!starts_with(rest, "arn:")) return {};
  for (int field = 0; field < 4; ++field) {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
  const std::string_view account = rest.substr(0, rest.find(':'));
  if (account.size() != 12 || rest.size() == account.size()) return {};
  if (!std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {};
  }
  return std::string(account);
}

std::string runtime_from_environ(std::string_view environ) {
  while (!environ.empty()) {
    const std::size_t nul = environ.find('\0');
    const std::string_view entry = environ.substr(0, nul);
    if (starts_with(entry, kExecutionEnvPrefix)) {
      std::string value = unquote(entry.substr(kExecutionEnvPrefix.size()));
      if (!value.empty()) return value;
    }
    if (nul == std::string_view::npos) break;
    environ.remove_prefix(nul + 1);
  }
  return {};
}

std::string runtime_from_os_release(std::string_view os_release) {
  std::string id, version_id, pretty;
  for (const auto line : split_any(os_release, "\n")) {
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, eq));
    const std::string value = unquote(line.substr(eq + 1));
    if (key == "ID") id = value;
    if (key == "VERSION_ID") version_id = value;
    if (key == "PRETTY_NAME") pretty = value;
  }
  // Amazon Linux 2 and 2023 are the bases of the provided.* runtimes (lambda-agent.md §3.5).
  if (id == "amzn" || starts_with(pretty, "Amazon Linux")) {
    if (version_id == "2" || pretty == "Amazon Linux 2") return "provided.al2";
    if (starts_with(version_id, "2023") || starts_with(pretty, "Amazon Linux 2023")) {
      return "provided.al2023";
    }
  }
  return {};
}

LambdaTags::LambdaTags(const LambdaConfig& lambda, const ProcReader& proc, const ProcReader& etc,
                       TagSets& tags, int own_pid)
    : lambda_(lambda), proc_(proc), etc_(etc), tags_(tags), own_pid_(own_pid) {
  std::string machine;
  if (auto u = proc_.uname()) {
    machine = u->machine;
  } else {
    LC_DEBUG("tags: uname failed ({}); no architecture tag", u.error().message);
  }
  for (const auto& t : environment_lambda_tags(lambda_, machine)) tags_.set(t.key, t.value);
}

void LambdaTags::set_account(std::string_view account_id) {
  const std::string account(trim(account_id));
  if (!account.empty()) {
    apply_account(account);
    return;
  }
  if (!account_.empty() || warned_no_account_) return;
  warned_no_account_ = true;
  LC_WARN(
      "the register reply carries no accountId: account_id, aws_account and function_arn are "
      "omitted until the first invocation's function ARN gives the account");
}

void LambdaTags::note_function_arn(std::string_view arn) {
  if (!account_.empty()) return;
  const std::string account = account_from_arn(arn);
  if (account.empty()) return;
  LC_DEBUG("tags: account {} taken from the function ARN", account);
  apply_account(account);
}

void LambdaTags::apply_account(const std::string& account) {
  if (account == account_) return;
  account_ = account;
  // lambda-agent.md §3.5: both keys carry the same value; §1.2 step 4 builds the ARN.
  tags_.set("account_id", account_);
  tags_.set("aws_account", account_);
  if (!lambda_.region.empty() && !lambda_.function_name.empty()) {
    tags_.set("function_arn", build_function_arn(lambda_.region, account_, lambda_.function_name));
  }
}

void LambdaTags::resolve_runtime() {
  if (runtime_resolved_) return;
  runtime_resolved_ = true;
  runtime_ = scan_runtime();
  if (runtime_.empty()) {
    LC_DEBUG(
        "tags: runtime not found (no AWS_EXECUTION_ENV in /proc, /etc/os-release not Amazon "
        "Linux 2/2023); no runtime tag");
    return;
  }
  tags_.set("runtime", runtime_);
}

std::string LambdaTags::scan_runtime() const {
  if (auto pids = proc_.list_pids()) {
    for (const int pid : *pids) {
      if (pid == 1 || pid == own_pid_) continue;
      // A process that ended or is not ours to read is skipped.
      auto environ = proc_.read_file(fmt::format("{}/environ", pid), kMaxEnvironBytes);
      if (!environ) continue;
      std::string runtime = runtime_from_environ(*environ);
      if (!runtime.empty()) {
        LC_DEBUG("tags: runtime {} from the environment of PID {}", runtime, pid);
        return runtime;
      }
    }
  } else {
    LC_DEBUG("tags: cannot list processes: {}", pids.error().message);
  }
  auto os_release = etc_.read_file("os-release");
  if (!os_release) {
    LC_DEBUG("tags: /etc/os-release: {}", os_release.error().message);
    return {};
  }
  return runtime_from_os_release(*os_release);
}

std::string render_lambda_tags_for_check_config(const CommonConfig& common,
                                                const LambdaConfig& lambda,
                                                std::string_view machine) {
  TagSets sets(common, lambda);
  for (const auto& t : environment_lambda_tags(lambda, machine)) sets.set(t.key, t.value);
  std::string out = "lambda tags (every point, log and span; lambda-agent.md §3.5):";
  for (const auto& t : sets.tags(TagSetId::kBase)) out += " " + t;
  out += "\n";
  out +=
      "lambda tags resolved at run time: account_id, aws_account (the register reply's "
      "accountId, else the first invocation's function ARN); function_arn (";
  out += lambda.region.empty() || lambda.function_name.empty()
             ? std::string("not built: AWS_REGION or AWS_LAMBDA_FUNCTION_NAME is unset")
             : build_function_arn(lambda.region, "<account_id>", lambda.function_name);
  out += "); runtime (AWS_EXECUTION_ENV of the runtime process, else /etc/os-release)\n";
  if (!lambda.custom_metrics_exclude_tags.empty()) {
    std::string keys;
    for (const auto& k : lambda.custom_metrics_exclude_tags) keys += (keys.empty() ? "" : ",") + k;
    out += "custom metrics drop the keys " + keys + " (DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS)\n";
  }
  return out;
}

}  // namespace lc::lambda
