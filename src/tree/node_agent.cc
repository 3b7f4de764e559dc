// See node_agent.h.
#include "tree/node_agent.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "coord/participant.h"
#include "coord/protocol.h"
#include "tree/levels.h"
#include "tree/node_l2.h"
#include "tree/round.h"

namespace cairn::tree {
namespace {

constexpr int kPollMs = 500;
constexpr int64_t kJoinStepMs = 2000;  // between looks at whether the node's job is over

bool Alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

bool NodeJobOver(const NodeAgentOptions& o) {
  return !Alive(o.watch_pid) && HeldLineageLocks(o.node_dir, o.env) == 0;
}

class Agent {
 public:
  Agent(const NodeAgentOptions& o, std::unique_ptr<coord::Participant> p)
      : o_(o), p_(std::move(p)) {}

  // Until the node's job is over (true) or the coordinator is gone (false, logged).
  bool Serve() {
    for (;;) {
      auto in = p_->Receive(kPollMs);
      if (!in.ok()) {
        if (round_) (void)round_->Abort(Status::Ok());
        round_.reset();
        log::Info("node agent ", o_.node, ": the coordinator is gone (", in.status().message(),
                  ")");
        return false;
      }
      const ipc::Message& m = in.value();
      if (m.type().empty()) {
        if (!round_ && NodeJobOver(o_)) {
          log::Info("node agent ", o_.node, ": no process of the node runs any more; leaving");
          return true;
        }
        continue;
      }
      const uint64_t r = static_cast<uint64_t>(m.GetInt(coord::kFRound, 0));
      if (m.type() == coord::kPrepare) {
        OnPrepare(r, m.GetOr(coord::kFHosts, ""));
      } else if (m.type() == coord::kTargets) {
        if (round_ && r == round_number_) {
          (void)p_->SendQuiet(r, static_cast<uint64_t>(m.GetInt(coord::kFGen, 0)));
        }
      } else if (m.type() == coord::kDrain) {
        if (round_ && r == round_number_) OnDrain(r);
      } else if (m.type() == coord::kCommitted) {
        if (round_ && r == round_number_) {
          round_->Resume(m.GetInt(coord::kFKill, 0) != 0);
          round_.reset();
          log::Info("node agent ", o_.node, ": checkpoint ", r, " committed");
          // A node launched with --config: its levels say what follows each commit.
          if (auto levels = LoadLevels(o_.node_dir, o_.env); levels.ok()) {
            Flush(levels.value());
            Protect(levels.value().config, r);
          }
        }
      } else if (m.type() == coord::kAbort) {
        if (round_ && r == round_number_) {
          (void)round_->Abort(Status::Ok());
          round_.reset();
          log::Warn("node agent ", o_.node, ": checkpoint ", r,
                    " aborted: ", m.GetOr(coord::kFReason, "?"));
        }
      }
    }
  }

 private:
  void OnPrepare(uint64_t r, const std::string& hosts) {
    if (round_) (void)round_->Abort(Status::Ok());  // a new round: the old one is off
    round_.reset();
    round_number_ = r;
    RoundOptions ro;
    ro.dir = o_.node_dir;
    ro.timeout_ms = o_.round_timeout_ms;
    ro.keep = o_.keep;
    ro.always_tree = true;
    ro.job_hosts = hosts;
    ro.env = o_.env;
    auto stopped = TreeRound::Stop(ro);
    if (!stopped.ok()) {
      (void)p_->SendFailed(r, "node " + std::to_string(o_.node) + ": " + stopped.status().message(),
                           stopped.status().code());
      return;
    }
    round_ = std::move(stopped.value());
    if (Status st = p_->SendPrepared(r, {}); !st.ok()) {
      (void)round_->Abort(st);
      round_.reset();
    }
  }

  void OnDrain(uint64_t r) {
    auto written = round_->Write();  // (a failure has resumed the processes)
    if (!written.ok()) {
      round_.reset();
      (void)p_->SendFailed(r, "node " + std::to_string(o_.node) + ": " + written.status().message(),
                           written.status().code());
      return;
    }
    auto size = o_.env->Stat(written.value().manifest);
    Status st = size.ok() ? p_->SendWritten(r, written.value().manifest, size.value().size, "-")
                          : size.status();
    if (!st.ok()) {
      (void)round_->Abort(st);
      round_.reset();
      (void)p_->SendFailed(r, "node " + std::to_string(o_.node) + ": " + st.message(), st.code());
    }
  }

  // A node launched with --config: its backend copies what is committed to persistent (the
  // processes have resumed; a failure is logged, and the next commit's flush retries it).
  void Flush(const Levels& levels) {
    if (levels.persistent.empty()) return;
    if (Status st = RequestFlush(levels, o_.backend_binary, false, o_.env); !st.ok()) {
      log::Warn("node agent ", o_.node, ": ", st.ToString());
    }
  }

  // A node launched with --config and ec_scheme != none: the agents of all nodes encode the
  // job checkpoint's node parts across their sets (L2). Every agent gets COMMITTED, so every
  // one runs this; a failure is logged (the checkpoint stays on scratch and persistent).
  void Protect(const Config& cfg, uint64_t r) {
    if (cfg.ec_scheme == "none" ||
        (cfg.ec_every > 0 && r % static_cast<uint64_t>(cfg.ec_every) != 0))
      return;
    const int64_t start = NowMs();
    Status st = EncodeNodeParts(cfg, o_.node_dir, o_.job_dir, o_.job_key, o_.node, r,
                                o_.round_timeout_ms, o_.env);
    if (st.ok()) {
      log::Info("node agent ", o_.node, ": checkpoint ", r, " protected by ", cfg.ec_scheme,
                " across the nodes in ", NowMs() - start, " ms");
    } else {
      log::Warn("node agent ", o_.node, ": checkpoint ", r, " has no ", cfg.ec_scheme,
                " protection: ", st.ToString());
    }
  }

  NodeAgentOptions o_;
  std::unique_ptr<coord::Participant> p_;
  std::unique_ptr<TreeRound> round_;
  uint64_t round_number_ = 0;
};

}  // namespace

Status RunNodeAgent(const NodeAgentOptions& options) {
  for (;;) {
    // The coordinator may still count this node's previous agent (a restart right after a
    // failure): it is refused as a duplicate until that one has left. Joining stops when the
    // node's job is over (a program that could not even start).
    const int64_t deadline = NowMs() + options.join_timeout_ms;
    Result<std::unique_ptr<coord::Participant>> p = Status::Unavailable("unset");
    for (;;) {
      if (NodeJobOver(options)) return Status::Ok();
      p = coord::Participant::Join(
          options.job_dir, options.job_key, options.node,
          static_cast<int>(std::clamp<int64_t>(deadline - NowMs(), 1, kJoinStepMs)));
      if (p.ok() || NowMs() >= deadline) break;
      if (p.status().code() == Code::kFailedPrecondition) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (!p.ok()) return p.status().Annotate("node " + std::to_string(options.node));
    log::Info("node agent ", options.node, ": joined the coordinator at ",
              p.value()->address().host, ":", p.value()->address().port, " for '", options.node_dir,
              "'");
    Agent agent(options, std::move(p.value()));
    if (agent.Serve() || NodeJobOver(options)) return Status::Ok();
    // The coordinator went away while the node runs on (an old one that ended, or a new
    // coordinator of a restart replaced it): join the one the job directory names now.
  }
}

}  // namespace cairn::tree
