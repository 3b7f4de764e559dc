// RedundancyLevel (L2): protects each rank's scratch checkpoint against the loss of
// whole nodes by encoding it across a set of ranks in distinct failure domains
// (sets.h): partner copies, XOR parity or Reed-Solomon parity (ISA-L, erasure.h), in
// the rotating stripe layout of erasure.h. Every method is collective over the job's
// communicator; data moves rank to rank with Comm::Exchange (MPI).
//
//   Encode(name, v)     after v is committed on scratch: reads this rank's rank file,
//                       exchanges chunks with the set, writes r<rank>.ec (atomically).
//   Assess(name, v, l1) at restart: every rank reports whether its own scratch copy
//                       verified and whether its .ec file is intact, with the set layout
//                       read from its .ec; the answer says whether this rank can obtain v
//                       (own copy, or rebuilt from its set). Sets come from the files,
//                       not from today's failure domains, so a job restarted on
//                       replacement nodes with other names still finds them.
//   Rebuild(name, v)    after the ranks agreed on v: members that lost their rank file
//                       or .ec get them back from the survivors (written to their own
//                       scratch, verified, renamed into place).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm.h"
#include "config/config.h"
#include "redundancy/ec_file.h"
#include "redundancy/sets.h"
#include "storage/level.h"

namespace cairn::redundancy {

class RedundancyLevel {
 public:
  // Collective: every rank's failure domain is gathered and the sets formed. Fails
  // when the configuration cannot give any protection (fewer than 2 domains).
  static Result<std::unique_ptr<RedundancyLevel>> Create(const Config& cfg, Comm* comm,
                                                         Env* env, const Level* scratch);
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
  RedundancyLevel(const Config& cfg, Comm* comm, Env* env, const Level* scratch)
      : cfg_(cfg), comm_(comm), env_(env), scratch_(scratch), scheme_(cfg.ec_scheme) {}
  Status EncodePartner(const EcHeader& base, std::string& mine);
  Status EncodeParity(EcHeader base, std::string& mine);
  // The set this rank belonged to when `version` was encoded (from the records).
  const EcHeader* MySet() const;
  Status RebuildPartner(const EcHeader& set, std::string* data, std::string* parity,
                        bool* wrote_data, bool* wrote_parity);
  Status RebuildParity(const EcHeader& set, std::string* data, std::string* parity,
                       bool* wrote_data, bool* wrote_parity);
  Status WriteRankFile(const std::string& name, long long version, const std::string& bytes);

  Config cfg_;
  Comm* comm_;
  Env* env_;
  const Level* scratch_;
  std::string scheme_;
  Sets sets_;
  // The last assessment, for Rebuild.
  std::string assessed_name_;
  long long assessed_version_ = -1;
  std::vector<Record> records_;
};

}  // namespace cairn::redundancy
