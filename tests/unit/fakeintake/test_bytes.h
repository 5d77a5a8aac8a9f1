// tests/unit/fakeintake/test_bytes.h — helpers for the fake intake's tests: compressing bodies the
// way a client would (zlib/zstd called directly, not lastcall's code); the hex helper and the
// golden vectors come from support/golden_vectors.h.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <string>
#include <string_view>

#include "support/golden_vectors.h"

namespace lc::fakeintake::testing {

// The hex helper and the §7 golden vectors live in one place for every test.
using lc::test::from_hex;
using lc::test::kG1;
using lc::test::kG3;
using lc::test::kG8;
using lc::test::kG9;

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

}  // namespace lc::fakeintake::testing
