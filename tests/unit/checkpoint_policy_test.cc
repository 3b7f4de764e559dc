// CheckpointPolicy (client/checkpoint_policy.h) with an injected clock and environment and
// the real file system (control file, ack) in a temporary directory.
#include "client/checkpoint_policy.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmath>
#include <map>
#include <string>

#include "test_util.h"

namespace cairn {
namespace {

using cairn::testing::TempDir;
using cairn::testing::WriteText;

class FakeClock : public PolicyClock {
 public:
  double Monotonic() override { return mono; }
  double Unix() override { return unix_time; }
  void Advance(double s) {
    mono += s;
    unix_time += s;
  }
  double mono = 1000;
  double unix_time = 1.7e9;
};

std::string Read(const std::string& path) {
  std::string out;
  auto f = Env::Default()->NewRandomAccessFile(path);
  if (!f.ok()) return "<missing>";
  out.resize(f.value()->size());
  if (!f.value()->ReadAt(0, out.data(), out.size()).ok()) return "<unreadable>";
  return out;
}

// As `cairn job` writes the control file: a temporary renamed over it.
void Control(const std::string& path, const std::string& text) {
  ASSERT_TRUE(WriteText(path + ".tmp", text));
  ASSERT_EQ(::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

class CheckpointPolicyTest : public ::testing::Test {
 protected:
  CheckpointPolicy Make(PolicyOptions o) {
    return CheckpointPolicy(std::move(o), Env::Default(), &clock_);
  }
  PolicyOptions WithControl() {
    PolicyOptions o;
    o.control = control_;
    return o;
  }
  // A complete checkpoint taking `cost` seconds (sync: committed at its end).
  void Checkpoint(CheckpointPolicy& p, const std::string& name, long long v, double cost,
                  bool ok = true) {
    p.OnBegin(name, v);
    clock_.Advance(cost);
    p.OnEnd(ok, /*async=*/false);
  }
  // need_checkpoint as the Engine does it for one rank.
  DueReason Ask(CheckpointPolicy& p) {
    NeedDecision d = p.Evaluate();
    if (d.due()) p.Arm(d.reason);
    return d.reason;
  }

  FakeClock clock_;
  TempDir dir_;
  std::string control_ = dir_ / "control";
  std::string ack_ = control_ + ".ack";
};

TEST(DalyTest, Formula) {
  // C = 60 s, M = 1 day: sqrt(2CM) (1 + sqrt(C/2M)/3 + C/18M) - C.
  const double c = 60, m = 86400;
  const double expected =
      std::sqrt(2 * c * m) * (1 + std::sqrt(c / (2 * m)) / 3 + c / (18 * m)) - c;
  EXPECT_NEAR(DalyInterval(c, m), expected, 1e-9);
  EXPECT_NEAR(DalyInterval(c, m), 3180.06, 0.01);  // by hand
  // Young's sqrt(2CM) is the first-order term.
  EXPECT_NEAR(DalyInterval(1, 1e6), std::sqrt(2e6) - 1, 0.5);
  EXPECT_DOUBLE_EQ(DalyInterval(200, 100), 100);  // C >= 2M: T = M
  EXPECT_DOUBLE_EQ(DalyInterval(200, 99.9), 99.9);
  EXPECT_LT(DalyInterval(199.9, 100), 100.0 + 1e-9);
  EXPECT_EQ(DalyInterval(0, 100), 0);
  EXPECT_EQ(DalyInterval(5, 0), 0);
}

TEST_F(CheckpointPolicyTest, NothingConfigured) {
  auto p = Make(PolicyOptions{});
  EXPECT_FALSE(p.job_active());
  clock_.Advance(1e6);
  EXPECT_FALSE(p.Evaluate().due());
  Checkpoint(p, "a", 1, 3);
  EXPECT_FALSE(p.Evaluate().due());
  EXPECT_FALSE(p.should_exit());
}

TEST_F(CheckpointPolicyTest, IntervalFromInitThenFromTheEndOfTheLastCheckpoint) {
  PolicyOptions o;
  o.interval = 100;
  auto p = Make(o);
  clock_.Advance(99.5);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kNone);
  clock_.Advance(0.5);
  NeedDecision d = p.Evaluate();
  EXPECT_EQ(d.reason, DueReason::kInterval);
  EXPECT_NE(d.why.find("checkpoint_interval"), std::string::npos) << d.why;
  Checkpoint(p, "a", 1, 30);  // 30 s long: the interval counts from its end
  clock_.Advance(99);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kNone);
  clock_.Advance(1);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kInterval);
  // A failed checkpoint is no checkpoint: still due.
  Checkpoint(p, "a", 2, 5, /*ok=*/false);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kInterval);
  // Periodic reasons never make a checkpoint final.
  EXPECT_EQ(Ask(p), DueReason::kInterval);
  Checkpoint(p, "a", 3, 1);
  EXPECT_FALSE(p.should_exit());
}

