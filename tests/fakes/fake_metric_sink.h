// tests/fakes/fake_metric_sink.h — a MetricSink that records an owned copy of every point it is
// given (the views of a MetricPoint die with the add() call). For unit tests of metric producers
// (the DogStatsD parser, lambda/ enhanced metrics, init/ cloud metrics, microvm/ lifecycle
// metrics): assert on what was emitted, by name. Its OwnedMetricPoint is also what the metrics
// tests' CollectingVisitor keeps of each parsed sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/metric_sink.h"

namespace lc::fakes {

// An owned copy of a MetricPoint (whose views die with the call that gave it).
struct OwnedMetricPoint {
  std::string name;
  MetricType type = MetricType::kGauge;
  std::vector<double> values;
  std::string set_member;
  double rate = 1.0;
  std::int64_t timestamp = 0;
  std::vector<std::string> tags;
  std::string host;
  bool has_host = false;

  static OwnedMetricPoint copy_of(const MetricPoint& p) {
    OwnedMetricPoint copy;
    copy.name = std::string(p.name);
    copy.type = p.type;
    copy.values.assign(p.values.begin(), p.values.end());
    copy.set_member = std::string(p.set_member);
    copy.rate = p.rate;
    copy.timestamp = p.timestamp;
    copy.tags.reserve(p.tags.size());
    for (const auto t : p.tags) copy.tags.emplace_back(t);
    if (p.has_host) copy.host = std::string(p.host);
    copy.has_host = p.has_host;
    return copy;
  }

  bool has_tag(std::string_view tag) const {
    for (const auto& t : tags) {
      if (t == tag) return true;
    }
    return false;
  }
  // The single value of a one-value point (NaN when it has none or several).
  double value() const {
    return values.size() == 1 ? values[0] : std::numeric_limits<double>::quiet_NaN();
  }
};

class FakeMetricSink final : public MetricSink {
 public:
  using Point = OwnedMetricPoint;

  void add(const MetricPoint& p) override { points_.push_back(OwnedMetricPoint::copy_of(p)); }

  const std::vector<Point>& points() const { return points_; }
  std::size_t size() const { return points_.size(); }
  void clear() { points_.clear(); }

  // Every point of that name, in emission order.
  std::vector<const Point*> find_all(std::string_view name) const {
    std::vector<const Point*> out;
    for (const auto& p : points_) {
      if (p.name == name) out.push_back(&p);
    }
    return out;
  }
  // The first point of that name, nullptr when there is none.
  const Point* find(std::string_view name) const {
    for (const auto& p : points_) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }
  // The last point of that name, nullptr when there is none.
  const Point* last(std::string_view name) const {
    for (auto it = points_.rbegin(); it != points_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }
  std::size_t count(std::string_view name) const { return find_all(name).size(); }

 private:
  std::vector<Point> points_;
};

}  // namespace lc::fakes
