// core/tags.h — tag lists: DD_TAGS parsing and the base tags appended at serialisation.
// Pure functions; used by config finalisation and every encoder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lc {

// DD_TAGS: "a:1,b:2" or "a:1 b:2" (commas and/or whitespace), empties dropped, order kept,
// duplicates removed.
std::vector<std::string> parse_tag_list(std::string_view text);

// Sorts bytewise and removes duplicates: the tag order of a MetricPoint (core/metric_sink.h).
void sort_unique_tags(std::vector<std::string_view>& tags);

// Appends `extra` to `tags`, skipping tags already present.
void append_unique(std::vector<std::string>& tags, const std::vector<std::string>& extra);

}  // namespace lc