TEST_F(CheckpointPolicyTest, DalyUsesTheMeasuredBlockingCost) {
  PolicyOptions o;
  o.mtbf = 3600;
  auto p = Make(o);
  clock_.Advance(1e5);
  EXPECT_FALSE(p.Evaluate().due()) << "no measurement yet: Daly stays off";
  EXPECT_FALSE(p.blocked_cost().has_value());
  Checkpoint(p, "a", 1, 2);
  ASSERT_TRUE(p.blocked_cost().has_value());
  EXPECT_DOUBLE_EQ(*p.blocked_cost(), 2);
  const double t = DalyInterval(2, 3600);  // ~118 s
  EXPECT_GT(t, 100);
  clock_.Advance(t - 0.5);
  EXPECT_FALSE(p.Evaluate().due());
  clock_.Advance(1);
  NeedDecision d = p.Evaluate();
  EXPECT_EQ(d.reason, DueReason::kDaly);
  EXPECT_NE(d.why.find("Daly"), std::string::npos) << d.why;
  // EWMA, weight 1/2 on the newest: 2 then 4 -> 3.
  Checkpoint(p, "a", 2, 4);
  EXPECT_DOUBLE_EQ(*p.blocked_cost(), 3);
  clock_.Advance(DalyInterval(3, 3600) + 0.01);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kDaly);
}

TEST_F(CheckpointPolicyTest, IntervalBeforeDalyWhenBothDue) {
  PolicyOptions o;
  o.interval = 10;
  o.mtbf = 3600;
  auto p = Make(o);
  Checkpoint(p, "a", 1, 1);
  clock_.Advance(1000);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kInterval);
}

TEST_F(CheckpointPolicyTest, EndTimeUsesDefaultCostThenTheMaxOfRecentDurableCosts) {
  PolicyOptions o = WithControl();
  o.end_time = static_cast<long long>(clock_.unix_time) + 200;
  o.end_margin = 10;
  auto p = Make(o);
  EXPECT_DOUBLE_EQ(p.durable_cost(), CheckpointPolicy::kDefaultCost);
  // 200 s left > default + 10.
  EXPECT_FALSE(p.Evaluate().due());
  // Measured costs replace the default: one of 100 s.
  Checkpoint(p, "a", 1, 100);  // now 100 s left
  EXPECT_DOUBLE_EQ(p.durable_cost(), 100);
  NeedDecision d = p.Evaluate();  // 100 <= 100 + 10
  EXPECT_EQ(d.reason, DueReason::kEndTime);
  EXPECT_NE(d.why.find("ends in"), std::string::npos) << d.why;
  // The window keeps the last kCostWindow: 8 cheap checkpoints push the 100 s one out.
  auto q = Make(PolicyOptions{});
  Checkpoint(q, "b", 1, 100);
  for (int i = 0; i < static_cast<int>(CheckpointPolicy::kCostWindow) - 1; ++i) {
    Checkpoint(q, "b", 2 + i, 1);
  }
  EXPECT_DOUBLE_EQ(q.durable_cost(), 100);
  Checkpoint(q, "b", 100, 2);
  EXPECT_DOUBLE_EQ(q.durable_cost(), 2);
}

TEST_F(CheckpointPolicyTest, EndTimeFinalCheckpointThenNeverAgain) {
  PolicyOptions o = WithControl();
  o.end_time = static_cast<long long>(clock_.unix_time) + 12;  // < default cost + margin
  o.interval = 1;
  auto p = Make(o);
  ASSERT_EQ(Ask(p), DueReason::kEndTime);
  p.OnBegin("a", 4);
  EXPECT_TRUE(p.final_in_progress());
  EXPECT_EQ(p.Evaluate().reason, DueReason::kNone) << "a final checkpoint is open";
  clock_.Advance(2);
  p.OnEnd(true, false);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "exit a 4\n");
  // The end time does not ask again; the interval still does.
  clock_.Advance(2);
  EXPECT_EQ(p.Evaluate().reason, DueReason::kInterval);
}

