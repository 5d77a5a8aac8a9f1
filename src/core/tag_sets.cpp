#include "core/tag_sets.h"

#include <algorithm>

#include "core/assert.h"
#include "core/logger.h"
#include "core/strings.h"
#include "core/tags.h"

namespace lc {

std::string_view tag_set_name(TagSetId id) {
  switch (id) {
    case TagSetId::kBase:
      return "base";
    case TagSetId::kCustomMetrics:
      return "custom_metrics";
    case TagSetId::kEnhancedMetrics:
      return "enhanced_metrics";
    case TagSetId::kLogs:
      return "logs";
    case TagSetId::kTraces:
      return "traces";
  }
  return "base";
}

TagSets::TagSets(const CommonConfig& common, const LambdaConfig& lambda) {
  // lambda-agent.md §3.5: lower-cased, omitted when unset; when set, each wins over the user
  // tags of its key (set() hides them).
  if (!common.env.empty()) set("env", to_lower(common.env));
  if (!common.service.empty()) set("service", to_lower(common.service));
  if (!common.version.empty()) set("version", to_lower(common.version));
  set_user_tags(common.tags);
  set_custom_metrics_excluded_keys(lambda.custom_metrics_exclude_tags);
  // Built before the loop runs, perhaps on another thread: the first update binds the owner.
  loop_thread_.release();
}

const TagSets& TagSets::none() {
  static const TagSets kEmpty;
  return kEmpty;
}

void TagSets::set(std::string_view key, std::string_view value, TagSetMask sets) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  LC_ASSERT(!key.empty() && key.find(':') == std::string_view::npos, "tag key without ':'");
  std::string tag;
  tag.reserve(key.size() + 1 + value.size());
  tag.append(key).append(":").append(value);
  auto it = std::find_if(own_.begin(), own_.end(), [&](const OwnTag& t) { return t.key == key; });
  if (it == own_.end()) {
    own_.push_back({std::string(key), std::move(tag), sets});
  } else {
    it->tag = std::move(tag);  // keeps its position: the order of the encoded tags stays
    it->sets = sets;
  }
  rebuild();
}

void TagSets::remove(std::string_view key) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  const auto it =
      std::find_if(own_.begin(), own_.end(), [&](const OwnTag& t) { return t.key == key; });
  if (it == own_.end()) return;
  own_.erase(it);
  rebuild();
}

void TagSets::set_user_tags(const std::vector<std::string>& tags) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  user_.clear();
  append_unique(user_, tags);
  rebuild();
}

void TagSets::set_custom_metrics_excluded_keys(std::vector<std::string> keys) {
  LC_ASSERT_ON_LOOP(loop_thread_);
  custom_excluded_keys_ = std::move(keys);
  rebuild();
}

std::string_view TagSets::value(std::string_view key) const {
  for (const auto& t : own_) {
    if (t.key == key) return std::string_view(t.tag).substr(key.size() + 1);
  }
  return {};
}

bool TagSets::excluded_from(TagSetId id, std::string_view key) const {
  return id == TagSetId::kCustomMetrics &&
         std::find(custom_excluded_keys_.begin(), custom_excluded_keys_.end(), key) !=
             custom_excluded_keys_.end();
}

const TagSets::OwnTag* TagSets::own_tag(std::string_view key) const {
  for (const auto& t : own_) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

void TagSets::rebuild() {
  std::array<std::vector<std::string>, kTagSetCount> next;
  for (std::size_t i = 0; i < kTagSetCount; ++i) {
    const auto id = static_cast<TagSetId>(i);
    auto& out = next[i];
    out.reserve(own_.size() + user_.size());
    for (const auto& t : own_) {
      if (t.sets.has(id) && !excluded_from(id, t.key)) out.push_back(t.tag);
    }
    for (const auto& tag : user_) {
      const std::string_view key = tag_key(tag);
      if (excluded_from(id, key)) continue;
      // Never two values for one of lastcall's keys: its own value wins in every set it is in.
      const OwnTag* own = own_tag(key);
      if (own != nullptr && own->sets.has(id)) {
        if (std::find(hidden_logged_.begin(), hidden_logged_.end(), tag) == hidden_logged_.end()) {
          hidden_logged_.push_back(tag);
          LC_DEBUG(
              "tags: user tag {} (DD_TAGS/DD_EXTRA_TAGS) dropped: lastcall sets {} (never two "
              "values for one of its keys, lambda-agent.md §3.5)",
              escape_for_log(tag), escape_for_log(own->tag));
        }
        continue;
      }
      out.push_back(tag);
    }
  }
  if (next == cache_) return;
  cache_ = std::move(next);
  for (std::size_t i = 0; i < kTagSetCount; ++i) {
    joined_[i].clear();
    for (const auto& t : cache_[i]) {
      if (!joined_[i].empty()) joined_[i].push_back(',');
      joined_[i] += t;
    }
  }
  ++generation_;
}

}  // namespace lc
