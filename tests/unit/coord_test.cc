// Tests of the job coordinator (coord/coordinator.h), its participant client
// (coord/participant.h), the address file and the counters of the protocol: real loopback
// TCP, participants simulated by threads, real files in a temporary directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "coord/address_file.h"
#include "coord/coordinator.h"
#include "coord/job_store.h"
#include "coord/manifest.h"
#include "coord/participant.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"
#include "test_util.h"

namespace cairn::coord {
namespace {

using cairn::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kJob[] = "job-42";

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A rank simulated by a thread: joins, answers every phase (writing a real image file), and
// misbehaves in the round it is told to.
class SimRank {
 public:
  SimRank(std::string dir, int rank, std::string state)
      : dir_(std::move(dir)), rank_(rank), state_(std::move(state)) {}
  ~SimRank() { Stop(); }

  int close_at_round = 0;    // closes its socket when PREPARE of this round arrives
  int silent_at_round = 0;   // never answers PREPARE of this round
  int fail_at_round = 0;     // answers FAILED to PREPARE of this round
  std::string want;          // answers TARGETS gen 0 with WANT {want} instead of QUIET
  bool stale_quiet = false;  // sends a QUIET of the previous gen before each QUIET of gen > 0
  std::string quiet_wants;   // carried by its QUIET of gen 0
  int quiet_from_gen = 0;    // answers no TARGETS of a lower gen (a rank that is not quiet)

  void Start() {
    th_ = std::thread([this] { Run(); });
  }
  // Waits until Join returned; true if it succeeded.
  bool WaitJoined(int timeout_ms = 3000) {
    const auto t0 = Clock::now();
    while (!joined_.load() && !done_.load() && MsSince(t0) < timeout_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return joined_.load();
  }
  void Stop() {
    stop_.store(true);
    if (th_.joinable()) th_.join();
  }
  // Waits until a logged line starts with `prefix`; returns it ("" on timeout).
  std::string WaitFor(const std::string& prefix, int timeout_ms = 3000) {
    const auto t0 = Clock::now();
    for (;;) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        for (const auto& l : log_) {
          if (l.rfind(prefix, 0) == 0) return l;
        }
      }
      if (MsSince(t0) > timeout_ms) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lk(mu_);
    return log_;
  }
  // The logged lines that start with `prefix`, in order.
  std::vector<std::string> Lines(const std::string& prefix) {
    std::vector<std::string> out;
    for (const std::string& l : Log()) {
      if (l.rfind(prefix, 0) == 0) out.push_back(l);
    }
    return out;
  }

