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
  std::unique_ptr<Participant> joined;
  Status st = FindCoordinator(
      dir, job_key, timeout_ms, [&](const CoordinatorAddress& a, int left) -> Status {
        const std::string where = a.host + ":" + std::to_string(a.port);
        auto fd = ipc::TcpConnect(a.host, a.port, std::min(left, 2000));
        if (!fd.ok()) return Status::Unavailable(fd.status().message());
        (void)ipc::SetIoTimeout(fd.value(), kIoTimeoutMs);
        ipc::Message hello(kHello);
        hello.Add(kFToken, a.token)
            .Add(kFRank, rank)
            .Add(kFPid, static_cast<long long>(::getpid()))
            .Add(kFHost, HostName());
        Status sent = ipc::SendMessage(fd.value(), hello);
        Result<ipc::Received> in =
            Status::Unavailable("no WELCOME from the coordinator at " + where);
        if (sent.ok()) {
          auto ready = ipc::WaitReadable(fd.value(), left);
          if (ready.ok() && ready.value()) in = ipc::RecvMessage(fd.value());
        } else {
          in = sent;
        }
        if (!in.ok()) {
          ::close(fd.value());
          return Status::Unavailable(in.status().message());
        }
        const ipc::Message& m = in.value().msg;
        if (m.type() == kWelcome) {
          const int n = static_cast<int>(m.GetInt(kFParticipants, 0));
          log::Debug("rank ", rank, " joined the coordinator at ", where);
          joined.reset(new Participant(fd.value(), rank, n, a));
          return Status::Ok();
        }
        ::close(fd.value());
        const std::string msg = m.GetOr(kFMessage, "unexpected reply " + m.type());
        if (m.type() == kRefused && m.GetOr(kFReason, "") != kRefusedToken) {
          return Status::FailedPrecondition("the coordinator of job '" + job_key +
                                            "' refused rank " + std::to_string(rank) + ": " + msg);
        }
        return Status::Unavailable("refused: " + msg);
      });
  if (!st.ok()) return st;
  return joined;
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
