#include "coord/coordinator.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "coord/manifest.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"
#include "transparent/naming.h"

namespace cairn::coord {
namespace {

// 60000 -> "60 s", 500 -> "0.5 s".
std::string Seconds(int ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", ms / 1000.0);
  return buf;
}

// "rank 2" / "ranks 1, 3".
std::string RankList(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  return out;
}

enum class Phase { kIdle, kJoin, kPrepare, kQuiet, kWrite };

// How long the quiet phase waits, with some ranks quiet but holding threads back at
// collectives beyond their targets, before it grants those too (RaiseStalled).
constexpr int64_t kStallMs = 200;

// The command a phase waits an answer to (for timeout messages).
const char* PhaseCommand(Phase p) {
  switch (p) {
    case Phase::kPrepare:
      return kPrepare;
    case Phase::kQuiet:
      return kTargets;
    case Phase::kWrite:
      return kDrain;
    default:
      return "?";
  }
}

struct Conn {
  int fd = -1;
  bool participant = false;
  int64_t hello_deadline = 0;  // a first message is due by then (new connections)
  int rank = -1;
  long long pid = 0;
  std::string host;
  std::string ip;  // the peer's address, as this side of the connection sees it
  std::string state = "idle";
};

// A GET waiting for its key to be set.
struct Waiter {
  int fd = -1;
  std::string key;
  int64_t deadline = 0;
};

}  // namespace

struct Coordinator::Impl {
  CoordinatorOptions opts;
  CoordinatorAddress addr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::mutex mu;
  std::condition_variable cv;

  // --- state of the loop thread only ---
  std::map<int, Conn> conns;   // by fd
  std::map<int, int> by_rank;  // rank -> fd
  bool ever_joined = false;
  int64_t started_ms = 0;  // when Run began: a job whose ranks never join is given up
  uint64_t next_round = 1;
  uint64_t last_round = 0;
  uint64_t last_version = 0;
  std::string last_result = "none";
  // The round (or the join wait before it).
  Phase phase = Phase::kIdle;
  uint64_t round = 0;
  int client_fd = -1;
  int64_t next_periodic = 0;  // opts.interval_ms > 0: when the next periodic round is due
  bool kill = false;
  int64_t deadline = 0;
  std::set<int> answered;
  Counters merged;        // the round's targets
  uint64_t gen = 0;       // how often WANTs raised them this round (TARGETS/QUIET `gen`)
  int64_t gen_since = 0;  // when TARGETS of this gen went out
  std::map<int, Counters> quiet_wants;  // by rank: what its waiting threads want (QUIET)
  std::vector<ManifestImage> images;
  // The key-value store (protocol.h) and the GETs waiting on it.
  std::map<std::string, std::string> kv;
  size_t kv_bytes = 0;
  std::vector<Waiter> waiters;

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake) {
      if (fd >= 0) ::close(fd);
    }
  }

  int IoTimeoutMs() const { return std::clamp(opts.phase_timeout_ms, 100, 10000); }

  void Run();
  void Cleanup();
  void Accept();
  void OnReadable(int fd);
  void OnFirstMessage(Conn& c, const ipc::Message& m);
  void OnParticipantMessage(Conn& c, const ipc::Message& m);
  void OnHello(Conn& c, const ipc::Message& m);
  void OnCheckpoint(int fd, const ipc::Message& m);
  void OnStatus(int fd);
  void OnPut(int fd, const ipc::Message& m);
  void OnGet(int fd, const ipc::Message& m);
  void CheckDeadlines();
  void MaybeStartRound();
  void StartRound();
  void Commit();
  void Abort(const std::string& reason, Code code);
  void Broadcast(const ipc::Message& m);
  void BroadcastTargets();
  void OnWant(Conn& c, const ipc::Message& m);
  bool RaiseTargets(const Counters& wants, const std::string& who);
  void RaiseStalled(int64_t now);
  void SendToClient(const ipc::Message& m);
  void CloseConn(int fd);
  void LoseParticipant(int fd, const std::string& why);
  void EnterPhase(Phase p, const char* state);
  bool InRound() const {
    return phase == Phase::kPrepare || phase == Phase::kQuiet || phase == Phase::kWrite;
  }
  int Joined() const { return static_cast<int>(by_rank.size()); }
};

