// lastcall-sandbox fake-runtime: a scripted Runtime API client. Each event payload may hold:
//   {"sleep_ms":50, "log":["a","b"], "stderr":["c"], "log_format":"json"|"text",
//    "log_prefix":"managed"|"bare", "respond":<any>, "error":"Type"|{"errorType","errorMessage"},
//    "exit":<code>|"SIGKILL", "oom":"node"|..., "stream_chunks":3, "stream_error":"Type",
//    "http":[{"method":"GET","url":"http://127.0.0.1:8124/lambda/hello","body":""}],
//    "ignore_sigterm":true,
//    "statsd":["a:1|c","b:2|g\nc:3|h"], "flush":true|{"timeout_ms":3000},
//    "steps":[{"statsd":[...]},{"flush":true},{"sleep_ms":100}]}
// One step runs, in this order: http, log, stderr, statsd, flush, sleep_ms. The payload itself is
// the first step; each element of `steps` is one more, in order; then oom, exit and the response.
// `statsd` sends each string as one UDP datagram to 127.0.0.1:$DD_DOGSTATSD_PORT; `flush` posts
// /lambda/flush to 127.0.0.1:$LASTCALL_LOCAL_API_PORT and waits for the answer (or the timeout)
// before the next instruction. Both write one line on stderr saying what happened.
// Anything that is not an object is echoed back as the response.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/config_registry.h"
#include "core/strings.h"
#include "tools/sandbox/blocking_http.h"
#include "tools/sandbox/common.h"
#include "tools/sandbox/process_supervisor.h"
#include "tools/sandbox/scripted.h"
#include "tools/sandbox/tool_variables.h"

namespace lc::sandbox {
namespace {

void write_line(int fd, const std::string& line) {
  std::string out = line + "\n";
  (void)!::write(fd, out.data(), out.size());
}

struct LogStyle {
  bool json = false;
  bool managed_prefix = false;
};

void log_line(int fd, const LogStyle& style, const std::string& request_id,
              const std::string& level, const std::string& message) {
  const std::string ts = iso8601_ms(now_epoch_ms_int(SystemClock::instance()));
  if (style.json) {
    boost::json::object o;
    o["timestamp"] = ts;
    o["level"] = level;
    o["requestId"] = request_id;
    o["message"] = message;
    write_line(fd, boost::json::serialize(o));
  } else if (style.managed_prefix) {
    write_line(fd, fmt::format("{}\t{}\t{}\t{}", ts, request_id, level, message));
  } else {
    write_line(fd, message);
  }
}

std::string as_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string().data(), v.get_string().size());
  return boost::json::serialize(v);
}

void do_exit(const boost::json::value& how) {
  if (how.is_string()) {
    if (auto sig =
            parse_signal_name(std::string_view(how.get_string().data(), how.get_string().size()))) {
      signal(*sig, SIG_DFL);
      ::kill(getpid(), *sig);
    }
  }
  int code = 1;
  if (how.is_int64()) code = static_cast<int>(how.get_int64());
  _exit(code);
}

// Emits the OOM shape of a runtime (lambda-platform.md §7.6 table) and acts like it.
// Returns the error type to post, or "" when the process already exited.
std::string do_oom(const std::string& flavour, const std::string& request_id,
                   const LogStyle& style) {
  if (flavour == "node") {
    write_line(2,
               "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory");
    _exit(134);
  }
  if (flavour == "node_sigkill") {
    ::kill(getpid(), SIGKILL);
  }
  if (flavour == "python") {
    if (style.json) {
      boost::json::object msg;
      msg["errorMessage"] = "";
      msg["errorType"] = "MemoryError";
      msg["requestId"] = request_id;
      msg["stackTrace"] = boost::json::array();
      boost::json::object o;
      o["timestamp"] = iso8601_ms(now_epoch_ms_int(SystemClock::instance()));
      o["level"] = "ERROR";
      o["message"] = msg;
      o["requestId"] = request_id;
      write_line(1, boost::json::serialize(o));
    } else {
      write_line(1, fmt::format("[ERROR] MemoryError\nTraceback (most recent call last):"));
    }
    return "Runtime.OutOfMemory";
  }
  if (flavour == "java") {
    write_line(2, "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space");
    _exit(1);
  }
  if (flavour == "go") {
    write_line(2, "fatal error: runtime: out of memory");
    _exit(2);
  }
  if (flavour == "ruby") {
    write_line(2, "failed to allocate memory (NoMemoryError)");
    return "Runtime.OutOfMemory";
  }
  if (flavour == "dotnet") {
    write_line(2,
               "Unhandled exception. System.OutOfMemoryException: Exception of type "
               "'System.OutOfMemoryException' was thrown.");
    _exit(134);
  }
  return "";  // memory_only: the sandbox writes the memory figures
}

