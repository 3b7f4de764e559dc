#include "client/checkpoint_policy.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "common/log.h"

namespace cairn {
namespace {

class SystemPolicyClock final : public PolicyClock {
 public:
  double Monotonic() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  double Unix() override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Bytes of the control file read for the log; the rest is ignored.
constexpr uint64_t kControlReadMax = 4096;

std::string Seconds(double s) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(s < 10 ? 2 : 0);
  os << s << " s";
  return os.str();
}

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace

PolicyClock* PolicyClock::Default() {
  static PolicyClock* c = new SystemPolicyClock();
  return c;
}

void ReadJobEnvironment(PolicyOptions* o, const std::function<const char*(const char*)>& get) {
  auto env = [&](const char* name) -> const char* {
    const char* v = get ? get(name) : std::getenv(name);
    return v == nullptr || *v == 0 ? nullptr : v;
  };
  for (const char* name : {"CAIRN_JOB_END_TIME", "SLURM_JOB_END_TIME"}) {
    const char* v = env(name);
    if (v == nullptr) continue;
    std::string_view s(v);
    long long t = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), t);
    if (ec != std::errc() || ptr != s.data() + s.size() || t <= 0) {
      log::Warn("environment variable ", name, " = '", s,
                "' is not a Unix time in seconds (a positive integer); ignored");
      continue;  // a malformed CAIRN_ value lets SLURM_JOB_END_TIME count
    }
    o->end_time = t;
    break;
  }
  if (const char* v = env("CAIRN_JOB_CONTROL")) {
    if (v[0] != '/') {
      log::Warn("environment variable CAIRN_JOB_CONTROL = '", v,
                "' is not an absolute path; ignored");
    } else {
      o->control = v;
    }
  }
}

double DalyInterval(double cost, double mtbf) {
  if (!(cost > 0) || !(mtbf > 0)) return 0;
  if (cost >= 2 * mtbf) return mtbf;
  double t =
      std::sqrt(2 * cost * mtbf) * (1 + std::sqrt(cost / (2 * mtbf)) / 3 + cost / (18 * mtbf)) -
      cost;
  return std::max(t, 0.0);
}

const char* DueReasonName(DueReason r) {
  switch (r) {
    case DueReason::kNone:
      return "none";
    case DueReason::kInterval:
      return "interval";
    case DueReason::kDaly:
      return "daly";
    case DueReason::kControl:
      return "control";
    case DueReason::kEndTime:
      return "end time";
  }
  return "unknown";
}

CheckpointPolicy::CheckpointPolicy(PolicyOptions o, Env* env, PolicyClock* clock)
    : opt_(std::move(o)), env_(env), clock_(clock), last_end_(clock->Monotonic()) {
  if (!opt_.control.empty()) ack_path_ = opt_.control + ".ack";
}

double CheckpointPolicy::durable_cost() const {
  if (durable_.empty()) return kDefaultCost;
  return *std::max_element(durable_.begin(), durable_.end());
}

bool CheckpointPolicy::final_in_progress() const {
  if (open_ && open_->final) return true;
  for (const auto& f : inflight_) {
    if (f.final) return true;
  }
  return false;
}

void CheckpointPolicy::PollControl() {
  if (opt_.control.empty()) return;
  auto info = env_->Stat(opt_.control);
  if (!info.ok()) {
    if (info.status().code() != Code::kNotFound) {
      log::Warn("cannot check the job control file: ", info.status().ToString());
    }
    return;
  }
  const FileInfo& now = info.value();
  if (control_seen_ && now.inode == control_info_.inode && now.size == control_info_.size &&
      now.mtime_ns == control_info_.mtime_ns) {
    return;
  }
  std::string text;
  auto f = env_->NewRandomAccessFile(opt_.control);
  if (f.ok()) {
    text.resize(static_cast<size_t>(std::min<uint64_t>(f.value()->size(), kControlReadMax)));
    if (!f.value()->ReadAt(0, text.data(), text.size()).ok()) text.clear();
  }
  const bool first = !control_seen_;
  const bool changed = first || text != control_text_ || now.mtime_ns != control_info_.mtime_ns ||
                       now.inode != control_info_.inode;
  control_seen_ = true;
  control_info_ = now;
  control_text_ = text;
  if (!changed) return;
  ++control_gen_;
  log::Info("job control file ", opt_.control, first ? " appeared" : " changed", ": '",
            FirstLine(text), "'");
}

