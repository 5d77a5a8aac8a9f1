// fakeintake/fake_intake_server.h — lastcall-fakeintake's HTTP face: the intake endpoints of
// datadog-wire.md §4 and the query/fault API of §7.1 on an lc::net::HttpServer, with faults
// applied through the Responder (status sequence, delay via an EventLoop timer, hang,
// close mid-response). Created by main.cpp and by tests; runs on the loop thread. Owns the
// server, the Intake and the --record file.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/event_loop.h"
#include "core/expected.h"
#include "core/self_metrics.h"
#include "faults.h"
#include "intake.h"
#include "net/http_server.h"

namespace lc::fakeintake {

struct FakeIntakeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<std::pair<std::string, FaultPlan>> faults;  // from --fault
  std::string record_file;                                // --record; empty = none
  // --idle-timeout-ms: a keep-alive connection that sends no new request within this is closed,
  // the way the real intake and the load balancers in front of it drop idle connections while a
  // Lambda sandbox is frozen (lambda-platform.md §3.3).
  std::chrono::milliseconds idle_timeout{60000};
  IntakeLimits limits;
};

class FakeIntakeServer {
 public:
  static Expected<std::unique_ptr<FakeIntakeServer>> create(EventLoop& loop,
                                                            FakeIntakeOptions options,
                                                            SelfMetrics& self);
  ~FakeIntakeServer();

  void start();
  void stop();  // closes the listener, every connection and every hung request
  std::uint16_t port() const;
  Intake& intake() { return *intake_; }

 private:
  struct RecordFile;
  FakeIntakeServer(EventLoop& loop, SelfMetrics& self);
  void install_routes();
  void on_intake_request(net::HttpRequest& request, std::shared_ptr<net::Responder> responder);
  void answer(std::shared_ptr<net::Responder> responder, net::HttpResponse response, int delay_ms,
              bool close_mid_response);

  EventLoop& loop_;
  SelfMetrics& self_;
  std::unique_ptr<RecordFile> record_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::shared_ptr<net::Responder>> hung_;  // capped; pruned when peers go away
  std::vector<Timer> delayed_;  // answers waiting for their delay; pruned as they fire
};

}  // namespace lc::fakeintake
