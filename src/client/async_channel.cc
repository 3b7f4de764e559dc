#include "client/async_channel.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/log.h"
#include "env/env.h"
#include "ipc/backend_start.h"
#include "ipc/wire.h"

namespace cairn {
namespace {

// The `cairn` executable that runs the backend: $CAIRN_BACKEND_BIN, else beside the
// library (build tree) or in ../bin (install tree), else `cairn` on PATH.
std::string BackendBinary() {
  const char* env = std::getenv("CAIRN_BACKEND_BIN");
  if (env != nullptr && *env != 0) return env;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&BackendBinary), &info) != 0 && info.dli_fname != nullptr) {
    std::string dir = DirName(info.dli_fname);
    for (const std::string& c : {dir + "/cairn", dir + "/../bin/cairn"}) {
      if (::access(c.c_str(), X_OK) == 0) return c;
    }
  }
  return "cairn";
}

}  // namespace

Result<std::unique_ptr<AsyncChannel>> AsyncChannel::Open(const Config& cfg, int rank, int nranks) {
  std::unique_ptr<AsyncChannel> c(new AsyncChannel(cfg, rank, nranks));
  auto dir = ipc::RuntimeDir();
  if (!dir.ok()) return dir.status();
  c->paths_ = ipc::PathsFor(dir.value(), ipc::BackendKey(ipc::JobId(), SerializeConfig(cfg)));
  CAIRN_RETURN_IF_ERROR(c->Connect());
  return c;
}

AsyncChannel::~AsyncChannel() {
  if (fd_ >= 0) {
    (void)ipc::SendMessage(fd_, ipc::Message("BYE"));
    ::close(fd_);
  }
  if (staging_ != nullptr) ::munmap(staging_, staging_size_);
  if (staging_fd_ >= 0) ::close(staging_fd_);
}

Status AsyncChannel::Connect() {
  auto fd = ipc::ConnectOrStartBackend(paths_, SerializeConfig(cfg_), BackendBinary());
  if (!fd.ok()) return fd.status();
  fd_ = fd.value();
  Status st = ipc::SendMessage(fd_, ipc::Message("HELLO")
                                        .Add("rank", rank_)
                                        .Add("nranks", nranks_)
                                        .Add("pid", static_cast<long long>(::getpid())));
  if (st.ok()) {
    auto ready = ipc::WaitReadable(fd_, 20000);
    if (!ready.ok() || !ready.value()) st = Status::Unavailable("the backend does not answer");
  }
  if (st.ok()) {
    auto in = ipc::RecvMessage(fd_);
    if (!in.ok())
      st = in.status();
    else if (in.value().msg.type() != "WELCOME")
      st = Status::Unavailable("unexpected answer");
  }
  if (st.ok() && staging_fd_ >= 0) st = SendStaging();
  if (!st.ok()) {
    ::close(fd_);
    fd_ = -1;
    return st.Annotate("async backend");
  }
  return Status::Ok();
}

Status AsyncChannel::Reconnect() {
  if (fd_ >= 0) return Status::Ok();
  return Connect();
}

void AsyncChannel::MarkBroken(const Status& why) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!pending_.empty()) {
    log::Warn("async backend lost (", why.ToString(), "): ", pending_.size(),
              " checkpoint(s) not completed");
    Fail(Status::Unavailable("the async backend died before completing " +
                             std::to_string(pending_.size()) + " checkpoint(s): " + why.message()));
  }
  pending_.clear();
}

void AsyncChannel::Fail(const Status& st) {
  if (result_.ok()) result_ = st;
}

Status AsyncChannel::SendStaging() {
  return ipc::SendMessage(
      fd_, ipc::Message("STAGING").Add("size", static_cast<long long>(staging_size_)), staging_fd_);
}

Status AsyncChannel::Pump(int timeout_ms) {
  if (fd_ < 0) return Status::Unavailable("no async backend");
  auto ready = ipc::WaitReadable(fd_, timeout_ms);
  if (!ready.ok()) return ready.status();
  if (!ready.value()) return Status::Ok();
  auto in = ipc::RecvMessage(fd_);
  if (!in.ok()) {
    MarkBroken(in.status());
    return Status::Unavailable("the async backend died: " + in.status().message());
  }
  if (in.value().fd >= 0) ::close(in.value().fd);
  Handle(in.value().msg);
  return Status::Ok();
}

