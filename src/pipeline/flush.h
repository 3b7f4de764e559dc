// The backend's flush of a transparent checkpoint (FLUSH, backend/server.h): the committed
// files of a node-local checkpoint directory copied to the persistent level, then the files
// retention no longer keeps there removed. The requester (transparent/levels.h) knows the
// image layout and says which files, in which order; this stage only moves bytes durably.
//
// Contract:
//   - `from` and `to` are absolute directories; every name in `copy` and `remove` is a plain
//     file name (no '/', not "." or ".."): anything else is kInvalidArgument and changes
//     nothing. `to` is created (0700) when missing.
//   - Files are copied in the order given (a job manifest last, after its images), each to
//     `to/NAME.tmp` (0600), fdatasync'ed, renamed to `to/NAME`, and `to` fsync'ed before the
//     next one: a file appears under its name only once it is durable, and a later file
//     (the manifest) only after the earlier ones (its images). A file already at `to` with
//     the same size is not copied again (the request is idempotent: a backend killed in the
//     middle leaves at most a *.tmp, which the next flush overwrites).
//   - Then every name of `remove` is deleted from `to` (a missing one is fine) and `to`
//     fsync'ed.
//   - The first failure stops the flush and is returned, naming the file; what was renamed
//     before it stays (complete files only).
//   - Flushes to one `to` run one at a time, also across processes: each holds an exclusive
//     flock on `to`/kFlushLockName (created 0600, left in place) while it copies and removes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/pacer.h"
#include "common/status.h"
#include "env/env.h"

namespace cairn::pipeline {

inline constexpr const char* kFlushLockName = ".cairn-flush.lock";

struct FlushRequest {
  std::string from, to;
  std::vector<std::string> copy;    // in commit order
  std::vector<std::string> remove;  // at `to`, after the copies
};

Status Flush(const FlushRequest& r, Env* env, Pacer* pacer = nullptr,
             std::atomic<uint64_t>* progress = nullptr);

}  // namespace cairn::pipeline
