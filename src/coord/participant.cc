#include "coord/participant.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"

namespace cairn::coord {
namespace {

constexpr int kRetryMs = 100;
constexpr int kIoTimeoutMs = 10000;

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "?";
  return buf;
}

}  // namespace

Result<std::unique_ptr<Participant>> Participant::Join(const std::string& dir,
                                                       const std::string& job_key, int rank,
                                                       int timeout_ms) {
  const int64_t deadline = NowMs() + std::max(0, timeout_ms);
  std::string last = "no attempt";
  for (bool first = true;; first = false) {
    if (!first) {
      const int64_t left = deadline - NowMs();
      if (left <= 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(kRetryMs, left)));
    }
    auto a = ReadAddressFile(dir);
    if (!a.ok()) {
      last = a.status().message();
      continue;
    }
    if (a.value().job_key != job_key) {
      last = "'" + AddressFilePath(dir) + "' names job '" + a.value().job_key + "'";
      continue;
    }
    const int left = static_cast<int>(std::max<int64_t>(1, deadline - NowMs()));
    auto fd = ipc::TcpConnect(a.value().host, a.value().port, std::min(left, 2000));
    if (!fd.ok()) {
      last = fd.status().message();
      continue;
    }
    (void)ipc::SetIoTimeout(fd.value(), kIoTimeoutMs);
    ipc::Message hello(kHello);
    hello.Add(kFToken, a.value().token)
        .Add(kFRank, rank)
        .Add(kFPid, static_cast<long long>(::getpid()))
        .Add(kFHost, HostName());
    Status st = ipc::SendMessage(fd.value(), hello);
    Result<ipc::Received> in = Status::Unavailable("unset");
    if (st.ok()) {
      const int wait = static_cast<int>(std::max<int64_t>(1, deadline - NowMs()));
      auto ready = ipc::WaitReadable(fd.value(), wait);
      if (!ready.ok()) {
        st = ready.status();
      } else if (!ready.value()) {
        st = Status::Unavailable("no WELCOME from the coordinator at " + a.value().host + ":" +
                                 std::to_string(a.value().port));
      } else {
        in = ipc::RecvMessage(fd.value());
        if (!in.ok()) st = in.status();
      }
    }
    if (!st.ok()) {
      ::close(fd.value());
      last = st.message();
      continue;
    }
    const ipc::Message& m = in.value().msg;
    if (m.type() == kWelcome) {
      const int n = static_cast<int>(m.GetInt(kFParticipants, 0));
      log::Debug("rank ", rank, " joined the coordinator at ", a.value().host, ":", a.value().port);
      return std::unique_ptr<Participant>(new Participant(fd.value(), rank, n, a.value()));
    }
    ::close(fd.value());
    const std::string msg = m.GetOr(kFMessage, "unexpected reply " + m.type());
    if (m.type() == kRefused && m.GetOr(kFReason, "") != kRefusedToken) {
      return Status::FailedPrecondition("the coordinator of job '" + job_key + "' refused rank " +
                                        std::to_string(rank) + ": " + msg);
    }
    last = "refused: " + msg;
  }
  return Status::Unavailable("no coordinator for job '" + job_key + "' under '" + dir +
                             "' within " + std::to_string(timeout_ms) + " ms (" + last + ")");
}

Participant::~Participant() { Close(); }

void Participant::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<ipc::Message> Participant::Receive(int timeout_ms) {
  if (fd_ < 0) return Status::Unavailable("connection closed");
  auto ready = ipc::WaitReadable(fd_, timeout_ms);
  if (!ready.ok()) return ready.status();
  if (!ready.value()) return ipc::Message();
  auto in = ipc::RecvMessage(fd_);
  if (!in.ok()) return in.status();
  if (in.value().fd >= 0) ::close(in.value().fd);
  return std::move(in.value().msg);
}

Status Participant::Send(const ipc::Message& m) {
  if (fd_ < 0) return Status::Unavailable("connection closed");
  return ipc::SendMessage(fd_, m);
}

Status Participant::SendPrepared(uint64_t round, const Counters& state) {
  ipc::Message m(kPrepared);
  m.Add(kFRound, static_cast<long long>(round)).Add(kFState, FormatCounters(state));
  return Send(m);
}

Status Participant::SendWant(uint64_t round, uint64_t gen, const Counters& wants) {
  ipc::Message m(kWant);
  m.Add(kFRound, static_cast<long long>(round))
      .Add(kFGen, static_cast<long long>(gen))
      .Add(kFWants, FormatCounters(wants));
  return Send(m);
}

Status Participant::SendQuiet(uint64_t round, uint64_t gen, const Counters& wants) {
  ipc::Message m(kQuiet);
  m.Add(kFRound, static_cast<long long>(round)).Add(kFGen, static_cast<long long>(gen));
  if (!wants.empty()) m.Add(kFWants, FormatCounters(wants));
  return Send(m);
}

Status Participant::SendWritten(uint64_t round, const std::string& path, uint64_t bytes,
                                const std::string& hash) {
  ipc::Message m(kWritten);
  m.Add(kFRound, static_cast<long long>(round))
      .Add(kFPath, path)
      .Add(kFBytes, static_cast<long long>(bytes))
      .Add(kFHash, hash);
  return Send(m);
}

Status Participant::SendFailed(uint64_t round, const std::string& message, Code code) {
  ipc::Message m(kFailed);
  m.Add(kFRound, static_cast<long long>(round))
      .Add(kFMessage, message)
      .Add(kFCode, static_cast<long long>(code));
  return Send(m);
}

}  // namespace cairn::coord
