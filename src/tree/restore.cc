// See restore.h.
#include "tree/restore.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "env/fd_io.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/socket.h"
#include "transparent/objects/tcp.h"
#include "transparent/objects/tty.h"
#include "transparent/process_restore.h"
#include "tree/node_rendezvous.h"

namespace cairn::tree {
namespace {

namespace tr = cairn::transparent;

constexpr int kStepTimeoutMs = 60000;  // one process (and its subtree) created or installed

struct Proc {
  const coord::ManifestImage* image = nullptr;
  int parent = -1;  // index in the job, -1: a child of the namespace's init
  std::vector<int> children;
  std::vector<tr::FileState> files;
  std::set<int> own_std;  // descriptors 0..2 restored from the image
  std::unique_ptr<tr::ProcessRestore> restore;
};

// Opens every process's image chain with every page hashed, on up to one thread per core; the
// first failure (in process order) is returned, naming its image.
Status VerifyAllPages(Env* env, const std::vector<Proc>& procs) {
  std::vector<Status> results(procs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < procs.size();) {
      tr::OpenOptions oo;
      oo.verify_pages = true;
      auto chain = tr::OpenChain(env, procs[i].image->path, oo);
      if (!chain.ok()) results[i] = chain.status();
    }
  };
  const size_t threads =
      std::min<size_t>(procs.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < procs.size(); ++i) {
    if (!results[i].ok()) {
      return results[i].Annotate("'" + procs[i].image->path + "' is not restored");
    }
  }
  return Status::Ok();
}

// Everything the namespace's init and the stubs share (inherited through fork).
struct Job {
  std::vector<Proc> procs;
  std::vector<int> top;                    // processes whose parent was outside the job
  int min_fd = 3;                          // above every saved descriptor of every image
  int last_pid_fd = -1;                    // /proc/sys/kernel/ns_last_pid (in init and the stubs)
  int go_r = -1, go_w = -1;                // barrier 1: every process created -> install
  int run_r = -1, run_w = -1;              // barrier 2: every process installed -> exec
  int installed_r = -1, installed_w = -1;  // stubs -> init: one line each after Install
  int status_r = -1, status_w = -1;        // init -> this command
  int proceed_r = -1, proceed_w = -1;      // a node: this command -> init, after the barrier
  std::vector<int> shared_fds;             // the job's pipes, as created
  std::map<uint32_t, std::pair<int, int>> ptys;  // pts number -> new (master, slave)
  // Every FIFO of the job opened for reading and writing, held by init until every process
  // has its descriptors: a writer's open never finds the FIFO without a reader.
  std::vector<int> fifo_fds;
};

// One line on a report pipe: "OK" or "ER <message>" (newlines flattened).
void Report(int fd, const std::string& line) {
  std::string l = line;
  std::replace(l.begin(), l.end(), '\n', ' ');
  (void)WriteFd(fd, l + "\n", "a report");
}
void ReportError(int fd, const Status& st) { Report(fd, "ER " + st.message()); }

// The next line on `fd` (without '\n'); "" on end of file, "ER timeout" after timeout_ms
// (-1: none).
std::string ReadLine(int fd, int timeout_ms) {
  std::string line;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return "ER no answer within " + std::to_string(timeout_ms / 1000) + " s";
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') return line;
    line += c;
  }
}

// Waits until every holder closed the write end of a barrier pipe.
void AwaitBarrier(int fd) {
  char c;
  while (::read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

Status PipeAbove(int min_fd, int* r, int* w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  auto hr = tr::objects::MoveAbove(p[0], min_fd, "pipe2");
  auto hw = tr::objects::MoveAbove(p[1], min_fd, "pipe2");
  if (!hr.ok() || !hw.ok()) return hr.ok() ? hw.status() : hr.status();
  *r = hr.value();
  *w = hw.value();
  return Status::Ok();
}

// Whether two saved descriptors are the same object (for descriptors 0..2).
bool SameObject(const tr::FileState& a, const tr::FileState& b) {
  if (a.kind != b.kind || a.path != b.path) return false;
  if (a.kind == tr::FileKind::kPipe || a.kind == tr::FileKind::kFifo) return a.pipe_id == b.pipe_id;
  if (a.kind == tr::FileKind::kSocket) return a.socket.id == b.socket.id;
  return true;
}

const tr::FileState* FileAt(const std::vector<tr::FileState>& files, int fd) {
  for (const auto& f : files) {
    if (f.fd == fd) return &f;
  }
  return nullptr;
}

// ------------------------------------------------------------------ in the namespace

Job* g_job = nullptr;  // for the signal handlers of init
pid_t g_init = 0;      // for the signal handler of this command

void ForwardToTop(int sig) {
  for (int i : g_job->top) ::kill(g_job->procs[static_cast<size_t>(i)].image->pid, sig);
}
void ForwardToInit(int sig) {
  if (g_init > 0) ::kill(g_init, sig);
}
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void InstallForwarding(void (*fn)(int)) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) ::sigaction(sig, &sa, nullptr);
}

