// See interval_round.h.
#include "transparent/preload/interval_round.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "transparent/naming.h"

extern char** environ;

namespace cairn::preload {
namespace {

int g_helper_pidfd = -1;  // the helper of the last round started, while it may run

bool HelperRuns() {
  if (g_helper_pidfd < 0) return false;
  pollfd p{g_helper_pidfd, POLLIN, 0};
  if (::poll(&p, 1, 0) == 1) {  // readable: it exited
    ::close(g_helper_pidfd);
    g_helper_pidfd = -1;
    return false;
  }
  return true;
}

}  // namespace

int HelperFd() { return g_helper_pidfd; }

void ForgetHelperAfterRestart() { g_helper_pidfd = -1; }

Status StartRound(const std::string& bin, const std::string& dir) {
  if (HelperRuns()) {
    log::Info("preload: the periodic checkpoint started before still runs; skipping this one");
    return Status::Unavailable("a periodic checkpoint still runs");
  }
  // Everything the child needs, made before the clone.
  std::vector<std::string> args = {bin, "checkpoint", "--ckpt-dir", dir};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0 || std::strncmp(*e, "CAIRN_", 6) == 0) continue;
    envp.push_back(*e);
  }
  envp.push_back(nullptr);
  const std::string log_path = transparent::naming::IntervalLog(dir);
  const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) return Status::FromErrno("cannot open '" + log_path + "'", errno);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    const int e = errno;
    ::close(out);
    return Status::FromErrno("cannot open /dev/null", e);
  }
  const long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) {  // the helper: only async-signal-safe calls until execve
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    uint64_t none = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
    ::execve(argv[0], argv.data(), envp.data());
    static const char kMsg[] = "cairn: the periodic checkpoint could not start cairn\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
  const int e = errno;
  ::close(in);
  ::close(out);
  if (pid < 0) return Status::FromErrno("clone (the periodic checkpoint)", e);
  g_helper_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  log::Info("preload: periodic checkpoint of the tree: pid ", pid, " runs '", bin, " checkpoint' (",
            log_path, ")");
  return Status::Ok();
}

}  // namespace cairn::preload
