// cairn_py::Client (see client.h): libcairn calls with the GIL released, protected buffers,
// commit observers, MPI communicators from mpi4py.
#include "client.h"

#include <atomic>
#include <cstring>

#include "errors.h"

#if CAIRN_HAVE_MPI && CAIRN_PYTHON_MPI4PY
#include <mpi4py/mpi4py.h>
#endif

namespace py = pybind11;

namespace cairn_py {

namespace {

std::atomic<bool> g_finalizing{false};

const char* CStr(const std::optional<std::string>& s) {
  return s && !s->empty() ? s->c_str() : nullptr;
}

const char* Group(const std::string& g) { return g.empty() ? nullptr : g.c_str(); }

std::string TypeName(py::handle obj) { return Py_TYPE(obj.ptr())->tp_name; }

std::string Region(int id, const std::string& group) {
  std::string r = "region " + std::to_string(id);
  if (!group.empty()) r += " of group '" + group + "'";
  return r;
}

// (select, ids) of cairn_checkpoint_mem / cairn_recover_mem.
cairn_select_t Select(const std::optional<std::vector<int>>& ids, bool exclude) {
  if (!ids) return CAIRN_SELECT_ALL;  // everything (excluding nothing is everything too)
  return exclude ? CAIRN_SELECT_REST : CAIRN_SELECT_SOME;
}

}  // namespace

void SetFinalizing() { g_finalizing = true; }

// A held buffer export; released (GIL held: only destroyed by methods holding it) on removal.
struct Client::Buffer {
  Py_buffer view{};
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { PyBuffer_Release(&view); }
};

void Client::OnCommitTrampoline(const char* name, long long version, void* user) noexcept {
  if (g_finalizing || !Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  try {
    // A copy: a callback may register another one.
    std::vector<py::object> fns = static_cast<Client*>(user)->callbacks_;
    for (const py::object& fn : fns) {
      try {
        fn(std::string(name), version);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("cairn on_commit callback");
      }
    }
  } catch (...) {
    PyErr_Clear();  // a conversion failed (out of memory): nothing sensible to report to
  }
}

Client::Client(cairn_client_t* c, bool mpi)
    : c_(c), mpi_(mpi), rank_(cairn_rank(c)), size_(cairn_size(c)) {}

std::unique_ptr<Client> Client::OpenSingle(unsigned rank,
                                           const std::optional<std::string>& config) {
  if (config) CheckNoNul(*config, "config");
  cairn_client_t* c = nullptr;
  cairn_status_t st;
  {
    py::gil_scoped_release nogil;
    st = cairn_open_single(rank, CStr(config), &c);
  }
  Check(st, nullptr);
  return std::unique_ptr<Client>(new Client(c, false));
}

std::unique_ptr<Client> Client::OpenMpi(py::handle comm, const std::optional<std::string>& config) {
#if CAIRN_HAVE_MPI && CAIRN_PYTHON_MPI4PY
  if (config) CheckNoNul(*config, "config");
  static bool imported = false;
  if (!imported) {
    if (import_mpi4py() < 0) throw py::error_already_set();
    imported = true;
  }
  MPI_Comm* pc = PyMPIComm_Get(comm.ptr());
  if (pc == nullptr) throw py::error_already_set();  // TypeError: not an mpi4py Comm
  if (*pc == MPI_COMM_NULL) Raise(CAIRN_E_INVALID, "cairn.Client: comm is MPI.COMM_NULL");
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) {
    Raise(CAIRN_E_ORDER, "cairn.Client: MPI is not initialized (or already finalized)");
  }
  MPI_Comm mc = *pc;
  cairn_client_t* c = nullptr;
  cairn_status_t st;
  {
    py::gil_scoped_release nogil;
    st = cairn_open_mpi(mc, CStr(config), &c);
  }
  Check(st, nullptr);
  return std::unique_ptr<Client>(new Client(c, true));
#else
  (void)comm;
  (void)config;
  Raise(CAIRN_E_INVALID,
        "cairn.Client: this build has no MPI support (libcairn without MPI, or the Python "
        "extension built without mpi4py's headers); open without comm");
#endif
}

Client::~Client() {
  if (c_ == nullptr || g_finalizing) return;  // shutting down: leave it to process exit
  cairn_client_t* c = c_;
  c_ = nullptr;
  cairn_status_t st;
  {
    py::gil_scoped_release nogil;
    st = cairn_close(c, 1);
  }
  if (st != CAIRN_OK) {
    PySys_WriteStderr("cairn: closing an unclosed client: %.800s\n", cairn_last_error(nullptr));
  }
  ReleaseAll();
}

cairn_client_t* Client::Handle() const {
  if (c_ == nullptr) Raise(CAIRN_E_ORDER, "cairn: the client is closed");
  return c_;
}

template <class F>
void Client::Run(F&& f) {
  cairn_client_t* c = Handle();
  cairn_status_t st;
  ++active_;
  {
    py::gil_scoped_release nogil;
    st = f(c);
  }
  --active_;
  Check(st, c);
}

template <class F>
cairn_status_t Client::RunAllowNotFound(F&& f) {
  cairn_client_t* c = Handle();
  cairn_status_t st;
  ++active_;
  {
    py::gil_scoped_release nogil;
    st = f(c);
  }
  --active_;
  if (st != CAIRN_E_NOT_FOUND) Check(st, c);
  return st;
}

void Client::Protect(int id, py::handle obj, const std::string& group) {
  CheckNoNul(group, "group");
  Handle();
  const std::string what = "cairn protect(" + Region(id, group) + ")";
  if (!PyObject_CheckBuffer(obj.ptr())) {
    throw py::type_error(what + ": expected an object with a writable buffer (numpy array, " +
                         "bytearray, memoryview, array.array, ...), got " + TypeName(obj));
  }
  auto b = std::make_unique<Buffer>();
  if (PyObject_GetBuffer(obj.ptr(), &b->view, PyBUF_RECORDS_RO) != 0) {
    py::error_already_set e;  // fetches and clears the exporter's error
    Raise(CAIRN_E_INVALID, what + ": the " + TypeName(obj) +
                               " object does not export a strided buffer: " + e.what());
  }
  if (b->view.readonly) {
    Raise(CAIRN_E_INVALID,
          what + ": the buffer of the " + TypeName(obj) +
              " object is read-only; a restart writes into protected memory, so it "
              "must be writable");
  }
  if (!PyBuffer_IsContiguous(&b->view, 'A')) {
    Raise(CAIRN_E_INVALID, what + ": the buffer of the " + TypeName(obj) +
                               " object is not contiguous; protect a contiguous array (e.g. "
                               "numpy.ascontiguousarray) and copy into it");
  }
  void* ptr = b->view.buf;
  const size_t bytes = static_cast<size_t>(b->view.len);
  Run([&](cairn_client_t* c) { return cairn_protect_named(c, Group(group), id, ptr, bytes); });
  regions_[{group, id}] = std::move(b);  // replaces (and releases) an earlier buffer
}

void Client::Unprotect(int id, const std::string& group) {
  CheckNoNul(group, "group");
  Run([&](cairn_client_t* c) { return cairn_unprotect(c, Group(group), id); });
  regions_.erase({group, id});
}

void Client::Clear(const std::string& group) {
  CheckNoNul(group, "group");
  Run([&](cairn_client_t* c) { return cairn_clear(c, Group(group)); });
  for (auto it = regions_.begin(); it != regions_.end();) {
    it = it->first.first == group ? regions_.erase(it) : std::next(it);
  }
}

void Client::ClearAll() {
  Run([](cairn_client_t* c) { return cairn_clear_all(c); });
  regions_.clear();
}

std::vector<std::pair<std::string, int>> Client::Regions() const {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& r : regions_) out.push_back(r.first);
  return out;
}

