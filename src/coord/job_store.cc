// See job_store.h.
#include "coord/job_store.h"

#include <unistd.h>

#include <optional>

#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"

namespace cairn::coord {
namespace {

constexpr int kConnectMs = 2000;
constexpr int kIoTimeoutMs = 10000;

// One request and its answer on a new connection; the answer may take up to wait_ms.
Result<ipc::Message> Ask(const CoordinatorAddress& a, const ipc::Message& request, int wait_ms,
                         std::string* local_host = nullptr) {
  auto fd = ipc::TcpConnect(a.host, a.port, kConnectMs);
  if (!fd.ok()) return fd.status();
  (void)ipc::SetIoTimeout(fd.value(), kIoTimeoutMs);
  if (local_host != nullptr) *local_host = ipc::LocalAddress(fd.value());
  Status st = ipc::SendMessage(fd.value(), request);
  Result<ipc::Message> out = Status::Unavailable("unset");
  if (st.ok()) {
    auto ready = ipc::WaitReadable(fd.value(), wait_ms + kIoTimeoutMs);
    if (!ready.ok()) {
      out = ready.status();
    } else if (!ready.value()) {
      out = Status::Unavailable("no answer from the coordinator at " + a.host + ":" +
                                std::to_string(a.port));
    } else {
      auto in = ipc::RecvMessage(fd.value());
      if (!in.ok()) {
        out = Status::Unavailable("the coordinator at " + a.host + ":" + std::to_string(a.port) +
                                  ": " + in.status().message());
      } else {
        if (in.value().fd >= 0) ::close(in.value().fd);
        out = std::move(in.value().msg);
      }
    }
  } else {
    out = st;
  }
  ::close(fd.value());
  return out;
}

// DONE {code, message} as a Status.
Status DoneStatus(const ipc::Message& m) {
  if (m.type() == kRefused) {
    return Status::FailedPrecondition("refused: " + m.GetOr(kFMessage, ""));
  }
  if (m.type() != kDone) return Status::Internal("unexpected reply " + m.type());
  const long long code = m.GetInt(kFCode, static_cast<long long>(Code::kInternal));
  return code == 0 ? Status::Ok() : Status::FromCode(code, m.GetOr(kFMessage, ""));
}

}  // namespace

Result<JobStore> JobStore::Open(const std::string& dir, const std::string& job_key,
                                int timeout_ms) {
  std::optional<JobStore> found;
  Status st =
      FindCoordinator(dir, job_key, timeout_ms, [&](const CoordinatorAddress& a, int) -> Status {
        ipc::Message probe(kGet);
        probe.Add(kFToken, a.token).Add(kFKey, "-").Add(kFWaitMs, 0LL);
        std::string local;
        auto answer = Ask(a, probe, 0, &local);
        if (!answer.ok()) return Status::Unavailable(answer.status().message());
        if (answer.value().type() == kRefused) {
          return Status::Unavailable("refused: " + answer.value().GetOr(kFMessage, ""));
        }
        found = JobStore(a, local);
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return *found;
}

Status JobStore::Put(const std::string& key, const std::string& value) const {
  ipc::Message m(kPut);
  m.Add(kFToken, address_.token).Add(kFKey, key).Add(kFValue, value);
  auto answer = Ask(address_, m, 0);
  if (!answer.ok()) return answer.status().Annotate("storing '" + key + "'");
  return DoneStatus(answer.value());
}

Result<std::string> JobStore::Get(const std::string& key, int wait_ms) const {
  ipc::Message m(kGet);
  m.Add(kFToken, address_.token).Add(kFKey, key).Add(kFWaitMs, static_cast<long long>(wait_ms));
  auto answer = Ask(address_, m, wait_ms);
  if (!answer.ok()) return answer.status().Annotate("reading '" + key + "'");
  if (answer.value().type() == kValue) return answer.value().GetOr(kFValue, "");
  Status st = DoneStatus(answer.value());
  if (st.ok()) return Status::Internal("reading '" + key + "': no value in the answer");
  return st;
}

}  // namespace cairn::coord
