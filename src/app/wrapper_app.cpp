#include "app/wrapper_app.h"

#include <sys/types.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "app/listeners.h"
#include "app/microvm_lifecycle.h"
#include "app/pipeline.h"
#include "app/startup.h"
#include "core/config.h"
#include "core/logger.h"
#include "core/proc_reader.h"
#include "core/self_metrics.h"
#include "core/strings.h"
#include "core/version.h"
#include "init/cloud.h"
#include "init/cloud_metrics.h"
#include "init/command.h"
#include "init/metadata.h"
#include "init/output_capture.h"
#include "init/supervisor.h"
#include "lambda/local_api.h"

namespace lc::app {
namespace {

// serverless-init.md §3.5: after the child exited, its pipes are read until EOF on both, or until
// this long without data when a grandchild keeps one open.
constexpr Millis kPipeQuiet{100};
// Bound on the wait for the child's reap after the SIGKILL at the end of the grace.
constexpr Millis kReapAfterKill{500};

// §1.3: a shell-form ENTRYPOINT runs lastcall under `sh -c`, where `docker stop` signals the shell.
void warn_if_under_shell() {
  if (::getpid() == 1) return;
  const auto comm = SystemProcReader().read_file(std::to_string(::getppid()) + "/comm", 64);
  if (!comm) return;
  const std::string parent(trim(*comm));
  if (parent == "sh" || parent == "bash" || parent == "dash" || parent == "ash") {
    LC_WARN(
        "lastcall runs under a shell ({}) and is not PID 1: SIGTERM from the platform may reach "
        "the shell instead of lastcall; use the exec form of ENTRYPOINT",
        parent);
  }
}

// NAME=value in a child environment, replacing an earlier NAME.
void set_env(std::vector<std::string>& env, std::string_view name, std::string_view value) {
  const std::string entry = std::string(name) + "=" + std::string(value);
  for (auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

class WrapperApp {
 public:
  WrapperApp(const FinalConfig& config, const Environment& env, SteadyTime t0,
             std::int64_t t0_wall_ms)
      : config_(config),
        env_(env),
        clock_(SystemClock::instance()),
        t0_(t0),
        t0_wall_ms_(t0_wall_ms) {}

  ~WrapperApp() {
    // The logger must not write through the capture once it is gone.
    if (capture_) Logger::instance().set_sink({});
  }

  int run(const std::vector<std::string>& command) {
    // Step 2 (serverless-init.md §2): bind every receiver, announce the ports. Only the sockets:
    // the event loop, the servers and the pipeline that read them are built after the spawn, so
    // the child never waits for them; the kernel queues what it sends meanwhile.
    listeners_.self_metrics = &self_;
    BoundReceivers bound = BoundReceivers::bind(
        config_, [this](std::function<void()> task) { loop_->post(std::move(task)); }, self_,
        listeners_);
    listeners_.reserve_local_api(config_);
    lifecycle_ = MicrovmLifecycle::bind(config_, env_, self_, listeners_);
    listeners_.announce();

    // Step 3: the pipes (logs on only, §4.1), then the child.
    if (!spawn(command)) return exit_code_;

    // The rest of the agent, while the child starts.
    loop_ = std::make_unique<EventLoop>();
    listeners_.serve_local_api(*loop_);
    pipeline_ = std::make_unique<Pipeline>(config_, *loop_, clock_, self_);
    pipeline_->adopt_receivers(std::move(bound));
    if (capture_) {
      capture_->start(*pipeline_->logs());
      // lastcall's own lines go through the same stderr writer: never inside a child's line.
      Logger::instance().set_sink(
          [capture = capture_.get()](std::string_view line) { capture->write_own_line(line); });
    }

    // Step 4: signals that arrived during steps 1–3 are delivered now (the mask held them).
    supervisor_ = std::make_unique<init::Supervisor>(*loop_, clock_, self_, child_pid_,
                                                     config_.init.signal_target);
    supervisor_->on_signal([this](int sig) { on_signal(sig); });
    supervisor_->on_child_exit([this](const init::ChildExit& e) { on_child_exit(e); });
    supervisor_->start();

    // Step 5: the loop serves the receivers, the local API and the pipes.
    if (listeners_.local_api) {
      local_api_ = std::make_unique<lambda::LocalApi>(
          *listeners_.local_api, *loop_, self_,
          [this](std::function<void()> done) { forced_flush(std::move(done)); });
    }
    listeners_.start_all();
    pipeline_->start_receivers();
    pipeline_->on_collect([this](const FlushStart& start) { on_collect(start); });
    if (lifecycle_) start_lifecycle();

    // Step 6: the cloud, from the environment at once; its metadata off the critical path.
    start_cloud();
    pipeline_->scheduler().start();
    LC_DEBUG("lastcall {} wrapper: platform={} child pid {} exec'd in {} us; {}; microvm={}",
             kVersion, init::platform_name(identity_.platform), child_pid_, exec_us_,
             pipeline_->describe(), lifecycle_ ? lifecycle_->describe() : std::string("null"));
    warn_if_under_shell();

    loop_->run();
    return exit_code_;
  }

 private:
  bool spawn(const std::vector<std::string>& command) {
    init::PreparedCommand prepared = init::prepare_command(command);
    if (prepared.was_split) {
      LC_INFO("command \"{}\" split into {} arguments", command.front(), prepared.argv.size());
    }
    init::SpawnRequest request;
    request.argv = std::move(prepared.argv);
    request.env = init::child_environment(env_);
    // An ephemeral DogStatsD port (DD_DOGSTATSD_PORT=0) is only known now: the child's client
    // reads the variable, so it gets the port actually bound.
    for (const auto& [name, port] : listeners_.bound) {
      if (name == "dogstatsd" && config_.metrics.dogstatsd_port == 0) {
        set_env(request.env, "DD_DOGSTATSD_PORT", std::to_string(port));
      }
    }
    if (config_.logs.enabled && config_.init.logs_multiline_indent) {
      LC_WARN("LASTCALL_LOGS_MULTILINE=indent is not supported yet: one entry per line");
    }
    if (config_.logs.enabled) {
      init::CaptureOptions o;
      o.line_max_bytes = static_cast<std::size_t>(config_.init.log_line_max_bytes);
      o.buffer_bytes = static_cast<std::size_t>(config_.init.log_buffer_bytes);
      capture_ = std::make_unique<init::OutputCapture>(
          o, [this](std::function<void()> f) { loop_->post(std::move(f)); }, self_, clock_);
      auto fds = capture_->open_pipes();
      if (!fds) {
        // Capture is an extra; the app runs regardless, writing to lastcall's own fds.
        LC_WARN("cannot capture the child's output ({}); logs off", fds.error().message);
        capture_.reset();
      } else {
        request.stdout_fd = fds->first;
        request.stderr_fd = fds->second;
      }
    }
    auto pid = init::spawn_child(request);
    if (!pid) {
      // §1.2: reported before the child "runs"; nothing is flushed (no telemetry exists yet).
      LC_ERROR("{}", pid.error().message);
      exit_code_ = pid.error().exit_code;
      return false;
    }
    child_pid_ = *pid;
    exec_us_ =
        std::chrono::duration_cast<std::chrono::microseconds>(clock_.steady_now() - t0_).count();
    return true;
  }

  // §7: the hooks see the child (built-in /ready, the run signal) and flush like /lambda/flush.
  void start_lifecycle() {
    MicrovmLifecycle::ModeHooks hooks;
    hooks.child_alive = [this] { return child_pid_ > 0 && !child_exit_; };
    // §7.8: the child pid only, never the group (an intermediate sh would die of SIGUSR2).
    hooks.signal_run = [this] {
      if (child_pid_ > 0 && !child_exit_) ::kill(child_pid_, SIGUSR2);
    };
    hooks.flush = [this](Deadline deadline, std::function<void()> done) {
      when_tags_ready([this, deadline, done = std::move(done)]() mutable {
        pipeline_->request_lifecycle(deadline, std::move(done));
      });
    };
    lifecycle_->start(*loop_, *pipeline_, clock_, std::move(hooks));
  }

  // §5: platform and tags from the environment; metadata (Cloud Run) asynchronously. Encoders
  // that need the metadata tags wait for them (at most the fetch's overall deadline): flushes that
  // must include everything wait in when_tags_ready().
  void start_cloud() {
    const init::Platform platform =
        init::detect_platform(config_.init.cloud, MicrovmLifecycle::on_microvm(env_));
    identity_ = init::cloud_identity(platform, config_.init.cloud, config_.microvm.image_arn);
    for (const auto& w : identity_.warnings) LC_WARN("{}", w);
    for (const auto& i : identity_.infos) LC_INFO("{}", i);
    init::apply_tags(identity_.tags, pipeline_->tags());
    if (pipeline_->logs() != nullptr) {
      pipeline_->logs()->set_default_source(identity_.ddsource_default);
    }
    const bool enhanced = config_.metrics.enhanced_metrics;
    cloud_metrics_ =
        std::make_unique<init::CloudMetrics>(identity_, enhanced, pipeline_->enhanced_metrics());
    cgroup_ = std::make_unique<SystemProcReader>("/sys/fs/cgroup");
    cpu_ = std::make_unique<init::CpuCollector>(identity_, enhanced, *cgroup_,
                                                pipeline_->enhanced_metrics(),
                                                std::max(1u, std::thread::hardware_concurrency()));
    // Step 6: the start metric with timestamp t0 (the legacy names wait for the metadata tags).
    cloud_metrics_->emit_start(t0_wall_ms_ / 1000);
    if (!identity_.needs_metadata) {
      tags_ready();
    } else {
      net::HttpClientOptions o;
      o.keep_alive = false;
      o.max_response_body = 4096;
      metadata_http_ = net::make_http_client(loop_->io(), clock_, *loop_, o);
      metadata_ = std::make_unique<init::MetadataFetcher>(init::MetadataOptions::from(config_.init),
                                                          *metadata_http_, clock_, *loop_);
      metadata_->start([this](const init::GcpMetadata& m) {
        const auto tags = init::metadata_tags(identity_.platform, config_.init.cloud, m);
        init::apply_tags(tags, pipeline_->tags());
        cloud_metrics_->add_tags(tags);
        cpu_->add_tags(tags);
        tags_ready();
      });
    }
    if (cpu_->active()) arm_cpu_sampler();
  }

  void tags_ready() {
    tags_ready_ = true;
    auto waiting = std::move(tag_waiters_);
    for (auto& w : waiting) w();
  }

  void when_tags_ready(std::function<void()> f) {
    if (tags_ready_) {
      f();
    } else {
      tag_waiters_.push_back(std::move(f));
    }
  }

  void arm_cpu_sampler() {
    cpu_timer_ = loop_->schedule_after(Millis(config_.init.cpu_sample_ms), [this] {
      cpu_->sample(clock_.steady_now());
      arm_cpu_sampler();
    });
  }

  // Every flush that includes the open bucket holds what the child wrote up to now.
  void on_collect(const FlushStart& start) {
    if (capture_ && start.kind != FlushKind::kPeriodic) capture_->drain_now();
  }

  // /lambda/flush (§6.1): open bucket included, after the metadata tags are known.
  void forced_flush(std::function<void()> done) {
    when_tags_ready(
        [this, done = std::move(done)]() mutable { pipeline_->request_forced(std::move(done)); });
  }

  // §3.2: SIGTERM (the first) starts the shutdown timeline of §3.5; the others were forwarded.
  void on_signal(int sig) {
    if (sig != SIGTERM || term_at_) return;
    term_at_ = clock_.steady_now();
    const Millis grace(config_.init.shutdown_grace_ms);
    LC_INFO("SIGTERM: forwarded to the child; exit within {} ms", grace.count());
    // The early flush: closed buckets, logs (and traces), in parallel with the child's shutdown.
    pipeline_->scheduler().request(FlushKind::kEarly,
                                   Deadline::after(clock_, pipeline_->flush_timeout()));
    const Millis reserve(std::min(config_.init.kill_reserve_ms, config_.init.shutdown_grace_ms));
    final_timer_ = loop_->schedule_after(grace - reserve, [this] {
      if (final_started_) return;
      LC_INFO("the child is still running {} ms after SIGTERM: final flush",
              config_.init.shutdown_grace_ms - config_.init.kill_reserve_ms);
      start_final_flush();
    });
    kill_timer_ = loop_->schedule_after(grace, [this] { end_of_grace(); });
  }

  // §3.5 third row: SIGKILL the group at t_term + G, then exit 137.
  void end_of_grace() {
    if (child_exit_) return;
    LC_WARN("the child did not exit within {} ms of SIGTERM: killing it",
            config_.init.shutdown_grace_ms);
    killed_at_grace_ = true;
    supervisor_->kill_group();
    reap_timer_ = loop_->schedule_after(kReapAfterKill, [this] { maybe_finish(); });
  }

  void on_child_exit(const init::ChildExit& e) {
    child_exit_ = e;
    cloud_metrics_->emit_task_end(e.exit_code, std::chrono::duration_cast<Millis>(e.at - t0_));
    if (final_started_) {
      maybe_finish();
      return;
    }
    // Other members of its group may still hold the pipes: they get SIGTERM now and SIGKILL
    // right before lastcall exits (§3.3).
    if (supervisor_->group_has_members()) supervisor_->signal_group(SIGTERM);
    if (capture_) {
      capture_->drain(kPipeQuiet, final_deadline(), [this] { start_final_flush(); });
    } else {
      start_final_flush();
    }
  }

  // min(t_exit + F, t_term + G) (§3.5); before the child exited: t_term + G.
  Deadline final_deadline() const {
    Deadline d = Deadline::none();
    if (child_exit_) d.at = child_exit_->at + Millis(config_.init.final_flush_ms);
    if (term_at_) d.at = std::min(d.at, *term_at_ + Millis(config_.init.shutdown_grace_ms));
    return d;
  }

  void start_final_flush() {
    if (final_started_) return;
    final_started_ = true;
    final_timer_.cancel();
    if (lifecycle_) lifecycle_->stop_heartbeat();  // §7.10
    const Deadline deadline = final_deadline();
    when_tags_ready([this, deadline] {
      // The shutdown metric (and the last CPU sample) are in this flush (§6.2).
      cpu_->sample(clock_.steady_now());
      cloud_metrics_->emit_shutdown();
      if (local_api_ != nullptr && listeners_.local_api) listeners_.local_api->stop();
      pipeline_->final_flush(deadline, [this] {
        final_done_ = true;
        maybe_finish();
      });
    });
  }

  void maybe_finish() {
    if (!final_done_) return;
    if (!child_exit_ && !killed_at_grace_) return;  // the child still runs: wait for it or G
    kill_timer_.cancel();
    reap_timer_.cancel();
    cpu_timer_.cancel();
    if (supervisor_->group_has_members()) supervisor_->kill_group();
    const std::string all = self_.summary();
    if (!all.empty()) LC_DEBUG("self-metrics at exit: {}", all);
    exit_code_ = child_exit_ ? child_exit_->exit_code : 128 + SIGKILL;
    loop_->stop();
  }

  const FinalConfig& config_;
  const Environment& env_;
  SystemClock& clock_;
  const SteadyTime t0_;
  const std::int64_t t0_wall_ms_;

  std::unique_ptr<EventLoop> loop_;  // built right after the spawn (step 3)
  SelfMetrics self_;
  Listeners listeners_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<init::OutputCapture> capture_;
  std::unique_ptr<init::Supervisor> supervisor_;
  std::unique_ptr<lambda::LocalApi> local_api_;
  std::unique_ptr<MicrovmLifecycle> lifecycle_;  // on a microVM only; uses pipeline_
  init::CloudIdentity identity_;
  std::unique_ptr<init::CloudMetrics> cloud_metrics_;
  std::unique_ptr<SystemProcReader> cgroup_;
  std::unique_ptr<init::CpuCollector> cpu_;
  std::unique_ptr<net::HttpClient> metadata_http_;
  std::unique_ptr<init::MetadataFetcher> metadata_;
  bool tags_ready_ = false;
  std::vector<std::function<void()>> tag_waiters_;

  pid_t child_pid_ = -1;
  std::int64_t exec_us_ = 0;
  std::optional<SteadyTime> term_at_;
  std::optional<init::ChildExit> child_exit_;
  bool final_started_ = false;
  bool final_done_ = false;
  bool killed_at_grace_ = false;
  Timer final_timer_;
  Timer kill_timer_;
  Timer reap_timer_;
  Timer cpu_timer_;
  int exit_code_ = 0;
};

}  // namespace

int run_wrapper(const std::vector<std::string>& child_argv, const Environment& env) {
  // Step 1 (serverless-init.md §2): t0, and every catchable signal blocked before any thread
  // exists, so one that arrives before the child does is held and forwarded once it runs.
  const SteadyTime t0 = SystemClock::instance().steady_now();
  const std::int64_t t0_wall_ms = SystemClock::instance().wall_ms();
  // The child starts with an empty mask and default dispositions (spawn_child), whatever lastcall
  // inherited.
  init::block_signals();
  init::become_subreaper();
  auto finalized = start_mode(env, Mode::kWrapper);
  if (!finalized) return 1;  // never today: a bad value falls back to its default (§8)
  const FinalConfig config = std::move(finalized).value();
  WrapperApp app(config, env, t0, t0_wall_ms);
  return app.run(child_argv);
}

}  // namespace lc::app
