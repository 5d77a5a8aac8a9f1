// tests/support/golden_vectors.h — the byte-exact golden payloads of datadog-wire.md §7, written
// once: the metrics golden tests compare lastcall's encoder output with them, and the fake intake
// tests feed them to its decoders. Hex text (readable in a failure message) and the bytes.
#pragma once

#include <string>
#include <string_view>

namespace lc::test {

// G1: page.views, three counts and one at @0.5 → one rate point 0.7 (MetricPayload).
inline constexpr std::string_view kG1Hex =
    "0a290a060a04686f7374120a706167652e7669657773220f09666666666666e63f1080e2cfaa062802400a";
// G3: temp gauges 10, 12.5, 11 → the last value (MetricPayload).
inline constexpr std::string_view kG3Hex =
    "0a230a060a04686f7374120474656d70220f0900000000000026401080e2cfaa062803400a";
// G8: a timestamped distribution, 12.5 at T1700000015 with two tags (SketchPayload).
inline constexpr std::string_view kG8Hex =
    "0a5b0a1170726f62652e62697a2e6c6174656e63792207656e763a6465762208726f7574653a2f613a33"
    "088ae2cfaa0610011900000000000029402100000000000029402900000000000029403100000000000029"
    "403a02ba17420101";
// G9: temp.delta -5, 0, 5 → negative, zero and positive bins (SketchPayload).
inline constexpr std::string_view kG9Hex =
    "0a340a0a74656d702e64656c74613a260880e2cfaa0610031900000000000014c02100000000000014403a05c3"
    "1600c4164203010101";

inline std::string from_hex(std::string_view hex) {
  std::string out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nib(hex[i]) * 16 + nib(hex[i + 1])));
  }
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

inline const std::string kG1 = from_hex(kG1Hex);
inline const std::string kG3 = from_hex(kG3Hex);
inline const std::string kG8 = from_hex(kG8Hex);
inline const std::string kG9 = from_hex(kG9Hex);

}  // namespace lc::test