 private:
  void Note(const std::string& s) {
    std::lock_guard<std::mutex> lk(mu_);
    log_.push_back(s);
  }
  void Run() {
    auto p = Participant::Join(dir_, kJob, rank_, 3000);
    if (!p.ok()) {
      Note("JOIN-FAILED " + p.status().message());
      done_.store(true);
      return;
    }
    joined_.store(true);
    while (!stop_.load()) {
      auto m = p.value()->Receive(20);
      if (!m.ok()) {
        Note("CLOSED " + m.status().message());
        break;
      }
      const std::string t = m.value().type();
      if (t.empty()) continue;
      const uint64_t round = static_cast<uint64_t>(m.value().GetInt(kFRound, 0));
      if (t == kPrepare) {
        Note("PREPARE " + std::to_string(round));
        if (static_cast<int>(round) == close_at_round) {
          p.value()->Close();
          Note("CLOSED-BY-TEST");
          break;
        }
        if (static_cast<int>(round) == silent_at_round) continue;
        if (static_cast<int>(round) == fail_at_round) {
          EXPECT_TRUE(p.value()->SendFailed(round, "disk on fire", Code::kIOError).ok());
          continue;
        }
        auto c = ParseCounters(state_);
        EXPECT_TRUE(c.ok());
        EXPECT_TRUE(p.value()->SendPrepared(round, c.value()).ok());
      } else if (t == kTargets) {
        const long long gen = m.value().GetInt(kFGen, -1);
        Note("TARGETS " + std::to_string(gen) + " " + m.value().GetOr(kFTargets, "?"));
        if (gen == 0 && !want.empty()) {  // sent as it is, parsable or not
          ipc::Message wm(kWant);
          wm.Add(kFRound, static_cast<long long>(round)).Add(kFGen, 0LL).Add(kFWants, want);
          EXPECT_TRUE(p.value()->Send(wm).ok());
          continue;
        }
        if (gen < quiet_from_gen) continue;
        if (gen == 0 && !quiet_wants.empty()) {
          auto w = ParseCounters(quiet_wants);
          EXPECT_TRUE(w.ok());
          EXPECT_TRUE(p.value()->SendQuiet(round, 0, w.value()).ok());
          continue;
        }
        if (gen > 0 && stale_quiet) {
          EXPECT_TRUE(p.value()->SendQuiet(round, static_cast<uint64_t>(gen - 1)).ok());
        }
        EXPECT_TRUE(p.value()->SendQuiet(round, static_cast<uint64_t>(gen)).ok());
      } else if (t == kDrain) {
        const std::string path =
            dir_ + "/r" + std::to_string(rank_) + ".v" + std::to_string(round) + ".cimg";
        const std::string body(100 + rank_, static_cast<char>('a' + rank_));
        EXPECT_TRUE(cairn::testing::WriteText(path, body));
        EXPECT_TRUE(
            p.value()
                ->SendWritten(round, path, body.size(), Hex(Hash64(body.data(), body.size())))
                .ok());
      } else if (t == kCommitted) {
        Note("COMMITTED " + m.value().GetOr(kFVersion, "?") + " " +
             m.value().GetOr(kFManifest, "?") + " kill=" + m.value().GetOr(kFKill, "?"));
      } else if (t == kAbort) {
        Note("ABORT " + m.value().GetOr(kFReason, "?"));
      } else {
        Note("OTHER " + t);
      }
    }
    done_.store(true);
  }