// Answers a connection that is not (yet) a participant and closes it.
static void ReplyAndClose(int fd, const ipc::Message& m) {
  (void)ipc::SendMessage(fd, m);
  ::close(fd);
}

static ipc::Message Refused(const std::string& message, const char* reason) {
  ipc::Message m(kRefused);
  m.Add(kFMessage, message).Add(kFReason, reason);
  return m;
}

static ipc::Message Done(Code code, const std::string& message) {
  ipc::Message m(kDone);
  m.Add(kFCode, static_cast<long long>(code)).Add(kFMessage, message);
  return m;
}

void Coordinator::Impl::Run() {
  if (opts.on_thread_start) opts.on_thread_start();
  started_ms = NowMs();
  log::Info("coordinator for job '", opts.job_key, "' listening on ", addr.host, ":", addr.port,
            " for ", opts.participants, " participant(s)");
  while (!stop.load()) {
    std::vector<pollfd> pfds;
    pfds.push_back({wake[0], POLLIN, 0});
    pfds.push_back({listen_fd, POLLIN, 0});
    for (const auto& [fd, c] : conns) pfds.push_back({fd, POLLIN, 0});
    // Sleep until the nearest deadline (at most 1 s).
    const int64_t now = NowMs();
    int64_t next = now + 1000;
    if (phase != Phase::kIdle) next = std::min(next, deadline);
    if (phase == Phase::kQuiet && !quiet_wants.empty()) {
      next = std::min(next, gen_since + kStallMs);
    }
    // Periodic rounds (no client waits for them; their result is logged and in STATUS).
    if (opts.interval_ms > 0 && phase == Phase::kIdle && Joined() == opts.participants) {
      if (next_periodic == 0) next_periodic = now + opts.interval_ms;
      if (now >= next_periodic) {
        next_periodic = now + opts.interval_ms;
        kill = false;
        phase = Phase::kJoin;
        deadline = now + opts.join_timeout_ms;
        log::Info("coordinator: periodic checkpoint (every ", opts.interval_ms / 1000, " s)");
        MaybeStartRound();
        continue;
      }
      next = std::min(next, next_periodic);
    }
    for (const auto& [fd, c] : conns) {
      if (!c.participant) next = std::min(next, c.hello_deadline);
    }
    for (const Waiter& w : waiters) next = std::min(next, w.deadline);
    const int timeout = static_cast<int>(std::max<int64_t>(0, next - now));
    int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log::Error("coordinator: poll failed: ", std::strerror(errno));
      break;
    }
    if (n > 0) {
      if (pfds[0].revents != 0) {
        char buf[64];
        while (::read(wake[0], buf, sizeof(buf)) > 0) {
        }
      }
      if (pfds[1].revents != 0) Accept();
      for (size_t i = 2; i < pfds.size(); ++i) {
        if (pfds[i].revents != 0 && conns.count(pfds[i].fd) != 0) OnReadable(pfds[i].fd);
      }
    }
    CheckDeadlines();
    if (opts.watch_pid > 0 && by_rank.empty() && ::kill(opts.watch_pid, 0) != 0 && errno == ESRCH) {
      log::Info("coordinator for job '", opts.job_key, "': rank 0 (pid ", opts.watch_pid,
                ") is gone and no participant is connected: the job is over");
      break;
    }
    if (!ever_joined && phase == Phase::kIdle && NowMs() - started_ms > opts.join_timeout_ms) {
      log::Warn("coordinator for job '", opts.job_key, "': no participant joined within ",
                opts.join_timeout_ms / 1000, " s (the job did not start); giving up");
      break;
    }
    if (ever_joined && by_rank.empty()) {
      log::Info("coordinator for job '", opts.job_key, "': every participant has left");
      break;
    }
  }
  Cleanup();
  {
    std::lock_guard<std::mutex> lk(mu);
    finished.store(true);
  }
  cv.notify_all();
}

