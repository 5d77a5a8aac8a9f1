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

std::string_view tag_key(std::string_view tag) { return tag.substr(0, tag.find(':')); }

std::vector<std::string> without_keys(const std::vector<std::string>& tags,
                                      const std::vector<std::string>& keys,
                                      std::vector<std::string>* removed) {
  std::vector<std::string> out;
  out.reserve(tags.size());
  for (const auto& tag : tags) {
    const std::string_view key = tag_key(tag);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      out.push_back(tag);
    } else if (removed != nullptr) {
      removed->push_back(tag);
    }
  }
  return out;
}

void append_unique(std::vector<std::string>& tags, const std::vector<std::string>& extra) {
  for (const auto& tag : extra) {
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
  }
}

}  // namespace lc
