// `cairn job`: runs one segment of a variable-time Slurm job and requeues it until the work
// is done.
//
// Used as `exec cairn job [options] -- COMMAND...` in an sbatch script submitted with
// `--signal=B:USR1@N --requeue --open-mode=append`: `exec` makes this process the batch
// shell, so Slurm's warning signal reaches it. One run of `cairn job` is one segment:
//   1. start: read the job (scontrol show job, squeue %e), the remaining total time (the
//      job's Comment, else --total), remove stale control files, append a "running" record to
//      DIR/.cairn/job-<jobid>.log, start the application as a child:
//        transparent, first segment (or no image yet): cairn launch --ckpt-dir DIR -- COMMAND
//        transparent, after a requeue:                 cairn restart --ckpt-dir DIR
//        library:  COMMAND with CAIRN_JOB_END_TIME and CAIRN_JOB_CONTROL set
//   2. on SIGUSR1, or when less than --lead seconds are left in the allocation (a fallback
//      timer in case the signal never comes): ask for a final checkpoint:
//        transparent: cairn checkpoint --ckpt-dir DIR --wait --kill
//        library: write "checkpoint <unix seconds>\n" to the control file (tmp + rename);
//                 the library then checkpoints, creates <control>.ack and the app exits 0.
//      If the application is still running 2 s before the allocation ends, it is killed and
//      the job resumes from its last periodic checkpoint.
//   3. when the application has ended: decide (job/decision.h): done / failed -> exit with
//      its status; checkpointed with time left -> `scontrol update Comment=<remaining>`,
//      `scontrol requeue`, `scontrol update TimeLimit=<next>`, in that order (see docs/jobs.md
//      for why), then exit; no time left -> out-of-time, exit 0.
// Every step is logged on stderr; the application's stdout is never written to.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "coord/manifest.h"
#include "ipc/message.h"
#include "job/decision.h"
#include "job/segment_log.h"
#include "job/slurm.h"
#include "job/slurm_time.h"
#include "transparent/image.h"
#include "transparent/naming.h"

extern char** environ;

namespace cairn::cli {
namespace {

constexpr const char* kName = "job";
// Checkpointed, but the job could not be requeued (no Slurm, or scontrol failed).
constexpr int kExitNotRequeued = 75;
// Seconds before the end of the allocation at which an application that has not exited
// after the checkpoint request is killed.
constexpr int64_t kHardStopSeconds = 2;

struct Options {
  std::string dir;
  bool transparent = false;
  int64_t total = -1;  // seconds; kSlurmTimeUnlimited; -1 not given
  int64_t max = -1;
  int64_t lead = 60;
  std::string interval;               // "" = not given
  std::vector<std::string> launcher;  // --mpi LAUNCHER: e.g. {"srun"} or {"mpirun", "-np", "4"}
  std::vector<std::string> command;
};

double MonoNow() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t WallNow() { return static_cast<int64_t>(::time(nullptr)); }

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "cairn";
  return std::string(buf, static_cast<size_t>(n));
}

bool ParseSeconds(const std::string& s, int64_t* out) {
  const std::optional<long> v = WholeNumber(s);
  if (!v) return false;
  *out = *v;
  return true;
}

std::string Human(int64_t seconds) {
  if (seconds < 0) return "unknown";
  return job::FormatSlurmTime(seconds);
}

class Logger {
 public:
  explicit Logger(Context& ctx) : ctx_(ctx) {}
  void operator()(const std::string& msg) {
    char ts[32];
    time_t now = ::time(nullptr);
    struct tm tm {};
    ::localtime_r(&now, &tm);
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    ctx_.err << "cairn job [" << ts << "]: " << msg << "\n";
    ctx_.err.flush();
  }

