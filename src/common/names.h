// Validation of user-supplied checkpoint names and versions.
//
// A checkpoint name is 1..kMaxNameLength characters of [A-Za-z0-9_.], and is not "."
// or "..": it is used as a directory component, so it can never name a parent or
// escape the configured scratch/persistent directories. Versions are >= 0.
#pragma once

#include <string_view>

#include "common/status.h"

namespace cairn {

inline constexpr size_t kMaxNameLength = 200;

Status ValidateName(std::string_view name);
Status ValidateVersion(long long version);

}  // namespace cairn