void Coordinator::Impl::Cleanup() {
  if (InRound()) {
    Abort(stop.load() ? "the coordinator is stopping" : "the job ended", Code::kUnavailable);
  } else if (phase == Phase::kJoin) {
    SendToClient(Done(Code::kUnavailable, stop.load() ? "the coordinator is stopping"
                                                      : "the job ended before the checkpoint"));
    phase = Phase::kIdle;
  }
  for (const auto& [fd, c] : conns) ::close(fd);
  conns.clear();
  for (const Waiter& w : waiters) ::close(w.fd);
  waiters.clear();
  by_rank.clear();
  if (client_fd >= 0) {
    ::close(client_fd);
    client_fd = -1;
  }
  if (listen_fd >= 0) {
    ::close(listen_fd);
    listen_fd = -1;
  }
  Status st = RemoveAddressFileIfOurs(opts.dir, addr.token, opts.env);
  if (!st.ok()) log::Warn("coordinator: cannot remove the address file: ", st.ToString());
}

void Coordinator::Impl::Accept() {
  auto fd = ipc::TcpAccept(listen_fd);
  if (!fd.ok()) {
    if (fd.status().code() != Code::kUnavailable) {
      log::Warn("coordinator: ", fd.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. EMFILE: no spin
    }
    return;
  }
  (void)ipc::SetIoTimeout(fd.value(), IoTimeoutMs());
  Conn c;
  c.fd = fd.value();
  c.ip = ipc::PeerAddress(c.fd);
  c.hello_deadline = NowMs() + opts.phase_timeout_ms;
  conns[c.fd] = c;
}

void Coordinator::Impl::OnReadable(int fd) {
  Conn& c = conns[fd];
  auto in = ipc::RecvMessage(fd);
  if (!in.ok()) {
    if (c.participant) {
      LoseParticipant(fd, in.status().message());
    } else {
      CloseConn(fd);
    }
    return;
  }
  if (in.value().fd >= 0) ::close(in.value().fd);  // nobody passes descriptors over TCP
  if (c.participant) {
    OnParticipantMessage(c, in.value().msg);
  } else {
    OnFirstMessage(c, in.value().msg);
  }
}

void Coordinator::Impl::OnFirstMessage(Conn& c, const ipc::Message& m) {
  const int fd = c.fd;
  const bool known = m.type() == kHello || m.type() == kCheckpoint || m.type() == kStatus ||
                     m.type() == kPut || m.type() == kGet;
  if (!known) {
    log::Warn("coordinator: unexpected first message '", m.type(), "'; closing");
    conns.erase(fd);
    ReplyAndClose(fd, Refused("unexpected message " + m.type(), kRefusedToken));
    return;
  }
  if (m.GetOr(kFToken, "") != addr.token) {
    conns.erase(fd);
    ReplyAndClose(fd, Refused("this coordinator belongs to another job", kRefusedToken));
    return;
  }
  if (m.type() == kHello) {
    OnHello(c, m);
    return;
  }
  conns.erase(fd);  // a client: answered (now or at the end of the round), then closed
  if (m.type() == kStatus) {
    OnStatus(fd);
  } else if (m.type() == kPut) {
    OnPut(fd, m);
  } else if (m.type() == kGet) {
    OnGet(fd, m);
  } else {
    OnCheckpoint(fd, m);
  }
}

void Coordinator::Impl::OnHello(Conn& c, const ipc::Message& m) {
  const int fd = c.fd;
  const long long rank = m.GetInt(kFRank, -1);
  if (rank < 0 || rank >= opts.participants) {
    conns.erase(fd);
    ReplyAndClose(fd, Refused("rank " + m.GetOr(kFRank, "?") + " is outside 0.." +
                                  std::to_string(opts.participants - 1),
                              kRefusedRank));
    return;
  }
  if (by_rank.count(static_cast<int>(rank)) != 0) {
    const Conn& other = conns[by_rank[static_cast<int>(rank)]];
    conns.erase(fd);
    ReplyAndClose(fd, Refused("rank " + std::to_string(rank) + " is already connected (pid " +
                                  std::to_string(other.pid) + " on " + other.host + ")",
                              kRefusedDuplicate));
    return;
  }
  c.participant = true;
  c.rank = static_cast<int>(rank);
  c.pid = m.GetInt(kFPid, 0);
  c.host = m.GetOr(kFHost, "?");
  c.state = "idle";
  ipc::Message w(kWelcome);
  w.Add(kFParticipants, opts.participants);
  if (!ipc::SendMessage(fd, w).ok()) {
    CloseConn(fd);
    return;
  }
  by_rank[c.rank] = fd;
  ever_joined = true;
  log::Info("coordinator: rank ", c.rank, " (pid ", c.pid, " on ", c.host, ") joined; ", Joined(),
            " of ", opts.participants);
  MaybeStartRound();
}

void Coordinator::Impl::OnCheckpoint(int fd, const ipc::Message& m) {
  if (phase != Phase::kIdle) {
    ReplyAndClose(fd, Done(Code::kFailedPrecondition, "a checkpoint is already in progress"));
    return;
  }
  ipc::Message acc(kAccepted);
  const long long bound =
      (Joined() < opts.participants ? opts.join_timeout_ms : 0) + 4LL * opts.phase_timeout_ms;
  acc.Add(kFTimeoutMs, bound);
  if (!ipc::SendMessage(fd, acc).ok()) {
    ::close(fd);
    return;
  }
  client_fd = fd;
  kill = m.GetInt(kFKill, 0) != 0;
  phase = Phase::kJoin;
  deadline = NowMs() + opts.join_timeout_ms;
  if (Joined() < opts.participants) {
    log::Info("coordinator: checkpoint requested; waiting for ", opts.participants - Joined(),
              " participant(s) to join");
  }
  MaybeStartRound();
}

void Coordinator::Impl::OnPut(int fd, const ipc::Message& m) {
  const std::string key = m.GetOr(kFKey, "");
  const std::string value = m.GetOr(kFValue, "");
  if (key.empty() || key.size() > kMaxKeyBytes) {
    ReplyAndClose(fd,
                  Done(Code::kInvalidArgument,
                       "PUT: a key of 1.." + std::to_string(kMaxKeyBytes) + " bytes is required"));
    return;
  }
  auto old = kv.find(key);
  const size_t freed = old == kv.end() ? 0 : old->first.size() + old->second.size();
  if (kv_bytes - freed + key.size() + value.size() > kMaxStoreBytes) {
    ReplyAndClose(fd,
                  Done(Code::kNoSpace, "PUT '" + key + "': the job's key-value store is full (" +
                                           std::to_string(kMaxStoreBytes >> 20) + " MiB)"));
    return;
  }
  kv_bytes = kv_bytes - freed + key.size() + value.size();
  kv[key] = value;
  ReplyAndClose(fd, Done(Code::kOk, "stored"));
  ipc::Message v(kValue);
  v.Add(kFKey, key).Add(kFValue, value);
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (it->key != key) {
      ++it;
      continue;
    }
    ReplyAndClose(it->fd, v);
    it = waiters.erase(it);
  }
}

