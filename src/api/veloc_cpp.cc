// The VeloC C++ API (veloc.hpp): veloc::client_t over cairn::Client, veloc::get_client, and
// the process-wide client that the VeloC C API (veloc_c.cc) shares.
#include <climits>
#include <mutex>
#include <utility>
#include <veloc.hpp>

#include "api/boundary.h"
#include "api/veloc_ops.h"
#include "common/log.h"

#if CAIRN_HAVE_MPI
#include "comm/mpi_comm.h"
#endif

namespace veloc {

// The key function: emits client_t's vtable and type_info here, exported.
client_t::~client_t() = default;

// Only a client_t that is not cairn's own reaches these (cairn's overrides them).
bool client_t::need_checkpoint() { return false; }
bool client_t::should_exit() { return false; }

}  // namespace veloc

namespace cairn::api {
namespace {

class VelocClient;

// The process-wide client. `client` is owned by the library (or by the application once it
// calls `delete` on it); the destructor of VelocClient removes itself from here.
struct Registry {
  std::mutex mu;
  VelocClient* client = nullptr;
};

Registry& Reg() {
  static Registry* r = new Registry();  // never destroyed: usable during exit
  return *r;
}

class VelocClient final : public veloc::client_t {
 public:
  explicit VelocClient(std::shared_ptr<Client> e) : e_(std::move(e)) {}

  ~VelocClient() override {
    Guard("veloc::client_t::~client_t", 0, [&] {
      {
        std::lock_guard<std::mutex> g(Reg().mu);
        if (Reg().client == this) Reg().client = nullptr;
      }
      (void)FinalizeEngine(true);
      return 0;
    });
  }

  // Finalizes the engine once; later calls return OK.
  Status FinalizeEngine(bool drain) {
    std::lock_guard<std::mutex> g(finalize_mu_);
    if (finalized_) return Status::Ok();
    finalized_ = true;
    return e_->Finalize(drain);
  }

  const std::shared_ptr<Client>& engine() const { return e_; }

  bool mem_protect(int id, void* ptr, size_t count, size_t base_size,
                   const std::string& name) override {
    static constexpr const char* kFn = "veloc::client_t::mem_protect";
    return Guard(kFn, false,
                 [&] { return Protect(kFn, *e_, id, ptr, count, base_size, GroupOf(name)); });
  }
  bool mem_protect(int id, const serializer_t& s, const deserializer_t& d,
                   const std::string& name) override {
    static constexpr const char* kFn = "veloc::client_t::mem_protect";
    return Guard(kFn, false, [&] { return ProtectSerialized(kFn, *e_, id, s, d, GroupOf(name)); });
  }
  bool mem_unprotect(int id, const std::string& name) override {
    static constexpr const char* kFn = "veloc::client_t::mem_unprotect";
    return Guard(kFn, false, [&] { return Unprotect(kFn, *e_, id, GroupOf(name)); });
  }
  bool mem_clear(const std::string& name) override {
    static constexpr const char* kFn = "veloc::client_t::mem_clear";
    return Guard(kFn, false, [&] { return Clear(kFn, *e_, GroupOf(name)); });
  }
  bool register_observer(int type, const observer_t& obs) override {
    static constexpr const char* kFn = "veloc::client_t::register_observer";
    return Guard(kFn, false, [&] { return RegisterObserver(kFn, *e_, type, obs); });
  }
  std::string route_file(const std::string& original) override {
    static constexpr const char* kFn = "veloc::client_t::route_file";
    return Guard(kFn, std::string(),
                 [&] { return RouteFile(kFn, *e_, original).value_or(std::string()); });
  }
  bool cleanup(const std::string& name) override {
    static constexpr const char* kFn = "veloc::client_t::cleanup";
    return Guard(kFn, false, [&] { return Cleanup(kFn, *e_, name); });
  }
  bool checkpoint(const std::string& name, int version) override {
    static constexpr const char* kFn = "veloc::client_t::checkpoint";
    return Guard(kFn, false, [&] { return Checkpoint(kFn, *e_, name, version); });
  }
  bool checkpoint_begin(const std::string& name, int version) override {
    static constexpr const char* kFn = "veloc::client_t::checkpoint_begin";
    return Guard(kFn, false, [&] { return CheckpointBegin(kFn, *e_, name, version); });
  }
  bool checkpoint_mem(int mode, const std::set<int>& ids) override {
    static constexpr const char* kFn = "veloc::client_t::checkpoint_mem";
    return Guard(kFn, false, [&] { return CheckpointMem(kFn, *e_, mode, ids); });
  }
  bool checkpoint_end(bool success) override {
    static constexpr const char* kFn = "veloc::client_t::checkpoint_end";
    return Guard(kFn, false, [&] { return CheckpointEnd(kFn, *e_, success); });
  }
  bool checkpoint_wait() override {
    static constexpr const char* kFn = "veloc::client_t::checkpoint_wait";
    return Guard(kFn, false, [&] { return CheckpointWait(kFn, *e_); });
  }
  bool checkpoint_finished() override {
    return Guard("veloc::client_t::checkpoint_finished", false,
                 [&] { return e_->CheckpointFinished(); });
  }
  int restart_test(const std::string& name, int needed_version, int target_rank) override {
    static constexpr const char* kFn = "veloc::client_t::restart_test";
    return Guard(kFn, VELOC_FAILURE,
                 [&] { return RestartTest(kFn, *e_, name, needed_version, target_rank); });
  }
  bool restart(const std::string& name, int version, int target_rank) override {
    static constexpr const char* kFn = "veloc::client_t::restart";
    return Guard(kFn, false, [&] { return Restart(kFn, *e_, name, version, target_rank); });
  }
  bool restart_begin(const std::string& name, int version, int target_rank) override {
    static constexpr const char* kFn = "veloc::client_t::restart_begin";
    return Guard(kFn, false, [&] { return RestartBegin(kFn, *e_, name, version, target_rank); });
  }
  size_t recover_size(int id) override {
    static constexpr const char* kFn = "veloc::client_t::recover_size";
    return Guard(kFn, size_t{0}, [&] {
      long long n = RecoverSize(kFn, *e_, id);
      return n < 0 ? size_t{0} : static_cast<size_t>(n);  // VeloC: 0 when absent
    });
  }
  bool recover_mem(int mode, const std::set<int>& ids) override {
    static constexpr const char* kFn = "veloc::client_t::recover_mem";
    return Guard(kFn, false, [&] { return RecoverMem(kFn, *e_, mode, ids); });
  }
  bool restart_end(bool success) override {
    static constexpr const char* kFn = "veloc::client_t::restart_end";
    return Guard(kFn, false, [&] { return RestartEnd(kFn, *e_, success); });
  }
  bool need_checkpoint() override {
    static constexpr const char* kFn = "veloc::client_t::need_checkpoint";
    return Guard(kFn, false, [&] { return NeedCheckpoint(kFn, *e_).value_or(false); });
  }
  bool should_exit() override {
    static constexpr const char* kFn = "veloc::client_t::should_exit";
    return Guard(kFn, false, [&] { return ShouldExit(kFn, *e_).value_or(false); });
  }

