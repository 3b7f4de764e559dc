// See round.h.
#include "tree/round.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/log.h"
#include "coord/manifest.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"
#include "transparent/naming.h"
#include "transparent/procfs.h"
#include "tree/levels.h"

namespace cairn::tree {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExecRetryMs = 2000;  // a connection closed before STOPPED: the process exec()ed

struct Member {
  std::string sock;
  int fd = -1;
  pid_t host_pid = 0;                                      // as this process sees it (SO_PEERCRED)
  int pid = 0, ppid = 0, pgid = 0, sid = 0, children = 0;  // as the process sees them
  bool stopped = false;
  std::string path;  // after CAPTURED
  uint64_t bytes = 0;
  std::string zombies;
  std::string What() const {
    return "pid " + std::to_string(pid > 0 ? pid : 0) + " (" + BaseName(sock) + ")";
  }
};

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// The next message on `fd` before `deadline`; an empty type() when the peer closed.
// Whether process `pid` (as this process sees it) runs: exists and has not exited.
bool Lives(pid_t pid) {
  if (pid <= 0) return false;
  const auto f =
      transparent::StatFields(transparent::ReadProcText("/proc/" + std::to_string(pid) + "/stat"));
  return f.size() > 3 && f[3] != "Z" && f[3] != "X";
}

Result<ipc::Message> Receive(int fd, Clock::time_point deadline) {
  auto ready = ipc::WaitReadable(fd, RemainingMs(deadline));
  if (!ready.ok()) return ready.status();
  if (!ready.value()) return Status::Unavailable("no answer in time");
  auto in = ipc::RecvMessage(fd);
  if (!in.ok()) return ipc::Message("");
  if (in.value().fd >= 0) ::close(in.value().fd);
  return std::move(in.value().msg);
}

// The pipes (inode -> the members reading it) open in the stopped processes.
struct PipeUse {
  std::vector<int> readers;  // member indexes
};

std::map<uint64_t, PipeUse> PipesOf(const std::vector<Member>& members) {
  std::map<uint64_t, PipeUse> pipes;  // pipes and FIFOs, by inode (the capture's pipe_id)
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string base = "/proc/" + std::to_string(members[i].host_pid);
    auto names = Env::Default()->ListDir(base + "/fd");
    if (!names.ok()) continue;
    for (const std::string& n : names.value()) {
      struct stat st;
      if (::stat((base + "/fd/" + n).c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) continue;
      const uint64_t ino = static_cast<uint64_t>(st.st_ino);
      const std::string flags =
          transparent::ProcField(transparent::ReadProcText(base + "/fdinfo/" + n), "flags");
      const int acc = static_cast<int>(std::strtol(flags.c_str(), nullptr, 8)) & O_ACCMODE;
      PipeUse& use = pipes[ino];
      if (acc != O_WRONLY && std::find(use.readers.begin(), use.readers.end(),
                                       static_cast<int>(i)) == use.readers.end()) {
        use.readers.push_back(static_cast<int>(i));
      }
    }
  }
  return pipes;
}

class Round {
 public:
  explicit Round(const RoundOptions& o)
      : o_(o),
        sock_dir_(transparent::naming::ControlDir(o.dir)),
        started_(Clock::now()),
        deadline_(started_ + std::chrono::milliseconds(o.timeout_ms)) {}
  ~Round() {
    for (Member& m : members_) {
      if (m.fd >= 0) ::close(m.fd);
    }
  }

  // Stops every process; kUnavailable (after resuming them) when some are still loading.
  Status Stop() {
    Status st = StopAll();
    if (st.ok() && members_.empty()) {
      return Status::NotFound("no running process under '" + o_.dir + "'");
    }
    if (!st.ok()) return Abort(st);
    const int held = HeldLineageLocks(o_.dir, o_.env);
    if (held > static_cast<int>(members_.size())) {
      return Abort(Status::Unavailable(std::to_string(held - static_cast<int>(members_.size())) +
                                       " process(es) of the job are still being restarted"));
    }
    return Status::Ok();
  }

  bool TimeLeft() const { return RemainingMs(deadline_) > 0; }

  void Reset() {
    for (Member& m : members_) {
      if (m.fd >= 0) ::close(m.fd);
    }
    members_.clear();
  }