  std::string dir_;
  int rank_;
  std::string state_;
  std::thread th_;
  std::atomic<bool> stop_{false}, joined_{false}, done_{false};
  std::mutex mu_;
  std::vector<std::string> log_;
};

CoordinatorOptions Options(const std::string& dir, int n, int phase_ms = 2000) {
  CoordinatorOptions o;
  o.dir = dir;
  o.participants = n;
  o.job_key = kJob;
  o.bind_host = "127.0.0.1";
  o.advertise_host = "127.0.0.1";
  o.phase_timeout_ms = phase_ms;
  o.join_timeout_ms = 2000;
  return o;
}

// Sends `m` (with the coordinator's token unless it has one) as a client and returns the
// final answer (ACCEPTED is skipped).
Result<ipc::Message> Ask(const std::string& dir, ipc::Message m, int timeout_ms = 5000) {
  auto a = ReadAddressFile(dir);
  if (!a.ok()) return a.status();
  if (!m.Get(kFToken)) m.Add(kFToken, a.value().token);
  auto fd = ipc::TcpConnect(a.value().host, a.value().port, 1000);
  if (!fd.ok()) return fd.status();
  Status st = ipc::SendMessage(fd.value(), m);
  Result<ipc::Message> out = st;
  for (int i = 0; st.ok() && i < 2; ++i) {
    auto ready = ipc::WaitReadable(fd.value(), timeout_ms);
    if (!ready.ok() || !ready.value()) {
      out = Status::Unavailable("no answer");
      break;
    }
    auto in = ipc::RecvMessage(fd.value());
    if (!in.ok()) {
      out = in.status();
      break;
    }
    out = in.value().msg;
    if (in.value().msg.type() != kAccepted) break;
    EXPECT_GT(in.value().msg.GetInt(kFTimeoutMs, 0), 0);
  }
  ::close(fd.value());
  return out;
}

Result<ipc::Message> Checkpoint(const std::string& dir, bool kill = false) {
  ipc::Message m(kCheckpoint);
  m.Add(kFKill, kill ? 1LL : 0LL);
  return Ask(dir, m);
}

TEST(CoordCounters, ParseFormatMerge) {
  auto a = ParseCounters("c0=17,c3=4");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value().at("c0"), 17u);
  EXPECT_EQ(FormatCounters(a.value()), "c0=17,c3=4");
  auto b = ParseCounters("c3=9,c5=0");
  ASSERT_TRUE(b.ok());
  MergeCountersMax(a.value(), b.value());
  EXPECT_EQ(FormatCounters(a.value()), "c0=17,c3=9,c5=0");
  EXPECT_TRUE(ParseCounters("").ok());
  EXPECT_TRUE(ParseCounters("").value().empty());
  EXPECT_EQ(ParseCounters("18446744073709551615=1,x=18446744073709551615").ok(), true);
  for (const char* bad :
       {"c0", "c0=", "=3", "c0=-1", "c0=1,", "c0=1,c0=2", "c0=x", "c0=18446744073709551616"}) {
    EXPECT_FALSE(ParseCounters(bad).ok()) << bad;
  }
}

TEST(CoordAddressFile, RoundTripAndErrors) {
  TempDir dir;
  EXPECT_EQ(ReadAddressFile(dir.path()).status().code(), Code::kNotFound);
  CoordinatorAddress a{"10.1.2.3", 41234, NewToken(), "slurm 1234.0", 777};
  ASSERT_EQ(a.token.size(), 32u);
  EXPECT_NE(a.token, NewToken());
  ASSERT_TRUE(WriteAddressFile(dir.path(), a).ok());
  struct stat st {};
  ASSERT_EQ(::stat(AddressFilePath(dir.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / ".cairn").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto b = ReadAddressFile(dir.path());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b.value().host, a.host);
  EXPECT_EQ(b.value().port, a.port);
  EXPECT_EQ(b.value().token, a.token);
  EXPECT_EQ(b.value().job_key, "slurm 1234.0");
  EXPECT_EQ(b.value().pid, 777);
  // Garbled: a clear kCorruption naming the file.
  ASSERT_TRUE(cairn::testing::WriteText(AddressFilePath(dir.path()), "localhost\ntoken x\n"));
  auto c = ReadAddressFile(dir.path());
  EXPECT_EQ(c.status().code(), Code::kCorruption);
  EXPECT_NE(c.status().message().find(".cairn/coordinator"), std::string::npos);
  // Refused on write: bad token, bad port, newline in the job key.
  CoordinatorAddress bad = a;
  bad.token = "xyz";
  EXPECT_FALSE(WriteAddressFile(dir.path(), bad).ok());
  bad = a;
  bad.port = 0;
  EXPECT_FALSE(WriteAddressFile(dir.path(), bad).ok());
  bad = a;
  bad.job_key = "a\nb";
  EXPECT_FALSE(WriteAddressFile(dir.path(), bad).ok());
  // Only our token removes it.
  ASSERT_TRUE(WriteAddressFile(dir.path(), a).ok());
  EXPECT_TRUE(RemoveAddressFileIfOurs(dir.path(), NewToken()).ok());
  EXPECT_TRUE(ReadAddressFile(dir.path()).ok());
  EXPECT_TRUE(RemoveAddressFileIfOurs(dir.path(), a.token).ok());
  EXPECT_EQ(ReadAddressFile(dir.path()).status().code(), Code::kNotFound);
}

TEST(CoordRound, FullRoundCommitsManifest) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 3));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto addr = ReadAddressFile(dir.path());
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(addr.value().host, "127.0.0.1");
  EXPECT_EQ(addr.value().job_key, kJob);
  EXPECT_EQ(addr.value().pid, ::getpid());
  EXPECT_EQ(addr.value().token, c.value()->address().token);

  SimRank r0(dir.path(), 0, "c0=17,c3=4"), r1(dir.path(), 1, "c0=20"),
      r2(dir.path(), 2, "c3=9,c5=1");
  for (SimRank* r : {&r0, &r1, &r2}) r->Start();
  for (SimRank* r : {&r0, &r1, &r2}) ASSERT_TRUE(r->WaitJoined());

  auto done = Checkpoint(dir.path());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done.value().type(), kDone);
  EXPECT_EQ(done.value().GetInt(kFCode, -1), 0) << done.value().GetOr(kFMessage, "");
  EXPECT_EQ(done.value().GetOr(kFMessage, ""), "OK");
  EXPECT_EQ(done.value().GetInt(kFVersion, 0), 1);
  EXPECT_EQ(done.value().GetInt(kFParticipants, 0), 3);
  EXPECT_EQ(done.value().GetInt(kFBytes, 0), 100 + 101 + 102);
  const std::string manifest = done.value().GetOr(kFManifest, "");
  EXPECT_EQ(manifest, ManifestPath(dir.path(), 1));

  for (SimRank* r : {&r0, &r1, &r2}) {
    EXPECT_EQ(r->WaitFor("TARGETS"), "TARGETS 0 c0=20,c3=9,c5=1");  // max per key
    EXPECT_EQ(r->WaitFor("COMMITTED"), "COMMITTED 1 " + manifest + " kill=0");
    EXPECT_EQ(r->WaitFor("ABORT", 0), "");
  }
  auto m = ReadManifest(manifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m.value().version, 1u);
  EXPECT_EQ(m.value().kind, "mpi");
  ASSERT_EQ(m.value().images.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(m.value().images[r].rank, r);
    EXPECT_EQ(m.value().images[r].bytes, static_cast<uint64_t>(100 + r));
    EXPECT_EQ(m.value().images[r].path, dir / ("r" + std::to_string(r) + ".v1.cimg"));
  }
  std::string warnings;
  auto newest = NewestValid(dir.path(), &warnings);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest.value().version, 1u);
  EXPECT_EQ(warnings, "");

  // STATUS names every rank.
  auto status = Ask(dir.path(), ipc::Message(kStatus));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value().type(), kStatus);
  EXPECT_EQ(status.value().GetInt(kFJoined, 0), 3);
  EXPECT_EQ(status.value().GetInt(kFRound, 0), 1);
  EXPECT_EQ(status.value().GetOr(kFLastResult, ""), "committed version 1");
  auto ranks = status.value().GetAll(kFRank);
  ASSERT_EQ(ranks.size(), 3u);
  EXPECT_EQ(ranks[1],
            "1:" + std::to_string(::getpid()) + ":" + ipc::SplitFields(ranks[1], ':')[2] + ":idle");

  // The job ends: every participant leaves, the coordinator finishes and removes its file.
  EXPECT_FALSE(c.value()->Finished());
  for (SimRank* r : {&r0, &r1, &r2}) r->Stop();
  EXPECT_TRUE(c.value()->WaitFinished(2000));
  EXPECT_EQ(ReadAddressFile(dir.path()).status().code(), Code::kNotFound);
}