 private:
  std::shared_ptr<Client> e_;
  std::mutex finalize_mu_;
  bool finalized_ = false;
};

}  // namespace

veloc::client_t* VelocGetOrCreate(const char* fn, const CommFactory& make_comm,
                                  const std::string& cfg, long long rank) {
  Registry& reg = Reg();
  std::lock_guard<std::mutex> g(reg.mu);
  if (reg.client != nullptr) {
    int have = reg.client->engine()->rank();
    if (rank >= 0 && rank != have) {
      log::Warn(fn, ": VeloC is already initialized as rank ", have, "; ignoring the new id ", rank,
                " and configuration '", cfg, "' and reusing the existing client");
    }
    return reg.client;
  }
  if (rank > INT_MAX) {
    Ok(fn, Status::InvalidArgument("id " + std::to_string(rank) + " is larger than " +
                                   std::to_string(INT_MAX)));
    return nullptr;
  }
  Result<std::unique_ptr<Comm>> comm = make_comm();
  if (!comm.ok()) {
    Ok(fn, comm.status().Annotate("cannot set up the communicator"));
    return nullptr;
  }
  Result<std::unique_ptr<Client>> c = Client::Create(std::move(comm).value(), cfg);
  if (!c.ok()) {
    Ok(fn, c.status().Annotate(cfg.empty() ? std::string("configuration from the environment")
                                           : "configuration '" + cfg + "'"));
    return nullptr;
  }
  reg.client = new VelocClient(std::shared_ptr<Client>(std::move(c).value()));
  return reg.client;
}

std::shared_ptr<Client> VelocEngine(const char* fn) {
  Registry& reg = Reg();
  std::lock_guard<std::mutex> g(reg.mu);
  if (reg.client == nullptr) {
    LogErrorNoThrow(fn, ": VeloC is not initialized (call VELOC_Init or VELOC_Init_single first)");
    return nullptr;
  }
  return reg.client->engine();
}

Status VelocFinalize(bool drain) {
  VelocClient* c = nullptr;
  {
    Registry& reg = Reg();
    std::lock_guard<std::mutex> g(reg.mu);
    c = std::exchange(reg.client, nullptr);
  }
  if (c == nullptr) {
    return Status::FailedPrecondition("VeloC is not initialized (nothing to finalize)");
  }
  Status st = c->FinalizeEngine(drain);
  delete c;
  return st;
}

}  // namespace cairn::api

namespace veloc {

client_t* get_client(unsigned int id, const std::string& cfg) {
  static constexpr const char* kFn = "veloc::get_client";
  return cairn::api::Guard(kFn, static_cast<client_t*>(nullptr), [&] {
    return cairn::api::VelocGetOrCreate(
        kFn,
        [id]() -> cairn::Result<std::unique_ptr<cairn::Comm>> {
          return cairn::MakeSingleComm(static_cast<int>(id));
        },
        cfg, static_cast<long long>(id));
  });
}

#if CAIRN_HAVE_MPI
client_t* get_client(MPI_Comm comm, const std::string& cfg) {
  static constexpr const char* kFn = "veloc::get_client";
  return cairn::api::Guard(kFn, static_cast<client_t*>(nullptr), [&] {
    return cairn::api::VelocGetOrCreate(
        kFn, [comm]() { return cairn::MakeMpiComm(comm); }, cfg, -1);
  });
}
#endif

}  // namespace veloc
