// The restart of a process tree from its job manifest (kind "tree", tree/round.h), in the
// foreground of `cairn restart`.
//
// Contract:
//   - Every image is opened and checked (transparent/process_restore.h: host, files, lineage
//     lock, page layout) before any process is created; a problem with any of them refuses
//     the whole restart, naming the image, and nothing runs.
//   - The job runs in a new pid namespace (and a mount namespace with its own /proc; a user
//     namespace too when not root), so every process gets back the pid it had: parents fork
//     their children with /proc/sys/kernel/ns_last_pid set, one at a time, depth first. A
//     process whose parent was not in the job becomes a child of the namespace's init (this
//     command's child, which reaps orphans and forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT,
//     SIGUSR1 and SIGUSR2 to those processes). Sessions and process groups led by a process
//     of the job are re-created; children that had exited unreaped come back as such, with
//     their exit status.
//   - Shared objects: every pipe of the job is created once (before the processes) with its
//     bytes in flight, and each process gets its ends at their numbers; so are socket pairs
//     with their queued messages (listeners several processes share are bound once) and
//     shared memory (written once, before anything runs). FIFOs are opened by each process
//     at their path while init holds each one open for reading and writing, so that no
//     writer finds it without a reader. Descriptors 0, 1 and
//     2 of a process stay this command's when they were the same object as those of the
//     processes whose parents were outside the job (the launched program's), else they are
//     restored like the others.
//   - Once every process is in place they all start together (a barrier): until then any
//     failure kills the namespace and is returned. RestoreTree then waits until every
//     process of the namespace has exited and returns the wait status of the first
//     top-level process.
//   - A node of a job spread over several (options.nodes, tree/node_rendezvous.h): the
//     connected TCP ends no process of this tree is the peer of are connected again to their
//     peers on the other nodes, with the nodes' new addresses, before the processes are
//     created; once every process is in place, the processes start only when every node has
//     reached that point too (a barrier through the coordinator). A node that does not
//     fails this one's restart: nothing runs.
//   - Never exits or aborts in the calling process; the namespace's processes (init and
//     the restored ones' stubs) report errors on stderr and through a pipe.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "coord/manifest.h"
#include "env/env.h"

namespace cairn::tree {

class NodeRendezvous;

struct TreeRestoreOptions {
  std::string restorer;             // the cairn-restorer executable
  NodeRendezvous* nodes = nullptr;  // a node of a job spread over several
  bool verify_pages_first = false;  // every image's pages hashed before any process exists
  std::function<void(const std::string&)> warn;
  Env* env = Env::Default();
};

// Returns the wait status (as waitpid() gives it) of the job's first top-level process.
Result<int> RestoreTree(const coord::Manifest& manifest, const TreeRestoreOptions& options);

}  // namespace cairn::tree
