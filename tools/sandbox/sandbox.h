// tools/sandbox/sandbox.h — the emulated Lambda execution environment (lambda-platform.md §7): the
// Runtime, Extensions and Telemetry APIs on one port, the control interface on another, the
// lifecycle (init, invoke, freeze/thaw, shutdown budget, reset, LMI) and the timeline.
// Created by lastcall-sandbox's main(); owns its servers, children, telemetry hub and timeline.
// Everything runs on the one EventLoop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/expected.h"
#include "core/self_metrics.h"
#include "net/http_server.h"
#include "tools/sandbox/delivery_client.h"
#include "tools/sandbox/faults.h"
#include "tools/sandbox/options.h"
#include "tools/sandbox/process_supervisor.h"
#include "tools/sandbox/telemetry_hub.h"
#include "tools/sandbox/timeline.h"

namespace lc::sandbox {

class Sandbox {
 public:
  static Expected<std::unique_ptr<Sandbox>> create(EventLoop& loop, SandboxOptions options);
  // Time and timers from `clock`/`timers` (a FakeClock running its timers on loop.io() in tests);
  // both must outlive the sandbox.
  static Expected<std::unique_ptr<Sandbox>> create(EventLoop& loop, const Clock& clock,
                                                   TimerService& timers, SandboxOptions options);
  ~Sandbox();

  std::uint16_t api_port() const { return api_->port(); }
  std::uint16_t control_port() const { return control_->port(); }

  // Starts serving and runs the first init.
  void start();
  // Kills every child and stops the servers (sandbox exit).
  void stop();

  Timeline& timeline() { return timeline_; }

 private:
  using ResponderPtr = std::shared_ptr<net::Responder>;
  enum class Phase { kIdle, kInit, kReady, kShutdown };

  struct Proc {
    pid_t pid = 0;
    std::string name;
    bool runtime = false;
    bool exited = false;
    ExitStatus status;
    bool sigkilled = false;
    double exited_at_ms = 0;
  };
  struct Extension {
    std::string name;
    std::string id;
    bool invoke = false;
    bool shutdown = false;
    bool internal = false;
    bool errored = false;
    bool gone = false;
    pid_t pid = 0;
    ResponderPtr parked;
    std::deque<std::string> events;  // bodies waiting for the next `next`
  };
  struct PendingInvoke {
    std::string payload;
    std::string request_id;
    std::string trace;
    std::optional<std::int64_t> deadline_ms;
    ResponderPtr caller;
  };
  struct Invocation {
    std::string id;
    std::string payload;
    std::string trace;
    std::string span_id;
    std::int64_t deadline_ms = 0;
    std::int64_t start_wall_ms = 0;
    SteadyTime start;
    ResponderPtr caller;
    bool dispatched = false;
    bool responded = false;
    std::string status = "success";
    std::string error_type;
    std::size_t produced_bytes = 0;
    std::int64_t response_wall_ms = 0;
    SteadyTime response_at;
    std::string oom;
    bool oom_from_knob = false;  // the sandbox writes the OOM lines itself (any runtime)
    bool reset_on_end = false;   // an OOM run resets the environment once it ends
    std::set<std::string> extensions_pending;  // ids
    Timer timeout_timer;
    bool cold = false;
    double init_duration_ms = 0;
  };
  struct HeldReport {
    boost::json::object record;
    std::int64_t time_ms = 0;
  };

  Sandbox(EventLoop& loop, const Clock& clock, TimerService& timers, SandboxOptions options);
  Expected<void> init_servers();
  void install_api_routes();
  void install_control_routes();

  // lifecycle
  void start_init(const std::string& phase);
  void launch_extensions();
  void launch_dummy_extensions(const std::vector<std::string>& env);
  void launch_runtime();
  void maybe_finish_init();
  void fail_init(const std::string& status, const std::string& error_type);
  void pump_invokes();
  void begin_invocation(PendingInvoke p);
  void dispatch_to_runtime(Invocation& inv);
  void maybe_end_invocation(const std::string& id);
  void end_invocation(const std::string& id);
  void on_timeout(const std::string& id);
  void answer_caller(Invocation& inv, int status, const std::string& body, bool function_error,
                     const std::string& content_type = "application/json");
  void begin_shutdown(const std::string& reason, ResponderPtr responder);
  void shutdown_runtime_stage();
  void shutdown_extensions_stage();
  void check_shutdown_done();
  void finish_shutdown();
  void on_process_exit(pid_t pid, ExitStatus status);
  void on_line(pid_t pid, bool is_stderr, std::string_view line);
  // The runtime processes' pending output lines, handled now (before a runtimeDone).
  void drain_runtime_output();
  void check_freeze();
  void on_telemetry_progress();
  void thaw_then(std::function<void()> fn);
  void do_thaw();
  void signal_proc(Proc& p, int sig);
  void give_event(Extension& ext, std::string body);

