// The VeloC C++ API, implemented by cairn (libcairn). Programs written for VeloC compile
// against this header and run unchanged.
//
// No method throws, calls exit() or abort(), or prints to stdout: failures are logged (to
// stderr or CAIRN_LOG_FILE) and reported by the return value (false, VELOC_FAILURE, "").
//
// Ownership: get_client() returns the process-wide client, which the library owns. Every
// call of get_client() returns the same object (the arguments of later calls are ignored)
// until it is destroyed, by `delete` on the pointer (as some VeloC programs do; this waits
// for pending work first) or by VELOC_Finalize() (the C API shares this client). After
// that, the pointer is dangling and get_client() creates a new client. A client that is
// never destroyed lives until the process exits (it is not destroyed at exit).
//
// Threads: methods may be called from several threads; calls are serialized. A checkpoint
// or restart sequence must be driven by one thread at a time.
#ifndef __VELOC_HPP
#define __VELOC_HPP

#include <cairn/cairn_config.h>
#include <cairn/export.h>

#include <cstddef>
#include <functional>
#include <istream>
#include <ostream>
#include <set>
#include <string>

#include "veloc/defs.h"

#if CAIRN_HAVE_MPI
#include <mpi.h>
#endif

namespace veloc {

class CAIRN_EXPORT client_t {
 public:
  // Writes a data structure into the checkpoint / reads it back (true on success).
  typedef std::function<void(std::ostream&)> serializer_t;
  typedef std::function<bool(std::istream&)> deserializer_t;
  // Called with (checkpoint name, version).
  typedef std::function<void(const std::string&, int)> observer_t;

  // Registers count * base_size bytes at ptr under `id` in the group `name` ("default": the
  // default group). Re-protecting an id replaces it. A checkpoint (or restart) named N uses
  // group N if it exists, else the default group.
  virtual bool mem_protect(int id, void* ptr, size_t count, size_t base_size,
                           const std::string& name = "default") = 0;
  // Registers a data structure saved by `s` and restored by `d`.
  virtual bool mem_protect(int id, const serializer_t& s, const deserializer_t& d,
                           const std::string& name = "default") = 0;
  virtual bool mem_unprotect(int id, const std::string& name = "default") = 0;
  // Unregisters every region of the group.
  virtual bool mem_clear(const std::string& name = "default") = 0;
  // type VELOC_OBSERVE_CKPT_END: `obs` is called after each committed checkpoint version.
  // It may run on a library thread and must not call back into the client.
  virtual bool register_observer(int type, const observer_t& obs) = 0;

  // File mode: the path to write `original` to during a checkpoint, or to read it from
  // during a restart; "" on failure (e.g. outside a checkpoint or restart).
  virtual std::string route_file(const std::string& original) = 0;
  // Removes this rank's checkpoints named `name` from scratch.
  virtual bool cleanup(const std::string& name) = 0;

  // checkpoint_wait + checkpoint_begin + checkpoint_mem + checkpoint_end(true).
  virtual bool checkpoint(const std::string& name, int version) = 0;
  virtual bool checkpoint_begin(const std::string& name, int version) = 0;
  // mode VELOC_CKPT_ALL (ids ignored), VELOC_CKPT_SOME (only ids), VELOC_CKPT_REST (all but ids).
  virtual bool checkpoint_mem(int mode = VELOC_CKPT_ALL, const std::set<int>& ids = {}) = 0;
  // Commits (collectively in MPI mode); success == false discards it and returns false.
  virtual bool checkpoint_end(bool success) = 0;
  // Waits for pending asynchronous work; the result of everything since the last wait.
  virtual bool checkpoint_wait() = 0;
  // Non-blocking: true when no asynchronous work is pending.
  virtual bool checkpoint_finished() = 0;

  // Newest version <= needed_version (0: any) of `name` that can be restarted (by every rank
  // in MPI mode; collective), or VELOC_FAILURE when none. target_rank >= 0 looks at that
  // rank's checkpoint instead of this rank's.
  virtual int restart_test(const std::string& name, int needed_version, int target_rank = -1) = 0;
  // restart_begin + recover_mem + restart_end(true).
  virtual bool restart(const std::string& name, int version, int target_rank = -1) = 0;
  virtual bool restart_begin(const std::string& name, int version, int target_rank = -1) = 0;
  // During a restart: the bytes saved under `id`; 0 when absent (as in VeloC).
  virtual size_t recover_size(int id) = 0;
  // mode VELOC_RECOVER_ALL / SOME / REST as for checkpoint_mem.
  virtual bool recover_mem(int mode = VELOC_RECOVER_ALL, const std::set<int>& ids = {}) = 0;
  virtual bool restart_end(bool success) = 0;

  // Destroys the process-wide client (waiting for pending work first); see above.
  virtual ~client_t();

  // cairn extensions (not in VeloC), after every VeloC member so that VeloC's part of the
  // class keeps its layout. Collective in MPI mode; false (logged) on failure.
  // Whether a checkpoint should be taken now (VELOC_Need_checkpoint).
  virtual bool need_checkpoint();
  // True once a final checkpoint is committed: finalize and exit with status 0
  // (VELOC_Should_exit).
  virtual bool should_exit();
};

// Independent mode: this process checkpoints on its own as `id` (no MPI calls). Returns the
// process-wide client, creating it on the first call; nullptr (logged) when it cannot be
// created (bad or missing configuration, unusable scratch directory, ...). `cfg` may be ""
// (configuration from the environment only).
CAIRN_EXPORT client_t* get_client(unsigned int id, const std::string& cfg);

#if CAIRN_HAVE_MPI
// Collective mode over `comm` (every rank calls it; MPI must be initialized); otherwise as
// above.
CAIRN_EXPORT client_t* get_client(MPI_Comm comm, const std::string& cfg);
#endif

}  // namespace veloc

#endif  // __VELOC_HPP