Status SetLastPid(const Job& job, int pid) {
  const std::string v = std::to_string(pid - 1);
  if (::pwrite(job.last_pid_fd, v.data(), v.size(), 0) != static_cast<ssize_t>(v.size())) {
    return Status::FromErrno("cannot set the next pid (ns_last_pid) to " + std::to_string(pid),
                             errno);
  }
  return Status::Ok();
}

[[noreturn]] void Stub(Job& job, int index, int done_fd);

// Forks process `index` with its saved pid; returns once it and its subtree exist (its stub
// waits at barrier 1 then).
Status CreateProcess(Job& job, int index) {
  const Proc& p = job.procs[static_cast<size_t>(index)];
  const int want = p.image->pid;
  int done_r = -1, done_w = -1;
  CAIRN_RETURN_IF_ERROR(PipeAbove(job.min_fd, &done_r, &done_w));
  Status st = SetLastPid(job, want);
  pid_t pid = st.ok() ? ::fork() : -1;
  if (pid == 0) {
    ::close(done_r);
    Stub(job, index, done_w);
  }
  ::close(done_w);
  if (pid < 0) {
    ::close(done_r);
    return st.ok() ? Status::FromErrno("fork", errno) : st;
  }
  const std::string line = ReadLine(done_r, kStepTimeoutMs);
  ::close(done_r);
  if (pid != want) {
    return Status::FailedPrecondition("pid " + std::to_string(want) + " was not free (got " +
                                      std::to_string(pid) + ")");
  }
  if (line != "OK") {
    return Status::FailedPrecondition(line.starts_with("ER ") ? line.substr(3)
                                                              : "pid " + std::to_string(want) +
                                                                    " died while being created");
  }
  return Status::Ok();
}

// A child that had exited, unreaped: it exits again the same way, and stays unreaped.
Status CreateExited(Job& job, const coord::ManifestImage::Exited& e) {
  CAIRN_RETURN_IF_ERROR(SetLastPid(job, e.pid));
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    if (WIFSIGNALED(e.status)) {
      ::signal(WTERMSIG(e.status), SIG_DFL);
      sigset_t s;
      sigemptyset(&s);
      sigaddset(&s, WTERMSIG(e.status));
      ::sigprocmask(SIG_UNBLOCK, &s, nullptr);
      ::raise(WTERMSIG(e.status));
    }
    ::_exit(WIFEXITED(e.status) ? WEXITSTATUS(e.status) : 127);
  }
  if (pid != e.pid) {
    return Status::FailedPrecondition("exited child " + std::to_string(e.pid) +
                                      ": its pid was not free");
  }
  return Status::Ok();
}