// Starts the ranks, waits for their joins and asks for a checkpoint, which must commit.
void CheckpointCommits(const std::string& dir, std::initializer_list<SimRank*> ranks) {
  for (SimRank* r : ranks) r->Start();
  for (SimRank* r : ranks) ASSERT_TRUE(r->WaitJoined());
  auto done = Checkpoint(dir);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done.value().GetInt(kFCode, -1), 0) << done.value().GetOr(kFMessage, "");
}

// A rank that cannot get quiet without a collective beyond its target asks for it (WANT):
// the coordinator raises that target once (a second WANT for the same is no news), sends
// TARGETS gen 1 to every rank, ignores QUIETs of gen 0 from then on, and commits once every
// rank is QUIET at gen 1.
TEST(CoordRound, WantRaisesTargetsAndOldQuietsNoLongerCount) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 3));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "c0=17,c3=4"), r1(dir.path(), 1, "c0=20"),
      r2(dir.path(), 2, "c3=9,c5=1");
  r0.want = "c3=10";
  r2.want = "c3=10,c5=1";  // c5=1 is no raise
  r1.stale_quiet = true;
  CheckpointCommits(dir.path(), {&r0, &r1, &r2});
  for (SimRank* r : {&r0, &r1, &r2}) {
    EXPECT_EQ(r->Lines("TARGETS"), (std::vector<std::string>{"TARGETS 0 c0=20,c3=9,c5=1",
                                                             "TARGETS 1 c0=20,c3=10,c5=1"}));
    EXPECT_NE(r->WaitFor("COMMITTED 1 "), "");
    EXPECT_EQ(r->WaitFor("ABORT", 0), "");
  }
}

