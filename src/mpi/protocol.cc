// The rank's side of a coordinated checkpoint (coord/protocol.h) and of a restart: the
// collective run-forward, the freeze, the drain, the image, the commit; at restart a new
// lower half and the replay of every object (shim.h, docs/mpi.md).
#include "coord/protocol.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "coord/participant.h"
#include "mpi/io.h"
#include "mpi/protocol_state.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"
#include "transparent/launcher_env.h"
#include "transparent/preload/futex.h"
#include "transparent/preload/lower_api.h"

extern char** environ;

namespace cairn::mpi {

ProtocolState g_protocol_state;

namespace {

ProtocolState& g_state = g_protocol_state;
MPI_Comm g_ctl = MPI_COMM_NULL;  // the library's dup of MPI_COMM_WORLD, for the drain
int g_rank = 0, g_size = 1;
bool g_finalized = false;
// Upper-half memory, so that it survives in the image: the coordinator connection is made
// anew after every restart.
coord::Participant* g_participant = nullptr;
int g_phase_timeout_ms = 120000;

int64_t Now() { return NowMs(); }

void Log(const std::string& s) { log::Info("mpi: rank ", g_rank, ": ", s); }

// Allocations of the checkpoint thread come from the private heap (never saved): the
// participant is rebuilt after a restart, so that is what we want for it.
void Join() {
  const char* dir = cairn_preload_ckpt_dir();
  if (dir == nullptr) return;
  auto p = coord::Participant::Join(dir, transparent::LauncherJobKey(), g_rank, 120000);
  if (!p.ok()) {
    log::Error("mpi: rank ", g_rank, ": cannot join the job's coordinator: ", p.status().ToString(),
               "; this job cannot be checkpointed");
    return;
  }
  g_participant = p.value().release();
  cairn_preload_watch_fd(g_participant->fd(), &OnCoordinator);
}

void Resume(bool stopped) {
  if (stopped) cairn_preload_resume();
  {
    Lower l;
    RepostReceives();
  }
  g_state.frozen = false;
  g_state.pending = false;
  g_state.targets_known = false;
  for (auto& w : g_state.wanted) w.store(0, std::memory_order_relaxed);
  BumpEpoch();
}

// Waits for the next message of `round` (skipping others) up to the phase timeout.
Result<ipc::Message> Next(uint64_t round) {
  const int64_t deadline = Now() + g_phase_timeout_ms;
  for (;;) {
    const int64_t left = deadline - Now();
    if (left <= 0) return Status::Unavailable("the coordinator did not answer in time");
    auto m = g_participant->Receive(static_cast<int>(std::min<int64_t>(left, 1000)));
    if (!m.ok()) return m.status();
    if (m.value().type().empty()) continue;
    if (static_cast<uint64_t>(m.value().GetInt(coord::kFRound, -1)) != round) continue;
    return m;
  }
}

coord::Counters MyCounts() {
  coord::Counters c;
  for (size_t k = 0; k < kMaxCommKeys; ++k) {
    if (g_state.counted[k]) c[g_state.name[k]] = g_state.started[k].load();
  }
  return c;
}

// The communicators whose collectives are not where the round needs them, for a message:
// "w.3: 12 started, 11 complete, target 12".
std::string NotQuiet() {
  std::string out;
  int listed = 0;
  for (size_t k = 0; k < kMaxCommKeys && listed < 4; ++k) {
    if (!g_state.counted[k]) continue;
    const uint64_t st = g_state.started[k].load(), done = g_state.completed[k].load();
    const uint64_t want = g_state.wanted[k].load();
    if (st == g_state.target[k] && done == st && want <= g_state.target[k]) continue;
    out += (listed++ > 0 ? "; " : "") + std::string(g_state.name[k]) + ": " + std::to_string(st) +
           " started, " + std::to_string(done) + " complete, target " +
           std::to_string(g_state.target[k]);
    if (want > g_state.target[k]) out += ", a thread waits to start " + std::to_string(want);
  }
  return out;
}

// The collectives this rank's threads wait to start beyond their targets and has not asked
// the coordinator for yet (`asked`: what it asked for this round).
coord::Counters NewWants(const coord::Counters& asked) {
  coord::Counters out;
  for (size_t k = 0; k < kMaxCommKeys; ++k) {
    if (!g_state.counted[k]) continue;
    // A waiting thread's next collective, or one counted just as the round began.
    const uint64_t want = std::max(g_state.wanted[k].load(), g_state.started[k].load());
    if (want <= g_state.target[k]) continue;
    auto it = asked.find(g_state.name[k]);
    if (it == asked.end() || it->second < want) out[g_state.name[k]] = want;
  }
  return out;
}

// Takes the targets of a TARGETS message; returns its gen. A key the message does not name
// stays where this rank is (gen 0: nobody else counts it) or where it was (later gens).
Result<uint64_t> ApplyTargets(const ipc::Message& m) {
  auto targets = coord::ParseCounters(m.GetOr(coord::kFTargets, ""));
  if (!targets.ok()) return targets.status();
  const long long gen = m.GetInt(coord::kFGen, 0);
  if (gen < 0) return Status::InvalidArgument("TARGETS with a negative gen");
  for (size_t k = 0; k < kMaxCommKeys; ++k) {
    if (!g_state.counted[k]) continue;
    auto it = targets.value().find(g_state.name[k]);
    if (it != targets.value().end()) {
      g_state.target[k] = it->second;
    } else if (gen == 0) {
      g_state.target[k] = g_state.started[k].load();
    }
  }
  g_state.targets_known = true;
  BumpEpoch();
  return static_cast<uint64_t>(gen);
}

bool CollectivesQuiet() {
  for (size_t k = 0; k < kMaxCommKeys; ++k) {
    if (!g_state.counted[k]) continue;
    if (g_state.started[k].load() != g_state.target[k]) return false;
    if (g_state.completed[k].load() != g_state.started[k].load()) return false;
  }
  return true;
}

// Runs this rank forward from the targets of `gen` until it is QUIET at the coordinator's
// newest targets and DRAIN arrives. While not quiet it asks (WANT) for the collectives its
// threads wait to start beyond their targets; every new TARGETS (a higher gen) starts the
// answer anew. Bounded: the phase timeout, counted again once QUIET is sent.
Status RunForward(uint64_t round, uint64_t gen) {
  coord::Counters asked;
  bool quiet_sent = false;
  int64_t deadline = Now() + g_phase_timeout_ms;
  for (;;) {
    const bool quiet = CollectivesQuiet();
    if (quiet && !quiet_sent) {
      // With what its waiting threads want next: granted if other ranks do not get quiet
      // (they may wait for a message this rank sends only after that collective).
      Status st = g_participant->SendQuiet(round, gen, NewWants({}));
      if (!st.ok()) return st;
      quiet_sent = true;
      deadline = Now() + g_phase_timeout_ms;
    }
    if (!quiet) {
      const coord::Counters wants = NewWants(asked);
      if (!wants.empty()) {
        Log("needs " + coord::FormatCounters(wants) + " before it can reach the targets");
        Status st = g_participant->SendWant(round, gen, wants);
        if (!st.ok()) return st;
        coord::MergeCountersMax(asked, wants);
      }
    }
    if (Now() > deadline) {
      return Status::Unavailable(quiet_sent
                                     ? "the coordinator did not answer QUIET in time"
                                     : "timed out waiting for the collectives in progress to "
                                       "complete");
    }
    auto m = g_participant->Receive(quiet ? 10 : 0);
    if (!m.ok()) return m.status();
    const std::string t = m.value().type();
    if (!t.empty() && static_cast<uint64_t>(m.value().GetInt(coord::kFRound, -1)) == round) {
      if (t == coord::kAbort) {
        return Status::FailedPrecondition("aborted by the coordinator: " +
                                          m.value().GetOr(coord::kFReason, "?"));
      }
      if (t == coord::kDrain && quiet_sent) return Status::Ok();
      if (t != coord::kTargets) {
        return Status::FailedPrecondition("the coordinator sent " + t + " during the run-forward");
      }
      auto g = ApplyTargets(m.value());
      if (!g.ok()) return g.status();
      gen = g.value();
      quiet_sent = false;
      continue;
    }
    if (!quiet) {
      const uint32_t seen = g_state.active_changes.load();
      if (!CollectivesQuiet()) preload::FutexWait(&g_state.active_changes, seen, 10);
    }
  }
}

// Waits (bounded) until `ok()`, watching the coordinator for an ABORT of `round`.
Status WaitLocal(uint64_t round, const std::function<bool()>& ok, const char* what) {
  const int64_t deadline = Now() + g_phase_timeout_ms;
  while (!ok()) {
    if (Now() > deadline) {
      return Status::Unavailable(std::string("timed out waiting for ") + what);
    }
    auto m = g_participant->Receive(0);
    if (!m.ok()) return m.status();
    if (m.value().type() == coord::kAbort &&
        static_cast<uint64_t>(m.value().GetInt(coord::kFRound, -1)) == round) {
      return Status::FailedPrecondition("aborted by the coordinator: " +
                                        m.value().GetOr(coord::kFReason, "?"));
    }
    const uint32_t seen = g_state.active_changes.load();
    if (!ok()) preload::FutexWait(&g_state.active_changes, seen, 10);
  }
  return Status::Ok();
}

// Drain: every message in flight is received (into the drain store, or into a receive the
// program had posted) and every send completed, all ranks agreeing through the library.
Status DrainMessages() {
  // The checkpoint thread allocates like a program thread while it calls the library.
  cairn_preload_set_internal(0);
  struct Internal {
    ~Internal() { cairn_preload_set_internal(1); }
  } internal_again;
  Lower l;
  char err[1024] = {};
  // Nonblocking collectives every rank started (the run-forward made them the same) first.
  if (!FinishCollectiveRequests(err, sizeof err)) return Status::Internal(err);
  if (!SettleRequests(true, false, err, sizeof err)) return Status::Internal(err);
  const int64_t deadline = Now() + g_phase_timeout_ms;
  for (;;) {
    // Probe every communicator the program can receive on.
    std::vector<std::pair<MPI_Comm, MPI_Comm>> comms = {{MPI_COMM_WORLD, MPI_COMM_WORLD},
                                                        {MPI_COMM_SELF, MPI_COMM_SELF}};
    for (size_t i = 0; i < Comms().Limit(); ++i) {
      if (Comms().Used(i) && Comms().Real(i) != MPI_COMM_NULL) {
        comms.emplace_back(Comms().Virtual(i), Comms().Real(i));
      }
    }
    for (auto [v, r] : comms) {
      for (;;) {
        int flag = 0;
        MPI_Status st;
        CAIRN_REAL(MPI_Iprobe)(MPI_ANY_SOURCE, MPI_ANY_TAG, r, &flag, &st);
        if (!flag) break;
        if (!StoreDrained(v, r, st, err, sizeof err)) return Status::Internal(err);
      }
    }
    if (!SettleRequests(false, false, err, sizeof err)) return Status::Internal(err);
    long long local[2] = {static_cast<long long>(TotalSent()),
                          static_cast<long long>(TotalReceived())};
    long long global[2] = {0, 0};
    MPI_Request req;
    CAIRN_REAL(MPI_Iallreduce)(local, global, 2, MPI_LONG_LONG, MPI_SUM, g_ctl, &req);
    for (;;) {
      int flag = 0;
      CAIRN_REAL(MPI_Test)(&req, &flag, MPI_STATUS_IGNORE);
      if (flag) break;
      if (Now() > deadline) {
        return Status::Unavailable("the drain's agreement did not complete (a rank gone?)");
      }
    }
    if (global[0] == global[1]) break;
    if (Now() > deadline) return Status::Unavailable("messages in flight did not arrive");
  }
  if (!SettleRequests(false, true, err, sizeof err)) return Status::Internal(err);
  // Open files: pointers, sizes, and the bytes written so far on disk.
  if (!SaveFiles(err, sizeof err)) return Status::FailedPrecondition(err);
  if (!SaveInfos(err, sizeof err)) return Status::Internal(err);
  return Status::Ok();
}

void Round(uint64_t round) {
  Log("checkpoint round " + std::to_string(round));
  g_state.pending = true;
  g_state.targets_known = false;
  BumpEpoch();
  bool stopped = false;
  std::string written;  // this round's image, removed again if the round is aborted
  auto fail = [&](const Status& st) {
    // Aborted by the coordinator: no manifest will name this round's image. (Not when the
    // coordinator merely went silent: it may have committed a manifest that names it.)
    if (!written.empty() && st.message().starts_with("aborted")) ::unlink(written.c_str());
    log::Error("mpi: rank ", g_rank, ": checkpoint round ", round, " failed: ", st.ToString());
    if (!st.message().starts_with("aborted")) {
      (void)g_participant->SendFailed(round, st.message(), st.code());
      // The coordinator answers with ABORT; wait for it, bounded.
      (void)Next(round);
    }
    Resume(stopped);
  };
  // Objects a restart could not rebuild: refuse the round, naming the functions.
  char unsupported[512];
  if (UnsupportedUsed(unsupported, sizeof unsupported)) {
    return fail(Status::FailedPrecondition(
        std::string("this job used MPI functions whose state cairn cannot restore at a "
                    "restart: ") +
        unsupported + " (docs/mpi.md)"));
  }
  Status st = g_participant->SendPrepared(round, MyCounts());
  if (!st.ok()) return fail(st);
  auto m = Next(round);
  if (!m.ok()) return fail(m.status());
  if (m.value().type() != coord::kTargets) return fail(Status::FailedPrecondition("aborted"));
  auto gen = ApplyTargets(m.value());
  if (!gen.ok()) return fail(gen.status());
  st = RunForward(round, gen.value());
  if (!st.ok()) {  // say where this rank's collectives were
    const std::string where = NotQuiet();
    log::Error("mpi: rank ", g_rank, ": collectives not complete: ", where.empty() ? "-" : where);
    return fail(st);
  }
  g_state.frozen = true;
  BumpEpoch();
  FreezeBarrier();
  st = WaitLocal(
      round, [] { return ThreadsInside() == 0; }, "the program's threads to leave MPI");
  if (!st.ok()) return fail(st);
  st = DrainMessages();
  if (!st.ok()) return fail(st);
  char path[4096] = {}, err[1024] = {};
  unsigned long long bytes = 0;
  int rc = cairn_preload_capture(path, sizeof path, &bytes, err, sizeof err);
  stopped = true;
  if (rc != 0) {
    // The threads stay stopped after a failed capture too: Resume releases them.
    return fail(Status::Internal(std::string("writing the image: ") + err));
  }
  written = path;
  st = g_participant->SendWritten(round, path, bytes, "-");
  if (!st.ok()) return fail(st);
  m = Next(round);
  if (!m.ok()) return fail(m.status());
  if (m.value().type() != coord::kCommitted) return fail(Status::FailedPrecondition("aborted"));
  if (m.value().GetInt(coord::kFKill, 0) != 0) {
    Log("exiting after the committed checkpoint, as requested");
    ::syscall(SYS_exit_group, 0);
  }
  Log("checkpoint " + std::string(path) + " committed");
  Resume(stopped);
}

// The new launcher's variables, from the memfd `cairn restart --mpi` left open for us.
void TakeLauncherEnvironment() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  int env_fd = -1;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char link[256] = {}, p[300];
    std::snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    if (::readlink(p, link, sizeof link - 1) > 0 && std::strstr(link, "cairn-mpi-env") != nullptr) {
      env_fd = std::atoi(e->d_name);
    }
  }
  ::closedir(d);
  if (env_fd < 0) {
    log::Warn("mpi: restarted without the launcher's environment; MPI may not start");
    return;
  }
  // Read it whole into upper-half memory (mmap: not the private heap).
  const off_t size = ::lseek(env_fd, 0, SEEK_END);
  const size_t cap = static_cast<size_t>(size) + 4096 * 64;
  char* block = static_cast<char*>(
      ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (block == MAP_FAILED) return;
  ssize_t got = ::pread(env_fd, block, static_cast<size_t>(size), 0);
  ::close(env_fd);
  if (got != size) return;
  // New environ: the program's own variables, then the launcher's.
  size_t n = 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) ++n;
  for (ssize_t i = 0; i < got; ++i) n += block[i] == '\0';
  char** env = static_cast<char**>(::mmap(nullptr, (n + 1) * sizeof(char*), PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (env == MAP_FAILED) return;
  size_t k = 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!transparent::LauncherVariable(*e)) env[k++] = *e;
  }
  for (ssize_t i = 0; i < got;) {
    char* s = block + i;
    const size_t len = std::strlen(s);
    if (transparent::LauncherVariable(s)) env[k++] = s;
    i += static_cast<ssize_t>(len) + 1;
  }
  env[k] = nullptr;
  environ = env;
}