void Stub(Job& job, int index, int done_fd) {
  // Init's ends (this process's Job is its own copy: the numbers may be reused below).
  for (int* fd : {&job.go_w, &job.run_w, &job.installed_r, &job.status_w}) {
    ::close(*fd);
    *fd = -1;
  }
  Proc& p = job.procs[static_cast<size_t>(index)];
  const coord::ManifestImage& im = *p.image;
  auto fail = [&](const Status& st) {
    ReportError(done_fd, st.Annotate("pid " + std::to_string(im.pid)));
    ::_exit(1);
  };
  if (::getpid() != im.pid) fail(Status::FailedPrecondition("created with another pid"));
  if (im.sid == im.pid && ::setsid() < 0) fail(Status::FromErrno("setsid", errno));
  if (im.sid == im.pid) {  // a pty of the job that was the session's controlling terminal
    for (const auto& f : p.files) {
      if (f.kind != tr::FileKind::kTty || (f.tty.flags & tr::objects::kTtyControlling) == 0 ||
          job.ptys.count(f.tty.index) == 0) {
        continue;
      }
      Status st = tr::objects::TakeControllingTerminal(job.ptys.at(f.tty.index).second, f);
      if (!st.ok()) fail(st.Annotate("its controlling terminal"));
      break;
    }
  }
  if (im.pgid == im.pid && im.sid != im.pid && ::setpgid(0, 0) != 0) {
    fail(Status::FromErrno("setpgid", errno));
  }
  for (int child : p.children) {
    if (Status st = CreateProcess(job, child); !st.ok()) fail(st);
  }
  for (const auto& e : im.exited) {
    if (Status st = CreateExited(job, e); !st.ok()) fail(st);
  }
  Report(done_fd, "OK");
  ::close(done_fd);
  AwaitBarrier(job.go_r);
  // Every process exists now: join a group led by another process of the job.
  const bool leader_in_job = std::any_of(job.procs.begin(), job.procs.end(),
                                         [&](const Proc& q) { return q.image->pid == im.pgid; });
  if (im.pgid != im.pid && leader_in_job && ::setpgid(0, im.pgid) != 0) {
    Report(job.installed_w, "ER pid " + std::to_string(im.pid) + ": setpgid " +
                                std::to_string(im.pgid) + ": " + std::strerror(errno));
    ::_exit(1);
  }
  p.restore->Keep(job.installed_w);
  p.restore->Keep(job.run_r);
  Status st = p.restore->Install();
  if (!st.ok()) {
    Report(job.installed_w, "ER " + st.Annotate("pid " + std::to_string(im.pid)).message());
    ::_exit(1);
  }
  Report(job.installed_w, "OK");
  AwaitBarrier(job.run_r);
  st = p.restore->Run();
  std::fprintf(stderr, "cairn restart: pid %d: %s\n", im.pid, st.ToString().c_str());
  ::_exit(127);
}

// Closes every descriptor but 0..2 and `keep`.
void CloseAllBut(const std::vector<int>& keep) {
  auto fds = Env::Default()->ListDir("/proc/self/fd");
  if (!fds.ok()) return;
  for (const auto& n : fds.value()) {
    if (n.empty() || n[0] < '0' || n[0] > '9') continue;
    const int fd = std::atoi(n.c_str());
    if (fd > 2 && std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
  }
}

[[noreturn]] void InitMain(Job& job, pid_t outer) {
  ::close(job.status_r);
  auto fail = [&](const Status& st) {
    ::kill(-1, SIGKILL);  // every process of the namespace but this one
    ReportError(job.status_w, st);
    ::_exit(1);
  };
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != outer && ::getppid() != 0) ::_exit(1);
  // A /proc of this namespace, so that the processes see their own pids in it.
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    fail(Status::FromErrno("cannot mount /proc for the restarted job's pid namespace", errno));
  }
  auto last = tr::objects::MoveAbove(::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC),
                                     job.min_fd, "open");
  if (!last.ok()) fail(last.status().Annotate("/proc/sys/kernel/ns_last_pid"));
  job.last_pid_fd = last.value();
  g_job = &job;
  InstallForwarding(&ForwardToTop);
  for (int i : job.top) {
    if (Status st = CreateProcess(job, i); !st.ok()) fail(st);
  }
  // Every process exists and holds what it needs: init keeps only its pipes.
  std::vector<int> keep = {job.go_w, job.run_w, job.installed_r, job.status_w, job.proceed_r};
  keep.insert(keep.end(), job.fifo_fds.begin(), job.fifo_fds.end());
  CloseAllBut(keep);
  ::close(job.go_w);
  for (size_t n = 0; n < job.procs.size(); ++n) {
    const std::string line = ReadLine(job.installed_r, kStepTimeoutMs);
    if (line != "OK") {
      fail(Status::FailedPrecondition(line.starts_with("ER ") ? line.substr(3)
                                                              : "a process died while its "
                                                                "descriptors were restored"));
    }
  }
  ::close(job.installed_r);
  if (job.proceed_r >= 0) {  // a node: the other nodes must be ready too
    Report(job.status_w, "READY");
    const std::string go = ReadLine(job.proceed_r, -1);
    if (go != "GO") fail(Status::Unavailable("the other nodes of the job did not restart"));
    ::close(job.proceed_r);
  }
  for (int fd : job.fifo_fds) ::close(fd);
  ::close(job.run_w);  // every process runs now
  Report(job.status_w, "OK");
  const pid_t first = job.procs[static_cast<size_t>(job.top.front())].image->pid;
  int result = 0;
  for (;;) {
    int st = 0;
    pid_t pid = ::waitpid(-1, &st, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;  // ECHILD: the job is over
    if (pid == first) result = st;
  }
  Report(job.status_w, "EXIT " + std::to_string(result));
  ::_exit(0);
}