// Ranks 0 and 1 are quiet with threads waiting beyond the targets; rank 2 does not get quiet
// (it waits for a message they send after those collectives): after the stall time the
// coordinator grants the quiet ranks' wants (gen 1), and the round completes.
TEST(CoordRound, QuietRanksWantsAreGrantedWhenOthersStall) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 3));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "c0=5,c1=2"), r1(dir.path(), 1, "c0=5"), r2(dir.path(), 2, "c1=2");
  r0.quiet_wants = "c0=6";
  r1.quiet_wants = "c0=6";
  r2.quiet_from_gen = 1;
  CheckpointCommits(dir.path(), {&r0, &r1, &r2});
  for (SimRank* r : {&r0, &r1, &r2}) {
    EXPECT_EQ(r->Lines("TARGETS"),
              (std::vector<std::string>{"TARGETS 0 c0=5,c1=2", "TARGETS 1 c0=6,c1=2"}));
  }
}

// A WANT that raises nothing leaves the round waiting for that rank's QUIET: the quiet phase
// ends by its deadline, naming the rank. A WANT that cannot be parsed aborts at once.
TEST(CoordRound, WantWithoutRaiseTimesOutAndBadWantAborts) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2, 500));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "c0=1"), r1(dir.path(), 1, "c0=1");
  r0.want = "c0=1";  // the target already
  for (SimRank* r : {&r0, &r1}) r->Start();
  for (SimRank* r : {&r0, &r1}) ASSERT_TRUE(r->WaitJoined());
  auto done = Checkpoint(dir.path());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_NE(done.value().GetInt(kFCode, 0), 0);
  EXPECT_NE(done.value().GetOr(kFMessage, "").find("rank 0 did not answer TARGETS"),
            std::string::npos)
      << done.value().GetOr(kFMessage, "");
  EXPECT_NE(r0.WaitFor("ABORT"), "");

  r0.want = "c0=x";
  const auto t0 = Clock::now();
  done = Checkpoint(dir.path());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_NE(done.value().GetOr(kFMessage, "").find("rank 0 sent bad wants"), std::string::npos)
      << done.value().GetOr(kFMessage, "");
  EXPECT_LT(MsSince(t0), 450);  // at once, not by the phase timeout
  EXPECT_EQ(ListManifests(dir.path()).value().size(), 0u);
}

TEST(CoordRefuse, WrongToken) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ipc::Message hello(kHello);
  hello.Add(kFToken, NewToken()).Add(kFRank, 0).Add(kFPid, 1).Add(kFHost, "h");
  auto r = Ask(dir.path(), hello);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value().type(), kRefused);
  EXPECT_EQ(r.value().GetOr(kFMessage, ""), "this coordinator belongs to another job");
  ipc::Message ck(kCheckpoint);
  ck.Add(kFToken, "0123456789abcdef0123456789abcdef");
  r = Ask(dir.path(), ck);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().type(), kRefused);
  // A refused stranger is not a participant: STATUS shows nobody joined.
  auto st = Ask(dir.path(), ipc::Message(kStatus));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().GetInt(kFJoined, -1), 0);
}

TEST(CoordRefuse, DuplicateAndOutOfRangeRank) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto p0 = Participant::Join(dir.path(), kJob, 0, 2000);
  ASSERT_TRUE(p0.ok()) << p0.status().ToString();
  EXPECT_EQ(p0.value()->participants(), 2);
  const auto t0 = Clock::now();
  auto dup = Participant::Join(dir.path(), kJob, 0, 2000);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(dup.status().message().find("rank 0 is already connected"), std::string::npos)
      << dup.status().message();
  EXPECT_LT(MsSince(t0), 1000);  // refused at once, not retried until the timeout
  auto out = Participant::Join(dir.path(), kJob, 2, 2000);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("outside 0..1"), std::string::npos)
      << out.status().message();
  // Once rank 0 leaves (while rank 1 keeps the job alive) its rank may join again.
  auto p1 = Participant::Join(dir.path(), kJob, 1, 2000);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  p0.value().reset();
  auto again = Participant::Join(dir.path(), kJob, 0, 2000);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // When every participant has left, the job has ended: the coordinator finishes.
  p1.value().reset();
  again.value().reset();
  EXPECT_TRUE(c.value()->WaitFinished(2000));
}

