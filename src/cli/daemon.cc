// See daemon.h.
#include "cli/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"

namespace cairn::cli {
namespace {

constexpr int kStartTimeoutMs = 30000;

// Everything the child writes on `fd` until it closes it (or kStartTimeoutMs pass).
std::string ReadReply(int fd) {
  std::string reply;
  pollfd pf{fd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&pf, 1, kStartTimeoutMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    char buf[512];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    reply.append(buf, static_cast<size_t>(r));
  }
  return reply;
}

}  // namespace

int RunAsDaemon(Context& ctx, const char* name, const std::string& log_path,
                const std::function<Result<std::string>()>& start,
                const std::function<int()>& serve) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    PrintError(ctx, name, "pipe failed");
    return kExitNotFound;
  }
  ctx.out.flush();
  ctx.err.flush();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    PrintError(ctx, name, "fork failed");
    return kExitNotFound;
  }
  if (pid > 0) {
    ::close(p[1]);
    const std::string reply = ReadReply(p[0]);
    ::close(p[0]);
    if (reply.rfind("OK ", 0) == 0) {
      ctx.out << "cairn " << name << " (pid " << pid << ") " << reply.substr(3);
      return kExitOk;
    }
    // "<exit code> <message>" from the child, or nothing if it died.
    if (reply.size() > 2 && reply[0] >= '0' && reply[0] <= '9' && reply[1] == ' ') {
      PrintError(ctx, name, reply.substr(2));
      return reply[0] - '0';
    }
    PrintError(ctx, name, "the daemon did not start (see " + log_path + ")");
    return kExitNotFound;
  }
  // Child.
  ::close(p[0]);
  ::setsid();
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    if (null > 2) ::close(null);
  }
  if (logfd >= 0) {
    ::dup2(logfd, 2);
    if (logfd > 2) ::close(logfd);
  }
  ::setenv("CAIRN_LOG", "info", /*overwrite=*/0);  // a daemon's log should say what it did
  log::Reconfigure();
  auto started = start();
  std::string reply;
  if (started.ok()) {
    reply = "OK " + started.value() + "\n";
  } else {
    log::Error(name, ": ", started.status().ToString());
    reply = std::to_string(ExitCodeFor(started.status())) + " " + started.status().ToString();
  }
  (void)!::write(p[1], reply.data(), reply.size());
  ::close(p[1]);
  if (!started.ok()) return ExitCodeFor(started.status());
  return serve();
}

}  // namespace cairn::cli