void Coordinator::Impl::OnGet(int fd, const ipc::Message& m) {
  const std::string key = m.GetOr(kFKey, "");
  auto it = kv.find(key);
  if (it != kv.end()) {
    ipc::Message v(kValue);
    v.Add(kFKey, key).Add(kFValue, it->second);
    ReplyAndClose(fd, v);
    return;
  }
  const long long wait = std::clamp<long long>(m.GetInt(kFWaitMs, 0), 0, kMaxWaitMs);
  if (wait == 0) {
    ReplyAndClose(fd, Done(Code::kNotFound, "no value for '" + key + "'"));
    return;
  }
  waiters.push_back({fd, key, NowMs() + wait});
}

void Coordinator::Impl::OnStatus(int fd) {
  ipc::Message r(kStatus);
  r.Add(kFParticipants, opts.participants)
      .Add(kFJoined, Joined())
      .Add(kFRound, static_cast<long long>(last_round))
      .Add(kFLastResult, last_result)
      .Add(kFLastVersion, static_cast<long long>(last_version));
  for (const auto& [rank, cfd] : by_rank) {
    const Conn& c = conns[cfd];
    r.Add(kFRank,
          std::to_string(rank) + ":" + std::to_string(c.pid) + ":" + c.host + ":" + c.state);
  }
  ReplyAndClose(fd, r);
}

