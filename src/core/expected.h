// core/expected.h — errors as values: Error{code, message} and Expected<T> (conventions.md §5).
// Used by every fallible function in lastcall; nothing in our code throws. The error type is Error
// unless a caller needs a richer one (Expected<T, E>, e.g. the HTTP answer a tool sends instead).
// Header-only; g++ 12 has no std::expected, so this is a small variant-based equivalent.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace lc {

enum class ErrorCode {
  kInvalidArgument,  // input from the user, the network or the platform was malformed
  kNotFound,
  kIo,           // an OS call failed
  kNetwork,      // read/write failed or the peer closed an established connection
  kDns,          // a host name did not resolve
  kConnect,      // a connection could not be opened (refused, unreachable; a proxy refused CONNECT)
  kTls,          // TLS setup, handshake or certificate verification failed
  kTimeout,      // a deadline passed
  kProtocol,     // the peer answered something we cannot use
  kTooLarge,     // a size limit was exceeded
  kUnavailable,  // the resource exists but cannot serve now
  kInternal,     // our own bug (see LC_BUG)
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Adds context to the front: err.with_prefix("telemetry: ").
  Error with_prefix(std::string_view prefix) const {
    std::string m;
    m.reserve(prefix.size() + message.size());
    m.append(prefix).append(message);
    return Error{code, std::move(m)};
  }
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T, typename E = Error>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<
                std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Expected> &&
                !std::is_same_v<std::decay_t<U>, E> && !std::is_same_v<std::decay_t<U>, T>>>
  Expected(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  Expected(E error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const& {
    assert(!ok_);
    return error_;
  }

 private:
  E error_;
  bool ok_ = true;
};

}  // namespace lc
