#include "core/tags.h"

#include <algorithm>

#include "core/strings.h"

namespace lc {

std::vector<std::string> parse_tag_list(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view piece : split_any(text, ", \t\r\n")) {
    std::string tag(piece);
    if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
  }
  return out;
}

void append_unique(std::vector<std::string>& tags, const std::vector<std::string>& extra) {
  for (const auto& tag : extra) {
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
  }
}

}  // namespace lc