void Trace(const char* what) {
  if (std::getenv("CAIRN_MPI_TRACE") == nullptr) return;
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "cairn mpi trace: rank %d: %s\n", g_rank, what);
  if (n > 0) (void)!::write(2, buf, static_cast<size_t>(n));
}

void AfterRestart() {
  Trace("restart hook");
  (void)RegisterGate();           // a new process: membarrier is registered anew
  cairn_preload_set_internal(0);  // allocate like a program thread (lower_api.h)
  const int n = cairn_lower_reset_libs();
  Trace(("libraries reset: " + std::to_string(n)).c_str());
  TakeLauncherEnvironment();
  Trace("environment taken");
  if (const char* pmi = std::getenv("PMI_FD"); pmi != nullptr) cairn_lower_mark_fd(std::atoi(pmi));
  const int saved_rank = g_rank, saved_size = g_size;
  int provided = 0, rc;
  {
    Lower l;
    const int level = g_required_level;  // as at the first MPI_Init (init.cc)
    rc = CAIRN_REAL(MPI_Init_thread)(nullptr, nullptr, level, &provided);
    if (rc == MPI_SUCCESS) {
      CAIRN_REAL(MPI_Comm_rank)(MPI_COMM_WORLD, &g_rank);
      CAIRN_REAL(MPI_Comm_size)(MPI_COMM_WORLD, &g_size);
    }
  }
  if (rc != MPI_SUCCESS || g_rank != saved_rank || g_size != saved_size) {
    std::fprintf(stderr,
                 "cairn restart: the new MPI library %s (rank %d of %d; the image is rank %d of "
                 "%d)\n",
                 rc != MPI_SUCCESS ? "did not initialize" : "gave another place", g_rank, g_size,
                 saved_rank, saved_size);
    ::syscall(SYS_exit_group, 1);
  }
  Trace("MPI initialized");
  char err[1024] = {};
  bool ok;
  {
    Lower l;
    CAIRN_REAL(MPI_Comm_dup)(MPI_COMM_WORLD, &g_ctl);
    ok = ReplayObjects(err, sizeof err) && ReplayInfos(err, sizeof err) &&
         ReplayFiles(err, sizeof err);
  }
  if (!ok) {
    std::fprintf(stderr, "cairn restart: rank %d: %s\n", g_rank, err);
    ::syscall(SYS_exit_group, 1);
  }
  g_participant = nullptr;  // the old connection belonged to the old process
  cairn_preload_set_internal(1);
  Resume(false);
  Log("MPI restarted (" + std::to_string(n) + " lower-half libraries reset)");
  Join();
}

}  // namespace

