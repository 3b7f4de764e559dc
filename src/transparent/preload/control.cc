// See control.h.
#include "transparent/preload/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/log.h"
#include "env/env.h"
#include "ipc/wire.h"
#include "transparent/naming.h"
#include "transparent/objects/tcp.h"
#include "transparent/preload/capture.h"
#include "transparent/preload/futex.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/interval_round.h"
#include "transparent/preload/lower_api.h"
#include "transparent/preload/private_heap.h"
#include "transparent/preload/quiesce.h"
#include "transparent/preload/real.h"
#include "transparent/preload/registry.h"
#include "transparent/preload/restart.h"
#include "transparent/preload/uncounted_thread.h"
#include "transparent/procfs.h"

namespace cairn::preload::control {

// Set by `cairn launch` to the pid of the program it execs (see Start()).
constexpr const char* kLaunchPidVar = "CAIRN_LAUNCH_PID";
namespace {

// Descendants are followed (process trees) in every job but an MPI job, whose ranks are
// each launched by `cairn launch --mpi` and coordinated (CAIRN_LOWER_ROOTS, job/mpi_launch).
bool FollowsDescendants() { return std::getenv("CAIRN_LOWER_ROOTS") == nullptr; }

// The launched process of this tree (the job's root), 0 when unknown.
long JobRoot() {
  const char* root = std::getenv(kLaunchPidVar);
  return root != nullptr ? std::atol(root) : 0;
}

// Whether this process descends from the one `cairn launch` started (it forked, or forked and
// exec()ed keeping the environment).
bool IsDescendant() {
  const long root = JobRoot();
  return root != 0 && root != ::getpid();
}

struct Config {
  std::string dir;        // absolute checkpoint directory
  std::string sock_path;  // <dir>/.cairn/<pid>.sock
  int interval_s = 0;     // 0: no periodic checkpoints
  format::Codec codec = format::Codec::kNone;
  int keep = 2;
  int timeout_ms = 30000;  // gate and quiesce
  bool fork = false;       // CAIRN_CKPT_FORK=1: a forked child writes the image
  std::string bin;         // CAIRN_BIN: the cairn binary (periodic rounds of a tree)
  // CAIRN_LEVELS=1 (launch --config, tree/levels.h): every periodic checkpoint is a round
  // driven by `cairn checkpoint`, which also has the backend flush it to persistent.
  bool levels = false;
  int full_every = 0;  // CAIRN_INCREMENTAL=K: incremental images, a full one every K (capture.h)
};

Config g_cfg;
std::atomic<bool> g_active{false};
int g_listen_fd = -1;
pid_t g_owner = 0;
// For STATUS replies.
int64_t g_started_ms = 0;
long long g_checkpoints = 0;
char g_last_path[4096];  // fixed arrays: the private heap does not survive a restart
long long g_last_ms = -1;
long long g_last_bytes = 0;
char g_last_error[1024];

// A descriptor watched beside the control socket (lower_api.h: cairn_preload_watch_fd).
int g_watch_fd = -1;
cairn_fd_handler g_watch_fn = nullptr;
// Threads stopped by cairn_preload_capture(), released by cairn_preload_resume().
bool g_capture_stopped = false;

// The lineage lock (see control.h): held from launch through every restart of this process.
int g_lock_fd = -1;
std::string g_lock_path;

Result<long> EnvInt(const char* name, long def, long min, long max) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return def;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) {
    return Status::InvalidArgument(std::string(name) + "='" + s + "' must be an integer in " +
                                   std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

Status ReadConfig(Config* c) {
  std::string dir = std::getenv("CAIRN_CKPT_DIR");
  if (dir.front() != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return Status::FromErrno("getcwd", errno);
    dir = JoinPath(cwd, dir);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  c->dir = dir;
  c->sock_path = transparent::naming::ControlSocket(dir, ::getpid());
  auto interval = EnvInt("CAIRN_CKPT_INTERVAL", 0, 0, 1L << 30);
  if (!interval.ok()) return interval.status();
  c->interval_s = static_cast<int>(interval.value());
  auto keep = EnvInt("CAIRN_KEEP", 2, 1, 1 << 20);
  if (!keep.ok()) return keep.status();
  c->keep = static_cast<int>(keep.value());
  auto timeout = EnvInt("CAIRN_CKPT_TIMEOUT", 30, 1, 1 << 20);
  if (!timeout.ok()) return timeout.status();
  c->timeout_ms = static_cast<int>(timeout.value()) * 1000;
  auto fork = EnvInt("CAIRN_CKPT_FORK", 0, 0, 1);
  if (!fork.ok()) return fork.status();
  c->fork = fork.value() == 1;
  if (const char* bin = std::getenv("CAIRN_BIN"); bin != nullptr) c->bin = bin;
  auto levels = EnvInt("CAIRN_LEVELS", 0, 0, 1);
  if (!levels.ok()) return levels.status();
  c->levels = levels.value() == 1;
  auto incremental = EnvInt("CAIRN_INCREMENTAL", 0, 0, 1000);
  if (!incremental.ok()) return incremental.status();
  c->full_every = static_cast<int>(incremental.value());
  const char* comp = std::getenv("CAIRN_COMPRESS");
  std::string compress = comp == nullptr ? "" : comp;
  if (compress.empty() || compress == "none") {
    c->codec = format::Codec::kNone;
  } else if (compress == "zstd") {
    c->codec = format::Codec::kZstd;
  } else {
    return Status::InvalidArgument("CAIRN_COMPRESS='" + compress + "' must be none or zstd");
  }
  return Status::Ok();
}

// The STATUS figures after a checkpoint that started at t0 (ms): counted and remembered when
// it succeeded, its error remembered when not.
void Record(const Result<CaptureResult>& r, int64_t t0) {
  if (!r.ok()) {
    std::snprintf(g_last_error, sizeof g_last_error, "%s", r.status().ToString().c_str());
    return;
  }
  ++g_checkpoints;
  std::snprintf(g_last_path, sizeof g_last_path, "%s", r.value().path.c_str());
  g_last_ms = NowMs() - t0;
  g_last_bytes = static_cast<long long>(r.value().bytes);
  g_last_error[0] = '\0';
}

// Quiesces, writes the image and (unless `keep_stopped`) resumes the threads.
Result<CaptureResult> Checkpoint(int conn_fd, bool keep_stopped) {
  const int64_t t0 = NowMs();
  gate::LockWriter();
  std::vector<ThreadSlot*> parked;
  Status st = QuiesceAll(g_cfg.timeout_ms, &parked);
  if (!st.ok()) {
    gate::UnlockWriter();
    return st;
  }
  // Every thread is parked (none can fork now): a child would be lost by a restart of this
  // image alone, so the checkpoint fails, naming it (process trees are not restored yet).
  if (std::getenv("CAIRN_LOWER_ROOTS") == nullptr) {  // (MPI ranks: not checked yet)
    std::vector<std::string> children = transparent::ProcessChildren();
    if (!children.empty()) {
      Release();
      gate::UnlockWriter();
      std::string names;
      for (const std::string& c : children) names += (names.empty() ? "" : ", ") + c;
      return Status::FailedPrecondition(
          "pid " + std::to_string(::getpid()) + " has " + std::to_string(children.size()) +
          (children.size() == 1 ? " child" : " children") + " (" + names +
          "): an image of this process alone would restart without them; a process tree is "
          "checkpointed as a whole by `cairn checkpoint --ckpt-dir " +
          g_cfg.dir + "`");
    }
  }
  const int64_t t1 = NowMs();
  restart::PrepareCheckpoint(parked);
  CaptureOptions o;
  o.dir = g_cfg.dir;
  o.codec = g_cfg.codec;
  o.full_every = g_cfg.full_every;
  o.keep = g_cfg.keep;
  o.skip_fds = {g_listen_fd, HelperFd()};
  if (conn_fd >= 0) o.skip_fds.push_back(conn_fd);
  int64_t resumed_ms = -1;
  bool resumed = false;
  auto resume = [&] {
    Release();
    gate::UnlockWriter();
    resumed = true;
    resumed_ms = NowMs();
  };
  auto r = g_cfg.fork && !keep_stopped ? WriteImage(o, parked, resume) : WriteImage(o, parked);
  if (!resumed && !(keep_stopped && r.ok())) resume();
  Record(r, t0);
  if (r.ok()) {
    log::Info("preload: checkpoint ", r.value().path, ": ", parked.size(), " threads stopped in ",
              t1 - t0, " ms, image ", r.value().bytes, " bytes written in ", NowMs() - t1, " ms",
              resumed_ms >= 0 && g_cfg.fork ? "; forked writer, the threads ran again after " +
                                                  std::to_string(resumed_ms - t0) + " ms"
                                            : std::string());
  } else {
    log::Error("preload: checkpoint failed: ", r.status().ToString());
  }
  return r;
}

// Comma-separated decimal numbers ("" is none); bad items are skipped.
std::vector<uint64_t> ParseNumberList(const std::string& s) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    char* stop = nullptr;
    const std::string item = s.substr(pos, end - pos);
    const unsigned long long v = std::strtoull(item.c_str(), &stop, 10);
    if (!item.empty() && stop != nullptr && *stop == '\0') out.push_back(v);
    pos = end + 1;
  }
  return out;
}

// CAPTURE of a tree round: every child must be in the job (`pids`) or exited (its status is
// reported, not reaped); then the image is written with the threads still stopped.
ipc::Message CaptureInRound(const ipc::Message& req, int conn,
                            const std::vector<ThreadSlot*>& parked, int64_t stop_ms, bool* captured,
                            bool* released) {
  ipc::Message reply("CAPTURED");
  auto fail = [&](const Status& st) {
    reply.Add("code", static_cast<long long>(st.code())).Add("message", st.message());
    return reply;
  };
  const std::vector<uint64_t> pids = ParseNumberList(req.GetOr("pids", ""));
  std::string zombies, strangers, starting;
  for (const transparent::ChildProcess& c : transparent::ChildProcesses()) {
    if (std::find(pids.begin(), pids.end(), static_cast<uint64_t>(c.pid)) != pids.end()) continue;
    siginfo_t si{};
    if (c.zombie &&
        ::waitid(P_PID, static_cast<id_t>(c.pid), &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
        si.si_pid == c.pid) {
      const int status =
          si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
      zombies +=
          (zombies.empty() ? "" : ",") + std::to_string(c.pid) + ":" + std::to_string(status);
      continue;
    }
    // Between fork and exec, or exec and the library's start, a child of the job is not
    // followed yet but will be: it runs the library, or its environment is this job's and
    // preloads the library.
    const std::string proc = "/proc/" + std::to_string(c.pid);
    const std::string env = '\0' + transparent::ReadProcText(proc + "/environ");
    const size_t preload = env.find(std::string("\0LD_PRELOAD=", 12));
    if (transparent::ReadProcText(proc + "/maps").find("libcairn_preload") != std::string::npos ||
        (env.find('\0' + std::string("CAIRN_CKPT_DIR=") + g_cfg.dir + '\0') != std::string::npos &&
         preload != std::string::npos &&
         env.substr(preload, env.find('\0', preload + 1) - preload).find("libcairn_preload") !=
             std::string::npos)) {
      starting += (starting.empty() ? "" : ", ") + c.Describe();
      continue;
    }
    strangers += (strangers.empty() ? "" : ", ") + c.Describe();
  }
  if (strangers.empty() && !starting.empty()) {
    reply.Add("starting", 1LL);  // the round takes the checkpoint again (tree/round.h)
    return fail(Status::Unavailable(
        "pid " + std::to_string(::getpid()) + " has children that cairn does not follow yet (" +
        starting + "): still starting under cairn, or a static program run with its environment"));
  }
  if (!strangers.empty()) {
    return fail(Status::FailedPrecondition(
        "pid " + std::to_string(::getpid()) + " has children that cairn does not follow (" +
        strangers +
        "): statically linked or setuid programs, or a program started without the "
        "environment of `cairn launch`; a restart would come back without them"));
  }
  restart::PrepareCheckpoint(parked);
  CaptureOptions o;
  o.dir = g_cfg.dir;
  o.codec = g_cfg.codec;
  o.full_every = g_cfg.full_every;
  o.skip_fds = {g_listen_fd, conn, HelperFd()};
  const bool single = req.GetInt("single", 0) != 0;
  if (single) {
    o.keep = g_cfg.keep;  // a job of one process: its own lineage, as CHECKPOINT does
  } else {
    o.keep = 1 << 20;  // images of a tree are kept by its job manifests
    o.tree = true;
    o.writers = 1;  // every process of the tree writes at the same time
    o.drain_pipes = ParseNumberList(req.GetOr("drain", ""));
  }
  const int64_t t0 = NowMs();
  // A job of one process needs no common cut with others: with --fork its threads run again
  // as soon as the forked writer has its snapshot, as with CHECKPOINT.
  int64_t resumed_ms = -1;
  auto resume = [&] {
    Release();
    gate::UnlockWriter();
    *released = true;
    resumed_ms = NowMs();
  };
  auto r = single && g_cfg.fork ? WriteImage(o, parked, resume) : WriteImage(o, parked);
  Record(r, t0);
  if (!r.ok()) {
    log::Error("preload: checkpoint of the tree failed here: ", r.status().ToString());
    return fail(r.status());
  }
  *captured = true;
  log::Info("preload: checkpoint ", r.value().path, single ? "" : " (of a process tree)", ": ",
            parked.size(), " threads stopped in ", stop_ms, " ms, image ", r.value().bytes,
            " bytes written in ", g_last_ms, " ms",
            resumed_ms >= 0 ? "; forked writer, the threads ran again after " +
                                  std::to_string(resumed_ms - t0) + " ms"
                            : std::string());
  reply.Add("code", 0LL)
      .Add("message", "OK")
      .Add("path", r.value().path)
      .Add("bytes", static_cast<long long>(r.value().bytes))
      .Add("zombies", zombies);
  return reply;
}

// One process's part in a round over a process tree (control.h): STOP -> STOPPED, then
// CAPTURE -> CAPTURED (at most once) and RESUME, all on `conn`. The threads stay stopped
// from STOP to RESUME; silence for the checkpoint timeout, or a closed connection, resumes
// them (the round is abandoned).
void ServeTreeRound(int conn, const std::string& job_hosts) {
  gate::LockWriter();
  std::vector<ThreadSlot*> parked;
  const int64_t t0 = NowMs();
  Status st = QuiesceAll(g_cfg.timeout_ms, &parked);
  const int64_t stop_ms = NowMs() - t0;
  if (st.ok()) {
    // Every byte a TCP connection has sent is in its peer's receive queue before any process
    // of the round is captured (objects/tcp.h).
    st =
        transparent::objects::DrainTcpSends(std::min(g_cfg.timeout_ms, 2000), JobRoot(), job_hosts);
    if (!st.ok()) Release();
  }
  ipc::Message stopped("STOPPED");
  if (!st.ok()) {
    gate::UnlockWriter();
    stopped.Add("code", static_cast<long long>(st.code())).Add("message", st.message());
    (void)ipc::SendMessage(conn, stopped);
    return;
  }
  stopped.Add("code", 0LL)
      .Add("pid", static_cast<long long>(::getpid()))
      .Add("ppid", static_cast<long long>(::getppid()))
      .Add("pgid", static_cast<long long>(::getpgrp()))
      .Add("sid", static_cast<long long>(::getsid(0)))
      .Add("children", static_cast<long long>(transparent::ChildProcesses().size()));
  bool captured = false;
  bool released = false;
  bool kill = false;
  if (Status sent = ipc::SendMessage(conn, stopped); sent.ok()) {
    for (;;) {
      auto ready = ipc::WaitReadable(conn, g_cfg.timeout_ms);
      if (!ready.ok() || !ready.value()) {
        log::Warn("preload: no word from `cairn checkpoint` for ", g_cfg.timeout_ms / 1000,
                  " s in a tree checkpoint; resuming");
        break;
      }
      auto in = ipc::RecvMessage(conn);
      if (!in.ok()) break;  // the round was abandoned
      if (in.value().fd >= 0) ::close(in.value().fd);
      const ipc::Message& m = in.value().msg;
      if (m.type() == "CAPTURE" && !captured) {
        if (!ipc::SendMessage(conn, CaptureInRound(m, conn, parked, stop_ms, &captured, &released))
                 .ok())
          break;
        continue;
      }
      kill = m.type() == "RESUME" && m.GetInt("kill", 0) != 0;
      break;
    }
  }
  if (kill && captured) {
    log::Info("preload: exiting after the tree checkpoint, as requested");
    ::close(conn);
    ::unlink(g_cfg.sock_path.c_str());
    ::_exit(0);
  }
  if (!released) {
    Release();
    gate::UnlockWriter();
  }
}

// Children that run without this library and its control socket in DIR (a static or setuid
// program, or one started without cairn's environment): "pid N (comm), ..." for STATUS. Exited ones
// and those of an MPI job (which does not follow children) are left out.
std::string NotFollowed() {
  if (!FollowsDescendants()) return "";
  std::string out;
  for (const transparent::ChildProcess& c : transparent::ChildProcesses()) {
    if (c.zombie) continue;
    // Followed: it runs this library (a program exec()ed without it keeps its parent's stale
    // socket file for a while, so the file alone proves nothing).
    struct stat st;
    const std::string maps = transparent::ReadProcText("/proc/" + std::to_string(c.pid) + "/maps");
    if (maps.find("libcairn_preload") != std::string::npos &&
        ::stat(transparent::naming::ControlSocket(g_cfg.dir, c.pid).c_str(), &st) == 0) {
      continue;
    }
    out += (out.empty() ? "" : ", ") + c.Describe();
  }
  return out;
}

void Serve(int conn) {
  auto ready = ipc::WaitReadable(conn, 5000);
  if (!ready.ok() || !ready.value()) return;
  auto in = ipc::RecvMessage(conn);
  if (!in.ok()) return;
  if (in.value().fd >= 0) ::close(in.value().fd);
  const ipc::Message& req = in.value().msg;
  ipc::Message reply("DONE");
  if (req.type() == "STATUS") {
    ipc::Message st("STATUS");
    st.Add("pid", static_cast<long long>(::getpid()))
        .Add("ppid", static_cast<long long>(::getppid()))
        .Add("uptime_ms", static_cast<long long>(NowMs() - g_started_ms))
        .Add("restored", restart::Restored() ? 1LL : 0LL)
        .Add("interval", static_cast<long long>(g_cfg.interval_s))
        .Add("fork", g_cfg.fork ? 1LL : 0LL)
        .Add("compress", g_cfg.codec == format::Codec::kNone ? "none" : "zstd")
        .Add("checkpoints", g_checkpoints)
        .Add("last_path", g_last_path)
        .Add("last_ms", g_last_ms)
        .Add("last_bytes", g_last_bytes)
        .Add("last_error", g_last_error)
        .Add("threads", static_cast<long long>(Snapshot(nullptr, 0)))
        .Add("not_followed", NotFollowed());
    (void)ipc::SendMessage(conn, st);
    return;
  }
  if (req.type() == "STOP") {
    ServeTreeRound(conn, req.GetOr("hosts", ""));
    return;
  }
  if (req.type() != "CHECKPOINT") {
    reply.Add("code", static_cast<long long>(Code::kInvalidArgument))
        .Add("message", "unknown request '" + req.type() + "'");
    (void)ipc::SendMessage(conn, reply);
    return;
  }
  const bool kill = req.GetInt("kill", 0) != 0;
  auto r = Checkpoint(conn, kill);
  if (r.ok()) {
    reply.Add("code", 0LL).Add("message", "OK").Add("path", r.value().path);
    reply.Add("bytes", static_cast<long long>(r.value().bytes));
  } else {
    reply.Add("code", static_cast<long long>(r.status().code()))
        .Add("message", r.status().message());
  }
  Status sent = ipc::SendMessage(conn, reply);
  if (!sent.ok()) log::Info("preload: cannot reply to the client: ", sent.ToString());
  if (kill && r.ok()) {
    log::Info("preload: exiting after the checkpoint, as requested");
    ::close(conn);
    ::unlink(g_cfg.sock_path.c_str());
    ::_exit(0);
  }
}

// <dir>/.cairn/<pid>-<nanoseconds>.lock, flock()ed for the life of the process and of every
// restart of its images: `cairn restart` takes the same lock and refuses while it is held.
Status TakeLineageLock() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  g_lock_path = transparent::naming::LineageLock(
      g_cfg.dir, ::getpid(), static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  int fd = ::open(g_lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot create the lock '" + g_lock_path + "'", errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("cannot lock '" + g_lock_path + "'", e);
  }
  g_lock_fd = fd;
  return Status::Ok();
}

void* ThreadMain(void*) {
  gate::SetInternalThread(true);
  restart::LearnThreadLayout();
  int64_t next = g_cfg.interval_s > 0 ? NowMs() + g_cfg.interval_s * 1000LL : -1;
  for (;;) {
    if (!g_active.load()) return nullptr;
    int timeout = -1;
    if (next >= 0) timeout = static_cast<int>(std::max<int64_t>(0, next - NowMs()));
    // A watched descriptor registered meanwhile (cairn_preload_watch_fd) is picked up
    // within 250 ms.
    if (timeout < 0 || timeout > 250) timeout = 250;
    pollfd p[2] = {{g_listen_fd, POLLIN, 0}, {g_watch_fd, POLLIN, 0}};
    int rc = ::poll(p, g_watch_fd >= 0 ? 2 : 1, timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      log::Error("preload: poll on the control socket failed: ", std::strerror(errno),
                 "; the checkpoint thread stops");
      return nullptr;
    }
    if (rc == 0 && (next < 0 || NowMs() < next)) continue;
    if (rc == 0) {
      // Periodic; logged. A split process (lower_api.h) is checkpointed by its coordinator;
      // a process with children by a round over the whole tree (interval_round.h).
      if (g_watch_fd < 0) {
        const bool tree = FollowsDescendants() && !g_cfg.bin.empty() &&
                          (g_cfg.levels || !transparent::ProcessChildren().empty());
        if (tree) {
          (void)StartRound(g_cfg.bin, g_cfg.dir);
        } else {
          (void)Checkpoint(-1, false);
        }
      }
      next = NowMs() + g_cfg.interval_s * 1000LL;
      continue;
    }
    if (g_watch_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      g_watch_fn(g_watch_fd);
      continue;
    }
    if ((p[0].revents & POLLIN) == 0) continue;
    int conn = ::accept4(g_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Serve(conn);
    ::close(conn);
  }
}

void UncountedMain(void*) { (void)ThreadMain(nullptr); }

// The checkpoint thread, every signal blocked (inherited): in a single-threaded program that
// is not an MPI rank, a thread glibc does not count (uncounted_thread.h), so the program keeps
// glibc's single-thread fast paths; else (or if that fails) the real pthread_create.
Status StartThread() {
  auto create = real::pthread_create();
  auto set_mask = real::pthread_sigmask();
  if (create == nullptr || set_mask == nullptr) {
    g_active.store(false);
    return Status::Internal("real pthread_create / pthread_sigmask not found");
  }
  sigset_t all, old;
  sigfillset(&all);
  set_mask(SIG_SETMASK, &all, &old);
  int rc = 0;
  Status uncounted = Status::FailedPrecondition("an MPI rank");
  if (FollowsDescendants()) uncounted = StartUncountedThread(&UncountedMain, nullptr);
  if (!uncounted.ok()) {
    log::Debug("preload: the checkpoint thread is a pthread: ", uncounted.ToString());
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    rc = create(&th, &attr, &ThreadMain, nullptr);
    pthread_attr_destroy(&attr);
  }
  set_mask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    g_active.store(false);
    ::close(g_listen_fd);
    g_listen_fd = -1;
    ::unlink(g_cfg.sock_path.c_str());
    return Status::FromErrno("cannot start the checkpoint thread", rc);
  }
  return Status::Ok();
}

// Listens on <dir>/.cairn/<pid>.sock and starts the checkpoint thread.
Status Listen() {
  g_cfg.sock_path = transparent::naming::ControlSocket(g_cfg.dir, ::getpid());
  auto fd = ipc::Listen(g_cfg.sock_path);
  if (!fd.ok()) return fd.status();
  g_listen_fd = fd.value();
  g_owner = ::getpid();
  g_started_ms = NowMs();
  g_active.store(true);
  return StartThread();
}

}  // namespace

bool Active() { return g_active.load(std::memory_order_relaxed); }

Status Start() {
  // A descendant of an MPI rank (e.g. Open MPI's orted of a singleton): MPI jobs do not
  // follow descendants, and an image of this process alone would restart as if it were the
  // whole job. Its parent's checkpoints fail while it lives instead.
  if (IsDescendant() && !FollowsDescendants()) {
    log::Info("preload: pid ", ::getpid(), " descends from the launched process ",
              std::getenv(kLaunchPidVar), "; not checkpointed on its own");
    return Status::Ok();
  }
  if (!heap::Init()) return Status::FromErrno("cannot reserve the library's private heap", errno);
  (void)log::Enabled(log::Level::kInfo);  // the log's state lives in glibc's heap, made now
  CAIRN_RETURN_IF_ERROR(ReadConfig(&g_cfg));
  // A process of a tree is checkpointed with the whole tree (`cairn checkpoint`), never alone.
  if (IsDescendant()) g_cfg.interval_s = 0;
  restart::ReserveRestorerRange();
  RememberIdentity();
  Env* env = Env::Default();
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(transparent::naming::ControlDir(g_cfg.dir)));
  CAIRN_RETURN_IF_ERROR(TakeLineageLock());
  InitThreadExitHook();
  RegisterCurrentThread(::getpid() == ::gettid());
  CAIRN_RETURN_IF_ERROR(InstallCheckpointHandler());
  CAIRN_RETURN_IF_ERROR(Listen());
  log::Info("preload: checkpointing to ", g_cfg.dir, ", control socket ", g_cfg.sock_path);
  return Status::Ok();
}

void RunAfterRestart() {
  ForgetDescriptorsAfterRestart();
  ForgetHelperAfterRestart();
  // The old value may point into the private heap of the saved process (gone): forget it.
  new (&g_cfg.sock_path) std::string();
  g_listen_fd = -1;
  g_cfg.sock_path = transparent::naming::ControlSocket(g_cfg.dir, ::getpid());
  auto fd = ipc::Listen(g_cfg.sock_path);
  if (!fd.ok()) {
    log::Error("preload: restarted, but without a control socket: ", fd.status().ToString());
  } else {
    g_listen_fd = fd.value();
    g_owner = ::getpid();
    g_active.store(true);
    log::Info("preload: restarted as pid ", ::getpid(), ", control socket ", g_cfg.sock_path);
    (void)ThreadMain(nullptr);
  }
  ::syscall(SYS_exit, 0);  // this thread only; the program goes on
  __builtin_unreachable();
}

void Shutdown() {
  if (g_owner != 0 && g_owner == ::getpid() && !g_cfg.sock_path.empty()) {
    ::unlink(g_cfg.sock_path.c_str());
    if (!g_lock_path.empty()) ::unlink(g_lock_path.c_str());
  }
}

bool FollowsForks() { return Active() && FollowsDescendants(); }

void OnForkChild() {
  // A child must not keep the lineage lock (it would block restarts after the parent died).
  if (g_lock_fd >= 0) ::close(g_lock_fd);
  g_lock_fd = -1;
  if (!g_active.load()) return;
  g_active.store(false);
  if (g_listen_fd >= 0) ::close(g_listen_fd);
  g_listen_fd = -1;
  g_watch_fd = -1;
  if (!FollowsDescendants()) return;
  // Followed: a lineage, a lock, a socket and a checkpoint thread of its own.
  ForgetLineageInChild();
  g_cfg.interval_s = 0;
  g_checkpoints = 0;
  g_last_path[0] = g_last_error[0] = '\0';
  g_last_ms = -1;
  g_last_bytes = 0;
  Status st = TakeLineageLock();
  if (st.ok()) st = Listen();
  if (!st.ok()) {
    log::Error("preload: forked pid ", ::getpid(), " is not checkpointed: ", st.ToString(),
               "; checkpoints of its parent's tree will fail while it lives");
  }
}

}  // namespace cairn::preload::control

