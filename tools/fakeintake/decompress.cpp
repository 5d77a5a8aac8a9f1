#include "decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>

#include "core/strings.h"

namespace lc::fakeintake {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

Error too_large(std::size_t cap) {
  return make_error(ErrorCode::kTooLarge,
                    "decompressed body exceeds " + std::to_string(cap) + " bytes");
}

// gzip (windowBits 16+15) or zlib (15). Concatenated gzip members are accepted, as RFC 1952 allows.
Expected<std::string> inflate_body(std::string_view body, bool gzip, std::size_t cap) {
  const char* name = gzip ? "gzip" : "deflate";
  if (body.empty())
    return make_error(ErrorCode::kInvalidArgument, std::string(name) + ": empty body");
  z_stream zs{};
  const int window = gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (inflateInit2(&zs, window) != Z_OK) return make_error(ErrorCode::kInternal, "inflateInit2");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  std::string out;
  char buf[kChunk];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > cap) return too_large(cap);
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return out;
      if (!gzip) {
        return make_error(ErrorCode::kInvalidArgument, "deflate: trailing bytes after the stream");
      }
      if (inflateReset(&zs) != Z_OK) return make_error(ErrorCode::kInternal, "inflateReset");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      return make_error(ErrorCode::kInvalidArgument, std::string(name) + ": truncated stream");
    }
    std::string why = zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc);
    return make_error(ErrorCode::kInvalidArgument, std::string(name) + ": " + why);
  }
}

Expected<std::string> zstd_body(std::string_view body, std::size_t cap) {
  if (body.empty()) return make_error(ErrorCode::kInvalidArgument, "zstd: empty body");
  std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return make_error(ErrorCode::kInternal, "ZSTD_createDCtx");
  // Refuse frames that ask for a window above 32 MiB: no payload we accept needs more.
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 25);
  ZSTD_inBuffer in{body.data(), body.size(), 0};
  std::string out;
  char buf[kChunk];
  for (;;) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    const std::size_t ret = ZSTD_decompressStream(ctx.get(), &ob, &in);
    if (ZSTD_isError(ret)) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("zstd: ") + ZSTD_getErrorName(ret));
    }
    if (out.size() + ob.pos > cap) return too_large(cap);
    out.append(buf, ob.pos);
    if (ret == 0 && in.pos == in.size) return out;  // last frame complete
    // Input used up, room left in the output, frame unfinished: the decoder wants more bytes.
    if (in.pos == in.size && ob.pos < ob.size) {
      return make_error(ErrorCode::kInvalidArgument, "zstd: truncated frame");
    }
  }
}

}  // namespace

Expected<Encoding> parse_content_encoding(std::string_view header_value) {
  const std::string v = to_lower(trim(header_value));
  if (v.empty() || v == "identity") return Encoding::kNone;
  if (v == "zstd") return Encoding::kZstd;
  if (v == "gzip" || v == "x-gzip") return Encoding::kGzip;
  if (v == "deflate") return Encoding::kDeflate;
  return make_error(ErrorCode::kInvalidArgument,
                    "unsupported Content-Encoding '" + escape_for_log(header_value, 40) + "'");
}

Expected<std::string> decompress(std::string_view body, Encoding encoding, std::size_t max_output) {
  switch (encoding) {
    case Encoding::kNone:
      if (body.size() > max_output) return too_large(max_output);
      return std::string(body);
    case Encoding::kGzip:
      return inflate_body(body, true, max_output);
    case Encoding::kDeflate:
      return inflate_body(body, false, max_output);
    case Encoding::kZstd:
      return zstd_body(body, max_output);
  }
  return make_error(ErrorCode::kInternal, "unknown encoding");
}

}  // namespace lc::fakeintake
