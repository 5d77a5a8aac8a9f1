#include "tools/sandbox/options.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace lc::sandbox {
namespace {

Error bad(std::string msg) { return make_error(ErrorCode::kInvalidArgument, std::move(msg)); }

Expected<int> int_arg(std::string_view flag, std::string_view v, int lo, int hi) {
  const auto n = parse_int(v);
  if (!n || *n < lo || *n > hi) {
    return bad(fmt::format("{} needs an integer in [{}, {}], got '{}'", flag, lo, hi, v));
  }
  return static_cast<int>(*n);
}

}  // namespace

std::string usage() {
  return R"(usage: lastcall-sandbox [run] [options] --runtime CMD [ARGS...]
       lastcall-sandbox fake-runtime [--init-sleep-ms N] [--init-error TYPE]
       lastcall-sandbox fake-extension [--name NAME]

Emulates an AWS Lambda execution environment: Runtime, Extensions and Telemetry APIs, freeze,
shutdown budget, LMI mode and fault knobs. Prints {"api_port":N,"control_port":M} on stdout.

options:
  --extensions-dir DIR        launch every executable in DIR as an external extension
  --runtime CMD [ARGS...]     the runtime command (takes the rest of the command line)
  --api-port N | --port N     Runtime/Extensions/Telemetry API port (default 0 = ephemeral)
  --control-port N            control interface port (default 0)
  --no-freeze | --freeze on|off   freeze processes between invocations (default on)
  --freeze-dwell-ms N         minimum time a freeze lasts
  --mode ondemand|lmi|rie-classic
  --concurrency N             runtime workers in LMI mode
  --function-timeout-ms N | --timeout-ms N   (default 3000)
  --init-timeout-ms N         (default 10000)
  --shutdown-budget-ms N      (default 2000)
  --memory-mb N               (default 128)
  --function-name NAME        (default sandbox-fn)
  --region REGION             (default us-east-1)
  --faults JSON               initial fault knobs, as PUT /faults
  --env K=V                   variable for extensions and runtime (repeatable)
  --timeline-file PATH        also append every timeline entry to PATH
  --verbose                   also print every timeline entry on stderr

control interface (on the control port):
  POST /invoke (also /2015-03-31/functions/function/invocations)   POST /shutdown?reason=R
  GET /wait?event=E&count=N&timeout_ms=T[&field=value]   GET /timeline   PUT /faults   GET /faults
)";
}

Expected<SandboxOptions> parse_options(const std::vector<std::string>& args) {
  SandboxOptions o;
  std::size_t i = 0;
  if (!args.empty() && args[0] == "run") i = 1;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string_view flag) -> Expected<std::string> {
      if (i + 1 >= args.size()) return bad(fmt::format("{} needs a value", flag));
      return args[++i];
    };
#define LC_VALUE(flag)  \
  auto v = value(flag); \
  if (!v) return std::move(v).error();
#define LC_INT(field, flag, lo, hi)      \
  {                                      \
    LC_VALUE(flag);                      \
    auto n = int_arg(flag, *v, lo, hi);  \
    if (!n) return std::move(n).error(); \
    (field) = *n;                        \
  }
    if (a == "--runtime") {
      o.runtime_cmd.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      if (o.runtime_cmd.empty()) return bad("--runtime needs a command");
      break;
    } else if (a == "--extensions-dir") {
      LC_VALUE(a);
      o.extensions_dir = *v;
    } else if (a == "--api-port" || a == "--port") {
      int p = 0;
      LC_INT(p, a, 0, 65535);
      o.api_port = static_cast<std::uint16_t>(p);
    } else if (a == "--control-port") {
      int p = 0;
      LC_INT(p, a, 0, 65535);
      o.control_port = static_cast<std::uint16_t>(p);
    } else if (a == "--host") {
      LC_VALUE(a);
      o.host = *v;
    } else if (a == "--no-freeze") {
      o.freeze = false;
    } else if (a == "--freeze") {
      LC_VALUE(a);
      const auto b = parse_bool(*v);
      if (!b) return bad("--freeze needs on or off");
      o.freeze = *b;
    } else if (a == "--freeze-dwell-ms") {
      LC_INT(o.freeze_dwell_ms, a, 0, 3600000);
    } else if (a == "--mode") {
      LC_VALUE(a);
      if (*v == "ondemand" || *v == "on-demand")
        o.mode = SandboxMode::kOnDemand;
      else if (*v == "lmi")
        o.mode = SandboxMode::kLmi;
      else if (*v == "rie-classic")
        o.mode = SandboxMode::kRieClassic;
      else
        return bad("--mode needs ondemand, lmi or rie-classic");
    } else if (a == "--concurrency") {
      LC_INT(o.concurrency, a, 1, 64);
    } else if (a == "--function-timeout-ms" || a == "--timeout-ms") {
      LC_INT(o.function_timeout_ms, a, 1, 900000);
    } else if (a == "--init-timeout-ms") {
      LC_INT(o.init_timeout_ms, a, 1, 900000);
    } else if (a == "--shutdown-budget-ms") {
      LC_INT(o.shutdown_budget_ms, a, 0, 600000);
    } else if (a == "--runtime-share-ms") {
      LC_INT(o.runtime_share_ms, a, 0, 600000);
    } else if (a == "--memory-mb") {
      LC_INT(o.memory_mb, a, 128, 10240);
    } else if (a == "--function-name") {
      LC_VALUE(a);
      if (v->empty()) return bad("--function-name must not be empty");
      o.function_name = *v;
    } else if (a == "--region") {
      LC_VALUE(a);
      o.region = *v;
    } else if (a == "--faults") {
      LC_VALUE(a);
      auto f = apply_faults(o.faults, *v);
      if (!f) return std::move(f).error();
      o.faults = std::move(*f);
    } else if (a == "--env") {
      LC_VALUE(a);
      const auto eq = v->find('=');
      if (eq == std::string::npos || eq == 0) return bad("--env needs K=V");
      o.env.emplace_back(v->substr(0, eq), v->substr(eq + 1));
    } else if (a == "--timeline-file") {
      LC_VALUE(a);
      o.timeline_file = *v;
    } else if (a == "--verbose") {
      o.echo_timeline = true;
    } else {
      return bad(fmt::format("unknown option '{}'", a));
    }
#undef LC_VALUE
#undef LC_INT
  }
  if (o.runtime_cmd.empty()) return bad("--runtime CMD is required");
  if (o.mode == SandboxMode::kLmi && o.runtime_share_ms == 300) o.runtime_share_ms = 600;
  if (o.mode != SandboxMode::kLmi) o.concurrency = 1;
  return o;
}

}  // namespace lc::sandbox
