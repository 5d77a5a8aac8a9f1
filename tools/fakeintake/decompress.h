// fakeintake/decompress.h — undoes a request's Content-Encoding (zstd, gzip, deflate = zlib-wrapped
// RFC 1950, or none) with a cap on the decompressed size, so a zip bomb is refused early instead
// of exhausting memory. Called by the fake intake for every request body. Stateless.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace lc::fakeintake {

enum class Encoding { kNone, kZstd, kGzip, kDeflate };

// "" and "identity" → kNone; case-insensitive. kInvalidArgument for anything else.
Expected<Encoding> parse_content_encoding(std::string_view header_value);

// Errors: kInvalidArgument (corrupt, truncated or trailing garbage), kTooLarge (output would
// exceed max_output bytes).
Expected<std::string> decompress(std::string_view body, Encoding encoding, std::size_t max_output);

}  // namespace lc::fakeintake