void Coordinator::Impl::MaybeStartRound() {
  if (phase == Phase::kJoin && Joined() == opts.participants) StartRound();
}

void Coordinator::Impl::EnterPhase(Phase p, const char* state) {
  phase = p;
  answered.clear();
  deadline = NowMs() + opts.phase_timeout_ms;
  for (auto& [rank, fd] : by_rank) conns[fd].state = state;
}

void Coordinator::Impl::StartRound() {
  // Versions continue after every manifest already in DIR (also one of another coordinator).
  auto versions = ListManifests(opts.dir, opts.env);
  if (versions.ok() && !versions.value().empty()) {
    next_round = std::max(next_round, versions.value().back() + 1);
  }
  round = next_round++;
  last_round = round;
  merged.clear();
  gen = 0;
  images.clear();
  log::Info("coordinator: round ", round, " starts");
  EnterPhase(Phase::kPrepare, "preparing");
  ipc::Message m(kPrepare);
  std::set<std::string> ips;
  for (const auto& [rank, fd] : by_rank) {
    if (!conns[fd].ip.empty()) ips.insert(conns[fd].ip);
  }
  std::string hosts;
  for (const std::string& ip : ips) hosts += (hosts.empty() ? "" : ",") + ip;
  m.Add(kFRound, static_cast<long long>(round)).Add(kFHosts, hosts);
  Broadcast(m);
}

void Coordinator::Impl::OnParticipantMessage(Conn& c, const ipc::Message& m) {
  const std::string& t = m.type();
  const long long r = m.GetInt(kFRound, -1);
  if (!InRound() || r != static_cast<long long>(round)) {
    log::Debug("coordinator: ignoring ", t, " (round ", r, ") from rank ", c.rank);
    return;
  }
  const std::string who = "rank " + std::to_string(c.rank);
  if (t == kFailed) {
    Abort(who + " failed: " + m.GetOr(kFMessage, "no reason given"), [&] {
      long long code = m.GetInt(kFCode, static_cast<long long>(Code::kInternal));
      if (code <= 0 || code > static_cast<long long>(Code::kInternal)) {
        code = static_cast<long long>(Code::kInternal);
      }
      return static_cast<Code>(code);
    }());
    return;
  }
  if (t == kWant) {
    OnWant(c, m);
    return;
  }
  const char* expected = phase == Phase::kPrepare ? kPrepared
                         : phase == Phase::kQuiet ? kQuiet
                                                  : kWritten;
  if (t != expected) {
    if (answered.count(c.rank) != 0 && (t == kPrepared || t == kQuiet || t == kWritten)) {
      log::Debug("coordinator: ignoring a repeated ", t, " from ", who);
      return;
    }
    Abort(who + " sent " + t + " while " + expected + " was expected", Code::kInternal);
    return;
  }
  if (answered.count(c.rank) != 0) return;  // a repeated answer
  if (t == kPrepared) {
    auto state = ParseCounters(m.GetOr(kFState, ""));
    if (!state.ok()) {
      Abort(who + " sent a bad state: " + state.status().message(), Code::kInternal);
      return;
    }
    MergeCountersMax(merged, state.value());
    c.state = "prepared";
  } else if (t == kQuiet) {
    if (m.GetInt(kFGen, -1) != static_cast<long long>(gen)) {
      log::Debug("coordinator: ignoring a QUIET of targets gen ", m.GetOr(kFGen, "?"), " from ",
                 who, " (gen ", gen, " is newest)");
      return;
    }
    auto wants = ParseCounters(m.GetOr(kFWants, ""));
    if (!wants.ok()) {
      Abort(who + " sent bad wants: " + wants.status().message(), Code::kInternal);
      return;
    }
    if (!wants.value().empty()) quiet_wants[c.rank] = wants.value();
    c.state = "quiet";
  } else {
    ManifestImage im;
    im.rank = c.rank;
    im.path = m.GetOr(kFPath, "");
    im.hash = m.GetOr(kFHash, "");
    const long long bytes = m.GetInt(kFBytes, -1);
    if (im.path.empty() || im.path[0] != '/' || im.path.find('\n') != std::string::npos ||
        im.hash.empty() || im.hash.find_first_of(" \t\r\n") != std::string::npos || bytes < 0) {
      Abort(who + " sent a bad WRITTEN (path '" + im.path + "', bytes " + m.GetOr(kFBytes, "?") +
                ", hash '" + im.hash + "')",
            Code::kInternal);
      return;
    }
    im.bytes = static_cast<uint64_t>(bytes);
    images.push_back(std::move(im));
    c.state = "written";
  }
  answered.insert(c.rank);
  if (answered.size() < by_rank.size()) return;
  // Everyone answered this phase: next one.
  if (phase == Phase::kPrepare) {
    EnterPhase(Phase::kQuiet, "prepared");
    BroadcastTargets();
  } else if (phase == Phase::kQuiet) {
    EnterPhase(Phase::kWrite, "quiet");
    ipc::Message dm(kDrain);
    dm.Add(kFRound, static_cast<long long>(round));
    Broadcast(dm);
  } else {
    Commit();
  }
}