void Client::Checkpoint(const std::string& name, long long version) {
  CheckNoNul(name, "name");
  Run([&](cairn_client_t* c) { return cairn_checkpoint(c, name.c_str(), version); });
}

void Client::CheckpointBegin(const std::string& name, long long version) {
  CheckNoNul(name, "name");
  Run([&](cairn_client_t* c) { return cairn_checkpoint_begin(c, name.c_str(), version); });
}

void Client::CheckpointMem(const std::optional<std::vector<int>>& ids, bool exclude) {
  const cairn_select_t sel = Select(ids, exclude);
  const int* p = ids ? ids->data() : nullptr;
  const size_t n = ids ? ids->size() : 0;
  Run([&](cairn_client_t* c) { return cairn_checkpoint_mem(c, sel, p, n); });
}

void Client::CheckpointEnd(bool success) {
  Run([&](cairn_client_t* c) { return cairn_checkpoint_end(c, success ? 1 : 0); });
}

void Client::Wait() {
  Run([](cairn_client_t* c) { return cairn_wait(c); });
}

bool Client::Finished() {
  cairn_client_t* c = Handle();
  int done = 0;
  ++active_;
  {
    py::gil_scoped_release nogil;
    done = cairn_finished(c);
  }
  --active_;
  return done == 1;
}

