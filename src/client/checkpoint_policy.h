// CheckpointPolicy: when the application should checkpoint (cairn_need_checkpoint,
// VELOC_Need_checkpoint) and when it should exit (cairn_should_exit), for one client.
// Also the client's side of the protocol with `cairn job` (issue 6).
//
// A checkpoint is due when any of these holds, checked in this order (the first names the
// reason, logged at info level):
//   control   `cairn job` asked for a final checkpoint: the control file (CAIRN_JOB_CONTROL)
//             appeared, or changed (inode, size, mtime or content) since it was last seen,
//             and no final checkpoint taken since has been committed;
//   end time  the job ends (CAIRN_JOB_END_TIME, else SLURM_JOB_END_TIME; Unix seconds) in
//             less than the durable-cost estimate plus job_end_margin seconds;
//   interval  checkpoint_interval > 0 seconds have passed since the last checkpoint;
//   daly      mtbf > 0 and Daly's optimum interval for the measured cost has passed.
// "Since the last checkpoint" counts from the moment the last successful checkpoint
// returned to the application (the end of its blocking part), or from construction.
//
// Final checkpoints: when the answer was "control" or "end time" the policy is armed; the
// next checkpoint begun is final. When a final checkpoint is committed (sync mode: the
// successful end; async mode: the backend reported it durable), the policy records
// should_exit and, when this client writes acks, creates "<control>.ack" (0600, written to
// a temporary and renamed) with "exit <name> <version>\n". A final checkpoint that fails
// leaves the request standing: the next question is answered "due" again. While a final
// checkpoint is in progress, neither control nor end time asks for another one; once one is
// committed, the end time never asks again (should_exit says it all) but a newer control
// request does.
//
// Costs: Daly uses C = the time the application was blocked (begin to end), averaged by an
// EWMA (weight 1/2 on the newest). The end-time rule uses the time until the version was
// durable on the highest level written (sync: begin to end; async: begin until the backend's
// DONE was seen by this client, so an over-estimate when the application polls rarely), the
// maximum of the last kCostWindow; kDefaultCost (5 s) before any measurement.
//
// The policy does I/O only through Env (stat and read of the control file, the ack) and
// reads time only from its Clock, so tests inject both. Not thread-safe: the Engine calls
// it under the client's lock. Never throws for I/O; failures are logged as warnings.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "common/status.h"
#include "env/env.h"

namespace cairn {

// Time source of the policy: a monotonic clock (for intervals and costs) and the wall
// clock (for the job's end time), both in seconds.
class PolicyClock {
 public:
  virtual ~PolicyClock() = default;
  virtual double Monotonic() = 0;
  virtual double Unix() = 0;
  static PolicyClock* Default();  // steady_clock / system_clock; never destroyed
};

struct PolicyOptions {
  long long interval = 0;             // checkpoint_interval, seconds; 0: off
  long long mtbf = 0;                 // seconds; 0: Daly off
  long long end_margin = 10;          // job_end_margin, seconds
  std::optional<long long> end_time;  // Unix seconds the allocation ends
  std::string control;                // control file of `cairn job`; "": none
  bool write_ack = true;              // a committed final checkpoint creates <control>.ack at once
};

// Fills end_time and control from the environment as read by `get` (std::getenv by
// default): CAIRN_JOB_END_TIME, else SLURM_JOB_END_TIME (a positive integer; anything else
// is ignored with a warning), and CAIRN_JOB_CONTROL (an absolute path; else ignored with a
// warning).
void ReadJobEnvironment(PolicyOptions* o,
                        const std::function<const char*(const char*)>& get = nullptr);

// Daly's higher-order estimate of the optimum compute time between checkpoints for a
// checkpoint cost C and a mean time between failures M (seconds):
// sqrt(2CM) * (1 + sqrt(C/(2M))/3 + C/(18M)) - C for C < 2M, else M. C <= 0 gives 0.
double DalyInterval(double cost, double mtbf);

enum class DueReason { kNone = 0, kInterval, kDaly, kControl, kEndTime };
const char* DueReasonName(DueReason r);
inline bool IsFinal(DueReason r) { return r == DueReason::kControl || r == DueReason::kEndTime; }

struct NeedDecision {
  DueReason reason = DueReason::kNone;
  std::string why;  // human-readable, for the log
  bool due() const { return reason != DueReason::kNone; }
};

class CheckpointPolicy {
 public:
  // Assumed durable cost before any checkpoint was measured (end-time rule only); with
  // job_end_margin it still leaves a first short segment most of its time.
  static constexpr double kDefaultCost = 5.0;
  static constexpr size_t kCostWindow = 8;

