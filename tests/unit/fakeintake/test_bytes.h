// tests/unit/fakeintake/test_bytes.h — helpers for the fake intake's unit tests: hex to bytes,
// and compressing bodies the way a client would (zlib/zstd called directly, not lastcall's code).
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <string>
#include <string_view>

namespace lc::fakeintake::testing {

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

// gzip (windowBits 31), zlib-wrapped deflate (15) or raw deflate (-15).
inline std::string zlib_compress(std::string_view in, int window_bits) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
inline std::string gzip(std::string_view in) { return zlib_compress(in, 31); }
inline std::string deflate_zlib(std::string_view in) { return zlib_compress(in, 15); }

inline std::string zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  out.resize(n);
  return out;
}

// datadog-wire.md §7 golden vectors.
inline const std::string kG1 = from_hex(
    "0a290a060a04686f7374120a706167652e7669657773220f09666666666666e63f1080e2cfaa062802400a");
inline const std::string kG3 =
    from_hex("0a230a060a04686f7374120474656d70220f0900000000000026401080e2cfaa062803400a");
inline const std::string kG8 = from_hex(
    "0a5b0a1170726f62652e62697a2e6c6174656e63792207656e763a6465762208726f7574653a2f613a33"
    "088ae2cfaa0610011900000000000029402100000000000029402900000000000029403100000000000029"
    "403a02ba17420101");
inline const std::string kG9 = from_hex(
    "0a340a0a74656d702e64656c74613a260880e2cfaa0610031900000000000014c02100000000000014403a05c3"
    "1600c4164203010101");

}  // namespace lc::fakeintake::testing
