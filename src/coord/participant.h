// The participant's side of the coordinator protocol (coord/protocol.h): what a rank's
// control thread uses to join its job's coordinator and take part in checkpoint rounds.
// The rank decides what to do in each phase; this class only connects and moves messages.
//
// Contract:
//   - Join() reads DIR/.cairn/coordinator (coord/address_file.h) and retries every 100 ms
//     until timeout_ms: while the file is missing or garbled, names another job key, or
//     names a coordinator that does not accept the connection (a stale file) or refuses
//     the token (another coordinator on a reused port). It then sends HELLO {token, rank,
//     pid, host} and returns once WELCOME arrives. A REFUSED for the rank (out of range,
//     already connected) fails at once (kFailedPrecondition, the coordinator's message).
//     Timing out is kUnavailable naming DIR, the job key and the last reason.
//   - The socket (SOCK_CLOEXEC, TCP_NODELAY) is exposed by fd() so the caller can poll()
//     it in its own loop; it has 10 s send/receive timeouts so a stalled peer cannot hang
//     a Send or a Receive that has started reading a frame.
//   - Receive(timeout_ms) returns the next message, or a Message with an empty type() when
//     none arrived within timeout_ms (0: just poll; -1: no bound). A closed connection is
//     kUnavailable "connection closed".
//   - Not thread-safe: one thread uses an instance (or the caller serializes).
//   - The destructor closes the socket; the coordinator then sees the participant leave.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "coord/address_file.h"
#include "coord/protocol.h"
#include "ipc/message.h"

namespace cairn::coord {

class Participant {
 public:
  static Result<std::unique_ptr<Participant>> Join(const std::string& dir,
                                                   const std::string& job_key, int rank,
                                                   int timeout_ms);
  ~Participant();
  Participant(const Participant&) = delete;
  Participant& operator=(const Participant&) = delete;

  int fd() const { return fd_; }
  int rank() const { return rank_; }
  int participants() const { return participants_; }  // from WELCOME
  const CoordinatorAddress& address() const { return address_; }

  Result<ipc::Message> Receive(int timeout_ms);
  Status Send(const ipc::Message& m);
  // Closes the connection now (the destructor does it too).
  void Close();

  // The answers of a round, as protocol.h defines them.
  Status SendPrepared(uint64_t round, const Counters& state);
  Status SendWant(uint64_t round, uint64_t gen, const Counters& wants);
  Status SendQuiet(uint64_t round, uint64_t gen, const Counters& wants = {});
  Status SendWritten(uint64_t round, const std::string& path, uint64_t bytes,
                     const std::string& hash);
  Status SendFailed(uint64_t round, const std::string& message, Code code = Code::kInternal);

 private:
  Participant(int fd, int rank, int participants, CoordinatorAddress a)
      : fd_(fd), rank_(rank), participants_(participants), address_(std::move(a)) {}
  int fd_ = -1;
  int rank_ = 0;
  int participants_ = 0;
  CoordinatorAddress address_;
};

}  // namespace cairn::coord