void AsyncChannel::Handle(const ipc::Message& m) {
  long long seq = m.GetInt("seq", -1);
  auto it = pending_.find(seq);
  const std::string& t = m.type();
  auto status_of = [&]() -> Status {
    Code code = static_cast<Code>(m.GetInt("status", 0));
    if (code == Code::kOk) return Status::Ok();
    return Status::IOError(m.GetOr("message", "backend failure"));
  };
  if (t == "ACCEPTED") {
    if (it != pending_.end()) it->second.accepted = true;
  } else if (t == "REJECTED") {
    Status st =
        Status::InvalidArgument("the backend rejected the checkpoint: " + m.GetOr("message", ""));
    rejected_[seq] = st;
    if (it != pending_.end()) pending_.erase(it);
  } else if (t == "SCRATCH") {
    if (it == pending_.end()) return;
    it->second.scratch_done = true;
    it->second.accepted = true;
    if (status_of().ok()) {
      long long& n = newest_scratch_[it->second.name];
      n = std::max(n, it->second.version);
    }
  } else if (t == "DONE") {
    if (it == pending_.end()) return;
    Status st = status_of();
    const Pending p = it->second;
    pending_.erase(it);
    if (!st.ok()) {
      Fail(st.Annotate("checkpoint '" + p.name + "' version " + std::to_string(p.version)));
      return;
    }
    if (m.GetInt("persistent", 0) != 0) {
      long long& n = newest_persistent_[p.name];
      n = std::max(n, p.version);
    }
    if (on_done_) on_done_(p.name, p.version);
  } else if (t == "ERROR") {
    Fail(Status::Internal("async backend: " + m.GetOr("message", "")));
  }
}

Status AsyncChannel::WaitStagingFree() {
  for (;;) {
    bool busy = false;
    for (const auto& [seq, p] : pending_) busy = busy || !p.scratch_done;
    if (!busy) return Status::Ok();
    CAIRN_RETURN_IF_ERROR(Pump(-1));
  }
}

Result<char*> AsyncChannel::Staging(uint64_t bytes, uint64_t keep) {
  if (bytes <= staging_size_) return staging_;
  // Grow geometrically so that a region set growing a little does not remap each time.
  uint64_t size = std::max<uint64_t>(bytes, staging_size_ + staging_size_ / 2);
  size = (size + 4095) / 4096 * 4096;
  int fd = ::memfd_create("cairn-staging", MFD_CLOEXEC);
  if (fd < 0) return Status::FromErrno("memfd_create", errno);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("cannot size the staging area (" + std::to_string(size) + " bytes)",
                             e);
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("cannot map the staging area", e);
  }
  if (keep > 0 && staging_ != nullptr) std::memcpy(p, staging_, std::min(keep, staging_size_));
  if (staging_ != nullptr) ::munmap(staging_, staging_size_);
  if (staging_fd_ >= 0) ::close(staging_fd_);
  staging_ = static_cast<char*>(p);
  staging_size_ = size;
  staging_fd_ = fd;
  if (fd_ >= 0) {
    Status st = SendStaging();
    if (!st.ok()) {
      MarkBroken(st);
      return Status::Unavailable("the async backend died: " + st.message());
    }
  }
  return staging_;
}

Status AsyncChannel::Submit(ipc::Message req, const std::string& name, long long version) {
  if (fd_ < 0) return Status::Unavailable("no async backend");
  long long seq = next_seq_++;
  req.Add("seq", seq);
  pending_[seq] = Pending{name, version, false, false};
  Status st = ipc::SendMessage(fd_, req);
  if (!st.ok()) {
    MarkBroken(st);
    return Status::Unavailable("the async backend died: " + st.message());
  }
  for (;;) {
    auto r = rejected_.find(seq);
    if (r != rejected_.end()) {
      Status rej = r->second;
      rejected_.erase(r);
      return rej;
    }
    auto it = pending_.find(seq);
    if (it == pending_.end() || it->second.accepted) return Status::Ok();
    CAIRN_RETURN_IF_ERROR(Pump(-1));
  }
}

Status AsyncChannel::WaitAll(bool consume) {
  while (!pending_.empty()) {
    Status st = Pump(-1);
    if (!st.ok() && fd_ >= 0) return st;  // poll failure; a dead backend is recorded below
    if (fd_ < 0) break;
  }
  Status out = result_;
  if (consume) result_ = Status::Ok();
  return out;
}

bool AsyncChannel::Idle() {
  while (fd_ >= 0) {
    auto ready = ipc::WaitReadable(fd_, 0);
    if (!ready.ok() || !ready.value()) break;
    if (!Pump(0).ok()) break;
  }
  return pending_.empty();
}

long long AsyncChannel::NewestScratch(const std::string& name) const {
  auto it = newest_scratch_.find(name);
  return it == newest_scratch_.end() ? -1 : it->second;
}

long long AsyncChannel::NewestPersistent(const std::string& name) const {
  auto it = newest_persistent_.find(name);
  return it == newest_persistent_.end() ? -1 : it->second;
}

}  // namespace cairn
