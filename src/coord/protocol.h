// The job coordinator's protocol: message types and field names (ipc::Message over TCP,
// framed as in ipc/wire.h). One coordinator per job (coord/coordinator.h) talks to every
// participant (a rank, through coord/participant.h) and to clients (`cairn checkpoint`,
// `cairn status`). The coordinator's address is in DIR/.cairn/coordinator
// (coord/address_file.h); every first message carries its `token`.
//
// Participant <-> coordinator (-> : participant to coordinator, <- : the reverse):
//   -> HELLO      {token, rank, pid, host}
//   <- WELCOME    {participants}            or  REFUSED {message, reason}, then close;
//                                              reason = token | rank | duplicate
//   One checkpoint round k (every message carries round=k):
//   <- PREPARE    {round}
//   -> PREPARED   {round, state}            state: counters "key=value,..." (see below)
//   <- TARGETS    {round, gen, targets}     targets: per key the max over participants
//   -> WANT       {round, gen, wants}       (only while not quiet) the rank cannot reach the
//                                              targets: a thread waits to start collective
//                                              number v on key k, beyond its target (wants:
//                                              counters k=v). The coordinator raises those
//                                              targets (max) and, if any grew, sends TARGETS
//                                              again with gen+1; QUIETs of older gens no longer
//                                              count. Targets only grow within a round.
//   -> QUIET      {round, gen[, wants]}     reached the targets of `gen`, nothing in flight;
//                                              a QUIET of another gen than the newest is ignored.
//                                              wants: what its threads wait to start beyond the
//                                              targets; when other ranks stay not quiet for
//                                              200 ms (they may wait for a message sent after
//                                              such a collective), the coordinator raises the
//                                              targets to those wants too (gen+1)
//   <- DRAIN      {round}                   write the image now (every rank is QUIET at the
//                                              newest gen)
//   -> WRITTEN    {round, path, bytes, hash}  image durable; path absolute
//   <- COMMITTED  {round, version, manifest, kill}  manifest committed (kill=1: exit now)
//   -> FAILED     {round, message[, code]}  the participant cannot go on with this round
//   <- ABORT      {round, reason}           the round is off; resume normal work
//   Messages of another round than the current one are ignored by both sides.
//
// Client <-> coordinator:
//   -> CHECKPOINT {token, kill}
//   <- ACCEPTED   {timeout_ms}              the longest the coordinator may take to answer
//   <- DONE       {code, message[, manifest, version, participants, bytes]}
//                 code 0 = committed; else a cairn::Code, message naming rank(s) and reason
//   -> STATUS     {token}
//   <- STATUS     {participants, joined, round, last_result, last_version, rank*}
//                 rank = "rank:pid:host:state" per joined participant, state one of
//                 idle | preparing | prepared | quiet | written
//   -> PUT        {token, key, value}       <- DONE {code 0}: the job's key-value store (below)
//   -> GET        {token, key, wait_ms}     <- VALUE {key, value} once the key is set (at once
//                                              when it is), or DONE {code kNotFound, message}
//                                              when it is not within wait_ms (at most 600000)
//   A wrong token is answered REFUSED {message, reason=token}. The coordinator closes a
//   client connection after its answer.
//
// The key-value store (PMI's KVS): what the processes of a job spread over several nodes
// tell each other while they restart, before any of them is a participant (tree/node_rendezvous.h:
// which checkpoint every node still has, where each connection between nodes listens again,
// and the restart barrier). It lives as long as the coordinator; a PUT replaces the value of
// its key. Keys are 1..256 bytes; the store holds at most 256 MiB of keys and values (a PUT
// beyond is answered DONE kNoSpace).
//
// PREPARE also carries `hosts`: the addresses (as the coordinator sees them) of every joined
// participant, comma-separated; a node agent (tree/node_agent.h) counts a TCP peer at one of
// them as a peer in the job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace cairn::coord {

