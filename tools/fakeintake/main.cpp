// lastcall-fakeintake — a strict fake Datadog intake for tests (datadog-wire.md §7.1).
// argv → FakeIntakeServer on one event loop; prints {"port":N} once bound; SIGTERM/SIGINT exit 0.
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/event_loop.h"
#include "core/logger.h"
#include "core/self_metrics.h"
#include "core/strings.h"
#include "fake_intake_server.h"

namespace {

constexpr std::string_view kUsage =
    "usage: lastcall-fakeintake [--host ADDR] [--port N] [--fault ENDPOINT=503,503,200]...\n"
    "                           [--record FILE] [--idle-timeout-ms N] [--log-level LEVEL]\n"
    "A strict fake Datadog intake: decodes series, sketches, logs, traces and stats, answers\n"
    "403/400/413 like the real intake, records everything, injects faults.\n"
    "Query API: GET /fakeintake/payloads?endpoint=PATH, /fakeintake/metrics?name=NAME,\n"
    "/fakeintake/logs, /fakeintake/traces; DELETE /fakeintake/payloads; POST /fakeintake/faults.\n"
    "--idle-timeout-ms N closes a keep-alive connection idle for N ms (default 60000), like an\n"
    "intake dropping idle connections while a Lambda sandbox is frozen.\n"
    "Prints {\"port\":N} on stdout once listening (port 0 = ephemeral, the default).\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "lastcall-fakeintake: %s\n%.*s", message.c_str(),
               static_cast<int>(kUsage.size()), kUsage.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  lc::Logger::instance().configure("lastcall-fakeintake", 2, lc::LogLevel::kInfo);
  lc::fakeintake::FakeIntakeOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    if (arg == "--port") {
      const char* v = value(arg);
      const auto port = v ? lc::parse_int(v) : std::nullopt;
      if (!port || *port < 0 || *port > 65535) return usage_error("--port wants 0..65535");
      options.port = static_cast<std::uint16_t>(*port);
    } else if (arg == "--host") {
      const char* v = value(arg);
      if (v == nullptr || *v == '\0') return usage_error("--host wants an address");
      options.host = v;
    } else if (arg == "--fault") {
      const char* v = value(arg);
      if (v == nullptr) return usage_error("--fault wants ENDPOINT=STATUS[,STATUS...]");
      auto fault = lc::fakeintake::parse_fault_flag(v);
      if (!fault) return usage_error(fault.error().message);
      options.faults.push_back(std::move(*fault));
    } else if (arg == "--record") {
      const char* v = value(arg);
      if (v == nullptr || *v == '\0') return usage_error("--record wants a file");
      options.record_file = v;
    } else if (arg == "--idle-timeout-ms") {
      const char* v = value(arg);
      const auto ms = v ? lc::parse_int(v) : std::nullopt;
      if (!ms || *ms < 1 || *ms > 3600000) return usage_error("--idle-timeout-ms wants 1..3600000");
      options.idle_timeout = std::chrono::milliseconds(*ms);
    } else if (arg == "--log-level") {
      const char* v = value(arg);
      auto level = v ? lc::parse_log_level(v)
                     : lc::Expected<lc::LogLevel>(
                           lc::make_error(lc::ErrorCode::kInvalidArgument, "missing"));
      if (!level) return usage_error("--log-level wants trace|debug|info|warn|error|off");
      lc::Logger::instance().set_level(*level);
    } else {
      return usage_error("unknown argument '" + std::string(arg) + "'");
    }
  }

  lc::EventLoop loop;
  lc::SelfMetrics self;
  auto server = lc::fakeintake::FakeIntakeServer::create(loop, std::move(options), self);
  if (!server) {
    std::fprintf(stderr, "lastcall-fakeintake: %s\n", server.error().message.c_str());
    return 1;
  }
  boost::asio::signal_set signals(loop.io());
  boost::system::error_code ec;
  signals.add(SIGTERM, ec);
  signals.add(SIGINT, ec);
  signals.async_wait([&](const boost::system::error_code& e, int sig) {
    if (e) return;
    LC_INFO("signal {}: stopping", sig);
    (*server)->stop();
    loop.stop();
  });
  (*server)->start();
  std::printf("{\"port\":%u}\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  LC_INFO("listening on {}", (*server)->port());
  loop.run();
  const std::string summary = self.summary();
  if (!summary.empty()) LC_INFO("{}", summary);
  return 0;
}
