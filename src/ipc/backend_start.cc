// See backend_start.h.
#include "ipc/backend_start.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "common/log.h"
#include "env/env.h"
#include "ipc/wire.h"

extern char** environ;

namespace cairn::ipc {
namespace {

// Holds the spawn lock of one backend key for the lifetime of the object.
class SpawnLock {
 public:
  explicit SpawnLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~SpawnLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

Result<int> ConnectOrStartBackend(const BackendPaths& paths, const std::string& config_text,
                                  const std::string& binary) {
  auto fd = Connect(paths.socket);
  if (fd.ok()) return fd;
  if (binary.empty()) {
    return Status::Unavailable("no async backend answers at " + paths.socket);
  }
  SpawnLock lock(paths.lock);
  if (!lock.ok()) return Status::IOError("cannot open the backend lock " + paths.lock);
  fd = Connect(paths.socket);
  if (fd.ok()) return fd;
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(Env::Default(), paths.config, config_text, false));
  std::vector<std::string> args{binary,       "backend",    "--config",
                                paths.config, "--resolved", "--daemon"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    return Status::Unavailable("cannot start the async backend '" + binary +
                               "': " + std::strerror(rc) + " (set CAIRN_BACKEND_BIN)");
  }
  int wst = 0;
  while (::waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fd.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    fd = Connect(paths.socket);
  }
  if (!fd.ok())
    return Status::Unavailable("the async backend did not start (see " + paths.log + ")");
  log::Info("started async backend ", paths.key);
  return fd;
}

}  // namespace cairn::ipc
