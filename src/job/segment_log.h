// The per-segment log of a `cairn job`: DIR/.cairn/job-<jobid>.log, one JSON object per line.
//
// A Slurm job that requeues itself runs as a chain of segments (SLURM_RESTART_COUNT 0, 1,
// ...). `cairn job` appends one record when a segment starts (action "running") and one when
// it ends (requeue, done, failed, out-of-time, stopped, requeue-failed). A segment whose
// processes were killed without warning leaves only its "running" record; SegmentsOf
// reports it as "lost" once a later segment exists.
//
// Each line is written with one write(2) on an O_APPEND descriptor and fdatasync'ed, so
// concurrent appenders never interleave and a crash loses at most the line being written.
// Readers skip lines that do not parse (e.g. a torn last line) and count them.
//
// Fields (all optional when unknown; numbers are JSON numbers, -1 or absent = unknown):
//   job, segment, mode ("transparent" | "library"), action, start (Unix s), end (Unix s),
//   time_limit (s; -1 unlimited/unknown), used (s run in this segment), trigger ("signal" |
//   "timer" | "app"), ckpt_start (s after the segment start the final checkpoint was asked
//   for), ckpt_cost (s it took), remaining (total s left after this segment; -1 unlimited),
//   next_limit (s, for a requeue), exit_status, message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::job {

struct SegmentRecord {
  std::string job;
  int64_t segment = 0;
  std::string mode;
  std::string action;
  int64_t start = -1;
  int64_t end = -1;
  int64_t time_limit = -1;
  int64_t used = -1;
  std::string trigger;
  double ckpt_start = -1;
  double ckpt_cost = -1;
  int64_t remaining = -1;
  int64_t next_limit = -1;
  int64_t exit_status = -1;
  std::string message;
};

// DIR/.cairn/job-<job>.log
std::string SegmentLogPath(const std::string& dir, const std::string& job);

// One JSON object, no newline.
std::string EncodeSegmentRecord(const SegmentRecord& r);
// The inverse; kCorruption for anything that is not such an object.
Result<SegmentRecord> DecodeSegmentRecord(const std::string& line);

// Appends the record as one line (creating the file 0600 and its directory 0700).
Status AppendSegmentRecord(const std::string& path, const SegmentRecord& r);

struct SegmentLog {
  std::string path;
  std::vector<SegmentRecord> records;  // in file order
  int bad_lines = 0;                   // lines that did not parse
};
Result<SegmentLog> ReadSegmentLog(const std::string& path);

// One record per segment, in segment order: the last record written for each segment
// (an end record supersedes its "running" record; its start is kept from the first).
// A segment left "running" while a later segment exists is reported as "lost".
std::vector<SegmentRecord> SegmentsOf(const SegmentLog& log);

// The job logs in DIR/.cairn (paths of job-*.log), sorted; empty if there is none.
std::vector<std::string> FindSegmentLogs(const std::string& dir);

}  // namespace cairn::job