  // Captures every process and commits the manifest; the processes stay stopped.
  Result<RoundResult> Write() {
    t_stopped_ = Clock::now();
    std::sort(members_.begin(), members_.end(),
              [](const Member& a, const Member& b) { return a.pid < b.pid; });
    const bool single = !o_.always_tree && members_.size() == 1 && members_[0].children == 0;
    Status st = CaptureAll(single);
    if (!st.ok()) return Abort(st);
    t_captured_ = Clock::now();
    RoundResult result;
    result.single = single;
    for (const Member& m : members_) {
      result.images.push_back(m.path);
      result.bytes += m.bytes;
    }
    if (!single) {
      auto committed = Commit(&result);
      if (!committed.ok()) return Abort(committed);
      manifest_ = result.manifest;
    }
    written_ = true;
    single_ = single;
    return result;
  }

  // RESUME {kill} to every process, then retention.
  void Resume(bool kill) {
    for (Member& m : members_) {
      ipc::Message resume("RESUME");
      resume.Add("kill", kill ? 1LL : 0LL);
      (void)ipc::SendMessage(m.fd, resume);
      ::close(m.fd);
      m.fd = -1;
    }
    const auto ms = [](Clock::duration d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    log::Info("cairn checkpoint: ", members_.size(), " processes stopped in ",
              ms(t_stopped_ - started_), " ms, images written in ", ms(t_captured_ - t_stopped_),
              " ms, committed and resumed in ", ms(Clock::now() - t_captured_), " ms");
    if (written_ && !single_) {
      if (Status pst = coord::Prune(o_.dir, o_.keep, o_.env); !pst.ok()) {
        log::Warn("cairn checkpoint: retention: ", pst.ToString());
      }
    }
  }

  bool Resumed() const {
    return std::all_of(members_.begin(), members_.end(), [](const Member& m) { return m.fd < 0; });
  }

  // Resumes every process, removes the images (and manifest) of this round, returns `st`.
  Status Abort(const Status& st) {
    for (Member& m : members_) {
      if (m.fd < 0) continue;
      ipc::Message resume("RESUME");
      resume.Add("kill", 0LL);
      (void)ipc::SendMessage(m.fd, resume);
      ::close(m.fd);
      m.fd = -1;
      if (!m.path.empty()) (void)o_.env->RemoveFile(m.path);
    }
    if (!manifest_.empty()) (void)o_.env->RemoveFile(manifest_);
    manifest_.clear();
    written_ = false;
    return st;
  }

  bool job_changing() const { return job_changing_; }

 private:
  // Connects to every socket not yet in the round and sends STOP, until a listing adds none
  // and every member answered STOPPED.
  Status StopAll() {
    std::set<std::string> dead;
    std::map<std::string, Clock::time_point> reconnect_until;
    for (;;) {
      auto names = o_.env->ListDir(sock_dir_);
      if (!names.ok()) return names.status();
      std::sort(names.value().begin(), names.value().end());
      bool added = false;
      for (const std::string& n : names.value()) {
        if (!n.ends_with(transparent::naming::kSocketSuffix)) continue;
        const std::string sock = JoinPath(sock_dir_, n);
        if (dead.count(sock) != 0) continue;
        if (std::any_of(members_.begin(), members_.end(),
                        [&](const Member& m) { return m.sock == sock; })) {
          continue;
        }
        auto fd = ipc::Connect(sock);
        if (!fd.ok()) {
          auto again = reconnect_until.find(sock);
          if (again != reconnect_until.end() && Clock::now() < again->second) {
            added = true;  // exec()ing: its new program listens again soon
            continue;
          }
          dead.insert(sock);  // nobody listens: the process died
          continue;
        }
        Member m;
        m.sock = sock;
        m.fd = fd.value();
        (void)ipc::SetIoTimeout(m.fd, 10000);
        struct ucred cred {};
        socklen_t len = sizeof cred;
        if (::getsockopt(m.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) m.host_pid = cred.pid;
        ipc::Message stop("STOP");
        if (!o_.job_hosts.empty()) stop.Add("hosts", o_.job_hosts);
        if (!ipc::SendMessage(m.fd, stop).ok()) {
          ::close(m.fd);
          reconnect_until.emplace(sock, Clock::now() + std::chrono::milliseconds(kExecRetryMs));
          added = true;
          continue;
        }
        members_.push_back(std::move(m));
        added = true;
      }
      for (size_t i = 0; i < members_.size();) {
        Member& m = members_[i];
        if (m.stopped) {
          ++i;
          continue;
        }
        auto in = Receive(m.fd, deadline_);
        if (!in.ok()) {
          return in.status().Annotate(m.sock + " did not stop");
        }
        const ipc::Message& msg = in.value();
        if (msg.type().empty()) {  // closed: exec()ed or exited; look again
          ::close(m.fd);
          reconnect_until.emplace(m.sock, Clock::now() + std::chrono::milliseconds(kExecRetryMs));
          members_.erase(members_.begin() + static_cast<long>(i));
          added = true;
          continue;
        }
        if (msg.type() != "STOPPED" || msg.GetInt("code", -1) != 0) {
          return Status::FromCode(
              msg.GetInt("code", -1),
              m.sock + " cannot stop: " + msg.GetOr("message", "unexpected " + msg.type()));
        }
        m.stopped = true;
        m.pid = static_cast<int>(msg.GetInt("pid", 0));
        m.ppid = static_cast<int>(msg.GetInt("ppid", 0));
        m.pgid = static_cast<int>(msg.GetInt("pgid", 0));
        m.sid = static_cast<int>(msg.GetInt("sid", 0));
        m.children = static_cast<int>(msg.GetInt("children", 0));
        ++i;
      }
      if (!added) return Status::Ok();
      if (RemainingMs(deadline_) == 0) return Status::Unavailable("the job did not stop");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  Status CaptureAll(bool single) {
    std::string pids;
    for (const Member& m : members_) pids += (pids.empty() ? "" : ",") + std::to_string(m.pid);
    std::vector<std::string> drain(members_.size());
    for (const auto& [ino, use] : PipesOf(members_)) {
      // (Also when no writer is left: the bytes a parent wrote before it closed its end are
      // still for the child to read.)
      if (use.readers.empty()) continue;
      // The reader with the lowest pid (members_ is sorted by pid).
      const int owner = *std::min_element(use.readers.begin(), use.readers.end());
      drain[static_cast<size_t>(owner)] +=
          (drain[static_cast<size_t>(owner)].empty() ? "" : ",") + std::to_string(ino);
    }
    for (size_t i = 0; i < members_.size(); ++i) {
      ipc::Message c("CAPTURE");
      c.Add("pids", pids).Add("drain", drain[i]).Add("single", single ? 1LL : 0LL);
      if (Status st = ipc::SendMessage(members_[i].fd, c); !st.ok()) {
        return st.Annotate(members_[i].What());
      }
    }
    Status first = Status::Ok();
    for (Member& m : members_) {
      auto in = Receive(m.fd, deadline_);
      if (!in.ok()) {
        if (first.ok()) first = in.status().Annotate(m.What() + " did not write its image");
        continue;
      }
      const ipc::Message& msg = in.value();
      if (msg.type() != "CAPTURED" || msg.GetInt("code", -1) != 0) {
        // Transient: children not followed yet, or a process that exec()ed during the round
        // (its connection closed, the process lives on: it is followed again once the
        // library starts in the new program).
        if (msg.GetInt("starting", 0) == 1 || (msg.type().empty() && Lives(m.host_pid))) {
          job_changing_ = true;
        }
        if (first.ok()) {
          first = Status::FromCode(
              msg.GetInt("code", -1),
              m.What() + ": " +
                  (msg.type().empty() ? std::string("died while writing its image")
                                      : msg.GetOr("message", "unexpected " + msg.type())));
        }
        continue;
      }
      m.path = msg.GetOr("path", "");
      m.bytes = static_cast<uint64_t>(std::max(0LL, msg.GetInt("bytes", 0)));
      m.zombies = msg.GetOr("zombies", "");
    }
    return first;
  }

  Status Commit(RoundResult* result) {
    // Every image durable (each process wrote its own without fdatasync) before the manifest
    // names them: one syncfs of the file system they are on.
    int dfd = ::open(o_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return Status::FromErrno("open '" + o_.dir + "'", errno);
    const int rc = ::syncfs(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0) return Status::FromErrno("syncfs of '" + o_.dir + "'", err);
    auto versions = coord::ListManifests(o_.dir, o_.env);
    if (!versions.ok()) return versions.status();
    // One past the newest in DIR; a job launched with --config also one past the newest on
    // persistent, so a restart from there after DIR was wiped never reuses a version.
    uint64_t first = 1;
    if (auto levels = LoadLevels(o_.dir, o_.env); levels.ok()) {
      first = FirstVersion(levels.value(), o_.env);
    }
    coord::Manifest man;
    man.kind = "tree";
    man.version =
        std::max<uint64_t>(first, versions.value().empty() ? 1 : versions.value().back() + 1);
    man.participants = static_cast<int>(members_.size());
    for (size_t i = 0; i < members_.size(); ++i) {
      const Member& m = members_[i];
      coord::ManifestImage im;
      im.rank = static_cast<int>(i);
      im.bytes = m.bytes;
      im.hash = "-";
      im.path = m.path;
      im.pid = m.pid;
      im.ppid = m.ppid;
      im.pgid = m.pgid;
      im.sid = m.sid;
      size_t pos = 0;
      while (pos < m.zombies.size()) {
        size_t end = m.zombies.find(',', pos);
        if (end == std::string::npos) end = m.zombies.size();
        const std::string item = m.zombies.substr(pos, end - pos);
        const size_t colon = item.find(':');
        if (colon != std::string::npos) {
          im.exited.push_back({std::atoi(item.c_str()), std::atoi(item.c_str() + colon + 1)});
        }
        pos = end + 1;
      }
      man.images.push_back(std::move(im));
    }
    auto path = coord::WriteManifest(o_.dir, man, o_.env);
    if (!path.ok()) return path.status();
    result->manifest = path.value();
    result->version = man.version;
    return Status::Ok();
  }

  RoundOptions o_;
  std::string sock_dir_;
  Clock::time_point started_, t_stopped_, t_captured_;
  bool written_ = false, single_ = false;
  bool job_changing_ = false;  // see TreeRound::JobChanging
  std::string manifest_;       // committed by Write
  Clock::time_point deadline_;
  std::vector<Member> members_;
};

}  // namespace

struct TreeRound::Impl {
  explicit Impl(const RoundOptions& o) : round(o) {}
  Round round;
};

Result<std::unique_ptr<TreeRound>> TreeRound::Stop(const RoundOptions& options) {
  const std::string control = transparent::naming::ControlDir(options.dir);
  if (!options.env->Exists(control)) {
    return Status::NotFound("no launched process found: no '" + control + "'");
  }
  auto impl = std::make_unique<Impl>(options);
  for (;;) {
    Status st = impl->round.Stop();
    if (st.ok()) break;
    if (st.code() != Code::kUnavailable || !impl->round.TimeLeft()) return st;
    impl->round.Reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::unique_ptr<TreeRound>(new TreeRound(std::move(impl)));
}

TreeRound::TreeRound(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TreeRound::~TreeRound() {
  if (!impl_->round.Resumed()) (void)impl_->round.Abort(Status::Ok());
}

Result<RoundResult> TreeRound::Write() { return impl_->round.Write(); }
void TreeRound::Resume(bool kill) { impl_->round.Resume(kill); }
Status TreeRound::Abort(const Status& st) { return impl_->round.Abort(st); }
bool TreeRound::JobChanging() const { return impl_->round.job_changing(); }

Result<RoundResult> CheckpointJob(const RoundOptions& options) {
  // A child caught between fork and exec, or before the library started in it, is not in
  // the round yet, and a process that exec()s during the round leaves it: the round is
  // aborted and taken again a moment later, for at most kStartingMs.
  constexpr int kStartingMs = 5000, kPauseMs = 100;
  for (int waited = 0;; waited += kPauseMs) {
    auto round = TreeRound::Stop(options);
    if (!round.ok()) return round.status();
    auto r = round.value()->Write();
    if (r.ok()) {
      round.value()->Resume(options.kill);
      return r;
    }
    if (!round.value()->JobChanging() || waited >= kStartingMs) return r;
    log::Info("checkpoint of '", options.dir, "': ", r.status().message(), "; again in ", kPauseMs,
              " ms");
    ::usleep(kPauseMs * 1000);
  }
}

int HeldLineageLocks(const std::string& dir, Env* env) {
  const std::string sock_dir = transparent::naming::ControlDir(dir);
  auto names = env->ListDir(sock_dir);
  if (!names.ok()) return 0;
  const auto held = transparent::HeldFlocks();
  int n = 0;
  for (const auto& name : names.value()) {
    if (!name.ends_with(transparent::naming::kLockSuffix)) continue;
    auto st = env->Stat(JoinPath(sock_dir, name));
    if (st.ok() && held.count({st.value().device, st.value().inode}) != 0) ++n;
  }
  return n;
}

}  // namespace cairn::tree
