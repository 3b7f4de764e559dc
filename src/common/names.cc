#include "common/names.h"

#include <string>

namespace cairn {

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("checkpoint name is empty");
  if (name.size() > kMaxNameLength) {
    return Status::InvalidArgument("checkpoint name is longer than " +
                                   std::to_string(kMaxNameLength) + " characters");
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument("checkpoint name '" + std::string(name) +
                                   "' is not allowed (it names a directory)");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.';
    if (!ok) {
      return Status::InvalidArgument("checkpoint name '" + std::string(name) +
                                     "' has a character outside [A-Za-z0-9_.]");
    }
  }
  return Status::Ok();
}

Status ValidateVersion(long long version) {
  if (version < 0) {
    return Status::InvalidArgument("checkpoint version " + std::to_string(version) +
                                   " is negative (versions are >= 0)");
  }
  return Status::Ok();
}

}  // namespace cairn
