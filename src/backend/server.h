// The async backend (`cairn backend`): a node-local daemon, one per user, job and
// configuration (ipc/identity.h), that makes staged checkpoints durable after the
// application has moved on, and keeps doing so if the application dies.
//
// Threads: the main thread accepts connections and watches for idleness; one reader
// thread per client connection (so 64+ ranks need no fixed-size queue: each rank's
// requests wait in its own unbounded deque); `backend_workers` worker threads at
// nice 10 and idle-ish I/O priority run the pipeline (pipeline/persist.h). Requests
// of one rank run in order; different ranks run in parallel up to the worker count.
//
// Protocol (client -> backend): HELLO{rank,nranks,pid}; STAGING{size} with the
// shared-memory descriptor; CKPT{seq,name,version,persistent,safe_scratch,
// safe_persistent,region=kind:id:offset:size*,file=original*}; STATUS; BYE.
// Backend -> client: WELCOME{pid,job}; ACCEPTED{seq}; SCRATCH{seq,status,message}
// (scratch committed or failed; the staging area is free again);
// DONE{seq,status,message,persistent}; STATUS{...}; ERROR{message}.
//
// It exits after `backend_idle_timeout` seconds with no client and no work.
#pragma once

#include <string>

#include "config/config.h"
#include "ipc/identity.h"

namespace cairn::backend {

struct ServerOptions {
  Config config;
  ipc::BackendPaths paths;
  std::string job_id;
};

// Runs until idle; returns a process exit code (0: normal idle exit or another backend
// already serves this key).
int RunServer(const ServerOptions& opts);

}  // namespace cairn::backend
