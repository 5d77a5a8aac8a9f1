// metrics/payload_packer.h — fills uncompressed payloads with pre-encoded items up to a byte and
// an item-point limit, starting a new payload when the next item does not fit (datadog-wire.md
// §4.0). Used by SeriesEncoder and SketchEncoder on the flush path; owns the payloads until take().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pipeline.h"

namespace lc::metrics {

class PayloadPacker {
 public:
  struct Format {
    PayloadKind kind = PayloadKind::kSeriesV2;
    std::string path, content_type;
    std::string_view prefix, separator, suffix;  // JSON framing; empty for protobuf
    bool protobuf = true;                        // items are field-1 messages: tag + varint length
  };

  PayloadPacker(Format format, std::size_t max_bytes, std::size_t max_points)
      : format_(std::move(format)), max_bytes_(max_bytes), max_points_(max_points) {}

  // Bytes `item` adds to a payload that already holds `items` items.
  std::size_t cost(std::size_t item_size, bool first) const;
  // False when the item cannot fit even an empty payload (the caller drops it as item_too_big).
  bool add(std::string_view item, std::size_t points);
  std::vector<Payload> take();

 private:
  void finish();
  std::size_t empty_size() const { return format_.prefix.size() + format_.suffix.size(); }

  Format format_;
  std::size_t max_bytes_, max_points_;
  Payload current_;
  bool open_ = false;
  std::size_t points_ = 0;
  std::vector<Payload> done_;
};

}  // namespace lc::metrics