TEST(CoordJoin, SkipsStaleFileOfAnotherJobAndRetries) {
  TempDir dir;
  // A stale file of this job at a port nobody listens on, then a leftover of another job.
  ASSERT_TRUE(WriteAddressFile(dir.path(), {"127.0.0.1", 1, NewToken(), kJob, 1}).ok());
  Result<std::unique_ptr<Participant>> p = Status::Internal("unset");
  std::thread th([&] { p = Participant::Join(dir.path(), kJob, 0, 3000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(WriteAddressFile(dir.path(), {"127.0.0.1", 1, NewToken(), "old-job", 1}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto c = Coordinator::Start(Options(dir.path(), 1));
  th.join();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p.value()->address().token, c.value()->address().token);
  // Nobody at all: a bounded, explained failure.
  TempDir empty;
  const auto t0 = Clock::now();
  auto none = Participant::Join(empty.path(), kJob, 0, 300);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  EXPECT_LT(MsSince(t0), 1000);
}

TEST(CoordAbort, ParticipantLeavesMidRound) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 3, /*phase_ms=*/500));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "c0=1"), r1(dir.path(), 1, "c0=1"), r2(dir.path(), 2, "c0=1");
  r1.close_at_round = 2;
  for (SimRank* r : {&r0, &r1, &r2}) r->Start();
  for (SimRank* r : {&r0, &r1, &r2}) ASSERT_TRUE(r->WaitJoined());
  auto first = Checkpoint(dir.path());
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.value().GetInt(kFCode, -1), 0) << first.value().GetOr(kFMessage, "");

  const auto t0 = Clock::now();
  auto second = Checkpoint(dir.path());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_LT(MsSince(t0), 1000);  // noticed at once, not after the phase timeout
  EXPECT_EQ(second.value().GetInt(kFCode, 0), static_cast<int>(Code::kUnavailable));
  EXPECT_NE(second.value().GetOr(kFMessage, "").find("rank 1 left the job during the checkpoint"),
            std::string::npos)
      << second.value().GetOr(kFMessage, "");
  EXPECT_EQ(r0.WaitFor("ABORT"), "ABORT rank 1 left the job during the checkpoint");
  EXPECT_EQ(r2.WaitFor("ABORT"), "ABORT rank 1 left the job during the checkpoint");
  EXPECT_EQ(r1.WaitFor("CLOSED-BY-TEST"), "CLOSED-BY-TEST");
  // No manifest for round 2; version 1 is still the newest valid one.
  EXPECT_FALSE(Env::Default()->Exists(ManifestPath(dir.path(), 2)));
  auto newest = NewestValid(dir.path(), nullptr);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest.value().version, 1u);
  // The remaining ranks still serve the job; the coordinator says what happened.
  auto st = Ask(dir.path(), ipc::Message(kStatus));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().GetInt(kFJoined, 0), 2);
  EXPECT_NE(st.value().GetOr(kFLastResult, "").find("round 2 aborted"), std::string::npos);
}

