#include "fake_intake_server.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

#include "core/logger.h"
#include "core/strings.h"
#include "endpoints.h"
#include "json_util.h"

namespace lc::fakeintake {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxHungRequests = 1024;

net::HttpResponse json_answer(int status, const json::value& v) {
  return net::HttpResponse::json(status, to_json(v));
}

net::HttpResponse bad_request(std::string_view reason) {
  return net::HttpResponse::json(400, to_json(json::object{{"errors", json::array{reason}}}));
}

}  // namespace

// --record FILE: one JSON line per accepted payload and per rejection, flushed as written.
struct FakeIntakeServer::RecordFile {
  std::FILE* file = nullptr;
  ~RecordFile() {
    if (file != nullptr) std::fclose(file);
  }
  void write(const json::value& line) {
    const std::string text = to_json(line) + "\n";
    std::fwrite(text.data(), 1, text.size(), file);
    std::fflush(file);
  }
};

Expected<std::unique_ptr<FakeIntakeServer>> FakeIntakeServer::create(EventLoop& loop,
                                                                     FakeIntakeOptions options,
                                                                     SelfMetrics& self) {
  std::unique_ptr<FakeIntakeServer> s(new FakeIntakeServer(loop, self));
  Intake::RecordSink sink;
  if (!options.record_file.empty()) {
    s->record_ = std::make_unique<RecordFile>();
    s->record_->file = std::fopen(options.record_file.c_str(), "a");
    if (s->record_->file == nullptr) {
      return make_error(ErrorCode::kIo, "cannot open --record file " + options.record_file);
    }
    sink = [rec = s->record_.get()](const json::value& line) { rec->write(line); };
  }
  s->intake_ = std::make_unique<Intake>(self, options.limits, std::move(sink));
  for (auto& fault : options.faults) s->intake_->set_fault(fault.first, std::move(fault.second));

  net::HttpServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.default_max_body = largest_request_body();
  server_options.name = "fakeintake";
  server_options.idle_timeout = options.idle_timeout;
  auto server =
      net::HttpServer::create(loop.io(), SystemClock::instance(), loop, std::move(server_options));
  if (!server) return server.error().with_prefix("fakeintake: ");
  s->server_ = std::move(*server);
  s->install_routes();
  return s;
}

FakeIntakeServer::FakeIntakeServer(EventLoop& loop, SelfMetrics& self) : loop_(loop), self_(self) {}

FakeIntakeServer::~FakeIntakeServer() { stop(); }

void FakeIntakeServer::start() { server_->start(); }

void FakeIntakeServer::stop() {
  if (server_) server_->stop();
  hung_.clear();
}

std::uint16_t FakeIntakeServer::port() const { return server_->port(); }

void FakeIntakeServer::install_routes() {
  auto intake_handler = [this](net::HttpRequest& request, std::shared_ptr<net::Responder> r) {
    on_intake_request(request, std::move(r));
  };
  net::RouteOptions intake_options;
  intake_options.max_body = largest_request_body();
  intake_options.on_too_large = [this](const net::HttpRequest& headers_only) {
    const std::string reason = "body exceeds " + std::to_string(largest_request_body()) + " bytes";
    intake_->record_rejection(headers_only.path, 413, reason);
    return net::HttpResponse::json(413, Verdict{413, reason}.body());
  };
  server_->route("", "/api/*", intake_handler, intake_options);
  // Anything else that is not the query API is still recorded (a wrong URL prefix shows up).
  server_->set_fallback(intake_handler);

  server_->route("GET", "/fakeintake/payloads",
                 [this](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
                   r->respond(json_answer(
                       200, intake_->payloads_json(req.query_param("endpoint").value_or(""))));
                 });
  server_->route("DELETE", "/fakeintake/payloads",
                 [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                   intake_->reset();
                   r->respond(json_answer(200, json::object{{"status", "ok"}}));
                 });
  server_->route("GET", "/fakeintake/metrics",
                 [this](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
                   const auto name = req.query_param("name");
                   r->respond(json_answer(
                       200, name ? intake_->metrics_json(*name) : intake_->metric_names_json()));
                 });
  server_->route("GET", "/fakeintake/logs",
                 [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                   r->respond(json_answer(200, intake_->logs_json()));
                 });
  server_->route("GET", "/fakeintake/traces",
                 [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                   r->respond(json_answer(200, intake_->traces_json()));
                 });
  server_->route("GET", "/fakeintake/faults",
                 [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                   r->respond(json_answer(200, intake_->faults_json()));
                 });
  server_->route("DELETE", "/fakeintake/faults",
                 [this](net::HttpRequest&, const std::shared_ptr<net::Responder>& r) {
                   intake_->clear_faults();
                   r->respond(json_answer(200, json::object{{"status", "ok"}}));
                 });
  server_->route("POST", "/fakeintake/faults",
                 [this](net::HttpRequest& req, const std::shared_ptr<net::Responder>& r) {
                   auto fault = parse_fault_json(req.body);
                   if (!fault) {
                     r->respond(bad_request(fault.error().message));
                     return;
                   }
                   LC_INFO("fault set for {}: {}", fault->first,
                           to_json(to_json_value(fault->second)));
                   intake_->set_fault(fault->first, std::move(fault->second));
                   r->respond(json_answer(200, intake_->faults_json()));
                 });
}