TEST_F(CheckpointPolicyTest, ControlFileRequests) {
  auto p = Make(WithControl());
  EXPECT_TRUE(p.job_active());
  EXPECT_EQ(p.ack_path(), ack_);
  EXPECT_EQ(Ask(p), DueReason::kNone);  // no file
  Control(control_, "checkpoint 1700000000\n");
  NeedDecision d = p.Evaluate();
  ASSERT_EQ(d.reason, DueReason::kControl);
  EXPECT_NE(d.why.find("checkpoint 1700000000"), std::string::npos) << d.why;
  p.Arm(d.reason);
  Checkpoint(p, "sim", 12, 1);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "exit sim 12\n");
  struct stat st {};
  ASSERT_EQ(::stat(ack_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(Env::Default()->Exists(ack_ + ".tmp"));
  // The same file again: answered.
  EXPECT_EQ(Ask(p), DueReason::kNone);
  // Rewritten (new inode, even with the same text): a new request.
  Control(control_, "checkpoint 1700000000\n");
  EXPECT_EQ(Ask(p), DueReason::kControl);
  Checkpoint(p, "sim", 13, 1);
  EXPECT_EQ(Read(ack_), "exit sim 13\n");
  EXPECT_EQ(Ask(p), DueReason::kNone);
  // Removed: no request.
  ASSERT_EQ(::unlink(control_.c_str()), 0);
  EXPECT_EQ(Ask(p), DueReason::kNone);
}

TEST_F(CheckpointPolicyTest, OnlyTheCheckpointAfterAFinalAnswerIsFinal) {
  auto p = Make(WithControl());
  Control(control_, "checkpoint 1\n");
  EXPECT_EQ(p.Evaluate().reason, DueReason::kControl);  // evaluated, not armed
  Checkpoint(p, "sim", 1, 1);
  EXPECT_FALSE(p.should_exit());
  EXPECT_EQ(Read(ack_), "<missing>");
  EXPECT_EQ(Ask(p), DueReason::kControl);  // still standing
  Checkpoint(p, "sim", 2, 1);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "exit sim 2\n");
}

TEST_F(CheckpointPolicyTest, ArmFromAnotherRankWithoutLocalControl) {
  // Collective mode: ranks other than 0 have no control file but are told the reason.
  auto p = Make(PolicyOptions{});
  p.Arm(DueReason::kControl);
  Checkpoint(p, "sim", 3, 1);
  EXPECT_TRUE(p.should_exit());
  p.Arm(DueReason::kInterval);  // periodic reasons do not arm
}

TEST_F(CheckpointPolicyTest, FailedFinalCheckpointLeavesTheRequestStanding) {
  auto p = Make(WithControl());
  Control(control_, "checkpoint 1\n");
  ASSERT_EQ(Ask(p), DueReason::kControl);
  Checkpoint(p, "sim", 1, 1, /*ok=*/false);
  EXPECT_FALSE(p.should_exit());
  EXPECT_EQ(Read(ack_), "<missing>");
  EXPECT_FALSE(p.final_in_progress());
  ASSERT_EQ(Ask(p), DueReason::kControl);
  Checkpoint(p, "sim", 2, 1);
  EXPECT_EQ(Read(ack_), "exit sim 2\n");
}

TEST_F(CheckpointPolicyTest, AsyncAckOnlyWhenDurable) {
  auto p = Make(WithControl());
  Control(control_, "checkpoint 1\n");
  ASSERT_EQ(Ask(p), DueReason::kControl);
  p.OnBegin("sim", 5);
  clock_.Advance(0.5);  // the snapshot
  p.OnEnd(true, /*async=*/true);
  EXPECT_DOUBLE_EQ(*p.blocked_cost(), 0.5);
  EXPECT_EQ(p.outstanding(), 1u);
  EXPECT_TRUE(p.final_in_progress());
  EXPECT_FALSE(p.should_exit());
  EXPECT_EQ(Read(ack_), "<missing>");
  EXPECT_EQ(p.Evaluate().reason, DueReason::kNone) << "the final checkpoint is in flight";
  p.OnDurable("sim", 4);  // some other version
  p.OnDurable("other", 5);
  EXPECT_EQ(Read(ack_), "<missing>");
  clock_.Advance(20);
  p.OnDurable("sim", 5);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "exit sim 5\n");
  EXPECT_DOUBLE_EQ(p.durable_cost(), 20.5);  // begin to durable
  EXPECT_EQ(p.outstanding(), 0u);
}

