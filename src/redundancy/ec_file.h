// The L2 redundancy file of one rank and version: <scratch>/<name>/v<V>/r<rank>.ec.
//
//   "CAIRNEC1" | u32 header length | header (ipc::Message text) | payload | u64 XXH3 of
//   header and payload
//
// The header names the scheme, the set (index, member ranks, each member's rank-file
// size and hash), the parity count k and chunk size; the payload is this rank's k
// parity chunks (xor, rs) or a full copy of its partner's rank file (partner). A
// restart reads the set's layout from any surviving member's file, so it does not
// depend on the failure domains of the restarted job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "env/env.h"

namespace cairn::redundancy {

struct EcHeader {
  std::string scheme;  // partner | xor | rs
  std::string name;
  long long version = 0;
  int rank = 0;
  int set_index = 0;
  int parity = 1;               // k
  std::vector<int> members;     // ranks, set order
  std::vector<uint64_t> sizes;  // rank-file size of each member
  uint64_t chunk = 0;           // xor/rs chunk size; partner: size of the copy
};

std::string EcFileName(int rank);  // "r<rank>.ec"

// Writes atomically (tmp, fdatasync when `sync`, rename) at `path`.
Status WriteEcFile(Env* env, const std::string& path, const EcHeader& h, const char* payload,
                   uint64_t size, bool sync);
// Reads and checks the whole file; the payload goes to *payload.
Result<EcHeader> ReadEcFile(Env* env, const std::string& path, std::string* payload);
// Header only (checks magic and bounds; the checksum is checked by ReadEcFile).
Result<EcHeader> ReadEcHeader(Env* env, const std::string& path);

// Header <-> text (also used to tell the other ranks about a set at restart).
std::string EncodeEcHeader(const EcHeader& h);
Result<EcHeader> DecodeEcHeader(const std::string& text);

}  // namespace cairn::redundancy