// ------------------------------------------------------------------ this command

// The processes of the manifest as a tree, their files, and which of descriptors 0..2 come
// from their images.
Status BuildJob(const coord::Manifest& m, Env* env, Job* job) {
  for (const auto& im : m.images) {
    if (im.pid <= 0) {
      return Status::Corruption("the manifest has no process line for " + im.path +
                                " (not a checkpoint of a process tree)");
    }
    Proc p;
    p.image = &im;
    tr::OpenOptions oo;
    oo.verify_pages = false;
    auto reader = tr::ImageReader::Open(env, im.path, oo);
    if (!reader.ok()) return reader.status();
    p.files = reader.value()->files();
    for (const auto& f : p.files) job->min_fd = std::max(job->min_fd, f.fd + 1);
    job->procs.push_back(std::move(p));
  }
  std::set<int> pids;
  for (const Proc& p : job->procs) {
    if (p.image->pid == 1 || !pids.insert(p.image->pid).second) {
      return Status::Corruption("the manifest lists pid " + std::to_string(p.image->pid) +
                                " twice, or pid 1");
    }
  }
  for (size_t i = 0; i < job->procs.size(); ++i) {
    Proc& p = job->procs[i];
    for (size_t j = 0; j < job->procs.size(); ++j) {
      if (job->procs[j].image->pid == p.image->ppid) p.parent = static_cast<int>(j);
    }
    if (p.parent < 0) {
      job->top.push_back(static_cast<int>(i));
    } else {
      job->procs[static_cast<size_t>(p.parent)].children.push_back(static_cast<int>(i));
    }
    for (const auto& e : p.image->exited) {
      if (e.pid == 1 || !pids.insert(e.pid).second) {
        return Status::Corruption("the manifest lists pid " + std::to_string(e.pid) + " twice");
      }
    }
  }
  if (job->top.empty()) return Status::Corruption("the manifest's processes form a cycle");
  const Proc& first = job->procs[static_cast<size_t>(job->top.front())];
  for (Proc& p : job->procs) {
    if (p.parent < 0) continue;
    for (int k = 0; k <= 2; ++k) {
      const tr::FileState* mine = FileAt(p.files, k);
      const tr::FileState* ref = FileAt(first.files, k);
      if (mine != nullptr && (ref == nullptr || !SameObject(*mine, *ref))) p.own_std.insert(k);
    }
  }
  return Status::Ok();
}

// Every pipe of the job, created once with its bytes in flight.
Status CreatePipes(Job* job, std::map<uint64_t, tr::SharedPipe>* pipes) {
  struct Use {
    bool read = false, write = false;
    std::string data;
  };
  std::map<uint64_t, Use> uses;
  for (const Proc& p : job->procs) {
    for (const auto& f : p.files) {
      if (f.kind != tr::FileKind::kPipe || (f.fd <= 2 && p.own_std.count(f.fd) == 0)) continue;
      Use& u = uses[f.pipe_id];
      ((f.open_flags & O_ACCMODE) == O_RDONLY ? u.read : u.write) = true;
      u.data += f.pipe_data;
    }
  }
  for (auto& [id, u] : uses) {
    int r = -1, w = -1;
    CAIRN_RETURN_IF_ERROR(PipeAbove(job->min_fd, &r, &w));
    job->shared_fds.push_back(r);
    job->shared_fds.push_back(w);
    if (u.data.size() > 65536) (void)::fcntl(w, F_SETPIPE_SZ, static_cast<int>(u.data.size()));
    CAIRN_RETURN_IF_ERROR(WriteFd(w, u.data, "a pipe's bytes in flight"));
    tr::SharedPipe sp{r, w};
    if (!u.read) sp = {-1, -1};      // writers get /dev/null, as a single process's restart does
    if (!u.write) sp.write_fd = -1;  // readers get the bytes, then end of file
    (*pipes)[id] = sp;
  }
  return Status::Ok();
}

