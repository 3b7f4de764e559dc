#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace cairn {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kCorruption:
      return "corruption";
    case Code::kIOError:
      return "I/O error";
    case Code::kNoSpace:
      return "no space";
    case Code::kFailedPrecondition:
      return "failed precondition";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown";
}

Status Status::FromErrno(const std::string& context, int err) {
  std::string m = context + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(std::move(m));
  if (err == ENOENT) return NotFound(std::move(m));
  return IOError(std::move(m));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::Annotate(const std::string& prefix) const {
  if (ok()) return *this;
  return Status(code_, prefix + ": " + message_);
}

Status Status::FromCode(long long code, std::string m) {
  if (code <= static_cast<long long>(Code::kOk) || code > static_cast<long long>(Code::kInternal)) {
    return {Code::kInternal, std::move(m)};
  }
  return {static_cast<Code>(code), std::move(m)};
}

}  // namespace cairn
