// Talking to Slurm through its command-line tools (scontrol, squeue), as a job does from
// inside its allocation. No Slurm library is linked: the tools are found on PATH, and
// SLURM_CONF in the environment selects the cluster as for any other Slurm command.
//
// RunTool runs a program with a timeout and captures its output; every Slurm helper turns
// a failure into a Status that quotes the command and what it printed on stderr.
// Timestamps are Slurm's "YYYY-MM-DDTHH:MM:SS" in the local time zone (as Slurm prints
// them); "Unknown", "None", "N/A" and "(null)" are kNotFound.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn::job {

struct ToolOutput {
  int exit_status = 0;  // the exit status; 128+N for a signal
  std::string out;
  std::string err;
};

// Starts argv (argv[0] looked up on PATH) with `actions` (may be null), every signal
// unblocked and the job-control ones (USR1, USR2, TERM, INT, CHLD, PIPE, HUP) at their
// default dispositions -- except TERM, INT and HUP stay blocked when `shield` is set.
// kNotFound if it cannot be started.
Result<pid_t> SpawnProgram(const std::vector<std::string>& argv,
                           const posix_spawn_file_actions_t* actions, bool shield);

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null, signals at their default
// dispositions and unblocked -- except SIGTERM, SIGINT and SIGHUP when `shield` is set: they
// stay blocked in the tool, so that Slurm's SIGTERM to every process of a job being requeued
// does not end it. Kills it and fails with kUnavailable after `timeout_ms`. A program that
// cannot be started is kNotFound.
Result<ToolOutput> RunTool(const std::vector<std::string>& argv, int timeout_ms,
                           bool shield = false);

// Like RunTool, but a nonzero exit status is an error (kUnavailable) that quotes stderr.
Result<std::string> RunToolOk(const std::vector<std::string>& argv, int timeout_ms,
                              bool shield = false);

// "2026-11-22T14:29:25" (local time) -> Unix seconds.
Result<int64_t> ParseSlurmTimestamp(std::string_view text);

// `scontrol show job -o ID` parsed into the fields `cairn job` needs.
struct JobInfo {
  std::string job_id;
  std::string state;        // JobState, e.g. RUNNING
  int64_t time_limit = -1;  // seconds; kSlurmTimeUnlimited; -1 unknown
  int64_t start_time = -1;  // Unix seconds; -1 unknown
  int64_t end_time = -1;    // Unix seconds; -1 unknown
  int64_t restarts = 0;
  std::string comment;  // "" when (null)
};

// Parses one line of `scontrol show job -o` (KEY=VALUE pairs separated by blanks; values
// of the known keys never contain blanks except Comment, which runs up to the next known
// key). Unknown keys are ignored.
Result<JobInfo> ParseScontrolJob(const std::string& text);

Result<JobInfo> QueryJob(const std::string& job_id);
// The end of the current allocation (squeue -h -j ID -o %e).
Result<int64_t> QueryEndTime(const std::string& job_id);
// scontrol requeue ID
Status RequeueJob(const std::string& job_id);
// scontrol update JobId=ID <assignments...>, e.g. {"TimeLimit=0-01:00:00"}. `shield`: see
// RunTool (for updates after this job's own requeue).
Status UpdateJob(const std::string& job_id, const std::vector<std::string>& assignments,
                 bool shield = false);

}  // namespace cairn::job