// Sockets the job's processes share: a connected pair whose ends are held by different
// processes (or by one) becomes one new socketpair, or one new TCP connection, with its queued
// data; a listening or unconnected socket several processes hold (a forked server) is bound
// once. Connections come first: re-creating one takes a listener's port for a moment.
Status CreateSockets(Job* job, std::map<uint64_t, int>* sockets, NodeRendezvous* nodes) {
  std::map<uint64_t, const tr::FileState*> first;  // socket id -> its first holder's record
  std::map<uint64_t, int> holders;                 // socket id -> processes holding it
  std::map<uint64_t, const Proc*> owner;
  for (const Proc& p : job->procs) {
    std::set<uint64_t> mine;
    for (const auto& f : p.files) {
      if (f.kind != tr::FileKind::kSocket || (f.fd <= 2 && p.own_std.count(f.fd) == 0)) continue;
      first.emplace(f.socket.id, &f);
      owner.emplace(f.socket.id, &p);
      if (mine.insert(f.socket.id).second) ++holders[f.socket.id];
    }
  }
  for (const auto& [id, f] : first) {
    if (sockets->count(id) != 0 || f->socket.peer == 0) continue;
    for (const auto& [peer_id, g] : first) {
      if (peer_id == id || !tr::objects::IsPeer(*f, *g)) continue;
      auto pair = tr::objects::RestorePair(*f, *g, job->min_fd);
      if (!pair.ok()) {
        return pair.status().Annotate(tr::objects::SocketSummary(*f) + " (socket " +
                                      std::to_string(id) + ")");
      }
      (*sockets)[id] = pair.value().first;
      (*sockets)[peer_id] = pair.value().second;
      break;
    }
  }
  // Connections to processes on the other nodes of the job (every node takes part, also
  // with none).
  if (nodes != nullptr) {
    std::vector<const tr::FileState*> ends;
    for (const auto& [id, f] : first) {
      if (sockets->count(id) != 0 || !tr::objects::IsTcpConnection(*f)) continue;
      bool pending = false;
      for (const auto& [lid, l] : first) pending = pending || tr::objects::IsPendingOn(*f, *l);
      if (!pending) ends.push_back(f);
    }
    auto fds = nodes->ConnectNodes(ends, job->min_fd);
    if (!fds.ok()) return fds.status().Annotate("the connections between nodes");
    for (const auto& [id, fd] : fds.value()) (*sockets)[id] = fd;
  }
  for (const auto& [id, f] : first) {
    if (sockets->count(id) != 0) continue;
    const auto how = tr::objects::Restorable(*f, owner.at(id)->files);
    if (holders[id] >= 2 && (how == tr::objects::SocketRestore::kListener ||
                             how == tr::objects::SocketRestore::kUnbound)) {
      auto fd = tr::objects::RestoreAlone(*f, job->min_fd);
      if (!fd.ok()) return fd.status().Annotate("socket " + std::to_string(id));
      (*sockets)[id] = fd.value();
    }
  }
  // Connections that a listener of the job had not accepted yet (tcp.h): the listener is made
  // here, whoever holds it, and the connection waits in its accept queue again.
  for (const auto& [id, f] : first) {
    if (sockets->count(id) != 0 || f->socket.peer != tr::SocketState::kUnnamedPeer) continue;
    for (const auto& [lid, l] : first) {
      if (!tr::objects::IsPendingOn(*f, *l)) continue;
      if (sockets->count(lid) == 0) {
        auto fd = tr::objects::RestoreAlone(*l, job->min_fd);
        if (!fd.ok()) return fd.status().Annotate("socket " + std::to_string(lid));
        (*sockets)[lid] = fd.value();
      }
      auto c = tr::objects::RestorePending(*f, sockets->at(lid), job->min_fd);
      if (!c.ok()) {
        return c.status().Annotate(tr::objects::SocketSummary(*f) + " (socket " +
                                   std::to_string(id) + ")");
      }
      (*sockets)[id] = c.value();
      break;
    }
  }
  for (const auto& [id, fd] : *sockets) job->shared_fds.push_back(fd);
  return Status::Ok();
}