// ------------------------------------------------------------------ lower_api.h
namespace ctl = cairn::preload::control;

extern "C" __attribute__((visibility("default"))) int cairn_preload_watch_fd(int fd,
                                                                             cairn_fd_handler fn) {
  if (!ctl::Active()) return -1;
  ctl::g_watch_fn = fn;
  ctl::g_watch_fd = fd;  // read by the checkpoint thread at its next poll
  return 0;
}

extern "C" __attribute__((visibility("default"))) int cairn_preload_capture(
    char* path, size_t path_len, unsigned long long* bytes, char* err, size_t err_len) {
  using namespace cairn::preload;
  gate::LockWriter();
  std::vector<ThreadSlot*> parked;
  cairn::Status st = QuiesceAll(ctl::g_cfg.timeout_ms, &parked);
  if (!st.ok()) {
    gate::UnlockWriter();
    std::snprintf(err, err_len, "%s", st.ToString().c_str());
    return static_cast<int>(st.code());
  }
  restart::PrepareCheckpoint(parked);
  CaptureOptions o;
  o.dir = ctl::g_cfg.dir;
  o.codec = ctl::g_cfg.codec;
  o.full_every = ctl::g_cfg.full_every;
  // Images of a job are kept by its manifests (coord/manifest.h), not by lineage.
  o.keep = 1 << 20;
  o.writers = 1;  // every rank writes at the same time
  o.skip_fds = {ctl::g_listen_fd, ctl::g_watch_fd};
  bool resumed = false;
  auto resume = [&] {
    Release();
    gate::UnlockWriter();
    resumed = true;
  };
  auto r = ctl::g_cfg.fork ? WriteImage(o, parked, resume) : WriteImage(o, parked);
  ctl::g_capture_stopped = !resumed;
  if (!r.ok()) {
    std::snprintf(err, err_len, "%s", r.status().ToString().c_str());
    return static_cast<int>(r.status().code());
  }
  ++ctl::g_checkpoints;
  std::snprintf(ctl::g_last_path, sizeof ctl::g_last_path, "%s", r.value().path.c_str());
  ctl::g_last_bytes = static_cast<long long>(r.value().bytes);
  std::snprintf(path, path_len, "%s", r.value().path.c_str());
  *bytes = r.value().bytes;
  return 0;
}

extern "C" __attribute__((visibility("default"))) void cairn_preload_resume(void) {
  if (!ctl::g_capture_stopped) return;
  ctl::g_capture_stopped = false;
  cairn::preload::Release();
  cairn::preload::gate::UnlockWriter();
}

extern "C" __attribute__((visibility("default"))) const char* cairn_preload_ckpt_dir(void) {
  return ctl::Active() ? ctl::g_cfg.dir.c_str() : nullptr;
}