// --- message types ---
inline constexpr char kHello[] = "HELLO";
inline constexpr char kWelcome[] = "WELCOME";
inline constexpr char kRefused[] = "REFUSED";
inline constexpr char kPrepare[] = "PREPARE";
inline constexpr char kPrepared[] = "PREPARED";
inline constexpr char kTargets[] = "TARGETS";
inline constexpr char kWant[] = "WANT";
inline constexpr char kQuiet[] = "QUIET";
inline constexpr char kDrain[] = "DRAIN";
inline constexpr char kWritten[] = "WRITTEN";
inline constexpr char kCommitted[] = "COMMITTED";
inline constexpr char kFailed[] = "FAILED";
inline constexpr char kAbort[] = "ABORT";
inline constexpr char kCheckpoint[] = "CHECKPOINT";
inline constexpr char kAccepted[] = "ACCEPTED";
inline constexpr char kDone[] = "DONE";
inline constexpr char kStatus[] = "STATUS";
inline constexpr char kPut[] = "PUT";
inline constexpr char kGet[] = "GET";
inline constexpr char kValue[] = "VALUE";

// --- field names ---
inline constexpr char kFToken[] = "token";
inline constexpr char kFRank[] = "rank";  // HELLO: a number; STATUS reply: repeated records
inline constexpr char kFPid[] = "pid";
inline constexpr char kFHost[] = "host";
inline constexpr char kFParticipants[] = "participants";
inline constexpr char kFJoined[] = "joined";
inline constexpr char kFMessage[] = "message";
inline constexpr char kFReason[] = "reason";
inline constexpr char kFRound[] = "round";
inline constexpr char kFState[] = "state";
inline constexpr char kFTargets[] = "targets";
inline constexpr char kFGen[] = "gen";
inline constexpr char kFWants[] = "wants";
inline constexpr char kFPath[] = "path";
inline constexpr char kFBytes[] = "bytes";
inline constexpr char kFHash[] = "hash";
inline constexpr char kFVersion[] = "version";
inline constexpr char kFManifest[] = "manifest";
inline constexpr char kFKill[] = "kill";
inline constexpr char kFCode[] = "code";
inline constexpr char kFTimeoutMs[] = "timeout_ms";
inline constexpr char kFLastResult[] = "last_result";
inline constexpr char kFLastVersion[] = "last_version";
inline constexpr char kFKey[] = "key";
inline constexpr char kFValue[] = "value";
inline constexpr char kFWaitMs[] = "wait_ms";
inline constexpr char kFHosts[] = "hosts";

inline constexpr size_t kMaxKeyBytes = 256;
inline constexpr size_t kMaxStoreBytes = 256u << 20;
inline constexpr int kMaxWaitMs = 600000;

// REFUSED reasons.
inline constexpr char kRefusedToken[] = "token";
inline constexpr char kRefusedRank[] = "rank";
inline constexpr char kRefusedDuplicate[] = "duplicate";

// --- counters: the PREPARED `state`, TARGETS `targets` and WANT `wants` values ---
// "key=value" pairs separated by ','; keys non-empty without '=' or ','; values
// non-negative decimal integers (uint64). "" is the empty set.
using Counters = std::map<std::string, uint64_t>;

inline Result<Counters> ParseCounters(const std::string& s) {
  Counters out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = item.find('=');
    const std::string key = eq == std::string::npos ? item : item.substr(0, eq);
    const std::string val = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key.empty() || val.empty() || val.size() > 20 ||
        val.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("bad counter '" + item + "' in '" + s +
                                     "' (want key=non-negative integer)");
    }
    uint64_t v = 0;
    for (char c : val) {
      const uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) {
        return Status::InvalidArgument("counter '" + item + "' is out of range");
      }
      v = v * 10 + d;
    }
    if (out.count(key) != 0) {
      return Status::InvalidArgument("counter '" + key + "' repeated in '" + s + "'");
    }
    out[key] = v;
  }
  if (!s.empty() && s.back() == ',') {
    return Status::InvalidArgument("trailing ',' in counters '" + s + "'");
  }
  return out;
}

// Keys in ascending order: "a=1,b=2".
inline std::string FormatCounters(const Counters& c) {
  std::string out;
  for (const auto& [k, v] : c) {
    if (!out.empty()) out += ',';
    out += k + "=" + std::to_string(v);
  }
  return out;
}

// into[key] = max(into[key], from[key]) for every key of `from`.
inline void MergeCountersMax(Counters& into, const Counters& from) {
  for (const auto& [k, v] : from) {
    auto it = into.find(k);
    if (it == into.end() || it->second < v) into[k] = v;
  }
}

}  // namespace cairn::coord
