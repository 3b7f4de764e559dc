// What `cairn job` does when a segment's application has ended, and how the job's remaining
// total time travels between segments (in the Slurm job's Comment). Pure functions: no
// I/O, so every rule is unit-tested.
//
// Comment format: "<remaining>[,max=<max>]" with Slurm times, e.g. "0-02:30:00,max=0-01:00:00".
// A plain Slurm time ("4:00:00", NERSC's --comment convention) is the total with no max.
// "max" is the job's original time limit, kept because `cairn job` lowers TimeLimit for
// the last segments and must not lose it.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cairn::job {

struct JobComment {
  int64_t remaining = -1;  // seconds; kSlurmTimeUnlimited for UNLIMITED
  int64_t max = -1;        // seconds; -1 when not recorded
};

// "" -> kNotFound; anything else that is not the format above -> kInvalidArgument.
Result<JobComment> ParseJobComment(const std::string& text);
std::string FormatJobComment(const JobComment& c);

// How the segment's application ended.
enum class AppEnd {
  kFinished,      // exited 0 on its own: the work is done
  kFailed,        // nonzero exit or killed (not by cairn job's request)
  kCheckpointed,  // exited after the final checkpoint cairn job asked for (library: ack)
  kInterrupted,   // cairn job had to kill it before a final checkpoint: resume from the
                  // last periodic one
};

struct Decision {
  std::string action;  // done | failed | requeue | out-of-time
  bool requeue = false;
  int64_t remaining = -1;   // total seconds left after this segment; unlimited stays so
  int64_t next_limit = -1;  // TimeLimit of the next segment (seconds) when requeue
  int exit_code = 0;        // cairn job's exit status when it does not requeue
};

// remaining_at_start: the job's total time left when the segment started (or
// kSlurmTimeUnlimited); used: seconds this segment ran; lead: seconds a segment needs
// before its end for the final checkpoint (a requeue is worth it only if more than that is
// left); max_limit: the job's original time limit (or kSlurmTimeUnlimited / -1 unknown);
// app_status: exit status of the application (128+N for signal N).
Decision Decide(AppEnd end, int app_status, int64_t remaining_at_start, int64_t used, int64_t lead,
                int64_t max_limit);

}  // namespace cairn::job
