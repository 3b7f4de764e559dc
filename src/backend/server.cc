#include "backend/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/names.h"
#include "ipc/wire.h"
#include "pipeline/flush.h"
#include "pipeline/persist.h"

namespace cairn::backend {
namespace {

using Clock = std::chrono::steady_clock;

struct Mapping {
  void* p = nullptr;
  size_t n = 0;
  ~Mapping() {
    if (p != nullptr) ::munmap(p, n);
  }
};

struct Job {
  long long seq = 0;
  bool flush = false;  // FLUSH: a transparent checkpoint to persistent
  pipeline::FlushRequest flush_req;
  pipeline::PersistRequest req;
  std::shared_ptr<Mapping> staging;
  pipeline::Progress progress;
  bool running = false;
};

struct Conn {
  int fd = -1;
  int rank = -1;
  long long pid = 0;
  std::mutex write_mu;
  std::shared_ptr<Mapping> staging;
  std::deque<std::shared_ptr<Job>> jobs;  // guarded by Server::mu_
  bool busy = false;                      // a worker runs its front job
  bool closed = false;                    // the client is gone or said BYE
  std::thread reader;

  void Send(const ipc::Message& m) {
    std::lock_guard<std::mutex> g(write_mu);
    (void)ipc::SendMessage(fd, m);  // a vanished client is not an error for the backend
  }
};

// Lowers this thread's CPU and I/O priority so the application's compute wins.
void LowerPriority() {
  pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 10);
  constexpr int kIoprioWhoProcess = 1, kIoprioClassBe = 2, kIoprioClassShift = 13;
  (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid,
                  (kIoprioClassBe << kIoprioClassShift) | 7);
}

Result<pipeline::PersistRequest> ParseRequest(const ipc::Message& m) {
  pipeline::PersistRequest r;
  r.name = m.GetOr("name", "");
  r.version = m.GetInt("version", -1);
  r.rank = static_cast<int>(m.GetInt("rank", -1));
  r.nranks = static_cast<int>(m.GetInt("nranks", 0));
  r.to_persistent = m.GetInt("persistent", 0) != 0;
  r.safe_scratch = m.GetInt("safe_scratch", -1);
  r.safe_persistent = m.GetInt("safe_persistent", -1);
  if (r.version < 0 || r.rank < 0) return Status::InvalidArgument("malformed checkpoint request");
  // The name becomes a directory: the same rule as in the library, checked again here.
  CAIRN_RETURN_IF_ERROR(ValidateName(r.name));
  for (const auto& f : m.GetAll("region")) {
    auto parts = ipc::SplitFields(f, ':');  // kind:id:offset:size[:hash]
    if (parts.size() != 4 && parts.size() != 5) {
      return Status::InvalidArgument("malformed region '" + f + "'");
    }
    pipeline::StagedRegion reg;
    try {
      reg.kind = static_cast<format::EntryKind>(std::stoi(parts[0]));
      reg.id = std::stoi(parts[1]);
      reg.offset = std::stoull(parts[2]);
      reg.size = std::stoull(parts[3]);
      if (parts.size() == 5) {
        reg.hashed = true;
        reg.hash = std::stoull(parts[4], nullptr, 16);
      }
    } catch (const std::exception&) {
      return Status::InvalidArgument("malformed region '" + f + "'");
    }
    if (reg.kind != format::EntryKind::kMemory && reg.kind != format::EntryKind::kSerialized) {
      return Status::InvalidArgument("bad region kind in '" + f + "'");
    }
    r.regions.push_back(reg);
  }
  r.files = m.GetAll("file");
  return r;
}

class Server {
 public:
  explicit Server(const ServerOptions& o) : o_(o), persister_(o.config, Env::Default()) {}

  int Run() {
    // One live backend per key: the pid file stays locked while we run.
    pid_fd_ = ::open(o_.paths.pid.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (pid_fd_ < 0) {
      log::Error("backend: cannot open ", o_.paths.pid);
      return 1;
    }
    if (::flock(pid_fd_, LOCK_EX | LOCK_NB) != 0) {
      log::Info("backend: another backend already serves ", o_.paths.key);
      return 0;
    }
    std::string info = std::to_string(::getpid()) + "\n" + o_.job_id + "\n";
    (void)::ftruncate(pid_fd_, 0);
    (void)::pwrite(pid_fd_, info.data(), info.size(), 0);
    auto l = ipc::Listen(o_.paths.socket);
    if (!l.ok()) {
      log::Error("backend: ", l.status().ToString());
      return 1;
    }
    listen_fd_ = l.value();
    log::Info("backend ", o_.paths.key, " (job '", o_.job_id, "') listening on ", o_.paths.socket);
    last_activity_ = Clock::now();
    for (int i = 0; i < o_.config.backend_workers; ++i) {
      workers_.emplace_back([this] { Worker(); });
    }
    AcceptLoop();
    // Stop: nobody can reach us any more; the workers have nothing left to do.
    ::unlink(o_.paths.socket.c_str());
    ::close(listen_fd_);
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    Reap(/*all=*/true);
    ::close(pid_fd_);
    log::Info("backend ", o_.paths.key, " exits (idle)");
    return 0;
  }

 private:
  void AcceptLoop() {
    const auto idle = std::chrono::seconds(o_.config.backend_idle_timeout);
    for (;;) {
      pollfd p{listen_fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, 200);
      if (rc > 0) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          auto conn = std::make_shared<Conn>();
          conn->fd = c;
          std::lock_guard<std::mutex> g(mu_);
          conns_.push_back(conn);
          conn->reader = std::thread([this, conn] { Reader(conn); });
          last_activity_ = Clock::now();
        }
      }
      Reap(false);
      std::lock_guard<std::mutex> g(mu_);
      bool work = false;
      for (const auto& c : conns_) work = work || !c->jobs.empty();
      if (conns_.empty() && !work && Clock::now() - last_activity_ >= idle) return;
    }
  }

