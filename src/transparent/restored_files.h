// The descriptors of a process being restored (`cairn restart`): checked first, then
// re-created at their saved numbers just before the restorer is executed.
//
// Policy (docs/image-format.md, "Files at restart"):
//   - Regular files are reopened by path with their saved flags (no O_CREAT/O_TRUNC) and seek
//     to their saved offset. A file that no longer exists refuses the restart. A file open for
//     writing that grew since the checkpoint is truncated back to its size at the checkpoint
//     (what the program wrote after it is written again after the restart); one that shrank
//     is restored with a warning. A read-only file that changed (size or mtime) is restored
//     with a warning: the program sees the new content. Deleted files come back from the
//     content saved in the image (a memfd).
//   - Pipes whose both ends were in the process come back as one new pipe (with the saved
//     capacity) holding the bytes that were in flight; a read end whose writer was outside gets the
//     bytes then EOF; a write end whose reader was outside is connected to /dev/null. Both with
//     warnings.
//   - The lineage lock (<dir>/.cairn/*.lock, see transparent/preload/control.h) is taken
//     with flock(LOCK_EX|LOCK_NB); if another process still holds it after 2 s (a process
//     killed a moment ago lets go once the kernel has torn it down) the image's process
//     still runs and the restart is refused (kFailedPrecondition) before anything changed.
//   - FIFOs are re-opened by their path holding their bytes in flight (a write end whose
//     reader was outside: the FIFO if somebody reads it now, else /dev/null); a FIFO that
//     is gone is replaced by an anonymous pipe. Both with warnings.
//   - Eventfds, timerfds, signalfds and epolls are created anew with their state
//     (transparent/objects/event_objects.h), after every other descriptor; duplicates are
//     dup()ed. One that cannot be restored refuses the restart with a message naming it.
//   - UNIX sockets (transparent/objects/socket.h): a pair with both ends in the process
//     comes back as a new socketpair holding the queued messages; a listening or unconnected
//     socket is bound to its name again; so is an internet listener (SO_REUSEADDR) or bound
//     UDP socket. One that cannot be re-created refuses the restart.
//   - File locks (flock, POSIX record locks, open file description locks) are taken again
//     once every descriptor is in place; one that another process now holds refuses the
//     restart, naming it.
//   - Directories and /dev character devices are reopened; other sockets and other kinds
//     are not restored (warning), but their numbers stay taken: each becomes one end of a
//     UNIX stream socket pair whose other end is closed (reads see end of file, writes fail
//     with EPIPE: a connection its peer reset), so the program never finds its next open()
//     landing on a number it, or one of its threads, still uses for the lost object.
//     Descriptors 0, 1 and 2 stay the restart command's.
// Check() changes nothing on disk (it only takes the lock); Install() does the rest.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent {

// A pipe re-created by the restart of a tree (tree/restore.h) before its processes, refilled
// with its bytes in flight; either end may be -1 (no such end in the job).
struct SharedPipe {
  int read_fd = -1;
  int write_fd = -1;
};

class RestoredFiles {
 public:
  // `pipe_sizes`: fd -> capacity (F_SETPIPE_SZ) from the image's optional pipes section.
  // `bind_sockets` false (an MPI rank): listeners and unconnected sockets are not bound
  // again. A split process's MPI library may have created them where the preload could not
  // tell them from the program's, and the fresh library of the restart has its own.
  RestoredFiles(std::vector<FileState> files, std::map<int, int> pipe_sizes = {},
                bool bind_sockets = true)
      : files_(std::move(files)), pipe_sizes_(std::move(pipe_sizes)), bind_sockets_(bind_sockets) {}
  ~RestoredFiles();
  RestoredFiles(const RestoredFiles&) = delete;
  RestoredFiles& operator=(const RestoredFiles&) = delete;

  // A process of a tree: these of descriptors 0, 1 and 2 are restored from the image like
  // the others instead of staying the restart command's.
  void SetStdDescriptors(std::set<int> fds) { own_std_ = std::move(fds); }
  // A process of a tree: its pipes (by pipe id) are these, shared with other processes of
  // the job (each saved descriptor gets a duplicate of the end it had).
  void SetSharedPipes(std::map<uint64_t, SharedPipe> pipes) { shared_pipes_ = std::move(pipes); }
  // A process of a tree: its sockets (by socket id) that are these descriptors, created once
  // for the job (pairs whose ends are in different processes, listeners several share).
  void SetSharedSockets(std::map<uint64_t, int> sockets) { shared_sockets_ = std::move(sockets); }
  // The job's pseudo-terminals, re-created (objects/tty.h): pts number -> (master, slave).
  void SetSharedPtys(std::map<uint32_t, std::pair<int, int>> ptys) {
    shared_ptys_ = std::move(ptys);
  }

  // Verifies that every regular file can be reopened and takes the lineage lock.
  Status Check();
  // Re-creates every descriptor at its number (temporaries are placed at >= `min_temp_fd`).
  // Returns the numbers now in use; problems that do not stop a restart go to warnings().
  Result<std::vector<int>> Install(int min_temp_fd);
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  Status InstallRegular(const FileState& f);
  // Descriptors 0..2 that stay the restart command's.
  bool Inherited(const FileState& f) const { return f.fd <= 2 && own_std_.count(f.fd) == 0; }
  Status InstallSharedPipe(const FileState& f, const SharedPipe& p);
  Status InstallPipe(uint64_t pipe_id, FileKind kind, int min_temp_fd, std::vector<int>* installed);
  Status InstallFifo(uint64_t pipe_id, int min_temp_fd, std::vector<int>* installed);
  Status InstallEventObjects(std::vector<int>* installed);
  Status InstallSocket(const FileState& f, int min_temp_fd, std::map<uint64_t, int>* sockets_at,
                       std::vector<int>* installed);

  std::vector<FileState> files_;
  std::map<int, int> pipe_sizes_;
  bool bind_sockets_ = true;
  std::set<int> own_std_;
  std::map<uint64_t, SharedPipe> shared_pipes_;
  std::map<uint64_t, int> shared_sockets_;
  std::map<uint32_t, std::pair<int, int>> shared_ptys_;
  std::vector<std::string> warnings_;
  int lock_fd_ = -1;  // held between Check and Install
  int lock_target_ = -1;
};

// Moves `fd` to the lowest free number >= min_fd, without FD_CLOEXEC (it survives the exec
// of the restorer); the old number is closed, also on failure.
Result<int> MoveFdAbove(int fd, int min_fd);

// Whether `path` is a lineage lock of the preload library.
bool IsLineageLock(const std::string& path);

}  // namespace cairn::transparent