void do_http_calls(const boost::json::array& calls) {
  for (const auto& c : calls) {
    const auto* o = c.if_object();
    if (o == nullptr) continue;
    const auto url_s = get_string(*o, "url");
    if (!url_s) continue;
    const auto url = net::parse_url(*url_s);
    if (!url) continue;
    BlockingRequest req;
    req.method = std::string(get_string(*o, "method").value_or("GET"));
    req.target = url->target;
    req.body = std::string(get_string(*o, "body").value_or(""));
    req.timeout_ms = 2000;
    auto r = http_call(url->host, url->port, req);
    write_line(2, fmt::format("fake-runtime: {} {} -> {}", req.method, *url_s,
                              r ? std::to_string(r->status) : r.error().message));
  }
}

// Where the function's telemetry goes: the extension's DogStatsD and local API ports, from the
// same variables the extension reads (the sandbox passes both with --env).
struct AgentPorts {
  std::int64_t dogstatsd = 8125;
  std::int64_t local_api = 8124;
};

void do_statsd(const boost::json::array& datagrams, std::int64_t port) {
  if (port <= 0) {
    write_line(2, fmt::format("fake-runtime: statsd: DD_DOGSTATSD_PORT={} is not a port", port));
    return;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    write_line(2, "fake-runtime: statsd: no UDP socket");
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::size_t sent = 0;
  for (const auto& d : datagrams) {
    if (!d.is_string()) continue;
    const auto& text = d.get_string();
    const ssize_t n = ::sendto(fd, text.data(), text.size(), 0,
                               reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (n == static_cast<ssize_t>(text.size())) ++sent;
  }
  ::close(fd);
  write_line(2, fmt::format("fake-runtime: statsd {}/{} datagrams -> 127.0.0.1:{}", sent,
                            datagrams.size(), port));
}

void do_flush(const boost::json::value& how, std::int64_t port) {
  if (how.is_bool() && !how.get_bool()) return;
  BlockingRequest req("POST", "/lambda/flush", {{"Content-Type", "application/json"}}, "{}");
  req.timeout_ms = 3000;  // datadog-lambda-go's limit; lastcall answers within 90 ms
  if (const auto* o = how.if_object()) {
    req.timeout_ms = static_cast<int>(get_int(*o, "timeout_ms").value_or(req.timeout_ms));
  }
  if (port <= 0 || port > 65535) {
    write_line(2,
               fmt::format("fake-runtime: flush: LASTCALL_LOCAL_API_PORT={} is not a port", port));
    return;
  }
  auto r = http_call("127.0.0.1", static_cast<std::uint16_t>(port), req);
  write_line(2, fmt::format("fake-runtime: flush -> {}",
                            r ? std::to_string(r->status) : r.error().message));
}

// One step of an invocation (see the top of this file for the order).
void run_step(const boost::json::object& ins, const LogStyle& style, const std::string& request_id,
              const AgentPorts& ports) {
  if (const auto* h = ins.if_contains("http"); h && h->is_array()) do_http_calls(h->get_array());
  if (const auto* l = ins.if_contains("log"); l && l->is_array()) {
    for (const auto& line : l->get_array()) log_line(1, style, request_id, "INFO", as_text(line));
  }
  if (const auto* l = ins.if_contains("stderr"); l && l->is_array()) {
    for (const auto& line : l->get_array()) log_line(2, style, request_id, "ERROR", as_text(line));
  }
  if (const auto* d = ins.if_contains("statsd"); d && d->is_array()) {
    do_statsd(d->get_array(), ports.dogstatsd);
  }
  if (const auto* f = ins.if_contains("flush"); f && !f->is_null()) do_flush(*f, ports.local_api);
  if (auto ms = get_int(ins, "sleep_ms"); ms && *ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
  }
}

}  // namespace

int fake_runtime_main(const std::vector<std::string>& args) {
  int init_sleep_ms = 0;
  std::string init_error;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--init-sleep-ms")
      init_sleep_ms = static_cast<int>(parse_int(args[i + 1]).value_or(0));
    if (args[i] == "--init-error") init_error = args[i + 1];
  }
  ProcessEnvironment env;
  const auto api = env.get(tool_var::kAwsLambdaRuntimeApi);
  if (!api) {
    write_line(2, "fake-runtime: AWS_LAMBDA_RUNTIME_API is not set");
    return 2;
  }
  auto hp = split_host_port(*api);
  if (!hp) {
    write_line(2, "fake-runtime: " + hp.error().message);
    return 2;
  }
  const auto [host, port] = *hp;
  LogStyle default_style;
  const AgentPorts ports{env_value(env, tool_var::kDdDogstatsdPort),
                         env_value(env, tool_var::kLastcallLocalApiPort)};
  if (iequals(env_value(env, tool_var::kAwsLambdaLogFormat), "JSON")) default_style.json = true;
  signal(SIGPIPE, SIG_IGN);

  if (init_sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(init_sleep_ms));
  if (!init_error.empty()) {
    BlockingRequest req;
    req.method = "POST";
    req.target = "/2018-06-01/runtime/init/error";
    req.headers = {{"Lambda-Runtime-Function-Error-Type", init_error}};
    req.body = error_body(init_error, "scripted init failure");
    (void)http_call(host, port, req);
    return 1;
  }

  for (;;) {
    BlockingRequest next;
    next.target = "/2018-06-01/runtime/invocation/next";
    auto ev = http_call(host, port, next);
    if (!ev) {
      write_line(2, "fake-runtime: next failed: " + ev.error().message);
      return 1;
    }
    if (ev->status != 200) {
      write_line(2, fmt::format("fake-runtime: next answered {}", ev->status));
      return 1;
    }
    const std::string request_id(ev->header("Lambda-Runtime-Aws-Request-Id").value_or(""));
    const std::string base = "/2018-06-01/runtime/invocation/" + request_id;
    auto parsed = parse_json(ev->body);
    boost::json::object ins;
    if (parsed && parsed->is_object()) ins = parsed->get_object();
    const bool scripted = parsed && parsed->is_object();

    LogStyle style = default_style;
    if (auto f = get_string(ins, "log_format")) style.json = *f == "json";
    if (auto p = get_string(ins, "log_prefix")) style.managed_prefix = *p == "managed";
    if (const auto* it = ins.if_contains("ignore_sigterm"); it && it->is_bool() && it->get_bool()) {
      signal(SIGTERM, SIG_IGN);
    }
    run_step(ins, style, request_id, ports);
    if (const auto* steps = ins.if_contains("steps"); steps && steps->is_array()) {
      for (const auto& step : steps->get_array()) {
        if (step.is_object()) run_step(step.get_object(), style, request_id, ports);
      }
    }
    std::string oom_error;
    if (auto f = get_string(ins, "oom")) oom_error = do_oom(std::string(*f), request_id, style);
    if (const auto* x = ins.if_contains("exit"); x && !x->is_null()) do_exit(*x);

    BlockingRequest out;
    out.method = "POST";
    const auto* err = ins.if_contains("error");
    if (!oom_error.empty() || (err != nullptr && !err->is_null())) {
      std::string type = oom_error, message = "scripted error";
      if (err != nullptr && err->is_string()) type = as_text(*err);
      if (err != nullptr && err->is_object()) {
        type = std::string(get_string(err->get_object(), "errorType").value_or("Function.Error"));
        message = std::string(get_string(err->get_object(), "errorMessage").value_or(message));
      }
      out.target = base + "/error";
      out.headers = {{"Lambda-Runtime-Function-Error-Type", type},
                     {"Content-Type", "application/json"}};
      boost::json::object body;
      body["errorMessage"] = message;
      body["errorType"] = type;
      body["stackTrace"] = boost::json::array();
      out.body = boost::json::serialize(body);
    } else if (auto chunks = get_int(ins, "stream_chunks"); chunks && *chunks > 0) {
      out.target = base + "/response";
      out.chunked = true;
      out.headers = {{"Lambda-Runtime-Function-Response-Mode", "streaming"},
                     {"Content-Type", "application/octet-stream"}};
      for (std::int64_t i = 0; i < std::min<std::int64_t>(*chunks, 10000); ++i) {
        out.chunks.push_back(fmt::format("chunk-{};", i));
      }
      out.chunk_delay_ms = static_cast<int>(get_int(ins, "stream_delay_ms").value_or(0));
      if (auto se = get_string(ins, "stream_error")) {
        out.trailers = {
            {"Lambda-Runtime-Function-Error-Type", std::string(*se)},
            {"Lambda-Runtime-Function-Error-Body", "eyJlcnJvck1lc3NhZ2UiOiJzdHJlYW0gZXJyb3IifQ=="}};
      }
    } else {
      out.target = base + "/response";
      out.headers = {{"Content-Type", "application/json"}};
      if (const auto* r = ins.if_contains("respond"); r != nullptr) {
        out.body = as_text(*r);
      } else {
        out.body = scripted ? std::string("\"ok\"") : ev->body;
      }
    }
    auto posted = http_call(host, port, out);
    if (!posted) {
      write_line(2, "fake-runtime: posting the result failed: " + posted.error().message);
      return 1;
    }
  }
}

}  // namespace lc::sandbox
