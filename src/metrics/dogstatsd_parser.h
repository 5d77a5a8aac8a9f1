// metrics/dogstatsd_parser.h — the DogStatsD datagram grammar (datadog-wire.md §1.2–1.9).
// Called on the loop thread by DogStatsdServer (and by the fuzz target) with one datagram at a
// time. Owns only reusable scratch buffers: the samples it hands out point into the packet or into
// those buffers and are valid until the visitor callback returns. Every rejected line is counted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/metric_sink.h"
#include "core/self_metrics.h"

namespace lc::metrics {

// The DogStatsD parser produces core MetricPoints (core/metric_sink.h).
using MetricType = lc::MetricType;
using MetricSample = lc::MetricPoint;

struct EventMessage {
  std::string_view title;  // "\\n" already turned into newlines
  std::string_view text;
  std::int64_t date = 0;
  std::string_view host, aggregation_key, source_type;
  std::string_view priority = "normal";
  std::string_view alert_type = "info";
  std::span<const std::string_view> tags;
};

struct ServiceCheckMessage {
  std::string_view name;
  int status = 0;  // 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
  std::int64_t timestamp = 0;
  std::string_view host, message;
  std::span<const std::string_view> tags;
};

class DogStatsdVisitor {
 public:
  virtual ~DogStatsdVisitor() = default;
  virtual void on_metric(const MetricSample& sample) = 0;
  virtual void on_event(const EventMessage& event) {}
  virtual void on_service_check(const ServiceCheckMessage& check) {}
};

struct ParserOptions {
  bool lambda_mode = false;      // host: tags ignored, reserved names dropped
  std::string namespace_prefix;  // with trailing '.', or empty
  std::vector<std::string> namespace_blacklist;
  std::size_t max_name_length = 200;
  std::size_t max_tags = 100;
};

class DogStatsdParser {
 public:
  static constexpr std::string_view kDropKind = "dogstatsd";
  // Rates below this are raised to it: a weight of 1/rate above 10^6 only serves to overflow
  // sums and to blow a sketch bin up into millions of u16 overflow bins.
  static constexpr double kMinSampleRate = 1e-6;

  DogStatsdParser(ParserOptions options, SelfMetrics& self);

  // Parses every line of one datagram. `truncated`: the datagram was cut by the receive buffer, so
  // the last line is incomplete and dropped (reason truncated).
  void parse_packet(std::string_view packet, bool truncated, DogStatsdVisitor& visitor);
  // One line without its '\n' (a trailing '\r' is stripped). Empty lines are ignored.
  void parse_line(std::string_view line, DogStatsdVisitor& visitor);

  std::uint64_t lines_dropped() const { return lines_dropped_; }

 private:
  void drop(std::string_view reason, std::string_view line);
  void parse_line(std::string_view line, bool utf8_checked, DogStatsdVisitor& visitor);
  void parse_metric(std::string_view line, DogStatsdVisitor& visitor);
  void parse_event(std::string_view line, DogStatsdVisitor& visitor);
  void parse_service_check(std::string_view line, DogStatsdVisitor& visitor);
  // Splits a tag field into tags_ (sorted, deduplicated, empties dropped); host: goes to *host.
  void split_tags(std::string_view field, std::string_view* host, bool* has_host);
  void sort_unique_tags();
  std::string_view apply_namespace(std::string_view name);

  ParserOptions options_;
  SelfMetrics& self_;
  std::vector<double> values_;
  std::vector<std::string_view> tags_;
  // The last metric line's tag field, owned, and what split_tags() made of it (views into it).
  std::string field_text_;
  std::vector<std::string_view> field_tags_;
  std::string_view field_host_;
  bool field_has_host_ = false;
  std::string name_buf_;
  std::string title_buf_, text_buf_;
  std::uint64_t lines_dropped_ = 0;
};

// True when `s` is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
bool is_valid_utf8(std::string_view s);
// A finite double in the DogStatsD float grammar (leading '+' allowed; no hex, NaN or Inf).
bool parse_statsd_double(std::string_view s, double& out);
// The value of an `@rate` field as datadog-wire.md §1.3 rule 7 says: it is read like Go's
// strconv.ParseFloat reads it (the Agent's parser), so besides the float grammar "nan", "inf" and
// "infinity" (any case; the infinities optionally signed) parse, and an underflow such as "1e-999"
// is 0. False when the text does not parse (syntax, or an overflow such as "1e999", which Go
// reports as an error): the line is dropped with reason bad_sample_rate. A parsed rate outside
// (0, 1] (0, negative, > 1, ±Inf, NaN) gives 1; a rate below `min_rate` gives `min_rate`.
bool parse_sample_rate(std::string_view s, double min_rate, double& out);

}  // namespace lc::metrics