void FakeIntakeServer::on_intake_request(net::HttpRequest& request,
                                         std::shared_ptr<net::Responder> responder) {
  if (request.method != "POST") {
    intake_->record_rejection(request.path, 405, "method " + request.method + " not allowed");
    responder->respond(net::HttpResponse::json(405, Verdict{405, "use POST"}.body()));
    return;
  }
  const FaultAction fault = intake_->take_fault(request.path);
  if (fault.hang) {
    intake_->record_rejection(request.path, 0, "fault: hang");
    hung_.erase(
        std::remove_if(hung_.begin(), hung_.end(), [](const auto& r) { return !r->connected(); }),
        hung_.end());
    if (hung_.size() >= kMaxHungRequests) {
      self_.dropped("fakeintake", "hang_cap");
      responder->abort();
      return;
    }
    hung_.push_back(std::move(responder));
    return;
  }
  if (fault.close_mid_response) {
    intake_->record_rejection(request.path, 0, "fault: close_mid_response");
    answer(std::move(responder), net::HttpResponse::json(202, Verdict{202, {}}.body()),
           fault.delay_ms, true);
    return;
  }
  Verdict verdict;
  if (fault.status != 0 && (fault.status < 200 || fault.status >= 300)) {
    verdict = Verdict{fault.status, "injected fault: status " + std::to_string(fault.status)};
    intake_->record_rejection(request.path, verdict.status, verdict.reason);
  } else {
    IntakeRequest in;
    in.path = request.path;
    if (auto key = request.header("DD-API-KEY")) in.api_key = std::string(*key);
    in.content_type = std::string(request.header("Content-Type").value_or(""));
    in.content_encoding = std::string(request.header("Content-Encoding").value_or(""));
    in.body = std::move(request.body);
    for (const auto& [name, value] : request.headers) {
      if (iequals(name, "DD-API-KEY") || iequals(name, "Content-Type") ||
          iequals(name, "Content-Encoding") || iequals(name, "Content-Length")) {
        continue;
      }
      in.headers.emplace_back(name, value);
    }
    verdict = intake_->submit(in, fault.status != 0 ? fault.status : 202);
  }
  if (verdict.accepted()) {
    LC_DEBUG("accepted {} ({})", request.path, verdict.status);
  } else {
    LC_INFO("rejected {} with {}: {}", escape_for_log(request.path), verdict.status,
            verdict.reason);
  }
  auto response = net::HttpResponse::json(verdict.status, verdict.body());
  if (fault.status != 0 && !verdict.accepted() && fault.retry_after_s >= 0) {
    response.with_header("Retry-After", std::to_string(fault.retry_after_s));
  }
  answer(std::move(responder), std::move(response), fault.delay_ms, false);
}

void FakeIntakeServer::answer(std::shared_ptr<net::Responder> responder, net::HttpResponse response,
                              int delay_ms, bool close_mid_response) {
  auto send = [responder = std::move(responder), close_mid_response,
               response = std::move(response)]() mutable {
    if (close_mid_response) {
      responder->close_mid_response(std::move(response));
    } else {
      responder->respond(std::move(response));
    }
  };
  if (delay_ms <= 0) {
    send();
    return;
  }
  std::erase_if(delayed_, [](const Timer& t) { return !t.armed(); });
  delayed_.push_back(loop_.schedule_after(Millis(delay_ms), std::move(send)));
}

}  // namespace lc::fakeintake
