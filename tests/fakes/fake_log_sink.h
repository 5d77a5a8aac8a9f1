// tests/fakes/fake_log_sink.h — a LogSink that keeps every LogRecord it is given, in order. For
// unit tests of log producers (lambda/ telemetry records and synthesized START/END/REPORT lines,
// init/ stdout and stderr capture): assert on messages, statuses, request ids and tags.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log_sink.h"

namespace lc::fakes {

class FakeLogSink final : public LogSink {
 public:
  void add(LogRecord record) override { records_.push_back(std::move(record)); }

  const std::vector<LogRecord>& records() const { return records_; }
  std::size_t size() const { return records_.size(); }
  void clear() { records_.clear(); }

  // The messages, in order (handy for EXPECT_THAT(..., ElementsAre(...))).
  std::vector<std::string_view> messages() const {
    std::vector<std::string_view> out;
    out.reserve(records_.size());
    for (const auto& r : records_) out.emplace_back(r.message);
    return out;
  }
  // The first record whose message contains `part`, nullptr when none does.
  const LogRecord* find(std::string_view part) const {
    for (const auto& r : records_) {
      if (r.message.find(part) != std::string::npos) return &r;
    }
    return nullptr;
  }
  // Every record carrying that request id, in order.
  std::vector<const LogRecord*> with_request_id(std::string_view id) const {
    std::vector<const LogRecord*> out;
    for (const auto& r : records_) {
      if (r.request_id == id) out.push_back(&r);
    }
    return out;
  }
  std::size_t count(LogStatus status) const {
    std::size_t n = 0;
    for (const auto& r : records_) n += r.status == status ? 1 : 0;
    return n;
  }

 private:
  std::vector<LogRecord> records_;
};

}  // namespace lc::fakes
