// fakeintake/endpoints.h — the intake endpoints the fake accepts (datadog-wire.md §4.0, §4.8,
// §7.1): path, accepted content types with their decoder, and the size limits answered with 413.
// A static table read by Intake; owns nothing.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "decoders.h"

namespace lc::fakeintake {

using Decoder = Expected<DecodedPayload> (*)(std::string_view body);

struct ContentTypeDecoder {
  std::string_view media_type;  // lower-case, without parameters
  Decoder decode;
};

struct EndpointSpec {
  std::string_view path;
  std::vector<ContentTypeDecoder> content_types;
  std::size_t max_compressed;    // request body as received
  std::size_t max_uncompressed;  // after Content-Encoding is undone
  std::size_t max_items;         // points (series v2) or entries (logs); 0 = no item limit
  std::string_view item_name;    // "points", "entries"
};

const std::vector<EndpointSpec>& endpoint_specs();
const EndpointSpec* find_endpoint(std::string_view path);
// The largest max_compressed of all endpoints: the HTTP body limit for intake routes.
std::size_t largest_request_body();

}  // namespace lc::fakeintake
