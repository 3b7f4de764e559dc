// cairn_py::Client: one open cairn_client_t seen from Python (the object behind cairn.Client).
//
// Contract
// - Buffers: protect() takes any object exporting a writable, contiguous (C or Fortran order)
//   buffer and registers its memory as is: no copy, ever. The Py_buffer export is held until
//   the region is unprotected, replaced, cleared or the client closed, which keeps the
//   object alive and stops resizable exporters (bytearray, numpy) from moving the memory.
//   Read-only buffers and non-contiguous ones raise cairn.InvalidArgument, objects that are
//   not buffers TypeError.
// - Every call into libcairn runs with the GIL released (checkpoints, restarts, waits and
//   collective MPI calls can take long, and on_commit observers take the GIL themselves).
//   close() refuses (cairn.OrderError) while another thread is inside a call on the client.
// - on_commit callbacks accumulate (each one registered is called, in order); one C observer
//   dispatches to them. Their exceptions go to sys.unraisablehook.
// - Failures raise cairn.Error subclasses with cairn_last_error()'s message. Calls on a
//   closed client raise cairn.OrderError.
// - Destruction closes a still-open client (drain), like cairn::Client in cairn.hpp, unless
//   the interpreter is shutting down (SetFinalizing()): then nothing is called any more.
#ifndef CAIRN_PYTHON_CLIENT_H
#define CAIRN_PYTHON_CLIENT_H

#include <cairn/cairn.h>
#include <pybind11/pybind11.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cairn_py {

// From now on no Client calls into libcairn from a destructor or an observer (interpreter
// shutdown; set by cairn's atexit handler once it has closed what it should).
void SetFinalizing();

class Client {
 public:
  // cairn_open_single(rank, config). config: a VeloC configuration file, or none for the
  // environment (CAIRN_<KEY>).
  static std::unique_ptr<Client> OpenSingle(unsigned rank,
                                            const std::optional<std::string>& config);
  // cairn_open_mpi over an mpi4py communicator (collective). TypeError when `comm` is not one.
  static std::unique_ptr<Client> OpenMpi(pybind11::handle comm,
                                         const std::optional<std::string>& config);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_mpi() const { return mpi_; }
  bool closed() const { return c_ == nullptr; }

  void Protect(int id, pybind11::handle obj, const std::string& group);
  void Unprotect(int id, const std::string& group);
  void Clear(const std::string& group);
  void ClearAll();
  // (group, id) of every protected region, sorted.
  std::vector<std::pair<std::string, int>> Regions() const;

  void Checkpoint(const std::string& name, long long version);
  void CheckpointBegin(const std::string& name, long long version);
  // ids: none = every region; exclude: every region except `ids`.
  void CheckpointMem(const std::optional<std::vector<int>>& ids, bool exclude);
  void CheckpointEnd(bool success);
  void Wait();
  bool Finished();
  void Cleanup(const std::string& name);
  void OnCommit(pybind11::function fn);
  bool NeedCheckpoint();
  bool ShouldExit();

  // Version restored / found, or nullopt when there is none (CAIRN_E_NOT_FOUND).
  std::optional<long long> RestartLatest(const std::string& name, long long max_version);
  std::optional<long long> RestartTest(const std::string& name, long long max_version);
  void Restart(const std::string& name, long long version);
  void RestartBegin(const std::string& name, long long version);
  size_t RecoverSize(int id);
  void RecoverMem(const std::optional<std::vector<int>>& ids, bool exclude);
  void RestartEnd(bool success);

  std::string RouteFile(const std::string& original);
  void Close(bool drain);

 private:
  struct Buffer;
  // The C observer registered (once) by OnCommit; calls every callback in callbacks_.
  static void OnCommitTrampoline(const char* name, long long version, void* user) noexcept;
  explicit Client(cairn_client_t* c, bool mpi);

  // The handle; cairn.OrderError when closed.
  cairn_client_t* Handle() const;
  // Runs f(handle) with the GIL released, then raises on failure (cairn_last_error).
  template <class F>
  void Run(F&& f);
  // As Run, but returns the status (CAIRN_E_NOT_FOUND passes through, other errors raise).
  template <class F>
  cairn_status_t RunAllowNotFound(F&& f);
  void ReleaseAll();  // drops every held buffer and callback (after close)

  cairn_client_t* c_ = nullptr;
  bool mpi_ = false;
  int rank_ = -1;
  int size_ = -1;
  int active_ = 0;  // calls in progress with the GIL released (changed with the GIL held)
  std::map<std::pair<std::string, int>, std::unique_ptr<Buffer>> regions_;
  std::vector<pybind11::object> callbacks_;  // on_commit callbacks, in registration order
};

}  // namespace cairn_py

#endif  // CAIRN_PYTHON_CLIENT_H