void Coordinator::Impl::BroadcastTargets() {
  gen_since = NowMs();
  quiet_wants.clear();
  ipc::Message tm(kTargets);
  tm.Add(kFRound, static_cast<long long>(round))
      .Add(kFGen, static_cast<long long>(gen))
      .Add(kFTargets, FormatCounters(merged));
  Broadcast(tm);
}

// A rank cannot reach the targets without starting a collective beyond one of them: raise
// those targets and start the quiet phase's answers anew (the phase keeps its deadline, so a
// run-forward that never settles still ends in bounded time).
void Coordinator::Impl::OnWant(Conn& c, const ipc::Message& m) {
  const std::string who = "rank " + std::to_string(c.rank);
  if (phase != Phase::kQuiet) {
    log::Debug("coordinator: ignoring a WANT from ", who, " outside the quiet phase");
    return;
  }
  auto wants = ParseCounters(m.GetOr(kFWants, ""));
  if (!wants.ok()) {
    Abort(who + " sent bad wants: " + wants.status().message(), Code::kInternal);
    return;
  }
  RaiseTargets(wants.value(), who);
}

// Raises the targets to `wants` (max); if any grew, a new gen: QUIETs so far no longer count
// and every rank gets TARGETS again. False when nothing grew.
bool Coordinator::Impl::RaiseTargets(const Counters& wants, const std::string& who) {
  std::string raised;
  for (const auto& [key, v] : wants) {
    auto it = merged.find(key);
    if (it != merged.end() && it->second >= v) continue;
    merged[key] = v;
    raised += (raised.empty() ? "" : ",") + key + "=" + std::to_string(v);
  }
  if (raised.empty()) return false;  // another rank's WANT raised them already
  ++gen;
  answered.clear();
  for (auto& [rank, fd] : by_rank) conns[fd].state = "prepared";
  log::Info("coordinator: round ", round, ": ", who, " needs ", raised,
            " first; targets raised (gen ", gen, ")");
  BroadcastTargets();
  return true;
}

// Some ranks are quiet with threads waiting beyond their targets while others have not got
// quiet for kStallMs: the others may wait for them (a message the quiet ones send only after
// their next collective), so the quiet ranks' wants are granted too.
void Coordinator::Impl::RaiseStalled(int64_t now) {
  if (phase != Phase::kQuiet || quiet_wants.empty() || now < gen_since + kStallMs) return;
  if (answered.size() >= by_rank.size()) return;
  Counters all;
  std::string who = "quiet ranks";
  for (const auto& [rank, w] : quiet_wants) {
    MergeCountersMax(all, w);
    who += " " + std::to_string(rank);
  }
  if (!RaiseTargets(all, who + " (others not quiet for " + std::to_string(kStallMs) + " ms)")) {
    quiet_wants.clear();
  }
}