  CheckpointPolicy(PolicyOptions o, Env* env, PolicyClock* clock);

  // Whether a checkpoint is due now. Reads the control file when one is configured. Does
  // not arm: the caller decides (Arm) after agreeing with other ranks.
  NeedDecision Evaluate();
  // need_checkpoint answered `reason` (possibly decided by another rank): a final reason
  // makes the next checkpoint begun final.
  void Arm(DueReason reason);

  // Hooks of the checkpoint protocol.
  void OnBegin(const std::string& name, long long version);
  // The blocking part ended. ok = sync: committed; async: handed over to the backend.
  // Sync: a committed final checkpoint sets should_exit and writes the ack.
  void OnEnd(bool ok, bool async);
  // Async: the backend reported (name, version) durable.
  void OnDurable(const std::string& name, long long version);
  // Async: every version handed over and not reported durable has failed (the backend
  // answered for all of them, or died).
  void OnOutstandingFailed();

  // Creates the ack for the last committed final checkpoint, once (also when write_ack is
  // off: the Engine calls it on rank 0 after the ranks agreed, in collective async mode).
  // A failure is logged and retried by the next call.
  void WriteAck();

  // A final checkpoint of this client has been committed.
  bool should_exit() const { return exit_; }
  // A final checkpoint has been begun and is neither committed nor failed.
  bool final_in_progress() const;
  // Whether this client takes part in `cairn job`'s protocol at all (control or end time).
  bool job_active() const { return !opt_.control.empty() || opt_.end_time.has_value(); }
  // Async versions handed over and not yet known durable or failed.
  size_t outstanding() const { return inflight_.size(); }

  // The cost estimates (seconds): Daly's C (nullopt before a measurement) and the
  // end-time rule's.
  std::optional<double> blocked_cost() const { return blocked_ewma_; }
  double durable_cost() const;
  const std::string& ack_path() const { return ack_path_; }
  const PolicyOptions& options() const { return opt_; }

 private:
  struct InFlight {
    std::string name;
    long long version = 0;
    double begin = 0;
    bool final = false;
    long long control_gen = 0;
  };
  // Stats the control file; a new or changed file is a new request (control_gen_++).
  void PollControl();
  void RecordDurable(double seconds);
  void FinalCommitted(const InFlight& f);

  PolicyOptions opt_;
  Env* env_;
  PolicyClock* clock_;
  std::string ack_path_;
  double last_end_;  // monotonic: end of the last successful checkpoint, or construction

  // Control file: what was seen last, and the requests counted so far.
  bool control_seen_ = false;
  FileInfo control_info_;
  std::string control_text_;
  long long control_gen_ = 0;    // requests seen
  long long control_acked_ = 0;  // requests covered by a committed final checkpoint

  bool armed_ = false;             // the next checkpoint begun is final
  std::optional<InFlight> open_;   // begun, not ended
  std::deque<InFlight> inflight_;  // async: handed over, not yet durable
  // Async: versions reported durable before OnEnd registered them (the report can be read
  // while the hand-over is still in progress); the newest few.
  std::deque<std::pair<std::string, long long>> early_durable_;
  bool exit_ = false;
  std::optional<std::pair<std::string, long long>> final_done_;  // the last final committed
  bool ack_written_ = false;

  std::optional<double> blocked_ewma_;
  std::deque<double> durable_;  // the last kCostWindow durable costs
};

}  // namespace cairn
