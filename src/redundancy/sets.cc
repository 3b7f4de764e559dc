#include "redundancy/sets.h"

#include <algorithm>
#include <map>

namespace cairn::redundancy {

Result<Sets> FormSets(const std::vector<std::string>& domains, SetScheme scheme, int set_size,
                      int parity) {
  const int nranks = static_cast<int>(domains.size());
  if (nranks == 0) return Status::InvalidArgument("no ranks");
  if (set_size < 2) return Status::InvalidArgument("ec_set_size must be at least 2");
  // Domains in order of their lowest rank; ranks within a domain in rank order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> members;
  for (int r = 0; r < nranks; ++r) {
    auto& m = members[domains[static_cast<size_t>(r)]];
    if (m.empty()) order.push_back(domains[static_cast<size_t>(r)]);
    m.push_back(r);
  }
  const int ndomains = static_cast<int>(order.size());
  if (ndomains < 2) {
    return Status::InvalidArgument(
        "redundancy needs ranks in at least 2 failure domains, but all " + std::to_string(nranks) +
        " ranks report failure domain '" + order.front() +
        "' (set failure_domain / CAIRN_FAILURE_DOMAIN per node)");
  }
  const int want_k = scheme == SetScheme::kRs ? parity : 1;
  const int min_members = scheme == SetScheme::kRs ? want_k + 1 : 2;
  Sets out;
  out.set_of.assign(static_cast<size_t>(nranks), -1);
  size_t rows = 0;
  for (const auto& d : order) rows = std::max(rows, members[d].size());
  for (size_t local = 0; local < rows; ++local) {
    std::vector<int> row;
    for (const auto& d : order) {
      const auto& m = members[d];
      if (local < m.size()) row.push_back(m[local]);
    }
    if (row.size() < 2) {
      return Status::InvalidArgument("rank " + std::to_string(row.front()) +
                                     " is the only rank with local index " + std::to_string(local) +
                                     " across failure domains: no other domain can protect it "
                                     "(domains have unequal rank counts)");
    }
    // Cut into sets of set_size; a short tail joins the previous set.
    std::vector<std::vector<int>> cut;
    for (size_t i = 0; i < row.size(); i += static_cast<size_t>(set_size)) {
      cut.emplace_back(
          row.begin() + static_cast<long>(i),
          row.begin() + static_cast<long>(std::min(row.size(), i + static_cast<size_t>(set_size))));
    }
    if (cut.size() > 1 && static_cast<int>(cut.back().size()) < min_members) {
      cut[cut.size() - 2].insert(cut[cut.size() - 2].end(), cut.back().begin(), cut.back().end());
      cut.pop_back();
    }
    for (auto& m : cut) {
      SetPlan p;
      p.index = static_cast<int>(out.sets.size());
      p.members = m;
      p.parity = want_k;
      const int n = static_cast<int>(m.size());
      if (scheme == SetScheme::kRs && want_k > n - 1) {
        p.parity = n - 1;
        out.notes.push_back("set " + std::to_string(p.index) + " has only " + std::to_string(n) +
                            " members in distinct failure domains: Reed-Solomon parity lowered "
                            "from " +
                            std::to_string(want_k) + " to " + std::to_string(p.parity) +
                            " (it survives " + std::to_string(p.parity) + " lost domains)");
      }
      for (int r : m) out.set_of[static_cast<size_t>(r)] = p.index;
      out.sets.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace cairn::redundancy