// Pseudo-terminals whose master is in the job: one new pair per saved pts number, with the
// saved terminal settings (a slave's record, else the master's).
Status CreatePtys(Job* job) {
  std::map<uint32_t, const tr::FileState*> saved;
  std::set<uint32_t> masters;
  for (const Proc& p : job->procs) {
    for (const auto& f : p.files) {
      if (f.kind != tr::FileKind::kTty) continue;
      if ((f.tty.flags & tr::objects::kTtyMaster) != 0) {
        masters.insert(f.tty.index);
        saved.emplace(f.tty.index, &f);
      } else if ((f.tty.flags & tr::objects::kTtySlave) != 0) {
        saved[f.tty.index] = &f;
      }
    }
  }
  for (uint32_t index : masters) {
    auto pair = tr::objects::CreatePty(*saved.at(index), job->min_fd);
    if (!pair.ok()) return pair.status().Annotate("pseudo-terminal " + std::to_string(index));
    job->ptys[index] = pair.value();
    job->shared_fds.push_back(pair.value().first);
    job->shared_fds.push_back(pair.value().second);
  }
  return Status::Ok();
}

Status EnterNamespaces() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  int flags = CLONE_NEWPID;
  if (uid != 0) flags |= CLONE_NEWUSER;
  if (::unshare(flags) != 0) {
    return Status::FromErrno(
        "cannot create the pid namespace that gives the restarted processes their pids back "
        "(unprivileged user namespaces may be disabled here: "
        "/proc/sys/kernel/unprivileged_userns_clone, user.max_user_namespaces)",
        errno);
  }
  if (uid != 0) {
    auto write = [](const std::string& path, const std::string& text) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return Status::FromErrno("open " + path, errno);
      Status st = WriteFd(fd, text, "a file");
      ::close(fd);
      return st.Annotate(path);
    };
    CAIRN_RETURN_IF_ERROR(write("/proc/self/setgroups", "deny"));
    CAIRN_RETURN_IF_ERROR(
        write("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"));
    CAIRN_RETURN_IF_ERROR(
        write("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"));
  }
  return Status::Ok();
}

}  // namespace