void Coordinator::Impl::Commit() {
  Manifest man;
  man.version = round;
  man.kind = opts.kind;
  man.participants = opts.participants;
  man.images = images;
  auto path = WriteManifest(opts.dir, man, opts.env);
  if (!path.ok()) {
    Abort("cannot write the job manifest: " + path.status().message(), path.status().code());
    return;
  }
  uint64_t bytes = 0;
  for (const ManifestImage& im : images) bytes += im.bytes;
  ipc::Message cm(kCommitted);
  cm.Add(kFRound, static_cast<long long>(round))
      .Add(kFVersion, static_cast<long long>(round))
      .Add(kFManifest, path.value())
      .Add(kFKill, kill ? 1LL : 0LL);
  phase = Phase::kIdle;
  for (auto& [rank, fd] : by_rank) conns[fd].state = "idle";
  Broadcast(cm);
  last_version = round;
  last_result = "committed version " + std::to_string(round);
  log::Info("coordinator: round ", round, " committed: ", path.value());
  Status st = Prune(opts.dir, opts.keep, opts.env);
  if (!st.ok()) log::Warn("coordinator: pruning old manifests: ", st.ToString());
  if (opts.on_commit) opts.on_commit(path.value());
  ipc::Message done = Done(Code::kOk, "OK");
  done.Add(kFManifest, path.value())
      .Add(kFVersion, static_cast<long long>(round))
      .Add(kFParticipants, opts.participants)
      .Add(kFBytes, static_cast<long long>(bytes));
  SendToClient(done);
}

void Coordinator::Impl::Abort(const std::string& reason, Code code) {
  const uint64_t r = round;
  log::Warn("coordinator: round ", r, " aborted: ", reason);
  phase = Phase::kIdle;
  answered.clear();
  for (auto& [rank, fd] : by_rank) conns[fd].state = "idle";
  ipc::Message am(kAbort);
  am.Add(kFRound, static_cast<long long>(r)).Add(kFReason, reason);
  Broadcast(am);
  last_result = "round " + std::to_string(r) + " aborted: " + reason;
  SendToClient(Done(code, "checkpoint round " + std::to_string(r) + " aborted: " + reason));
}

void Coordinator::Impl::Broadcast(const ipc::Message& m) {
  std::vector<std::pair<int, std::string>> failed;
  for (const auto& [rank, fd] : by_rank) {
    Status st = ipc::SendMessage(fd, m);
    if (!st.ok()) failed.emplace_back(fd, st.message());
  }
  // Handled after the loop: losing a participant may abort the round (another broadcast).
  for (const auto& [fd, why] : failed) {
    if (conns.count(fd) != 0) LoseParticipant(fd, why);
  }
}

void Coordinator::Impl::SendToClient(const ipc::Message& m) {
  if (client_fd < 0) return;
  Status st = ipc::SendMessage(client_fd, m);
  if (!st.ok()) log::Info("coordinator: the client is gone: ", st.message());
  ::close(client_fd);
  client_fd = -1;
}

void Coordinator::Impl::CloseConn(int fd) {
  auto it = conns.find(fd);
  if (it == conns.end()) return;
  if (it->second.participant) by_rank.erase(it->second.rank);
  conns.erase(it);
  ::close(fd);
}

void Coordinator::Impl::LoseParticipant(int fd, const std::string& why) {
  auto it = conns.find(fd);
  if (it == conns.end()) return;
  const int rank = it->second.rank;
  const bool was_in_round = InRound() && by_rank.count(rank) != 0;
  CloseConn(fd);
  log::Info("coordinator: rank ", rank, " left (", why, "); ", Joined(), " of ", opts.participants,
            " remain");
  if (was_in_round)
    Abort("rank " + std::to_string(rank) + " left the job during the checkpoint",
          Code::kUnavailable);
}

