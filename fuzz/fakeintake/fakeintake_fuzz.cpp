// libFuzzer target over the fake intake's decoders, through Intake::submit (decompression,
// strict validation, decoding, storing, the query answers). The first byte picks the endpoint
// (bits 0-2), the content type (bit 3) and the Content-Encoding (bits 4-5); the rest is the body.
// With bits 6-7 both set the body goes to the fault parsers (--fault and POST /fakeintake/faults).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fakeintake/endpoints.h"
#include "fakeintake/faults.h"
#include "fakeintake/intake.h"
#include "fakeintake/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr const char* kEncodings[] = {"", "gzip", "deflate", "zstd"};
  const auto& specs = lc::fakeintake::endpoint_specs();
  const std::uint8_t selector = data[0];
  if ((selector & 0xc0) == 0xc0) {
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (auto f = lc::fakeintake::parse_fault_json(text)) {
      (void)lc::fakeintake::to_json(lc::fakeintake::to_json_value(f->second));
    }
    (void)lc::fakeintake::parse_fault_flag(text);
    return 0;
  }
  const auto& spec = specs[selector % specs.size()];
  const auto& ct = spec.content_types[((selector >> 3) & 1) % spec.content_types.size()];

  lc::SelfMetrics self;
  lc::fakeintake::IntakeLimits limits;
  limits.max_points = 10000;
  lc::fakeintake::Intake intake(self, limits);
  lc::fakeintake::IntakeRequest request;
  request.path = std::string(spec.path);
  request.api_key = "fuzz";
  request.content_type = std::string(ct.media_type);
  request.content_encoding = kEncodings[(selector >> 4) & 3];
  request.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto verdict = intake.submit(request);
  (void)verdict.body();
  // The query answers must serialise whatever was accepted.
  (void)lc::fakeintake::to_json(intake.payloads_json(""));
  (void)lc::fakeintake::to_json(intake.logs_json());
  (void)lc::fakeintake::to_json(intake.traces_json());
  const auto names = intake.metric_names_json();
  for (const auto& name : names.at("names").as_array()) {
    (void)lc::fakeintake::to_json(intake.metrics_json(name.as_string()));
  }
  return 0;
}
