// fuzz/managed_line — the text log prefix parser (lambda-platform.md §4.5, §8 item 38):
// "<ISO time>\t<requestId>\t<LEVEL>\t<message>" through parse_managed_line and the OOM detector's
// managed_runtime_request_id, which must agree. A parsed line's four views must lie inside the
// input, in order, separated by one tab each; the id must be a UUID. Nothing may crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lambda/oom_detector.h"
#include "lambda/telemetry.h"
#include "lambda/telemetry_logs.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto m = lc::lambda::parse_managed_line(line);
  const auto id = lc::lambda::managed_runtime_request_id(line);
  if (m.has_value() != id.has_value()) __builtin_trap();
  if (!m) return 0;
  if (*id != m->request_id) __builtin_trap();
  for (const std::string_view part : {m->time, m->request_id, m->level, m->message}) {
    if (!inside(part, line)) __builtin_trap();
  }
  // time \t id \t level \t message, the message running to the end of the line.
  if (m->time.data() != line.data()) __builtin_trap();
  if (m->request_id.data() != m->time.data() + m->time.size() + 1) __builtin_trap();
  if (m->level.data() != m->request_id.data() + m->request_id.size() + 1) __builtin_trap();
  if (m->message.data() != m->level.data() + m->level.size() + 1) __builtin_trap();
  if (m->message.data() + m->message.size() != line.data() + line.size()) __builtin_trap();
  if (m->request_id.size() != 36 || m->level.empty()) __builtin_trap();
  for (std::size_t i = 0; i < m->request_id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? m->request_id[i] != '-' : !hex(m->request_id[i])) __builtin_trap();
  }
  if (!lc::lambda::parse_event_time_ms(m->time)) __builtin_trap();
  return 0;
}