TEST(CoordAbort, SilentParticipantTimesOut) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2, /*phase_ms=*/300));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, ""), r1(dir.path(), 1, "");
  r1.silent_at_round = 1;
  for (SimRank* r : {&r0, &r1}) r->Start();
  for (SimRank* r : {&r0, &r1}) ASSERT_TRUE(r->WaitJoined());
  const auto t0 = Clock::now();
  auto done = Checkpoint(dir.path());
  const int64_t took = MsSince(t0);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1500);
  EXPECT_NE(done.value().GetInt(kFCode, 0), 0);
  EXPECT_NE(done.value().GetOr(kFMessage, "").find("rank 1 did not answer PREPARE within 0.3 s"),
            std::string::npos)
      << done.value().GetOr(kFMessage, "");
  EXPECT_EQ(r0.WaitFor("ABORT"), "ABORT rank 1 did not answer PREPARE within 0.3 s");
  EXPECT_EQ(r1.WaitFor("ABORT"), "ABORT rank 1 did not answer PREPARE within 0.3 s");
  EXPECT_EQ(NewestValid(dir.path(), nullptr).status().code(), Code::kNotFound);
  // The next round works and gets the next number.
  auto next = Checkpoint(dir.path());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.value().GetInt(kFCode, -1), 0) << next.value().GetOr(kFMessage, "");
  EXPECT_EQ(next.value().GetInt(kFVersion, 0), 2);
}

TEST(CoordAbort, ParticipantFails) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, ""), r1(dir.path(), 1, "");
  r0.fail_at_round = 1;
  for (SimRank* r : {&r0, &r1}) r->Start();
  auto done = Checkpoint(dir.path());  // waits for the joins
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done.value().GetInt(kFCode, 0), static_cast<int>(Code::kIOError));
  EXPECT_NE(done.value().GetOr(kFMessage, "").find("rank 0 failed: disk on fire"),
            std::string::npos)
      << done.value().GetOr(kFMessage, "");
  EXPECT_EQ(r1.WaitFor("ABORT"), "ABORT rank 0 failed: disk on fire");
}

TEST(CoordJoin, CheckpointWaitsForJoinsAndBusyIsRefused) {
  TempDir dir;
  CoordinatorOptions o = Options(dir.path(), 2);
  o.join_timeout_ms = 600;
  auto c = Coordinator::Start(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto p0 = Participant::Join(dir.path(), kJob, 0, 2000);
  ASSERT_TRUE(p0.ok());
  Result<ipc::Message> first = Status::Internal("unset");
  const auto t0 = Clock::now();
  std::thread th([&] { first = Checkpoint(dir.path()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto busy = Checkpoint(dir.path());
  th.join();
  ASSERT_TRUE(busy.ok()) << busy.status().ToString();
  EXPECT_EQ(busy.value().GetInt(kFCode, 0), static_cast<int>(Code::kFailedPrecondition));
  EXPECT_EQ(busy.value().GetOr(kFMessage, ""), "a checkpoint is already in progress");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GE(MsSince(t0), 550);
  EXPECT_NE(first.value().GetInt(kFCode, 0), 0);
  EXPECT_EQ(first.value().GetOr(kFMessage, ""), "only 1 of 2 participants joined within 0.6 s");
  // Rank 0 never saw a round.
  auto m = p0.value()->Receive(0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.value().type(), "");
}

TEST(CoordRound, NumberingContinuesFromExistingManifests) {
  TempDir dir;
  // Version 7 of an earlier run of the job (its image present).
  ASSERT_TRUE(cairn::testing::WriteText(dir / "old.cimg", "old"));
  Manifest old;
  old.version = 7;
  old.participants = 1;
  old.images.push_back({0, 3, "h", dir / "old.cimg"});
  ASSERT_TRUE(WriteManifest(dir.path(), old).ok());
  CoordinatorOptions o = Options(dir.path(), 1);
  o.keep = 1;
  auto c = Coordinator::Start(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "");
  r0.Start();
  auto done = Checkpoint(dir.path(), /*kill=*/true);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ASSERT_EQ(done.value().GetInt(kFCode, -1), 0) << done.value().GetOr(kFMessage, "");
  EXPECT_EQ(done.value().GetInt(kFVersion, 0), 8);
  EXPECT_EQ(r0.WaitFor("COMMITTED"), "COMMITTED 8 " + ManifestPath(dir.path(), 8) + " kill=1");
  EXPECT_TRUE(Env::Default()->Exists(ManifestPath(dir.path(), 8)));
  // keep=1: version 7 and its image are pruned after the commit.
  auto versions = ListManifests(dir.path());
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions.value(), std::vector<uint64_t>{8});
  EXPECT_FALSE(Env::Default()->Exists(dir / "old.cimg"));
  EXPECT_TRUE(Env::Default()->Exists(dir / "r0.v8.cimg"));
}

TEST(CoordLifecycle, StopDuringARoundAborts) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  SimRank r0(dir.path(), 0, "");
  r0.silent_at_round = 1;
  r0.Start();
  ASSERT_TRUE(r0.WaitJoined());
  Result<ipc::Message> done = Status::Internal("unset");
  std::thread th([&] { done = Checkpoint(dir.path()); });
  const bool prepared = !r0.WaitFor("PREPARE 1").empty();
  c.value()->Stop();
  th.join();
  ASSERT_TRUE(prepared);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done.value().GetOr(kFMessage, ""),
            "checkpoint round 1 aborted: the coordinator is stopping");
  EXPECT_EQ(r0.WaitFor("ABORT"), "ABORT the coordinator is stopping");
  EXPECT_TRUE(c.value()->Finished());
  EXPECT_FALSE(Env::Default()->Exists(AddressFilePath(dir.path())));
}

TEST(CoordLifecycle, StopAbortsAndRemovesAddressFile) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::atomic<int> started{0};
  CoordinatorOptions o = Options(dir.path(), 1);
  ASSERT_TRUE(Env::Default()->Exists(AddressFilePath(dir.path())));
  c.value()->Stop();
  EXPECT_TRUE(c.value()->Finished());
  EXPECT_FALSE(Env::Default()->Exists(AddressFilePath(dir.path())));
  // on_thread_start runs on the coordinator's thread.
  o.on_thread_start = [&] { started.fetch_add(1); };
  auto d = Coordinator::Start(o);
  ASSERT_TRUE(d.ok());
  d.value()->Stop();
  EXPECT_EQ(started.load(), 1);
  // Bad options are refused before anything is started.
  o.participants = 0;
  EXPECT_EQ(Coordinator::Start(o).status().code(), Code::kInvalidArgument);
}

