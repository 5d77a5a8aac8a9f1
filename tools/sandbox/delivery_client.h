// tools/sandbox/delivery_client.h — the seam through which TelemetryHub POSTs a batch to a
// subscriber's listener on 127.0.0.1 (the sandbox maps `sandbox.localdomain` there, §4.2).
// The real client speaks HTTP/1.1 with Beast on the loop; unit tests use a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"

namespace boost::asio {
class io_context;
}

namespace lc::sandbox {

struct DeliveryResult {
  int status = 0;     // HTTP status; 0 when no answer (connect failure, reset, timeout)
  std::string error;  // why there is no status
};

class DeliveryClient {
 public:
  using Done = std::function<void(DeliveryResult)>;
  virtual ~DeliveryClient() = default;
  // One POST with Content-Type: application/json; done runs on the loop thread exactly once.
  virtual void post(std::uint16_t port, std::string path, std::shared_ptr<const std::string> body,
                    std::chrono::milliseconds timeout, Done done) = 0;
};

// The timeout of each POST runs on `timers`, which must outlive the client and its posts.
std::unique_ptr<DeliveryClient> make_delivery_client(boost::asio::io_context& io,
                                                     TimerService& timers);

}  // namespace lc::sandbox