TEST_F(CheckpointPolicyTest, AsyncFailureLeavesTheRequestStanding) {
  auto p = Make(WithControl());
  Control(control_, "checkpoint 1\n");
  ASSERT_EQ(Ask(p), DueReason::kControl);
  p.OnBegin("sim", 5);
  p.OnEnd(true, true);
  p.OnOutstandingFailed();  // the backend died or reported a failure
  EXPECT_FALSE(p.should_exit());
  EXPECT_EQ(Read(ack_), "<missing>");
  EXPECT_DOUBLE_EQ(p.durable_cost(), CheckpointPolicy::kDefaultCost);  // nothing measured
  EXPECT_EQ(Ask(p), DueReason::kControl);
}

TEST_F(CheckpointPolicyTest, AsyncDurableReportedBeforeTheHandOverReturned) {
  auto p = Make(WithControl());
  Control(control_, "checkpoint 1\n");
  ASSERT_EQ(Ask(p), DueReason::kControl);
  p.OnBegin("sim", 6);
  clock_.Advance(1);
  p.OnDurable("sim", 6);  // read while the hand-over was still waiting
  p.OnEnd(true, true);
  EXPECT_EQ(p.outstanding(), 0u);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "exit sim 6\n");
}

TEST_F(CheckpointPolicyTest, WriteAckDeferredWhenTheEngineAgreesFirst) {
  PolicyOptions o = WithControl();
  o.write_ack = false;  // collective async mode: rank 0 writes it after the agreement
  auto p = Make(o);
  Control(control_, "checkpoint 1\n");
  ASSERT_EQ(Ask(p), DueReason::kControl);
  Checkpoint(p, "sim", 7, 1);
  EXPECT_TRUE(p.should_exit());
  EXPECT_EQ(Read(ack_), "<missing>");
  p.WriteAck();
  EXPECT_EQ(Read(ack_), "exit sim 7\n");
  ASSERT_EQ(::unlink(ack_.c_str()), 0);
  p.WriteAck();  // once
  EXPECT_EQ(Read(ack_), "<missing>");
}

TEST_F(CheckpointPolicyTest, AckFailureIsLoggedAndRetried) {
  PolicyOptions o;
  o.control = dir_ / "missing_dir/control";  // the ack cannot be created
  auto p = Make(o);
  p.Arm(DueReason::kEndTime);
  Checkpoint(p, "sim", 1, 1);
  EXPECT_TRUE(p.should_exit());  // the checkpoint is committed whatever the ack does
  EXPECT_EQ(Read(p.ack_path()), "<missing>");
  ASSERT_TRUE(Env::Default()->CreateDirs(dir_ / "missing_dir").ok());
  p.WriteAck();
  EXPECT_EQ(Read(p.ack_path()), "exit sim 1\n");
}

TEST(JobEnvironmentTest, Variables) {
  std::map<std::string, std::string> vars;
  auto get = [&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  PolicyOptions o;
  ReadJobEnvironment(&o, get);
  EXPECT_FALSE(o.end_time.has_value());
  EXPECT_TRUE(o.control.empty());

  vars = {{"CAIRN_JOB_END_TIME", "1700000100"},
          {"SLURM_JOB_END_TIME", "1700000200"},
          {"CAIRN_JOB_CONTROL", "/run/job/ctl"}};
  o = PolicyOptions{};
  ReadJobEnvironment(&o, get);
  EXPECT_EQ(o.end_time, 1700000100);
  EXPECT_EQ(o.control, "/run/job/ctl");

  vars = {{"SLURM_JOB_END_TIME", "1700000200"}};
  o = PolicyOptions{};
  ReadJobEnvironment(&o, get);
  EXPECT_EQ(o.end_time, 1700000200);

  // Malformed values are ignored (warned); a bad CAIRN_ one lets SLURM_'s count.
  for (const char* bad : {"soon", "12x", "-5", "0", "1.5", ""}) {
    vars = {{"CAIRN_JOB_END_TIME", bad},
            {"SLURM_JOB_END_TIME", "1700000200"},
            {"CAIRN_JOB_CONTROL", "relative/ctl"}};
    o = PolicyOptions{};
    ReadJobEnvironment(&o, get);
    EXPECT_EQ(o.end_time, 1700000200) << bad;
    EXPECT_TRUE(o.control.empty());
  }
}

}  // namespace
}  // namespace cairn
