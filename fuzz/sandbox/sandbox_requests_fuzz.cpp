// libFuzzer target over lastcall-sandbox's request parsing: register body and headers, telemetry
// subscribe body (on-demand and LMI), fault knobs, GET /wait queries, shutdown reasons, identifier
// headers. The first byte picks the parser; the rest is the input. Nothing may crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tools/sandbox/faults.h"
#include "tools/sandbox/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lc::sandbox;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // For the header-taking parsers the first line is the header value, the rest the body.
  const auto eol = input.find('\n');
  const std::string_view first = eol == std::string_view::npos ? input : input.substr(0, eol);
  const std::string_view rest =
      eol == std::string_view::npos ? std::string_view{} : input.substr(eol + 1);
  switch (selector % 8) {
    case 0: {
      auto r = parse_register(first, "accountId", rest, false);
      if (r.has_value() && r.value().name.empty()) __builtin_trap();
      break;
    }
    case 1: {
      auto r = parse_register("ext", first, rest, true);
      if (r.has_value() && r.value().invoke) __builtin_trap();  // LMI never accepts INVOKE
      break;
    }
    case 2: {
      auto r = parse_subscribe(input, false);
      if (r.has_value()) {
        const auto& s = r.value();
        if (s.types.empty() || s.max_items < kMinMaxItems || s.max_items > kMaxMaxItems ||
            s.max_bytes < kMinMaxBytes || s.max_bytes > kMaxMaxBytes ||
            s.timeout_ms < kMinTimeoutMs || s.timeout_ms > kMaxTimeoutMs) {
          __builtin_trap();
        }
      } else if (r.error().status != 400) {
        __builtin_trap();
      }
      break;
    }
    case 3: {
      auto r = parse_subscribe(input, true);
      if (r.has_value() && r.value().schema_version != "2025-01-29") __builtin_trap();
      break;
    }
    case 4: {
      auto f = apply_faults(Faults{}, input);
      if (f) (void)describe_faults(*f);
      break;
    }
    case 5:
      (void)parse_wait_query(input);
      break;
    case 6:
      (void)parse_shutdown_reason(input);
      (void)check_identifier_header(input);
      break;
    default:
      (void)parse_query(input);
      break;
  }
  return 0;
}
