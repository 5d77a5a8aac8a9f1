// fuzz/extension_events — bodies from the Extensions API (lambda-platform.md §2.1–2.4): the /next
// event (INVOKE, SHUTDOWN, anything else), the register reply and an error answer. Every field is
// optional and may have any type; nothing may crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lambda/extension_events.h"
#include "lambda/extensions_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  constexpr std::int64_t kNow = 1761055503165;
  (void)lc::lambda::parse_extension_event(body, kNow);
  (void)lc::lambda::parse_register_reply("8476a536-e9f4-11e8-9739-2dfe598c3fcd", body);
  // The first line as the identifier header, the rest as the body.
  const std::size_t eol = body.find('\n');
  if (eol != std::string_view::npos) {
    (void)lc::lambda::parse_register_reply(body.substr(0, eol), body.substr(eol + 1));
  }
  (void)lc::lambda::parse_api_error(400, body);
  return 0;
}
