#include "forward/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace lc::forward {
namespace {

// zlib windowBits: 15 = zlib wrapper (deflate), 15 + 16 = gzip wrapper, 15 + 32 = auto-detect.
constexpr int kZlibWindow = 15;
constexpr int kGzipWindow = 15 + 16;
constexpr int kAutoWindow = 15 + 32;

Expected<std::string> zlib_compress(std::string_view input, int level, int window_bits) {
  z_stream zs{};
  const int zlevel = std::clamp(level, 1, 9);
  if (deflateInit2(&zs, zlevel, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorCode::kInternal, "zlib: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(input.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return make_error(ErrorCode::kInternal,
                      "zlib: deflate did not finish (rc " + std::to_string(rc) + ")");
  }
  out.resize(produced);
  return out;
}

Expected<std::string> zlib_decompress(std::string_view input, int window_bits,
                                      std::size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    return make_error(ErrorCode::kInternal, "zlib: inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return make_error(ErrorCode::kInvalidArgument, std::string("zlib: corrupt body (") +
                                                         (zs.msg ? zs.msg : "no detail") + ")");
    }
    const std::size_t got = sizeof(chunk) - zs.avail_out;
    if (out.size() + got > max_output) {
      inflateEnd(&zs);
      return make_error(ErrorCode::kTooLarge,
                        "zlib: body inflates beyond " + std::to_string(max_output) + " bytes");
    }
    out.append(chunk, got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return make_error(ErrorCode::kInvalidArgument, "zlib: truncated body");
    }
  }
  inflateEnd(&zs);
  return out;
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

Expected<std::string> zstd_compress(std::string_view input, int level) {
  const int zlevel = std::clamp(level, 1, ZSTD_maxCLevel());
  // One context per thread, kept: a fresh one allocates and clears its tables (about 1 MB at
  // level 3 for a large payload) on every call.
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return make_error(ErrorCode::kInternal, "zstd: cannot create a context");
  // The worst case is allocated but not cleared (std::string::resize would write every byte of
  // it); only the compressed bytes, usually a small part, are touched and then copied out.
  const std::size_t bound = ZSTD_compressBound(input.size());
  const std::unique_ptr<char[]> scratch(new char[bound]);
  const std::size_t n =
      ZSTD_compressCCtx(cctx.get(), scratch.get(), bound, input.data(), input.size(), zlevel);
  if (ZSTD_isError(n)) {
    return make_error(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  return std::string(scratch.get(), n);
}

Expected<std::string> zstd_decompress(std::string_view input, std::size_t max_output) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) return make_error(ErrorCode::kInternal, "zstd: cannot create stream");
  ZSTD_initDStream(ds);
  std::string out;
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  std::size_t last = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ds, &ob, &in);
    if (ZSTD_isError(last)) {
      ZSTD_freeDStream(ds);
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("zstd: corrupt body (") + ZSTD_getErrorName(last) + ")");
    }
    if (out.size() + ob.pos > max_output) {
      ZSTD_freeDStream(ds);
      return make_error(ErrorCode::kTooLarge,
                        "zstd: body inflates beyond " + std::to_string(max_output) + " bytes");
    }
    out.append(chunk.data(), ob.pos);
  }
  // Flush whatever the decoder still holds for the last frame.
  while (last != 0) {
    ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ds, &ob, &in);
    if (ZSTD_isError(last) || ob.pos == 0) break;
    if (out.size() + ob.pos > max_output) {
      ZSTD_freeDStream(ds);
      return make_error(ErrorCode::kTooLarge,
                        "zstd: body inflates beyond " + std::to_string(max_output) + " bytes");
    }
    out.append(chunk.data(), ob.pos);
  }
  ZSTD_freeDStream(ds);
  if (last != 0) return make_error(ErrorCode::kInvalidArgument, "zstd: truncated body");
  return out;
}

}  // namespace

std::string_view content_encoding(Compressor codec) {
  switch (codec) {
    case Compressor::kZstd:
      return "zstd";
    case Compressor::kGzip:
      return "gzip";
    case Compressor::kZlib:
      return "deflate";
    case Compressor::kNone:
      return "";
  }
  return "";
}

Expected<std::string> compress(Compressor codec, std::string_view input, int level) {
  if (input.size() > static_cast<std::size_t>(UINT_MAX / 2)) {
    return make_error(ErrorCode::kTooLarge, "compress: input too large");
  }
  switch (codec) {
    case Compressor::kZstd:
      return zstd_compress(input, level);
    case Compressor::kGzip:
      return zlib_compress(input, level, kGzipWindow);
    case Compressor::kZlib:
      return zlib_compress(input, level, kZlibWindow);
    case Compressor::kNone:
      return std::string(input);
  }
  return make_error(ErrorCode::kInternal, "compress: unknown codec");
}

Expected<std::string> decompress(std::string_view encoding, std::string_view input,
                                 std::size_t max_output) {
  if (input.size() > static_cast<std::size_t>(UINT_MAX / 2)) {
    return make_error(ErrorCode::kTooLarge, "decompress: input too large");
  }
  if (encoding.empty() || encoding == "identity") {
    if (input.size() > max_output) {
      return make_error(ErrorCode::kTooLarge, "decompress: body beyond limit");
    }
    return std::string(input);
  }
  if (encoding == "zstd") return zstd_decompress(input, max_output);
  if (encoding == "gzip") return zlib_decompress(input, kGzipWindow, max_output);
  // Some senders put raw deflate under "deflate"; auto-detect accepts zlib and gzip wrappers, and
  // a raw stream is tried last.
  if (encoding == "deflate") {
    auto wrapped = zlib_decompress(input, kAutoWindow, max_output);
    if (wrapped || wrapped.error().code == ErrorCode::kTooLarge) return wrapped;
    auto raw = zlib_decompress(input, -15, max_output);
    if (raw) return raw;
    return wrapped;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "decompress: unknown content encoding \"" + std::string(encoding) + "\"");
}

}  // namespace lc::forward