  // API handlers
  void on_register(net::HttpRequest& req, ResponderPtr r);
  void on_extension_next(net::HttpRequest& req, ResponderPtr r);
  void on_extension_error(net::HttpRequest& req, ResponderPtr r, bool init);
  void on_subscribe(net::HttpRequest& req, ResponderPtr r);
  void on_runtime_next(net::HttpRequest& req, ResponderPtr r);
  void on_runtime_invocation(net::HttpRequest& req, ResponderPtr r);
  void on_runtime_init_error(net::HttpRequest& req, ResponderPtr r);
  // A registered, usable extension for the identifier header, or the answer already sent.
  Extension* extension_for(net::HttpRequest& req, ResponderPtr& r, std::string_view call);

  // control handlers
  void on_invoke(net::HttpRequest& req, ResponderPtr r);
  void on_shutdown(net::HttpRequest& req, ResponderPtr r);

  // platform events
  void emit(std::string_view type, boost::json::object record);
  void emit_report(Invocation& inv, SteadyTime end);
  void apply_oom_knob(Invocation& inv);
  boost::json::object tracing_for(const Invocation& inv) const;
  std::string current_request_id() const;
  std::vector<std::string> extension_env() const;
  std::vector<std::string> runtime_env() const;
  std::string shutdown_reason_text(const std::string& reason) const;
  void reject(ResponderPtr& r, int status, std::string_view type, std::string_view message,
              std::string_view call);

  EventLoop& loop_;
  const Clock& clock_;
  TimerService& timers_;
  SandboxOptions opt_;
  Faults& faults_;
  SelfMetrics self_;
  Timeline timeline_;
  std::unique_ptr<DeliveryClient> delivery_;
  std::unique_ptr<TelemetryHub> hub_;
  std::unique_ptr<ProcessSupervisor> procs_sup_;
  std::unique_ptr<net::HttpServer> api_;
  std::unique_ptr<net::HttpServer> control_;
  std::ofstream timeline_file_;

  Phase phase_ = Phase::kIdle;
  std::string init_phase_ = "init";  // "invoke" after a failed init (suppressed init)
  std::string next_init_phase_ = "init";
  std::int64_t init_start_wall_ms_ = 0;
  SteadyTime init_start_;
  Timer init_timer_;
  bool registration_open_ = false;
  bool runtime_launched_ = false;
  bool runtime_init_done_ = false;
  std::optional<double> pending_init_duration_ms_;  // for the first report after init
  std::set<std::string> launched_names_;
  std::map<pid_t, Proc> procs_;
  std::map<std::string, Extension> extensions_;  // by id
  std::deque<ResponderPtr> runtime_parked_;
  std::deque<PendingInvoke> pending_;
  std::map<std::string, Invocation> active_;  // by request id (one at a time on-demand)
  std::vector<HeldReport> held_reports_;
  std::uint64_t peak_rss_kb_ = 0;
  std::uint64_t invoke_counter_ = 0;

  bool frozen_ = false;
  SteadyTime frozen_at_;
  bool thaw_scheduled_ = false;
  Timer thaw_timer_;
  std::vector<std::function<void()>> after_thaw_;

  // shutdown
  std::string shutdown_reason_;
  std::int64_t shutdown_start_wall_ms_ = 0;
  std::int64_t shutdown_deadline_ms_ = 0;
  SteadyTime shutdown_start_;
  bool shutdown_extensions_started_ = false;
  bool shutdown_events_sent_ = false;
  static constexpr int kLmiFlushWaitMs = 500;
  Timer lmi_flush_timer_;
  Timer shutdown_timer_;
  Timer shutdown_guard_timer_;
  std::vector<ResponderPtr> shutdown_waiters_;
};

}  // namespace lc::sandbox
