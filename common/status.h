// Status and Result<T>: the error vocabulary of obsgate.
//
// A leveldb/abseil-sized type: a canonical code plus a message. Everything after config load
// returns these instead of throwing. The gateway maps codes to HTTP statuses in one place
// (gateway/local_reply.h): Unauthenticated -> 401, PermissionDenied -> 403,
// InvalidArgument -> 400, NotFound -> 404, ResourceExhausted -> 413/429,
// Unavailable -> 502, DeadlineExceeded -> 504, everything else -> 500.
//
// Thread-safety: values; copy freely.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace obsgate {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kNotFound,
  kMethodNotAllowed,
  kResourceExhausted,
  kFailedPrecondition,
  kUnavailable,
  kDeadlineExceeded,
  kUnimplemented,
  kInternal,
};

std::string_view code_name(Code c) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status ok_status() { return {}; }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status permission_denied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status resource_exhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status failed_precondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status deadline_exceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
  static Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] bool ok() const noexcept { return code_ == Code::kOk; }
  [[nodiscard]] Code code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  // "InvalidArgument: message" for logs and tests.
  [[nodiscard]] std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T or a non-OK Status. Access value() only after checking ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  [[nodiscard]] bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<T>(v_); }
  [[nodiscard]] T& value() & { return std::get<T>(v_); }
  [[nodiscard]] T&& value() && { return std::get<T>(std::move(v_)); }
  [[nodiscard]] const T& operator*() const& { return value(); }
  [[nodiscard]] T& operator*() & { return value(); }
  [[nodiscard]] const T* operator->() const { return &value(); }
  [[nodiscard]] T* operator->() { return &value(); }
  // The error; OK when a value is held.
  [[nodiscard]] Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

inline std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kNotFound: return "NotFound";
    case Code::kMethodNotAllowed: return "MethodNotAllowed";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kUnavailable: return "Unavailable";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Code::kUnimplemented: return "Unimplemented";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

inline std::string Status::to_string() const {
  if (ok()) {
    return "OK";
  }
  std::string s(code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace obsgate