void BumpEpoch() {
  g_state.freeze_epoch.fetch_add(1);
  preload::FutexWakeAll(&g_state.freeze_epoch);
}

void OnCoordinator(int fd) {
  (void)fd;
  if (g_participant == nullptr) return;
  auto m = g_participant->Receive(0);
  if (!m.ok()) {
    log::Warn("mpi: rank ", g_rank, ": the coordinator is gone (", m.status().ToString(),
              "); no further checkpoints");
    cairn_preload_watch_fd(-1, nullptr);
    return;
  }
  if (m.value().type() == coord::kPrepare)
    Round(static_cast<uint64_t>(m.value().GetInt(coord::kFRound, 0)));
}

void OnInit(int world_rank, int world_size) {
  g_rank = world_rank;
  g_size = world_size;
  if (!RegisterGate()) {
    log::Info("mpi: rank ", g_rank, ": no private expedited membarrier; MPI calls fence");
  }
  InitCommKeys(world_size);
  if (const char* t = std::getenv("CAIRN_CKPT_TIMEOUT")) {
    const int s = std::atoi(t);
    if (s > 0) g_phase_timeout_ms = s * 1000;
  }
  {
    Lower l;
    CAIRN_REAL(MPI_Comm_dup)(MPI_COMM_WORLD, &g_ctl);
  }
  cairn_preload_set_restart_hook(&AfterRestart);
  Join();
}

void OnFinalize() {
  if (g_finalized) return;
  g_finalized = true;

  cairn_preload_watch_fd(-1, nullptr);
  // Leaving: the coordinator sees the connection close.
  if (g_participant != nullptr) g_participant->Close();
}

}  // namespace cairn::mpi
