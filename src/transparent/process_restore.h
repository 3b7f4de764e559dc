// The restore of one process from its image: everything `cairn restart` does before the
// restorer (transparent/restore) takes over, in two steps so that a restart of a tree can
// check every image before it creates any process.
//
// Contract:
//   - Prepare() opens the image (header, sections, batch headers: kCorruption or
//     kInvalidArgument for damaged or foreign files), checks it against this host (vDSO,
//     restart information, the restorer's range), checks its files and takes its lineage lock
//     (RestoredFiles::Check: refuses while the process still runs), walks the page batches
//     (a compressed image is decoded, and so verified, into a memfd) and writes the plan
//     (transparent/restore/plan.h) into a memfd. Shared file mappings and shared memory are
//     opened (memory of one object shared again with other processes restored with the
//     same options.shared_memory). Nothing of the caller's process changes but new descriptors, all
//     at or above min_free_fd(), none FD_CLOEXEC-less until Exec.
//   - KeepAbove(fd) moves a descriptor of the caller (e.g. MPICH's PMI connection) above the
//     saved ones and keeps it open across Exec.
//   - Keep(fd) keeps a descriptor of the caller open through Install (it must be at or above
//     min_free_fd(); FD_CLOEXEC ones then close at the exec).
//   - Install() re-creates the saved descriptors at their numbers (RestoredFiles::Install),
//     closes every other descriptor but 0, 1, 2 and the kept ones, restores the working
//     directory and umask. Run() executes the restorer. Exec() is both. After Install the
//     process must exec or exit (its descriptors are the restored program's); Run and Exec
//     return only on failure.
//   - Warnings (a problem that does not stop the restore) go to options.warn.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "transparent/restored_files.h"

namespace cairn::transparent {

struct ProcessRestoreOptions {
  std::string restorer;      // the cairn-restorer executable
  bool bind_sockets = true;  // false for an MPI rank (RestoredFiles)
  // Hash every page of the image in Prepare (one more read of it) instead of in the
  // restorer: a corrupt copy is then refused while the caller can still try another
  // (tree/levels.h RestartCandidates), not after the restorer has replaced this process.
  bool verify_pages_first = false;
  int min_fd = 0;             // the restore's own descriptors go at or above this number
  std::set<int> restore_std;  // RestoredFiles::SetStdDescriptors
  std::map<uint64_t, SharedPipe> shared_pipes;          // RestoredFiles::SetSharedPipes
  std::map<uint64_t, int> shared_sockets;               // RestoredFiles::SetSharedSockets
  std::map<uint32_t, std::pair<int, int>> shared_ptys;  // RestoredFiles::SetSharedPtys
  // Shared memory without a file (MAP_SHARED|MAP_ANONYMOUS, deleted shm, SysV) by (device,
  // inode) -> a memfd: given, the restores of a tree's processes map one object for what
  // their processes shared. The caller closes the memfds.
  std::map<std::pair<uint64_t, uint64_t>, int>* shared_memory = nullptr;
  std::function<void(const std::string&)> warn;
};

class ProcessRestore {
 public:
  static Result<std::unique_ptr<ProcessRestore>> Prepare(Env* env, const std::string& image,
                                                         const ProcessRestoreOptions& options);
  ~ProcessRestore();
  ProcessRestore(const ProcessRestore&) = delete;
  ProcessRestore& operator=(const ProcessRestore&) = delete;

  // The lowest number above every descriptor of the saved process and of this restore.
  int min_free_fd() const;
  Result<int> KeepAbove(int fd);
  void Keep(int fd) { kept_.push_back(fd); }
  Status Install();
  Status Run();
  Status Exec();

 private:
  ProcessRestore() = default;
  ProcessRestoreOptions options_;
  std::unique_ptr<RestoredFiles> files_;
  int max_fd_ = 2;               // the highest saved descriptor
  int plan_fd_ = -1;             // the plan (memfd)
  std::vector<int> data_fds_;    // the page data: the images of a chain, or a memfd
  std::vector<int> region_fds_;  // files and shared memory the restorer maps
  std::vector<int> kept_;        // KeepAbove
  std::string cwd_;
  uint32_t umask_ = 022;
};

}  // namespace cairn::transparent
