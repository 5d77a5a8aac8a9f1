// init/metadata.cpp — the GCP metadata server fetch (serverless-init.md §5.2).
#include "init/metadata.h"

#include <fmt/format.h>

#include <utility>

#include "core/logger.h"
#include "core/strings.h"

namespace lc::init {
namespace {

constexpr std::string_view kDefaultHost = "metadata.google.internal";

}  // namespace

MetadataOptions MetadataOptions::from(const InitConfig& config) {
  MetadataOptions options;
  options.host = config.cloud.gce_metadata_host;
  if (config.metadata_timeout_ms > 0) options.request_timeout = Millis(config.metadata_timeout_ms);
  return options;
}

std::string metadata_base_url(std::string_view host) {
  host = trim(host);
  // Google's client libraries take a bare host[:port]; a URL-shaped value is accepted too.
  if (starts_with(host, "http://")) host.remove_prefix(7);
  while (!host.empty() && host.back() == '/') host.remove_suffix(1);
  if (host.empty()) host = kDefaultHost;
  return fmt::format("http://{}/computeMetadata/v1", host);
}

std::string region_from_metadata(std::string_view answer) {
  const std::size_t slash = answer.rfind('/');
  return std::string(slash == std::string_view::npos ? answer : answer.substr(slash + 1));
}

MetadataFetcher::MetadataFetcher(MetadataOptions options, net::HttpClient& http, const Clock& clock,
                                 TimerService& timers)
    : options_(std::move(options)), http_(http), clock_(clock), timers_(timers) {}

MetadataFetcher::~MetadataFetcher() { *alive_ = false; }

void MetadataFetcher::start(Done done) {
  if (started_) return;
  started_ = true;
  done_ = std::move(done);
  deadline_ = timers_.schedule_after(options_.overall_timeout, [this] { on_deadline(); });
  const std::string base = metadata_base_url(options_.host);
  const std::pair<Key, std::string_view> paths[] = {
      {Key::kContainerId, "/instance/id"},
      {Key::kLocation, "/instance/region"},
      {Key::kProjectId, "/project/project-id"},
  };
  for (const auto& [key, path] : paths) {
    net::HttpClientRequest request;
    request.method = "GET";
    request.url = base + std::string(path);
    request.headers.emplace_back("Metadata-Flavor", "Google");
    // No retries (§5.2): one attempt per key, each with its own timeout.
    http_.request(std::move(request), Deadline::after(clock_, options_.request_timeout),
                  [this, alive = alive_, key = key](Expected<net::HttpClientResponse> answer) {
                    if (*alive) on_answer(key, std::move(answer));
                  });
  }
}

std::string& MetadataFetcher::slot(Key key) {
  switch (key) {
    case Key::kContainerId:
      return result_.container_id;
    case Key::kLocation:
      return result_.location;
    case Key::kProjectId:
      break;
  }
  return result_.project_id;
}

namespace {

std::string_view key_name(int index) {
  constexpr std::string_view kNames[] = {"container_id", "location", "project_id"};
  return kNames[index];
}

}  // namespace

void MetadataFetcher::on_answer(Key key, Expected<net::HttpClientResponse> answer) {
  if (finished_ || decided_[static_cast<std::size_t>(key)]) return;
  if (!answer) {
    const Error& error = answer.error();
    decide(key, "",
           error.code == ErrorCode::kTimeout
               ? std::string("request timeout")
               : fmt::format("{}: {}", error_code_name(error.code), error.message));
    return;
  }
  const net::HttpClientResponse& response = answer.value();
  // Go uses a non-200 answer's body as the tag value; that body is an error page (§5.2).
  if (response.status != 200) {
    decide(key, "", fmt::format("status {}", response.status));
    return;
  }
  if (response.body.size() > kMaxMetadataBody) {
    decide(key, "", fmt::format("answer over {} bytes", kMaxMetadataBody));
    return;
  }
  std::string value = to_lower(trim(response.body));
  if (key == Key::kLocation) value = region_from_metadata(value);
  decide(key, std::move(value), "empty answer");
}

// An empty value is `unknown`, logged with `unknown_reason`.
void MetadataFetcher::decide(Key key, std::string value, std::string_view unknown_reason) {
  const auto index = static_cast<std::size_t>(key);
  decided_[index] = true;
  if (value.empty()) {
    LC_INFO("metadata: {} unknown ({})", key_name(static_cast<int>(index)), unknown_reason);
    value = std::string(kUnknown);
  }
  slot(key) = std::move(value);
  for (const bool d : decided_) {
    if (!d) return;
  }
  finish();
}

void MetadataFetcher::on_deadline() {
  if (finished_) return;
  for (std::size_t i = 0; i < kKeys; ++i) {
    if (decided_[i]) continue;
    decided_[i] = true;
    LC_INFO("metadata: {} unknown (no answer within {} ms)", key_name(static_cast<int>(i)),
            options_.overall_timeout.count());
    slot(static_cast<Key>(i)) = std::string(kUnknown);
  }
  finish();
}

void MetadataFetcher::finish() {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  // The callback may destroy this fetcher: nothing is touched after it.
  Done done = std::move(done_);
  const GcpMetadata result = result_;
  if (done) done(result);
}

std::string MetadataFetcher::describe() const {
  return fmt::format(
      "{{\"url\":{},\"request_timeout_ms\":{},\"overall_timeout_ms\":{},\"finished\":{}}}",
      json_quote(metadata_base_url(options_.host)), options_.request_timeout.count(),
      options_.overall_timeout.count(), finished_ ? "true" : "false");
}

}  // namespace lc::init