  // Removes connections whose client is gone and whose work is finished.
  void Reap(bool all) {
    std::vector<std::shared_ptr<Conn>> dead;
    {
      std::lock_guard<std::mutex> g(mu_);
      for (auto it = conns_.begin(); it != conns_.end();) {
        if ((all || (*it)->closed) && (*it)->jobs.empty() && !(*it)->busy) {
          dead.push_back(*it);
          it = conns_.erase(it);
          last_activity_ = Clock::now();
        } else {
          ++it;
        }
      }
    }
    for (auto& c : dead) {
      if (all) ::shutdown(c->fd, SHUT_RDWR);
      if (c->reader.joinable()) c->reader.join();
      ::close(c->fd);
    }
  }

  void Reader(std::shared_ptr<Conn> conn) {
    for (;;) {
      auto in = ipc::RecvMessage(conn->fd);
      if (!in.ok()) break;
      const ipc::Message& m = in.value().msg;
      const std::string& t = m.type();
      if (t == "HELLO") {
        conn->rank = static_cast<int>(m.GetInt("rank", -1));
        conn->pid = m.GetInt("pid", 0);
        conn->Send(ipc::Message("WELCOME").Add("pid", ::getpid()).Add("job", o_.job_id));
      } else if (t == "STAGING") {
        HandleStaging(*conn, m, in.value().fd);
      } else if (t == "CKPT") {
        HandleCheckpoint(conn, m);
      } else if (t == "FLUSH") {
        HandleFlush(conn, m);
      } else if (t == "STATUS") {
        conn->Send(StatusMessage());
      } else if (t == "BYE") {
        break;
      } else {
        conn->Send(ipc::Message("ERROR").Add("message", "unknown request '" + t + "'"));
      }
      if (in.value().fd >= 0 && t != "STAGING") ::close(in.value().fd);
    }
    std::lock_guard<std::mutex> g(mu_);
    conn->closed = true;
    last_activity_ = Clock::now();
  }