TEST(CoordStore, PutGetWaitsForTheKeyAndTimesOut) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto store = JobStore::Open(dir.path(), kJob, 2000);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store.value().local_host(), "127.0.0.1");
  EXPECT_EQ(store.value().Get("a", 0).status().code(), Code::kNotFound);
  // A value (any bytes) put by another node while this one waits for it.
  const std::string value("v\0\n%=;binary\xff", 13);
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(store.value().Put("a", value).ok());
  });
  const auto t0 = Clock::now();
  auto got = store.value().Get("a", 5000);
  other.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got.value(), value);
  EXPECT_GE(MsSince(t0), 150);
  // Replaced by a second PUT; a key nobody puts fails after the wait.
  ASSERT_TRUE(store.value().Put("a", "w").ok());
  EXPECT_EQ(store.value().Get("a", 0).value(), "w");
  const auto t1 = Clock::now();
  EXPECT_EQ(store.value().Get("b", 300).status().code(), Code::kNotFound);
  EXPECT_GE(MsSince(t1), 250);
  EXPECT_EQ(store.value().Put("", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(store.value().Put(std::string(300, 'k'), "x").code(), Code::kInvalidArgument);
  // Another job's token is refused and changes nothing.
  ipc::Message put(kPut);
  put.Add(kFToken, NewToken()).Add(kFKey, "a").Add(kFValue, "stranger");
  auto r = Ask(dir.path(), put);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().type(), kRefused);
  EXPECT_EQ(store.value().Get("a", 0).value(), "w");
}

TEST(CoordStore, OpenFindsOnlyItsOwnJob) {
  TempDir dir;
  auto c = Coordinator::Start(Options(dir.path(), 1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto other = JobStore::Open(dir.path(), "another-job", 300);
  EXPECT_EQ(other.status().code(), Code::kUnavailable);
  EXPECT_NE(other.status().message().find("another-job"), std::string::npos);
  c.value()->Stop();  // a coordinator that is gone: its store is gone with it
  EXPECT_EQ(JobStore::Open(dir.path(), kJob, 300).status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cairn::coord
