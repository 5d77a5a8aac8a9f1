// forward/compression.h — request-body codecs for the intakes: zstd, gzip, deflate (zlib-wrapped,
// RFC 1950) and none (datadog-wire.md §4.0). Called by HttpExporter before a send and by the
// payload splitter to open an already-compressed body. Stateless; owns nothing between calls.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "core/forward_config.h"

namespace lc::forward {

// The Content-Encoding header value for a codec: "zstd", "gzip", "deflate", or "" for none.
std::string_view content_encoding(Compressor codec);

// Compresses `input`. `level` is used by zstd (1..22) and clamped into zlib's 1..9 for
// gzip/deflate. kNone returns a copy.
Expected<std::string> compress(Compressor codec, std::string_view input, int level);

// Opens a body by its Content-Encoding ("zstd", "gzip", "deflate", "" / "identity").
// Fails with kTooLarge beyond `max_output` bytes, kInvalidArgument on a corrupt body or an
// unknown encoding.
Expected<std::string> decompress(std::string_view encoding, std::string_view input,
                                 std::size_t max_output = 64 * 1024 * 1024);

}  // namespace lc::forward
