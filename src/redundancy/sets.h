// Redundancy sets (SCR/redset style): which ranks protect each other at L2.
//
// Ranks are grouped by failure domain (failure_domain, default the host name);
// domains are ordered by their lowest rank, and ranks inside a domain by rank ("local
// rank"). Ranks with the same local rank across domains form a row, every member in a
// distinct domain; each row is cut into sets of `set_size` members, a remainder
// smaller than the scheme needs being merged into the row's last full set. A set thus
// never has two members in one domain, so losing one domain costs each set at most
// one member.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::redundancy {

enum class SetScheme { kPartner, kXor, kRs };

struct SetPlan {
  int index = 0;             // set number, the same on every member
  std::vector<int> members;  // ranks, in set order
  int parity = 1;            // k: losses tolerated per set (partner and XOR: 1)
};

struct Sets {
  std::vector<SetPlan> sets;
  std::vector<int> set_of;         // rank -> index into sets
  std::vector<std::string> notes;  // downgrades, for the log
};

// domains[r] = failure domain of rank r. `parity` is RS's k (ignored otherwise).
// Fails (kInvalidArgument, with a message naming the domains) when a rank cannot get
// even one other domain in its set; downgrades k (with a note) when a set has too
// few members for it.
Result<Sets> FormSets(const std::vector<std::string>& domains, SetScheme scheme, int set_size,
                      int parity);

}  // namespace cairn::redundancy
