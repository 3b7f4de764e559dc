#include "job/slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/clock.h"
#include "job/slurm_time.h"

extern char** environ;

namespace cairn::job {
namespace {

constexpr int kSlurmTimeoutMs = 60000;

std::string Quote(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t b = s.find_first_not_of(" \n\r\t");
  return b == std::string::npos ? "" : s.substr(b);
}

}  // namespace

Result<pid_t> SpawnProgram(const std::vector<std::string>& argv,
                           const posix_spawn_file_actions_t* actions, bool shield) {
  if (argv.empty()) return Status::InvalidArgument("SpawnProgram: empty command");
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t mask, defaults;
  sigemptyset(&mask);
  sigemptyset(&defaults);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGCHLD, SIGPIPE, SIGHUP}) {
    sigaddset(&defaults, s);
  }
  if (shield) {
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  }
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::NotFound("cannot start '" + argv[0] + "': " + std::strerror(rc));
  return pid;
}

Result<ToolOutput> RunTool(const std::vector<std::string>& argv, int timeout_ms, bool shield) {
  if (argv.empty()) return Status::InvalidArgument("RunTool: empty command");
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return Status::FromErrno("pipe", e);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  auto spawned = SpawnProgram(argv, &fa, shield);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!spawned.ok()) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return Status::NotFound("cannot run '" + Quote(argv) + "': " + spawned.status().message());
  }
  const pid_t pid = spawned.value();
  ToolOutput result;
  const int64_t deadline = NowMs() + timeout_ms;
  bool timed_out = false;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    const int64_t left = deadline - NowMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status::Unavailable("'" + Quote(argv) + "' did not finish within " +
                               std::to_string(timeout_ms / 1000) + " s");
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<std::string> RunToolOk(const std::vector<std::string>& argv, int timeout_ms, bool shield) {
  auto r = RunTool(argv, timeout_ms, shield);
  if (!r.ok()) return r.status();
  if (r.value().exit_status != 0) {
    std::string err = Trimmed(r.value().err);
    return Status::Unavailable("'" + Quote(argv) + "' failed (exit status " +
                               std::to_string(r.value().exit_status) + ")" +
                               (err.empty() ? "" : ": " + err));
  }
  return std::move(r.value().out);
}

Result<int64_t> ParseSlurmTimestamp(std::string_view text) {
  std::string s = Trimmed(std::string(text));
  if (s.empty() || s == "Unknown" || s == "None" || s == "N/A" || s == "(null)") {
    return Status::NotFound("no time given ('" + s + "')");
  }
  struct tm tm {};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') {
    return Status::InvalidArgument("bad Slurm timestamp '" + s +
                                   "' (expected YYYY-MM-DDTHH:MM:SS)");
  }
  tm.tm_isdst = -1;
  time_t t = ::mktime(&tm);
  if (t == static_cast<time_t>(-1)) {
    return Status::InvalidArgument("Slurm timestamp '" + s + "' is not a valid local time");
  }
  return static_cast<int64_t>(t);
}

Result<JobInfo> ParseScontrolJob(const std::string& text) {
  static const char* const kKnown[] = {
      "JobId=",        "JobName=",        "UserId=",           "GroupId=",
      "Priority=",     "Account=",        "JobState=",         "Reason=",
      "Requeue=",      "Restarts=",       "BatchFlag=",        "ExitCode=",
      "RunTime=",      "TimeLimit=",      "TimeMin=",          "SubmitTime=",
      "EligibleTime=", "StartTime=",      "EndTime=",          "Deadline=",
      "Partition=",    "NodeList=",       "Comment=",          "AccrueTime=",
      "SuspendTime=",  "LastSchedEval=",  "Command=",          "WorkDir=",
      "StdErr=",       "StdIn=",          "StdOut=",           "Power=",
      "QOS=",          "Nice=",           "MCS_label=",        "Dependency=",
      "Reboot=",       "SecsPreSuspend=", "Scheduler=",        "AllocNode:Sid=",
      "ReqNodeList=",  "ExcNodeList=",    "BatchHost=",        "NumNodes=",
      "NumCPUs=",      "NumTasks=",       "CPUs/Task=",        "ReqB:S:C:T=",
      "TRES=",         "Socks/Node=",     "NtasksPerN:B:S:C=", "CoreSpec=",
      "MinCPUsNode=",  "MinMemoryNode=",  "MinTmpDiskNode=",   "Features=",
      "DelayBoot=",    "OverSubscribe=",  "Contiguous=",       "Licenses=",
      "Network=",      "MailUser=",       "MailType="};
  // Find every " KEY=" boundary of a known key; values run up to the next boundary.
  std::vector<std::pair<size_t, std::string>> starts;  // value start, key
  for (const char* k : kKnown) {
    const std::string key(k);
    size_t pos = 0;
    while ((pos = text.find(key, pos)) != std::string::npos) {
      if (pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n' || text[pos - 1] == '\t') {
        starts.emplace_back(pos, key.substr(0, key.size() - 1));
      }
      pos += key.size();
    }
  }
  std::sort(starts.begin(), starts.end());
  JobInfo info;
  bool have_id = false;
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t vstart = starts[i].first + starts[i].second.size() + 1;
    const size_t vend = i + 1 < starts.size() ? starts[i + 1].first : text.size();
    std::string value = Trimmed(text.substr(vstart, vend - vstart));
    const std::string& key = starts[i].second;
    if (key == "JobId") {
      info.job_id = value;
      have_id = true;
    } else if (key == "JobState") {
      info.state = value;
    } else if (key == "Restarts") {
      info.restarts = std::strtoll(value.c_str(), nullptr, 10);
    } else if (key == "Comment") {
      info.comment = value == "(null)" ? "" : value;
    } else if (key == "TimeLimit") {
      auto t = ParseSlurmTime(value);
      if (t.ok()) info.time_limit = t.value();
    } else if (key == "StartTime") {
      auto t = ParseSlurmTimestamp(value);
      if (t.ok()) info.start_time = t.value();
    } else if (key == "EndTime") {
      auto t = ParseSlurmTimestamp(value);
      if (t.ok()) info.end_time = t.value();
    }
  }
  if (!have_id) {
    return Status::InvalidArgument("unexpected 'scontrol show job' output (no JobId=): '" +
                                   Trimmed(text).substr(0, 200) + "'");
  }
  return info;
}

Result<JobInfo> QueryJob(const std::string& job_id) {
  auto out = RunToolOk({"scontrol", "show", "job", "-o", job_id}, kSlurmTimeoutMs);
  if (!out.ok()) return out.status();
  return ParseScontrolJob(out.value());
}

Result<int64_t> QueryEndTime(const std::string& job_id) {
  auto out = RunToolOk({"squeue", "-h", "-j", job_id, "-o", "%e"}, kSlurmTimeoutMs);
  if (!out.ok()) return out.status();
  return ParseSlurmTimestamp(out.value());
}

Status RequeueJob(const std::string& job_id) {
  auto out = RunToolOk({"scontrol", "requeue", job_id}, kSlurmTimeoutMs);
  return out.ok() ? Status::Ok() : out.status();
}

Status UpdateJob(const std::string& job_id, const std::vector<std::string>& assignments,
                 bool shield) {
  std::vector<std::string> argv = {"scontrol", "update", "JobId=" + job_id};
  argv.insert(argv.end(), assignments.begin(), assignments.end());
  auto out = RunToolOk(argv, kSlurmTimeoutMs, shield);
  return out.ok() ? Status::Ok() : out.status();
}

}  // namespace cairn::job
