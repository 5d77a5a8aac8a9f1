// forward/payload_split.h — splits an encoded payload into two halves by item without knowing the
// encoder: protobuf payloads on their repeated top-level field (series v2 and sketches: field 1,
// traces AgentPayload: field 5), JSON payloads on their top-level array (logs, service checks) or
// the first array-valued key of a top-level object (v1 `{"series":[…]}`). Called by the Forwarder
// on a 413 or an over-limit payload. Bytes of every item are kept exactly; owns nothing.
#pragma once

#include <cstddef>
#include <utility>

#include "core/expected.h"
#include "core/pipeline.h"

namespace lc::forward {

// True when the kind has a generic split (traces stats and events do not).
bool splittable_kind(PayloadKind kind);

// Number of top-level items the splitter sees in the payload (after opening its compression).
Expected<std::size_t> count_items(const Payload& payload);

// Two payloads holding the first and second half of the items; each uncompressed
// (content_encoding ""), with `items` shared out so the halves add up to the original.
// Fails with kInvalidArgument when the kind is not splittable or the body does not parse, and
// kTooLarge when the payload holds a single item (which can only be dropped).
Expected<std::pair<Payload, Payload>> split_payload(const Payload& payload);

}  // namespace lc::forward
