// fakeintake/proto_reader.h — a minimal, bounds-checked protobuf wire reader (varint, fixed64,
// fixed32, length-delimited) used by the fake intake's decoders. Written from the protobuf wire
// spec so the fake never shares code with lastcall's encoders. Never throws; every read reports
// failure instead. Holds a view of the caller's buffer; owns nothing.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace lc::fakeintake {

enum class WireType : std::uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }
  // The error is sticky: once a read fails every later read fails too.
  bool failed() const { return failed_; }
  const char* error() const { return error_; }

  // Reads the next field key. False at the end of the buffer or on a bad key.
  bool next(std::uint32_t& field, WireType& type) {
    if (failed_ || done()) return false;
    std::uint64_t key = 0;
    if (!read_varint(key)) return false;
    const std::uint64_t wt = key & 7u;
    const std::uint64_t num = key >> 3;
    if (num == 0 || num > 0x1fffffffu) return fail("invalid field number");
    if (wt != 0 && wt != 1 && wt != 2 && wt != 5) return fail("unsupported wire type (groups?)");
    field = static_cast<std::uint32_t>(num);
    type = static_cast<WireType>(wt);
    return true;
  }

  bool read_varint(std::uint64_t& out) {
    if (failed_) return false;
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) return fail("truncated varint");
      const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      if (shift == 63 && (byte & 0x7e) != 0) return fail("varint overflows 64 bits");
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        out = v;
        return true;
      }
    }
    return fail("varint longer than 10 bytes");
  }

  bool read_fixed64(std::uint64_t& out) {
    if (failed_) return false;
    if (data_.size() - pos_ < 8) return fail("truncated fixed64");
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(data_[pos_ + i]);
    pos_ += 8;
    out = v;
    return true;
  }

  bool read_fixed32(std::uint32_t& out) {
    if (failed_) return false;
    if (data_.size() - pos_ < 4) return fail("truncated fixed32");
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(data_[pos_ + i]);
    pos_ += 4;
    out = v;
    return true;
  }

  bool read_bytes(std::string_view& out) {
    std::uint64_t len = 0;
    if (!read_varint(len)) return false;
    if (len > data_.size() - pos_) return fail("length-delimited field overruns the buffer");
    out = data_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return true;
  }

  bool read_double(double& out) {
    std::uint64_t bits = 0;
    if (!read_fixed64(bits)) return false;
    std::memcpy(&out, &bits, sizeof out);
    return true;
  }

  bool skip(WireType type) {
    switch (type) {
      case WireType::kVarint: {
        std::uint64_t v;
        return read_varint(v);
      }
      case WireType::kFixed64: {
        std::uint64_t v;
        return read_fixed64(v);
      }
      case WireType::kFixed32: {
        std::uint32_t v;
        return read_fixed32(v);
      }
      case WireType::kLen: {
        std::string_view v;
        return read_bytes(v);
      }
    }
    return fail("unknown wire type");
  }

  bool fail(const char* why) {
    if (!failed_) error_ = why;
    failed_ = true;
    return false;
  }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  const char* error_ = "";
};

inline std::int64_t zigzag_decode64(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace lc::fakeintake
