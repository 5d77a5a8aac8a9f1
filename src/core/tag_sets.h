// core/tag_sets.h — the tags lastcall adds to what it sends (lambda-agent.md §3.5,
// serverless-init.md §5.4): five sets (base, custom metrics, enhanced metrics, logs, traces),
// each a cached list read by the encoders when a payload is built, never copied at construction.
// app/ builds one from config and owns it; it and the producers of late tags (lambda/ account
// id and runtime, init/ cloud metadata, microvm/ microVM id) update it on the loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/common_config.h"
#include "core/lambda_config.h"
#include "core/thread_owner.h"

namespace lc {

enum class TagSetId : std::uint8_t {
  kBase,             // every point, log and span unless a narrower set applies
  kCustomMetrics,    // DogStatsD metrics from the app: base minus the excluded keys
  kEnhancedMetrics,  // lastcall's own enhanced metrics: the full base set in Lambda
  kLogs,             // the ddtags of logs
  kTraces,           // the payload and span tags of traces
};
inline constexpr std::size_t kTagSetCount = 5;
std::string_view tag_set_name(TagSetId id);  // "base", "custom_metrics", ...

// Which sets a tag goes to: a bit per TagSetId.
class TagSetMask {
 public:
  constexpr TagSetMask() = default;
  static constexpr TagSetMask all() { return TagSetMask((1u << kTagSetCount) - 1); }
  static constexpr TagSetMask of(std::initializer_list<TagSetId> ids) {
    unsigned bits = 0;
    for (TagSetId id : ids) bits |= 1u << static_cast<unsigned>(id);
    return TagSetMask(bits);
  }
  constexpr bool has(TagSetId id) const { return (bits_ & (1u << static_cast<unsigned>(id))) != 0; }
  constexpr bool operator==(const TagSetMask&) const = default;

 private:
  constexpr explicit TagSetMask(unsigned bits) : bits_(bits) {}
  unsigned bits_ = 0;
};

class TagSets {
 public:
  // Empty: no tag in any set (tests, and components built without app/).
  TagSets() = default;
  // From the finalized configuration (§3.5): env/service/version (lower-cased) when set, then
  // the user tags of DD_TAGS ⊕ DD_EXTRA_TAGS (datadog.yaml `tags`) as given; the custom-metrics
  // set loses DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS. An env:/service:/version: user item gives
  // way to the dedicated variable when that is set (one debug line each).
  TagSets(const CommonConfig& common, const LambdaConfig& lambda);

  // Encoders hold a reference: a TagSets stays where it was built.
  TagSets(const TagSets&) = delete;
  TagSets& operator=(const TagSets&) = delete;

  // A shared empty instance, for components built without tags.
  static const TagSets& none();

  // --- read when a payload is built ----------------------------------------------------------
  // lastcall's own tags in the order they were first set, then the user tags; no duplicates, and
  // never two values for one of lastcall's keys.
  const std::vector<std::string>& tags(TagSetId id) const {
    return cache_[static_cast<std::size_t>(id)];
  }
  // The same, comma-joined (the ddtags of logs, X-Datadog-Additional-Tags).
  const std::string& joined(TagSetId id) const { return joined_[static_cast<std::size_t>(id)]; }
  // Changes with every update that changes a set: lets a consumer cache what it derives.
  std::uint64_t generation() const { return generation_; }

  // --- updated on the loop thread ------------------------------------------------------------
  // Sets lastcall's own tag `key:value` in the sets of `sets`: replaces an earlier value of key in
  // place (a new key goes after the earlier ones). A user tag of the same key is hidden from then
  // on (§3.5: a point never carries two values for one of the keys lastcall sets itself).
  void set(std::string_view key, std::string_view value, TagSetMask sets = TagSetMask::all());
  // Removes lastcall's own tag of `key` (hidden user tags of that key come back).
  void remove(std::string_view key);
  // The user tags (DD_TAGS ⊕ DD_EXTRA_TAGS, parsed), kept as given, in every set.
  void set_user_tags(const std::vector<std::string>& tags);
  // Keys removed from the custom-metrics set only (DD_LAMBDA_CUSTOMER_METRICS_EXCLUDE_TAGS).
  void set_custom_metrics_excluded_keys(std::vector<std::string> keys);

  // lastcall's own value of key, empty when it has none.
  std::string_view value(std::string_view key) const;

 private:
  struct OwnTag {
    std::string key;
    std::string tag;  // "key:value"
    TagSetMask sets;
  };

  void rebuild();
  const OwnTag* own_tag(std::string_view key) const;
  bool excluded_from(TagSetId id, std::string_view key) const;

  std::vector<OwnTag> own_;
  std::vector<std::string> user_;
  std::vector<std::string> custom_excluded_keys_;
  std::array<std::vector<std::string>, kTagSetCount> cache_;
  std::array<std::string, kTagSetCount> joined_;
  std::vector<std::string> hidden_logged_;  // user tags already reported as hidden
  std::uint64_t generation_ = 0;
  ThreadOwner loop_thread_;
};

}  // namespace lc