Result<int> RestoreTree(const coord::Manifest& manifest, const TreeRestoreOptions& o) {
  auto job = std::make_unique<Job>();
  CAIRN_RETURN_IF_ERROR(BuildJob(manifest, o.env, job.get()));
  job->min_fd = std::max(job->min_fd, 10);
  std::map<uint64_t, tr::SharedPipe> pipes;
  CAIRN_RETURN_IF_ERROR(CreatePipes(job.get(), &pipes));
  std::map<uint64_t, int> sockets;
  CAIRN_RETURN_IF_ERROR(CreateSockets(job.get(), &sockets, o.nodes));
  CAIRN_RETURN_IF_ERROR(CreatePtys(job.get()));
  std::set<std::string> fifos;
  for (const Proc& p : job->procs) {
    for (const auto& f : p.files) {
      if (f.kind == tr::FileKind::kFifo && !f.path.empty() && f.path[0] == '/')
        fifos.insert(f.path);
    }
  }
  for (const std::string& path : fifos) {  // (one that is gone: each process's restore says so)
    auto fd = tr::objects::MoveAbove(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC),
                                     job->min_fd, "open");
    if (fd.ok()) job->fifo_fds.push_back(fd.value());
  }
  int top_fd = job->min_fd;
  for (int fd : job->shared_fds) top_fd = std::max(top_fd, fd + 1);
  for (int fd : job->fifo_fds) top_fd = std::max(top_fd, fd + 1);
  // Every page of every image checked before anything is restored (so that a copy that fails
  // falls back to another): the images are independent, so on several threads.
  const bool verified_all = o.verify_pages_first && job->procs.size() > 1;
  if (verified_all) CAIRN_RETURN_IF_ERROR(VerifyAllPages(o.env, job->procs));
  std::map<std::pair<uint64_t, uint64_t>, int> memory;  // shared memory objects of the job
  for (Proc& p : job->procs) {
    tr::ProcessRestoreOptions po;
    po.restorer = o.restorer;
    po.min_fd = top_fd;
    po.restore_std = p.own_std;
    po.verify_pages_first = o.verify_pages_first && !verified_all;
    po.shared_pipes = pipes;
    po.shared_sockets = sockets;
    po.shared_ptys = job->ptys;
    po.shared_memory = &memory;
    po.warn = [&o, pid = p.image->pid](const std::string& w) {
      if (o.warn) o.warn("pid " + std::to_string(pid) + ": " + w);
    };
    auto r = tr::ProcessRestore::Prepare(o.env, p.image->path, po);
    if (!r.ok()) return r.status().Annotate("'" + p.image->path + "' is not restored");
    p.restore = std::move(r).value();
    top_fd = std::max(top_fd, p.restore->min_free_fd());
  }
  for (const auto& [key, fd] : memory) job->shared_fds.push_back(fd);
  job->min_fd = top_fd;
  CAIRN_RETURN_IF_ERROR(PipeAbove(top_fd, &job->go_r, &job->go_w));
  CAIRN_RETURN_IF_ERROR(PipeAbove(top_fd, &job->run_r, &job->run_w));
  CAIRN_RETURN_IF_ERROR(PipeAbove(top_fd, &job->installed_r, &job->installed_w));
  CAIRN_RETURN_IF_ERROR(PipeAbove(top_fd, &job->status_r, &job->status_w));
  if (o.nodes != nullptr)
    CAIRN_RETURN_IF_ERROR(PipeAbove(top_fd, &job->proceed_r, &job->proceed_w));
  job->min_fd = top_fd;
  CAIRN_RETURN_IF_ERROR(EnterNamespaces());
  std::cout.flush();
  std::cerr.flush();
  const pid_t outer = ::getpid();
  pid_t init = ::fork();
  if (init < 0) return Status::FromErrno("fork", errno);
  if (init == 0) InitMain(*job, outer);
  // This command keeps only the report pipe: the locks, images and pipes are the job's now.
  const int status_r = job->status_r;
  const int proceed_w = job->proceed_w;
  ::close(job->status_w);
  if (job->proceed_r >= 0) ::close(job->proceed_r);
  for (int fd :
       {job->go_r, job->go_w, job->run_r, job->run_w, job->installed_r, job->installed_w}) {
    ::close(fd);
  }
  for (int fd : job->shared_fds) ::close(fd);
  for (int fd : job->fifo_fds) ::close(fd);
  job.reset();  // closes the restores' descriptors and lineage locks
  g_init = init;
  InstallForwarding(&ForwardToInit);
  std::string started = ReadLine(status_r, -1);
  Status barrier = Status::Ok();
  if (started == "READY") {  // a node: every process is in place; are the other nodes?
    barrier = o.nodes->Barrier("run");
    (void)WriteFd(proceed_w, barrier.ok() ? "GO\n" : "NO\n", "the go-ahead");
    ::close(proceed_w);
    started = ReadLine(status_r, -1);
  } else if (proceed_w >= 0) {
    ::close(proceed_w);
  }
  Result<int> result = Status::Internal("the restarted job's init ended without a word");
  if (!barrier.ok()) {
    result = barrier;
  } else if (started.starts_with("ER ")) {
    result = Status::FailedPrecondition(started.substr(3));
  } else if (started == "OK") {
    const std::string end = ReadLine(status_r, -1);
    if (end.starts_with("EXIT ")) result = std::atoi(end.c_str() + 5);
  }
  ::close(status_r);
  int st = 0;
  while (::waitpid(init, &st, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace cairn::tree
