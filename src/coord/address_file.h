// The coordinator's address file: DIR/.cairn/coordinator. It tells participants and
// `cairn checkpoint` where the job's coordinator listens and the token that proves they
// talk to the right one.
//
// Format (text, exactly these four lines, in this order):
//   host PORT\n      host: an address other nodes can reach (no blanks), PORT 1..65535
//   token TOKEN\n    32 lowercase hex digits (NewToken())
//   job JOBKEY\n     the launcher's opaque job identity (rest of the line; no newline)
//   pid PID\n        the coordinator's process id
// Written atomically (DIR/.cairn/coordinator.tmp.<pid>, fdatasync, rename, fsync of
// DIR/.cairn) with mode 0600; DIR/.cairn is created 0700 if missing.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "env/env.h"

namespace cairn::coord {

struct CoordinatorAddress {
  std::string host;
  int port = 0;
  std::string token;
  std::string job_key;
  long long pid = 0;
};

// DIR/.cairn/coordinator
std::string AddressFilePath(const std::string& dir);

// 32 lowercase hex digits from getrandom() (falls back to a hash of time, pid and
// addresses only if getrandom fails).
std::string NewToken();

// Refuses (kInvalidArgument) a host with blanks, a port outside 1..65535, a token that is
// not 32 hex digits, an empty job key or one with a newline.
Status WriteAddressFile(const std::string& dir, const CoordinatorAddress& a,
                        Env* env = Env::Default());

// kNotFound if the file does not exist; kCorruption naming the file and the line when it
// is not in the format above (a half-written file cannot be seen: writes are atomic).
Result<CoordinatorAddress> ReadAddressFile(const std::string& dir, Env* env = Env::Default());

// Looks for the coordinator of `job_key` under DIR: reads the file every 100 ms until
// timeout_ms, skipping one that is missing or garbled or names another job, and calls
// attempt(address, ms left) with each that names job_key. Ok from attempt ends the search;
// kUnavailable (no answer, the token refused: a stale file) tries again, its message kept as
// the last reason; any other error ends the search with it. Timing out is kUnavailable naming
// DIR, the job key and the last reason.
Status FindCoordinator(const std::string& dir, const std::string& job_key, int timeout_ms,
                       const std::function<Status(const CoordinatorAddress&, int)>& attempt);

// Removes the file only if it still names `token` (a newer coordinator may have replaced
// it). A missing file is OK.
Status RemoveAddressFileIfOurs(const std::string& dir, const std::string& token,
                               Env* env = Env::Default());

}  // namespace cairn::coord
