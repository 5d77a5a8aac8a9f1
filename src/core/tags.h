// core/tags.h — tag lists: DD_TAGS parsing, tag keys, sorting and merging. Pure functions; used
// by config finalisation, core/tag_sets.h (the tags sent, read at encode time) and the parsers.
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

// The key of a `key:value` tag (the text before the first ':'); a bare tag is its own key.
std::string_view tag_key(std::string_view tag);

// The tags of `tags` whose key is not one of `keys`, in order; the others go to *removed.
std::vector<std::string> without_keys(const std::vector<std::string>& tags,
                                      const std::vector<std::string>& keys,
                                      std::vector<std::string>* removed = nullptr);

// Appends `extra` to `tags`, skipping tags already present.
void append_unique(std::vector<std::string>& tags, const std::vector<std::string>& extra);

}  // namespace lc
