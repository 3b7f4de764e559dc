// Status and Result<T>: how every fallible operation in cairn reports failure.
//
// Contract: no code in libcairn throws across a public boundary, calls exit() or
// abort(). Every failure is a Status with a code and a human-readable message that
// names the object involved (path, name, version, rank). A default Status is OK.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace cairn {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // bad name, version, config value, argument
  kNotFound,            // no such version, region, file
  kCorruption,          // checksum mismatch, bad magic, truncated file
  kIOError,             // a system call failed
  kNoSpace,             // ENOSPC / EDQUOT while writing
  kFailedPrecondition,  // calls out of order (end without begin, ...)
  kUnavailable,         // a peer (backend, rank) is gone
  kInternal,
};

const char* CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  // From an errno value: ENOSPC/EDQUOT map to kNoSpace, ENOENT to kNotFound, else kIOError.
  // The message is "<context>: <strerror>".
  static Status FromErrno(const std::string& context, int err);
  // A status that crossed a process boundary as a code number: an unknown number or kOk
  // (an error without a code) becomes kInternal.
  static Status FromCode(long long code, std::string m);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  // Returns a copy whose message is "<prefix>: <message>" (OK stays OK).
  Status Annotate(const std::string& prefix) const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or an error Status. Accessing value() of an error is a programming error
// (checked in debug builds only); callers test ok() first.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}       // NOLINT(runtime/explicit)
  Result(Status s) : v_(std::move(s)) {}  // NOLINT(runtime/explicit)
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define CAIRN_RETURN_IF_ERROR(expr) \
  do {                              \
    ::cairn::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

}  // namespace cairn
