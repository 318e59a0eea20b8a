// Result<T>: a value or a non-OK Status. Thread-compatible.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace voxgate {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
    if (std::get<Status>(v_).ok()) v_ = InternalError("Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  /// OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  /// Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace voxgate

#define VOXGATE_CONCAT_INNER(a, b) a##b
#define VOXGATE_CONCAT(a, b) VOXGATE_CONCAT_INNER(a, b)
/// `VOXGATE_ASSIGN_OR_RETURN(auto x, MakeX());` returns the error, or binds the value.
#define VOXGATE_ASSIGN_OR_RETURN(lhs, expr)                     \
  auto VOXGATE_CONCAT(_voxgate_result_, __LINE__) = (expr);     \
  if (!VOXGATE_CONCAT(_voxgate_result_, __LINE__).ok())         \
    return VOXGATE_CONCAT(_voxgate_result_, __LINE__).status(); \
  lhs = std::move(VOXGATE_CONCAT(_voxgate_result_, __LINE__)).value()