NeedDecision CheckpointPolicy::Evaluate() {
  NeedDecision d;
  PollControl();
  const bool final_busy = final_in_progress();
  const double now = clock_->Monotonic();
  const double since = now - last_end_;
  if (!final_busy && control_gen_ > control_acked_) {
    d.reason = DueReason::kControl;
    d.why = "cairn job asked for a final checkpoint (" + opt_.control + ": '" +
            FirstLine(control_text_) + "')";
    return d;
  }
  if (!final_busy && !exit_ && opt_.end_time) {
    const double left = static_cast<double>(*opt_.end_time) - clock_->Unix();
    const double need = durable_cost() + static_cast<double>(opt_.end_margin);
    if (left <= need) {
      d.reason = DueReason::kEndTime;
      d.why = "the job ends in " + Seconds(std::max(left, 0.0)) + ", within the checkpoint cost " +
              Seconds(durable_cost()) + (durable_.empty() ? " (default, not measured yet)" : "") +
              " plus the margin " + Seconds(static_cast<double>(opt_.end_margin));
      return d;
    }
  }
  if (opt_.interval > 0 && since >= static_cast<double>(opt_.interval)) {
    d.reason = DueReason::kInterval;
    d.why = Seconds(since) + " since the last checkpoint >= checkpoint_interval " +
            Seconds(static_cast<double>(opt_.interval));
    return d;
  }
  if (opt_.mtbf > 0 && blocked_ewma_) {
    const double t = DalyInterval(*blocked_ewma_, static_cast<double>(opt_.mtbf));
    if (since >= t) {
      d.reason = DueReason::kDaly;
      d.why = Seconds(since) + " since the last checkpoint >= Daly's optimum " + Seconds(t) +
              " (cost " + Seconds(*blocked_ewma_) + ", mtbf " +
              Seconds(static_cast<double>(opt_.mtbf)) + ")";
      return d;
    }
  }
  return d;
}

void CheckpointPolicy::Arm(DueReason reason) {
  if (IsFinal(reason) && !final_in_progress()) armed_ = true;
}

void CheckpointPolicy::OnBegin(const std::string& name, long long version) {
  InFlight f;
  f.name = name;
  f.version = version;
  f.begin = clock_->Monotonic();
  f.final = armed_;
  f.control_gen = control_gen_;
  armed_ = false;
  open_ = std::move(f);
}

void CheckpointPolicy::OnEnd(bool ok, bool async) {
  if (!open_) return;
  InFlight f = std::move(*open_);
  open_.reset();
  if (!ok) {
    if (f.final) {
      log::Info("the final checkpoint '", f.name, "' version ", f.version,
                " failed; a final checkpoint is still needed");
    }
    return;  // armed_ stays off: the next Evaluate asks again while the cause stands
  }
  const double now = clock_->Monotonic();
  const double blocked = std::max(now - f.begin, 0.0);
  blocked_ewma_ = blocked_ewma_ ? 0.5 * *blocked_ewma_ + 0.5 * blocked : blocked;
  last_end_ = now;
  if (async) {
    auto early =
        std::find(early_durable_.begin(), early_durable_.end(), std::make_pair(f.name, f.version));
    if (early == early_durable_.end()) {
      inflight_.push_back(std::move(f));
      return;
    }
    early_durable_.erase(early);
  }
  RecordDurable(blocked);
  if (f.final) FinalCommitted(f);
}

void CheckpointPolicy::OnDurable(const std::string& name, long long version) {
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
    if (it->name != name || it->version != version) continue;
    InFlight f = std::move(*it);
    inflight_.erase(it);
    RecordDurable(std::max(clock_->Monotonic() - f.begin, 0.0));
    if (f.final) FinalCommitted(f);
    return;
  }
  if (open_ && open_->name == name && open_->version == version) {
    early_durable_.emplace_back(name, version);
    while (early_durable_.size() > kCostWindow) early_durable_.pop_front();
  }
}

void CheckpointPolicy::OnOutstandingFailed() {
  for (const auto& f : inflight_) {
    if (f.final) {
      log::Info("the final checkpoint '", f.name, "' version ", f.version,
                " was not committed by the async backend; a final checkpoint is still needed");
    }
  }
  inflight_.clear();
}

void CheckpointPolicy::RecordDurable(double seconds) {
  durable_.push_back(seconds);
  while (durable_.size() > kCostWindow) durable_.pop_front();
}

void CheckpointPolicy::FinalCommitted(const InFlight& f) {
  control_acked_ = std::max(control_acked_, f.control_gen);
  exit_ = true;
  final_done_ = std::make_pair(f.name, f.version);
  ack_written_ = false;
  log::Info("final checkpoint '", f.name, "' version ", f.version,
            " committed: the application should exit");
  if (opt_.write_ack) WriteAck();
}

void CheckpointPolicy::WriteAck() {
  if (ack_path_.empty() || !final_done_ || ack_written_) return;
  const std::string text =
      "exit " + final_done_->first + " " + std::to_string(final_done_->second) + "\n";
  const std::string tmp = ack_path_ + ".tmp";
  Status st;
  auto file = env_->NewWritableFile(tmp);
  if (!file.ok()) {
    st = file.status();
  } else {
    st = file.value()->Append(text.data(), text.size());
    if (st.ok()) st = file.value()->Sync();
    Status closed = file.value()->Close();
    if (st.ok()) st = closed;
  }
  if (st.ok()) st = env_->Rename(tmp, ack_path_);
  if (st.ok()) st = env_->SyncDir(DirName(ack_path_));
  if (!st.ok()) {
    (void)env_->RemoveFile(tmp);
    log::Warn("cannot write the job acknowledgement ", ack_path_, ": ", st.ToString());
    return;
  }
  ack_written_ = true;
  log::Info("wrote ", ack_path_, ": ", text.substr(0, text.size() - 1));
}

}  // namespace cairn