  void HandleStaging(Conn& conn, const ipc::Message& m, int fd) {
    size_t size = static_cast<size_t>(m.GetInt("size", 0));
    auto map = std::make_shared<Mapping>();
    if (fd >= 0 && size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        map->p = p;
        map->n = size;
      }
    }
    if (fd >= 0) ::close(fd);
    if (map->p == nullptr) {
      conn.Send(ipc::Message("ERROR").Add("message", "cannot map the staging area"));
      return;
    }
    std::lock_guard<std::mutex> g(mu_);
    conn.staging = std::move(map);
  }

  void HandleCheckpoint(const std::shared_ptr<Conn>& conn, const ipc::Message& m) {
    long long seq = m.GetInt("seq", -1);
    auto req = ParseRequest(m);
    auto job = std::make_shared<Job>();
    job->seq = seq;
    {
      std::lock_guard<std::mutex> g(mu_);
      job->staging = conn->staging;
    }
    Status st = req.status();
    if (st.ok()) {
      job->req = std::move(req.value());
      if (!job->req.regions.empty() && job->staging == nullptr) {
        st = Status::FailedPrecondition("no staging area");
      } else if (job->staging != nullptr) {
        job->req.staging = static_cast<const char*>(job->staging->p);
        job->req.staging_size = job->staging->n;
      }
    }
    if (!st.ok()) {
      conn->Send(ipc::Message("REJECTED").Add("seq", seq).Add("message", st.ToString()));
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      conn->jobs.push_back(job);
      last_activity_ = Clock::now();
    }
    conn->Send(ipc::Message("ACCEPTED").Add("seq", seq));
    cv_.notify_one();
  }

  // FLUSH {seq, from, to, copy*, remove*} (pipeline/flush.h): queued like a checkpoint of
  // this connection, answered ACCEPTED now and DONE when the files are on persistent.
  void HandleFlush(const std::shared_ptr<Conn>& conn, const ipc::Message& m) {
    auto job = std::make_shared<Job>();
    job->seq = m.GetInt("seq", -1);
    job->flush = true;
    job->flush_req.from = m.GetOr("from", "");
    job->flush_req.to = m.GetOr("to", "");
    job->flush_req.copy = m.GetAll("copy");
    job->flush_req.remove = m.GetAll("remove");
    job->req.name = "flush";
    {
      std::lock_guard<std::mutex> g(mu_);
      conn->jobs.push_back(job);
      last_activity_ = Clock::now();
    }
    conn->Send(ipc::Message("ACCEPTED").Add("seq", job->seq));
    cv_.notify_one();
  }

  ipc::Message StatusMessage() {
    ipc::Message s("STATUS");
    s.Add("pid", ::getpid()).Add("job", o_.job_id).Add("key", o_.paths.key);
    std::lock_guard<std::mutex> g(mu_);
    s.Add("clients", static_cast<long long>(conns_.size()));
    for (const auto& c : conns_) {
      for (const auto& j : c->jobs) {
        auto stage = static_cast<pipeline::Stage>(j->progress.stage.load());
        s.Add("job", std::to_string(j->req.rank) + ":" + j->req.name + ":" +
                         std::to_string(j->req.version) + ":" + pipeline::StageName(stage) + ":" +
                         std::to_string(j->progress.done.load()) + ":" +
                         std::to_string(j->progress.total.load()));
      }
    }
    return s;
  }

  void Worker() {
    LowerPriority();
    for (;;) {
      std::shared_ptr<Conn> conn;
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] {
          if (stopping_) return true;
          for (const auto& c : conns_) {
            if (!c->busy && !c->jobs.empty()) return true;
          }
          return false;
        });
        for (const auto& c : conns_) {
          if (!c->busy && !c->jobs.empty()) {
            conn = c;
            break;
          }
        }
        if (conn == nullptr) return;  // stopping with nothing to do
        conn->busy = true;
        job = conn->jobs.front();
      }
      RunJob(*conn, *job);
      {
        std::lock_guard<std::mutex> g(mu_);
        conn->jobs.pop_front();
        conn->busy = false;
        last_activity_ = Clock::now();
      }
      cv_.notify_all();
    }
  }

  void RunJob(Conn& conn, Job& job) {
    if (job.flush) {
      job.progress.Enter(pipeline::Stage::kPersistent, 0);
      Status st =
          pipeline::Flush(job.flush_req, Env::Default(), persister_.pacer(), &job.progress.done);
      job.progress.Enter(pipeline::Stage::kDone, 0);
      if (!st.ok()) log::Warn("backend: flush of ", job.flush_req.from, ": ", st.ToString());
      conn.Send(ipc::Message("DONE")
                    .Add("seq", job.seq)
                    .Add("status", static_cast<long long>(st.code()))
                    .Add("message", st.ok() ? "" : st.ToString()));
      return;
    }
    const pipeline::PersistRequest& r = job.req;
    const std::string what =
        "'" + r.name + "' version " + std::to_string(r.version) + " rank " + std::to_string(r.rank);
    size_t tier = 0;
    Status st = persister_.WriteScratch(r, &job.progress, &tier);
    job.staging.reset();  // the client may reuse (or resize) its staging area now
    conn.Send(ipc::Message("SCRATCH")
                  .Add("seq", job.seq)
                  .Add("status", static_cast<long long>(st.code()))
                  .Add("message", st.ok() ? "" : st.ToString()));
    bool persisted = false;
    if (st.ok() && r.to_persistent) {
      st = persister_.Transfer(r, tier, &job.progress);
      persisted = st.ok();
    }
    if (st.ok()) {
      job.progress.Enter(pipeline::Stage::kRetention, 0);
      Status ret = persister_.Retain(r);
      if (!ret.ok()) log::Warn("backend: retention for ", what, ": ", ret.ToString());
    }
    job.progress.Enter(pipeline::Stage::kDone, 0);
    if (!st.ok()) log::Warn("backend: ", what, ": ", st.ToString());
    conn.Send(ipc::Message("DONE")
                  .Add("seq", job.seq)
                  .Add("status", static_cast<long long>(st.code()))
                  .Add("message", st.ok() ? "" : st.ToString())
                  .Add("persistent", persisted ? 1 : 0));
  }

  ServerOptions o_;
  pipeline::Persister persister_;  // shared by the workers (its state is locked)
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::shared_ptr<Conn>> conns_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  Clock::time_point last_activity_;
  int listen_fd_ = -1;
  int pid_fd_ = -1;
};

}  // namespace

int RunServer(const ServerOptions& opts) {
  try {
    Server s(opts);
    return s.Run();
  } catch (const std::exception& e) {
    log::Error("backend: ", e.what());
    return 1;
  }
}

}  // namespace cairn::backend
