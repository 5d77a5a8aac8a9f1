// init/metadata.h — the GCP metadata server fetch of serverless-init.md §5.2: container id,
// region and project id for Cloud Run's tags, three concurrent GETs, one overall deadline, no
// retries, `unknown` for anything that did not come back usable. Started once by the init
// composition root on the loop thread; it never blocks anything: the answer arrives in a callback.
// Borrows the HTTP client, the clock and the timer service; owns its deadline timer.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/init_config.h"
#include "init/cloud.h"
#include "net/http_client.h"

namespace lc::init {

struct MetadataOptions {
  std::string host;  // GCE_METADATA_HOST ("host[:port]"); empty = metadata.google.internal
  Millis request_timeout{300};   // LASTCALL_METADATA_TIMEOUT_MS, per request
  Millis overall_timeout{1000};  // all three, from start()
  static MetadataOptions from(const InitConfig& config);
};

// Largest answer used as a tag value; a longer one is not a value we want in every tag set.
inline constexpr std::size_t kMaxMetadataBody = 1024;

// "http://<host>/computeMetadata/v1" (§5.2).
std::string metadata_base_url(std::string_view host);

// The region answer "projects/123/regions/us-central1" → "us-central1" (its last '/' segment).
std::string region_from_metadata(std::string_view answer);

class MetadataFetcher {
 public:
  using Done = std::function<void(const GcpMetadata&)>;

  MetadataFetcher(MetadataOptions options, net::HttpClient& http, const Clock& clock,
                  TimerService& timers);
  ~MetadataFetcher();
  MetadataFetcher(const MetadataFetcher&) = delete;
  MetadataFetcher& operator=(const MetadataFetcher&) = delete;

  // Sends the three requests. `done` runs exactly once, on the loop thread, when all three are
  // decided or at the overall deadline (the undecided ones `unknown`), whichever is first; later
  // answers are ignored. Call once.
  void start(Done done);

  bool finished() const { return finished_; }
  const GcpMetadata& result() const { return result_; }
  std::string describe() const;

 private:
  enum class Key { kContainerId, kLocation, kProjectId };
  static constexpr std::size_t kKeys = 3;

  void on_answer(Key key, Expected<net::HttpClientResponse> answer);
  void decide(Key key, std::string value, std::string_view unknown_reason);
  void on_deadline();
  void finish();
  std::string& slot(Key key);

  MetadataOptions options_;
  net::HttpClient& http_;
  const Clock& clock_;
  TimerService& timers_;
  Done done_;
  Timer deadline_;
  GcpMetadata result_;
  std::array<bool, kKeys> decided_{};
  bool started_ = false;
  bool finished_ = false;
  // Answers that arrive after this fetcher is gone find it false.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lc::init