void Client::Cleanup(const std::string& name) {
  CheckNoNul(name, "name");
  Run([&](cairn_client_t* c) { return cairn_cleanup(c, name.c_str()); });
}

void Client::OnCommit(py::function fn) {
  if (callbacks_.empty()) {
    // `this` outlives the C client: the destructor closes it first.
    Run([&](cairn_client_t* c) { return cairn_on_commit(c, &Client::OnCommitTrampoline, this); });
  } else {
    Handle();
  }
  callbacks_.push_back(std::move(fn));
}

bool Client::NeedCheckpoint() {
  int flag = 0;
  Run([&](cairn_client_t* c) { return cairn_need_checkpoint(c, &flag); });
  return flag != 0;
}

bool Client::ShouldExit() {
  int flag = 0;
  Run([&](cairn_client_t* c) { return cairn_should_exit(c, &flag); });
  return flag != 0;
}

std::optional<long long> Client::RestartLatest(const std::string& name, long long max_version) {
  CheckNoNul(name, "name");
  long long v = -1;
  cairn_status_t st = RunAllowNotFound(
      [&](cairn_client_t* c) { return cairn_restart_latest(c, name.c_str(), max_version, &v); });
  if (st == CAIRN_E_NOT_FOUND) return std::nullopt;
  return v;
}

std::optional<long long> Client::RestartTest(const std::string& name, long long max_version) {
  CheckNoNul(name, "name");
  long long v = -1;
  cairn_status_t st = RunAllowNotFound(
      [&](cairn_client_t* c) { return cairn_restart_test(c, name.c_str(), max_version, &v); });
  if (st == CAIRN_E_NOT_FOUND) return std::nullopt;
  return v;
}

void Client::Restart(const std::string& name, long long version) {
  CheckNoNul(name, "name");
  Run([&](cairn_client_t* c) { return cairn_restart(c, name.c_str(), version); });
}

void Client::RestartBegin(const std::string& name, long long version) {
  CheckNoNul(name, "name");
  Run([&](cairn_client_t* c) { return cairn_restart_begin(c, name.c_str(), version); });
}

size_t Client::RecoverSize(int id) {
  size_t size = 0;
  Run([&](cairn_client_t* c) { return cairn_recover_size(c, id, &size); });
  return size;
}

void Client::RecoverMem(const std::optional<std::vector<int>>& ids, bool exclude) {
  const cairn_select_t sel = Select(ids, exclude);
  const int* p = ids ? ids->data() : nullptr;
  const size_t n = ids ? ids->size() : 0;
  Run([&](cairn_client_t* c) { return cairn_recover_mem(c, sel, p, n); });
}

void Client::RestartEnd(bool success) {
  Run([&](cairn_client_t* c) { return cairn_restart_end(c, success ? 1 : 0); });
}

std::string Client::RouteFile(const std::string& original) {
  CheckNoNul(original, "path");
  std::string buf(CAIRN_PATH_MAX, '\0');
  Run([&](cairn_client_t* c) {
    return cairn_route_file(c, original.c_str(), buf.data(), buf.size());
  });
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

void Client::Close(bool drain) {
  if (c_ == nullptr) return;  // closing twice is harmless, like a file
  if (active_ > 0) {
    Raise(CAIRN_E_ORDER, "cairn close: another thread is inside a call on this client");
  }
  cairn_client_t* c = c_;
  c_ = nullptr;  // freed by cairn_close whatever its result
  cairn_status_t st;
  {
    py::gil_scoped_release nogil;
    st = cairn_close(c, drain ? 1 : 0);
  }
  ReleaseAll();
  Check(st, nullptr);
}

void Client::ReleaseAll() {
  regions_.clear();
  callbacks_.clear();
}

}  // namespace cairn_py
