// Slurm time strings <-> whole seconds.
//
// ParseSlurmTime accepts every form Slurm documents for --time, --time-min and friends:
//   MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, and UNLIMITED / INFINITE (any case).
// The leading field may be as large as fits (e.g. "48:00:00", "600", "1000-00"); the fields
// after it must be in range (minutes and seconds 0..59, hours after a day 0..23). Only ASCII
// digits are accepted (no signs, blanks inside, or fractions); leading and trailing blanks
// are ignored. Every refusal is kInvalidArgument with a message naming the value and why.
// Arithmetic is overflow-checked: a value beyond kSlurmTimeMaxSeconds is refused.
//
// UNLIMITED is returned as kSlurmTimeUnlimited (INT64_MAX), so that std::min(x, limit)
// does the right thing; never do other arithmetic with it.
//
// FormatSlurmTime renders seconds as D-HH:MM:SS (what `scontrol update TimeLimit=` and
// Comment fields accept), "UNLIMITED" for kSlurmTimeUnlimited; negative values as 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn::job {

inline constexpr int64_t kSlurmTimeUnlimited = INT64_MAX;
// About 292 billion years: any finite value above this is refused.
inline constexpr int64_t kSlurmTimeMaxSeconds = INT64_MAX / 2;

Result<int64_t> ParseSlurmTime(std::string_view text);

std::string FormatSlurmTime(int64_t seconds);

}  // namespace cairn::job
