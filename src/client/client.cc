#include "client/client.h"

#include "client/engine.h"

namespace cairn {

// Every public entry point: lock, then delegate. Exceptions (std::bad_alloc, or one
// thrown by application callbacks outside the engine's own handlers) become kInternal.
#define CAIRN_GUARDED(expr)                                            \
  do {                                                                 \
    std::lock_guard<std::mutex> lock(mu_);                             \
    try {                                                              \
      return expr;                                                     \
    } catch (const std::exception& ex) {                               \
      return Status::Internal(std::string("exception: ") + ex.what()); \
    } catch (...) {                                                    \
      return Status::Internal("unknown exception");                    \
    }                                                                  \
  } while (0)

Result<std::unique_ptr<Client>> Client::Create(std::unique_ptr<Comm> comm,
                                               const std::string& cfg_path) {
  try {
    auto e = Engine::Create(std::move(comm), cfg_path, Env::Default());
    if (!e.ok()) return e.status();
    return std::unique_ptr<Client>(new Client(std::move(e.value())));
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("exception during initialization: ") + ex.what());
  }
}

Client::Client(std::unique_ptr<Engine> e) : engine_(std::move(e)) {}
Client::~Client() {
  try {
    (void)engine_->Finalize(true);
  } catch (...) {
  }
}

Status Client::Finalize(bool drain) { CAIRN_GUARDED(engine_->Finalize(drain)); }
Status Client::Protect(int id, void* ptr, size_t count, size_t base_size,
                       const std::string& group) {
  CAIRN_GUARDED(engine_->Protect(id, ptr, count, base_size, group));
}
Status Client::ProtectSerialized(int id, Serializer ser, Deserializer deser,
                                 const std::string& group) {
  CAIRN_GUARDED(engine_->ProtectSerialized(id, std::move(ser), std::move(deser), group));
}
Status Client::Unprotect(int id, const std::string& group) {
  CAIRN_GUARDED(engine_->Unprotect(id, group));
}
Status Client::ClearGroup(const std::string& group) { CAIRN_GUARDED(engine_->ClearGroup(group)); }
Status Client::ClearAll() { CAIRN_GUARDED(engine_->ClearAll()); }
Result<std::string> Client::RouteFile(const std::string& original) {
  CAIRN_GUARDED(engine_->RouteFile(original));
}
Status Client::Cleanup(const std::string& name) { CAIRN_GUARDED(engine_->Cleanup(name)); }
Status Client::CheckpointBegin(const std::string& name, long long version) {
  CAIRN_GUARDED(engine_->CheckpointBegin(name, version));
}
Status Client::CheckpointMem(Select sel, const std::set<int>& ids) {
  CAIRN_GUARDED(engine_->CheckpointMem(sel, ids));
}
Status Client::CheckpointEnd(bool success) { CAIRN_GUARDED(engine_->CheckpointEnd(success)); }
Status Client::CheckpointWait() { CAIRN_GUARDED(engine_->CheckpointWait()); }
bool Client::CheckpointFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  return engine_->CheckpointFinished();
}
Status Client::Checkpoint(const std::string& name, long long version) {
  CAIRN_GUARDED(engine_->Checkpoint(name, version));
}
Result<long long> Client::RestartTest(const std::string& name, long long max_version,
                                      int target_rank) {
  CAIRN_GUARDED(engine_->RestartTest(name, max_version, target_rank));
}
void Client::SetVerifyBeforeRestore(bool on) {
  std::lock_guard<std::mutex> g(mu_);
  engine_->SetVerifyBeforeRestore(on);
}
Status Client::RestartBegin(const std::string& name, long long version, int target_rank) {
  CAIRN_GUARDED(engine_->RestartBegin(name, version, target_rank));
}
Result<long long> Client::RecoverSize(int id) { CAIRN_GUARDED(engine_->RecoverSize(id)); }
Status Client::RecoverMem(Select sel, const std::set<int>& ids) {
  CAIRN_GUARDED(engine_->RecoverMem(sel, ids));
}
Status Client::RestartEnd(bool success) { CAIRN_GUARDED(engine_->RestartEnd(success)); }
Status Client::Restart(const std::string& name, long long version, int target_rank, bool older_ok,
                       long long* restored) {
  CAIRN_GUARDED(engine_->Restart(name, version, target_rank, older_ok, restored));
}
Status Client::RegisterObserver(int type, Observer fn, bool add) {
  CAIRN_GUARDED(engine_->RegisterObserver(type, std::move(fn), add));
}
Result<bool> Client::NeedCheckpoint() { CAIRN_GUARDED(engine_->NeedCheckpoint()); }
Result<bool> Client::ShouldExit() { CAIRN_GUARDED(engine_->ShouldExit()); }
int Client::rank() const { return engine_->rank(); }
int Client::size() const { return engine_->size(); }
const Config& Client::config() const { return engine_->config(); }

}  // namespace cairn