 private:
  Context& ctx_;
};

// Starts argv with the signal mask cleared and the job's signals at their defaults.
Result<pid_t> Spawn(const std::vector<std::string>& argv) {
  return job::SpawnProgram(argv, nullptr, false);
}

int StatusCode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

// Writes `text` to `path` atomically: path.tmp (0600), fsync, rename.
Status WriteAtomically(Env* env, const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  CAIRN_RETURN_IF_ERROR(f.value()->Append(text.data(), text.size()));
  CAIRN_RETURN_IF_ERROR(f.value()->Sync());
  CAIRN_RETURN_IF_ERROR(f.value()->Close());
  CAIRN_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(DirName(path));
}

bool HasImage(Env* env, const std::string& dir) {
  auto names = env->ListDir(dir);
  if (!names.ok()) return false;
  for (const auto& n : names.value()) {
    if (n.ends_with(transparent::naming::kImageSuffix)) return true;
  }
  return false;
}

Result<Options> ParseOptions(const Args& args) {
  Options o;
  o.dir = AbsolutePath(args.Get("ckpt-dir").value_or("."));
  o.transparent = args.Has("transparent");
  if (auto l = args.Get("mpi")) {
    // An MPI job: every rank under cairn (split process); implies --transparent.
    for (const auto& w : ipc::SplitFields(*l, ' ')) {
      if (!w.empty()) o.launcher.push_back(w);
    }
    if (o.launcher.empty()) return Status::InvalidArgument("--mpi needs a launcher, e.g. srun");
    o.transparent = true;
  }
  if (auto t = args.Get("total")) {
    auto v = job::ParseSlurmTime(*t);
    if (!v.ok()) return Status::InvalidArgument("--total: " + v.status().message());
    if (v.value() == 0) return Status::InvalidArgument("--total must be more than 0");
    o.total = v.value();
  }
  if (auto t = args.Get("max")) {
    auto v = job::ParseSlurmTime(*t);
    if (!v.ok()) return Status::InvalidArgument("--max: " + v.status().message());
    if (v.value() == 0) return Status::InvalidArgument("--max must be more than 0");
    o.max = v.value();
  }
  if (auto t = args.Get("lead")) {
    if (!ParseSeconds(*t, &o.lead)) {
      return Status::InvalidArgument("--lead must be a whole number of seconds, got '" + *t + "'");
    }
  }
  if (auto t = args.Get("interval")) {
    int64_t v = 0;
    if (!ParseSeconds(*t, &v)) {
      return Status::InvalidArgument("--interval must be a whole number of seconds, got '" + *t +
                                     "'");
    }
    o.interval = *t;
  }
  o.command = args.positional();
  if (o.command.empty()) {
    return Status::InvalidArgument(
        "missing COMMAND (usage: cairn job [options] -- COMMAND [ARGS...])");
  }
  return o;
}

int Run(const Args& args, Context& ctx) {
  Logger log(ctx);
  auto parsed = ParseOptions(args);
  if (!parsed.ok()) {
    PrintError(ctx, kName, parsed.status().message());
    return kExitUsage;
  }
  const Options& opt = parsed.value();
  Env* env = ctx.env;
  const std::string state_dir = transparent::naming::ControlDir(opt.dir);
  if (Status st = env->CreateDirs(state_dir); !st.ok()) {
    PrintError(ctx, kName, st.ToString());
    return kExitNotFound;
  }
  ::chmod(state_dir.c_str(), 0700);

  const int64_t start_wall = WallNow();
  const double start_mono = MonoNow();
  const char* id_env = std::getenv("SLURM_JOB_ID");
  const bool in_slurm = id_env != nullptr && *id_env != '\0';
  const std::string job_id = in_slurm ? id_env : "local-" + std::to_string(::getpid());
  int64_t segment = 0;
  if (const char* rc = std::getenv("SLURM_RESTART_COUNT"); rc != nullptr && *rc != '\0') {
    segment = std::strtoll(rc, nullptr, 10);
    if (segment < 0) segment = 0;
  }

  // --- what Slurm knows about this job ---
  job::JobInfo info;
  int64_t end_time = -1;
  if (in_slurm) {
    auto q = job::QueryJob(job_id);
    if (q.ok()) {
      info = q.value();
    } else {
      log("warning: cannot read the job from Slurm: " + q.status().message());
    }
    auto e = job::QueryEndTime(job_id);
    if (e.ok()) {
      end_time = e.value();
    } else {
      end_time = info.end_time;
      if (end_time < 0) log("warning: end of the allocation unknown: " + e.status().message());
    }
    if (info.time_limit == job::kSlurmTimeUnlimited) end_time = -1;
  } else {
    log("warning: SLURM_JOB_ID is not set: running once, without requeue");
  }
  int64_t remaining_at_start = opt.total >= 0 ? opt.total : job::kSlurmTimeUnlimited;
  int64_t max_limit = opt.max;
  if (!info.comment.empty()) {
    auto c = job::ParseJobComment(info.comment);
    if (c.ok()) {
      remaining_at_start = c.value().remaining;
      if (max_limit < 0) max_limit = c.value().max;
    } else {
      log("warning: ignoring the job comment: " + c.status().message());
    }
  }
  if (max_limit < 0 && info.time_limit > 0) max_limit = info.time_limit;
  if (info.time_limit > 0 && info.time_limit != job::kSlurmTimeUnlimited &&
      info.time_limit <= opt.lead) {
    log("warning: the time limit (" + Human(info.time_limit) + ") is not longer than --lead (" +
        std::to_string(opt.lead) + " s): the segment can do no work before its checkpoint");
  }

  // --- control files, segment log ---
  const std::string control = JoinPath(state_dir, "job-" + job_id + ".control");
  const std::string ack = control + ".ack";
  for (const std::string& p : {control, ack, control + ".tmp"}) {
    if (Status st = env->RemoveFile(p); !st.ok()) log("warning: " + st.ToString());
  }
  const std::string log_path = job::SegmentLogPath(opt.dir, job_id);
  job::SegmentRecord rec;
  rec.job = job_id;
  rec.segment = segment;
  rec.mode = opt.transparent ? "transparent" : "library";
  rec.action = "running";
  rec.start = start_wall;
  rec.time_limit = info.time_limit == job::kSlurmTimeUnlimited ? -1 : info.time_limit;
  rec.remaining = remaining_at_start == job::kSlurmTimeUnlimited ? -1 : remaining_at_start;
  if (Status st = job::AppendSegmentRecord(log_path, rec); !st.ok()) {
    log("warning: " + st.ToString());
  }

  // --- signals: handled synchronously with sigtimedwait ---
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGUSR1, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&handled, s);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);

  // --- start the application ---
  std::vector<std::string> argv;
  const std::string self = SelfExe();
  std::string how;
  if (!opt.launcher.empty()) {
    auto manifests = coord::ListManifests(opt.dir, env);
    argv = opt.launcher;
    if (segment > 0 && manifests.ok() && !manifests.value().empty()) {
      argv.insert(argv.end(), {self, "restart", "--mpi", "--ckpt-dir", opt.dir});
      if (!opt.interval.empty()) argv.insert(argv.end(), {"--interval", opt.interval});
      how = "restarting the MPI job from the newest manifest in " + opt.dir;
    } else {
      argv.insert(argv.end(), {self, "launch", "--mpi", "--ckpt-dir", opt.dir});
      if (!opt.interval.empty()) argv.insert(argv.end(), {"--interval", opt.interval});
      argv.push_back("--");
      argv.insert(argv.end(), opt.command.begin(), opt.command.end());
      how = segment > 0 ? "no job checkpoint yet: launching the MPI job afresh"
                        : "launching the MPI job";
    }
  } else if (opt.transparent) {
    if (segment > 0 && HasImage(env, opt.dir)) {
      argv = {self, "restart", "--ckpt-dir", opt.dir};
      how = "restarting from the newest image in " + opt.dir;
    } else {
      argv = {self, "launch", "--ckpt-dir", opt.dir};
      if (!opt.interval.empty()) argv.insert(argv.end(), {"--interval", opt.interval});
      argv.push_back("--");
      argv.insert(argv.end(), opt.command.begin(), opt.command.end());
      how = segment > 0 ? "no image yet: launching afresh" : "launching";
    }
  } else {
    argv = opt.command;
    ::setenv("CAIRN_JOB_CONTROL", control.c_str(), 1);
    if (end_time > 0) {
      ::setenv("CAIRN_JOB_END_TIME", std::to_string(end_time).c_str(), 1);
    } else {
      ::unsetenv("CAIRN_JOB_END_TIME");
    }
    if (!opt.interval.empty()) ::setenv("CAIRN_CHECKPOINT_INTERVAL", opt.interval.c_str(), 1);
    how = segment > 0 ? "running again (the application restarts itself)" : "starting";
  }
  log("job " + job_id + " segment " + std::to_string(segment) + " (" + rec.mode + "): " + how +
      "; time limit " + Human(rec.time_limit) + ", allocation ends " +
      (end_time > 0 ? "in " + std::to_string(end_time - start_wall) + " s" : "never/unknown") +
      ", total left " +
      (remaining_at_start == job::kSlurmTimeUnlimited ? "unlimited" : Human(remaining_at_start)));
  auto spawned = Spawn(argv);
  if (!spawned.ok()) {
    log(spawned.status().message());
    rec.action = "failed";
    rec.end = WallNow();
    rec.used = rec.end - start_wall;
    rec.exit_status = 127;
    rec.message = spawned.status().message();
    (void)job::AppendSegmentRecord(log_path, rec);
    return kExitNotFound;
  }
  pid_t app = spawned.value();
  pid_t ckpt = -1;
  int app_status = -1, ckpt_status = -1;
  bool requested = false, interrupted = false;
  double request_mono = -1, ckpt_done_mono = -1;
  std::string trigger;

  auto request_checkpoint = [&](const std::string& why) {
    requested = true;
    trigger = why;
    request_mono = MonoNow();
    log("final checkpoint requested (" + why + ")");
    if (opt.transparent) {
      auto p = Spawn({self, "checkpoint", "--ckpt-dir", opt.dir, "--wait", "--kill"});
      if (p.ok()) {
        ckpt = p.value();
      } else {
        log("cannot start the checkpoint: " + p.status().message());
      }
    } else {
      Status st = WriteAtomically(env, control, "checkpoint " + std::to_string(WallNow()) + "\n");
      if (!st.ok()) log("cannot write the control file: " + st.ToString());
    }
  };

  while (app > 0 || ckpt > 0) {
    // Reap whatever has ended.
    int ws = 0;
    if (app > 0 && ::waitpid(app, &ws, WNOHANG) == app) {
      app_status = StatusCode(ws);
      app = -1;
      if (requested && !opt.transparent) ckpt_done_mono = MonoNow();
      log("application ended with status " + std::to_string(app_status));
    }
    if (ckpt > 0 && ::waitpid(ckpt, &ws, WNOHANG) == ckpt) {
      ckpt_status = StatusCode(ws);
      ckpt = -1;
      ckpt_done_mono = MonoNow();
      if (ckpt_status == 0) {
        log("checkpoint committed in " + std::to_string(ckpt_done_mono - request_mono) + " s");
      } else {
        log("the checkpoint failed (cairn checkpoint status " + std::to_string(ckpt_status) +
            "): the application goes on until the end of the allocation");
      }
    }
    if (app <= 0 && ckpt <= 0) break;
    const int64_t now = WallNow();
    if (!requested && app > 0 && end_time > 0 && now >= end_time - opt.lead) {
      request_checkpoint("timer");
      continue;
    }
    if (requested && app > 0 && end_time > 0 && now >= end_time - kHardStopSeconds) {
      log("the application has not ended " + std::to_string(kHardStopSeconds) +
          " s before the end of the allocation: killing it (it resumes from its last "
          "periodic checkpoint)");
      ::kill(app, SIGKILL);
      if (ckpt > 0) ::kill(ckpt, SIGKILL);
      interrupted = true;
      end_time = -1;  // do not kill again; wait for the children
      continue;
    }
    // Sleep until a signal or the next deadline (at most 1 s: children are reaped above).
    struct timespec ts {
      1, 0
    };
    siginfo_t si;
    int sig = ::sigtimedwait(&handled, &si, &ts);
    if (sig == SIGUSR1) {
      if (!requested && app > 0) {
        request_checkpoint("signal");
      } else {
        log("SIGUSR1 again: ignored (a final checkpoint is already under way)");
      }
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      if (requested) {
        log(std::string("got ") + ::strsignal(sig) +
            ": ignored while the final checkpoint completes");
      } else if (app > 0) {
        log(std::string("got ") + ::strsignal(sig) + ": passing it to the application");
        ::kill(app, sig);
      }
    }
  }

  // --- how did it end? ---
  const bool have_ack = !opt.transparent && env->Exists(ack);
  job::AppEnd end = job::AppEnd::kFailed;
  if (interrupted) {
    end = job::AppEnd::kInterrupted;
  } else if (opt.transparent) {
    if (requested && ckpt_status == 0) {
      end = job::AppEnd::kCheckpointed;
    } else if (requested && ckpt_status != 0 && app_status != 0) {
      end = job::AppEnd::kInterrupted;
    } else {
      end = app_status == 0 ? job::AppEnd::kFinished : job::AppEnd::kFailed;
    }
  } else {
    if (app_status == 0) {
      end = have_ack ? job::AppEnd::kCheckpointed : job::AppEnd::kFinished;
    } else {
      end = job::AppEnd::kFailed;
    }
  }
  if (have_ack) {
    auto a = env->NewRandomAccessFile(ack);
    if (a.ok()) {
      std::string text(std::min<uint64_t>(a.value()->size(), 4096), '\0');
      if (a.value()->ReadAt(0, text.data(), text.size()).ok()) {
        while (!text.empty() && text.back() == '\n') text.pop_back();
        log("the application acknowledged its final checkpoint: '" + text + "'");
        rec.message = text;
      }
    }
    if (!requested) trigger = "app";
  }

  const int64_t used = WallNow() - start_wall;
  job::Decision d = job::Decide(end, app_status < 0 ? 1 : app_status, remaining_at_start, used,
                                opt.lead, max_limit);
  rec.action = d.action;
  rec.end = WallNow();
  rec.used = used;
  rec.trigger = trigger;
  if (request_mono > 0) rec.ckpt_start = request_mono - start_mono;
  if (request_mono > 0 && ckpt_done_mono > 0) rec.ckpt_cost = ckpt_done_mono - request_mono;
  rec.remaining = d.remaining == job::kSlurmTimeUnlimited ? -1 : d.remaining;
  rec.exit_status = app_status;
  if (d.requeue && d.next_limit != job::kSlurmTimeUnlimited) rec.next_limit = d.next_limit;

  if (!d.requeue) {
    if (d.action == "out-of-time") {
      log("the total time is used up (" + std::to_string(d.remaining) + " s left, --lead " +
          std::to_string(opt.lead) +
          " s): not requeueing; the work is "
          "not finished, its last checkpoint is in " +
          opt.dir);
    } else {
      log("application " + std::string(d.action == "done" ? "finished" : "failed") + " (status " +
          std::to_string(app_status) + "): not requeueing");
    }
    if (Status st = job::AppendSegmentRecord(log_path, rec); !st.ok()) {
      log("warning: " + st.ToString());
    }
    return d.exit_code;
  }
  if (!in_slurm) {
    rec.action = "stopped";
    (void)job::AppendSegmentRecord(log_path, rec);
    log("checkpointed; not in a Slurm job, so not requeued");
    return kExitNotRequeued;
  }

  // --- requeue: Comment first (safe while running), then requeue, then TimeLimit (the job is
  // no longer running, so a limit below the elapsed time cannot end it as TIMEOUT). The
  // requeue makes Slurm send SIGTERM to this process: it stays blocked, unread.
  if (Status st = job::AppendSegmentRecord(log_path, rec); !st.ok()) {
    log("warning: " + st.ToString());
  }
  const std::string comment = job::FormatJobComment({d.remaining, max_limit});
  if (Status st = job::UpdateJob(job_id, {"Comment=" + comment}); !st.ok()) {
    log("warning: cannot record the remaining time in the job comment: " + st.message());
  }
  if (Status st = job::RequeueJob(job_id); !st.ok()) {
    log("cannot requeue: " + st.message());
    rec.action = "requeue-failed";
    rec.message = st.message();
    (void)job::AppendSegmentRecord(log_path, rec);
    return kExitNotRequeued;
  }
  // Slurm now sends SIGTERM to every process of the job (this one included: blocked, so it
  // waits). Let it pass first, then update with the tool shielded from it; retry once more
  // in case the signal came late.
  {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    struct timespec wait_term {
      3, 0
    };
    (void)::sigtimedwait(&term, nullptr, &wait_term);
  }
  const std::string limit = "TimeLimit=" + job::FormatSlurmTime(d.next_limit);
  Status updated;
  for (int attempt = 0; attempt < 3; ++attempt) {
    updated = job::UpdateJob(job_id, {limit}, /*shield=*/true);
    if (updated.ok()) break;
    ::usleep(500000);
  }
  if (!updated.ok()) log("warning: cannot set the next time limit: " + updated.message());
  log("requeued: " + Human(d.remaining) + " of the total left, next time limit " +
      Human(d.next_limit));
  return kExitOk;
}

}  // namespace

