// RedundancyLevel (L2): protects each member's data against the loss of whole nodes by
// encoding it across a set of members in distinct failure domains (sets.h): partner copies,
// XOR parity or Reed-Solomon parity (ISA-L, erasure.h), in the rotating stripe layout of
// erasure.h. A member is a rank of the communicator; what it protects, and where its .ec file
// goes, is its ProtectedData (protected_data.h): the library's rank file (rank_files.h) over
// MPI, or a node's part of a transparent job checkpoint (tree/node_part.h) over the node
// agents' NodeComm (tree/node_comm.h). Every method is collective over the communicator;
// data moves member to member with Comm::Exchange.
//
//   Encode(name, v)     after v is committed on scratch: reads this member's data,
//                       exchanges chunks with the set, writes its .ec file (atomically).
//   Assess(name, v, l1) at restart: every rank reports whether its own scratch copy
//                       verified and whether its .ec file is intact, with the set layout
//                       read from its .ec; the answer says whether this rank can obtain v
//                       (own copy, or rebuilt from its set). Sets come from the files,
//                       not from today's failure domains, so a job restarted on
//                       replacement nodes with other names still finds them.
//   Rebuild(name, v)    after the ranks agreed on v: members that lost their data or .ec
//                       get them back from the survivors (ProtectedData::Install: verified,
//                       then put in place).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm.h"
#include "config/config.h"
#include "env/env.h"
#include "redundancy/ec_file.h"
#include "redundancy/protected_data.h"
#include "redundancy/sets.h"

namespace cairn::redundancy {

class RedundancyLevel {
 public:
  // Collective: every rank's failure domain is gathered and the sets formed. Fails
  // when the configuration cannot give any protection (fewer than 2 domains).
  static Result<std::unique_ptr<RedundancyLevel>> Create(const Config& cfg, Comm* comm, Env* env,
                                                         ProtectedData* data);
  Status Encode(const std::string& name, long long version);
  Result<bool> Assess(const std::string& name, long long version, bool l1_ok);
  Status Rebuild(const std::string& name, long long version);
  const std::string& scheme() const { return scheme_; }

 private:
  struct Record {
    bool l1 = false;
    bool ec = false;
    EcHeader header;
  };
  RedundancyLevel(const Config& cfg, Comm* comm, Env* env, ProtectedData* data)
      : cfg_(cfg), comm_(comm), env_(env), data_(data), scheme_(cfg.ec_scheme) {}
  Status EncodePartner(const EcHeader& base, std::string& mine);
  Status EncodeParity(EcHeader base, std::string& mine);
  // The set this rank belonged to when `version` was encoded (from the records).
  const EcHeader* MySet() const;
  Status RebuildPartner(const EcHeader& set, std::string* data, std::string* parity,
                        bool* wrote_data, bool* wrote_parity);
  Status RebuildParity(const EcHeader& set, std::string* data, std::string* parity,
                       bool* wrote_data, bool* wrote_parity);

  Config cfg_;
  Comm* comm_;
  Env* env_;
  ProtectedData* data_;
  std::string scheme_;
  Sets sets_;
  // The last assessment, for Rebuild.
  std::string assessed_name_;
  long long assessed_version_ = -1;
  std::vector<Record> records_;
};

}  // namespace cairn::redundancy