void Coordinator::Impl::CheckDeadlines() {
  const int64_t now = NowMs();
  RaiseStalled(now);
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (now < it->deadline) {
      ++it;
      continue;
    }
    ReplyAndClose(it->fd, Done(Code::kNotFound, "no value for '" + it->key + "' in time"));
    it = waiters.erase(it);
  }
  std::vector<int> late;
  for (const auto& [fd, c] : conns) {
    if (!c.participant && now >= c.hello_deadline) late.push_back(fd);
  }
  for (int fd : late) {
    log::Info("coordinator: closing a connection that sent nothing within ",
              Seconds(opts.phase_timeout_ms));
    CloseConn(fd);
  }
  if (phase == Phase::kIdle || now < deadline) return;
  if (phase == Phase::kJoin) {
    const std::string msg = "only " + std::to_string(Joined()) + " of " +
                            std::to_string(opts.participants) + " participants joined within " +
                            Seconds(opts.join_timeout_ms);
    log::Warn("coordinator: checkpoint not started: ", msg);
    last_result = msg;
    phase = Phase::kIdle;
    SendToClient(Done(Code::kUnavailable, msg));
    return;
  }
  std::vector<int> missing;
  for (const auto& [rank, fd] : by_rank) {
    if (answered.count(rank) == 0) missing.push_back(rank);
  }
  Abort(RankList(missing) + " did not answer " + PhaseCommand(phase) + " within " +
            Seconds(opts.phase_timeout_ms),
        Code::kUnavailable);
}

// --- Coordinator ----------------------------------------------------------------------

Coordinator::Coordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Coordinator::~Coordinator() { Stop(); }

Result<std::unique_ptr<Coordinator>> Coordinator::Start(CoordinatorOptions opts) {
  if (opts.dir.empty()) return Status::InvalidArgument("coordinator: no checkpoint directory");
  if (opts.participants < 1 || opts.participants > 1000000) {
    return Status::InvalidArgument("coordinator: participants must be 1..1000000, got " +
                                   std::to_string(opts.participants));
  }
  if (opts.job_key.empty() || opts.job_key.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("coordinator: the job key is empty or has a newline");
  }
  if (opts.phase_timeout_ms < 1 || opts.join_timeout_ms < 0) {
    return Status::InvalidArgument("coordinator: timeouts must be positive");
  }
  if (opts.env == nullptr) opts.env = Env::Default();
  if (opts.dir[0] != '/') {  // manifests and DONE name absolute paths
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) opts.dir = JoinPath(cwd, opts.dir);
  }
  CAIRN_RETURN_IF_ERROR(opts.env->CreateDirs(transparent::naming::ControlDir(opts.dir)));
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(opts);
  const CoordinatorOptions& o = impl->opts;
  auto versions = ListManifests(o.dir, o.env);
  if (!versions.ok()) return versions.status();
  if (!versions.value().empty()) impl->next_round = versions.value().back() + 1;
  impl->next_round = std::max<uint64_t>(impl->next_round, o.first_version);

  auto lfd = ipc::TcpListen(o.bind_host, o.port);
  if (!lfd.ok()) return lfd.status();
  impl->listen_fd = lfd.value();
  auto port = ipc::LocalPort(impl->listen_fd);
  if (!port.ok()) return port.status();
  if (::pipe2(impl->wake, O_CLOEXEC | O_NONBLOCK) != 0) return Status::FromErrno("pipe", errno);

  impl->addr.host = !o.advertise_host.empty()           ? o.advertise_host
                    : !ipc::IsWildcardHost(o.bind_host) ? o.bind_host
                                                        : ipc::DefaultAdvertiseHost();
  impl->addr.port = port.value();
  impl->addr.token = NewToken();
  impl->addr.job_key = o.job_key;
  impl->addr.pid = ::getpid();
  CAIRN_RETURN_IF_ERROR(WriteAddressFile(o.dir, impl->addr, o.env));
  Impl* p = impl.get();
  p->thread = std::thread([p] { p->Run(); });
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(impl)));
}

void Coordinator::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stop.store(true);
  char b = 1;
  (void)!::write(impl_->wake[1], &b, 1);
  impl_->thread.join();
}

bool Coordinator::Finished() const { return impl_->finished.load(); }

bool Coordinator::WaitFinished(int timeout_ms) {
  std::unique_lock<std::mutex> lk(impl_->mu);
  if (timeout_ms < 0) {
    impl_->cv.wait(lk, [&] { return impl_->finished.load(); });
  } else {
    impl_->cv.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                       [&] { return impl_->finished.load(); });
  }
  return impl_->finished.load();
}

const CoordinatorAddress& Coordinator::address() const { return impl_->addr; }

}  // namespace cairn::coord
