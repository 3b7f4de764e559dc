#include "job/decision.h"

#include <algorithm>

#include "job/slurm_time.h"

namespace cairn::job {

Result<JobComment> ParseJobComment(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\n");
  if (b == std::string::npos || text == "(null)") return Status::NotFound("empty job comment");
  const std::string s = text.substr(b, text.find_last_not_of(" \t\n") - b + 1);
  JobComment c;
  const size_t comma = s.find(',');
  auto rem = ParseSlurmTime(s.substr(0, comma));
  if (!rem.ok()) {
    return Status::InvalidArgument("job comment '" + s +
                                   "' is not a remaining time: " + rem.status().message());
  }
  c.remaining = rem.value();
  if (comma != std::string::npos) {
    const std::string rest = s.substr(comma + 1);
    if (rest.compare(0, 4, "max=") != 0) {
      return Status::InvalidArgument("job comment '" + s + "': expected ',max=TIME' after " +
                                     "the remaining time");
    }
    auto mx = ParseSlurmTime(rest.substr(4));
    if (!mx.ok()) {
      return Status::InvalidArgument("job comment '" + s + "': bad max: " + mx.status().message());
    }
    c.max = mx.value();
  }
  return c;
}

std::string FormatJobComment(const JobComment& c) {
  std::string s = FormatSlurmTime(c.remaining);
  if (c.max >= 0) s += ",max=" + FormatSlurmTime(c.max);
  return s;
}

Decision Decide(AppEnd end, int app_status, int64_t remaining_at_start, int64_t used, int64_t lead,
                int64_t max_limit) {
  Decision d;
  if (used < 0) used = 0;
  if (remaining_at_start == kSlurmTimeUnlimited) {
    d.remaining = kSlurmTimeUnlimited;
  } else {
    d.remaining = std::max<int64_t>(0, remaining_at_start - used);
  }
  switch (end) {
    case AppEnd::kFinished:
      d.action = "done";
      d.exit_code = app_status;
      return d;
    case AppEnd::kFailed:
      d.action = "failed";
      d.exit_code = app_status == 0 ? 1 : app_status;
      return d;
    case AppEnd::kCheckpointed:
    case AppEnd::kInterrupted:
      break;
  }
  if (d.remaining != kSlurmTimeUnlimited && d.remaining <= lead) {
    d.action = "out-of-time";
    d.exit_code = 0;
    return d;
  }
  d.action = "requeue";
  d.requeue = true;
  int64_t next = d.remaining;
  if (max_limit > 0) next = std::min(next, max_limit);
  d.next_limit = next;
  return d;
}

}  // namespace cairn::job