const Command& JobCommand() {
  static const Command kCommand{
      kName,
      "Run a Slurm job segment: checkpoint before the limit, requeue until done",
      "[--total TIME] [--lead SECONDS] [--ckpt-dir DIR] [--transparent | --mpi LAUNCHER] "
      "[--interval SECONDS] "
      "[--max TIME] -- COMMAND [ARGS...]",
      "Runs COMMAND as one segment of a Slurm job that requeues itself until the work is\n"
      "done. Use it as `exec cairn job ... -- COMMAND` in an sbatch script submitted with\n"
      "--signal=B:USR1@N --requeue --open-mode=append (N >= --lead; Slurm may signal up to\n"
      "a minute early).\n"
      "\n"
      "First segment: starts COMMAND (with --transparent: under `cairn launch`). After a\n"
      "requeue (SLURM_RESTART_COUNT > 0): --transparent restarts the newest image in DIR\n"
      "(`cairn restart`); a library application is simply run again and restarts itself.\n"
      "On SIGUSR1, or when less than --lead seconds of the allocation are left, the\n"
      "application is asked for a final checkpoint (--transparent: `cairn checkpoint --wait\n"
      "--kill`; library: CAIRN_JOB_CONTROL, see docs/jobs.md). Then, if total time is left,\n"
      "the job is requeued with the remaining total in its Comment and the next TimeLimit\n"
      "= min(remaining, original limit). The job's Comment, if set, is the remaining total\n"
      "(a Slurm time, e.g. --comment=4:00:00); else --total; else unlimited.\n"
      "\n"
      "TIME is a Slurm time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED.\n"
      "Each segment is logged to DIR/.cairn/job-<jobid>.log (shown by `cairn ls DIR`);\n"
      "progress goes to stderr, never to stdout.\n"
      "\n"
      "Exit status: the application's (0 when done; 128+N if killed by signal N); 0 after a\n"
      "requeue or when the total time is used up; 75 when checkpointed but not requeued\n"
      "(outside Slurm, or scontrol failed); 2 usage error; 3 the command cannot start.\n",
      {{"total", "TIME", "total run time wanted across all segments (default: unlimited)"},
       {"lead", "SECONDS",
        "checkpoint this long before the allocation ends if no signal came (default 60)"},
       {"ckpt-dir", "DIR", "checkpoint directory: images (--transparent) and .cairn/ (default: .)"},
       {"transparent", nullptr, "checkpoint an unmodified program (cairn launch/restart)"},
       {"mpi", "LAUNCHER",
        "an unmodified MPI program started by LAUNCHER (e.g. srun, or \"mpirun -np 4\"): "
        "LAUNCHER cairn launch --mpi / restart --mpi (docs/mpi.md); implies --transparent"},
       {"interval", "SECONDS",
        "periodic checkpoints: cairn launch --interval, or the library's checkpoint_interval"},
       {"max", "TIME", "the job's original --time (default: its TimeLimit at the first segment)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
