#include "redundancy/sets.h"

#include <gtest/gtest.h>

#include <set>

namespace cairn::redundancy {
namespace {

std::vector<std::string> Nodes(int nodes, int per_node) {
  std::vector<std::string> d;
  for (int n = 0; n < nodes; ++n) {
    for (int i = 0; i < per_node; ++i) d.push_back("node" + std::to_string(n));
  }
  return d;
}

void ExpectDistinctDomains(const Sets& s, const std::vector<std::string>& domains) {
  for (const auto& p : s.sets) {
    std::set<std::string> seen;
    for (int r : p.members) EXPECT_TRUE(seen.insert(domains[static_cast<size_t>(r)]).second);
  }
  for (size_t r = 0; r < domains.size(); ++r) EXPECT_GE(s.set_of[r], 0);
}

TEST(Sets, EightRanksOnFourNodes) {
  auto d = Nodes(4, 2);  // ranks 0,1 on node0, 2,3 on node1, ...
  auto s = FormSets(d, SetScheme::kXor, 8, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s.value().sets.size(), 2u);  // local rank 0 row and local rank 1 row
  EXPECT_EQ(s.value().sets[0].members, (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(s.value().sets[1].members, (std::vector<int>{1, 3, 5, 7}));
  ExpectDistinctDomains(s.value(), d);
}

TEST(Sets, RowsAreCutAndShortTailsMerged) {
  auto d = Nodes(10, 1);
  auto s = FormSets(d, SetScheme::kRs, 4, 2);
  ASSERT_TRUE(s.ok());
  // 10 = 4 + 4 + 2, and a tail of 2 < k + 1 = 3 joins the previous set.
  ASSERT_EQ(s.value().sets.size(), 2u);
  EXPECT_EQ(s.value().sets[1].members.size(), 6u);
  ExpectDistinctDomains(s.value(), d);
}

TEST(Sets, TooFewDomainsFailsClearly) {
  auto s = FormSets(Nodes(1, 4), SetScheme::kXor, 8, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("at least 2 failure domains"), std::string::npos);
}

TEST(Sets, ReedSolomonDowngradesParityWithAClearNote) {
  auto s = FormSets(Nodes(2, 2), SetScheme::kRs, 8, 2);
  ASSERT_TRUE(s.ok());
  for (const auto& p : s.value().sets) EXPECT_EQ(p.parity, 1);
  ASSERT_FALSE(s.value().notes.empty());
  EXPECT_NE(s.value().notes[0].find("lowered from 2 to 1"), std::string::npos);
}

TEST(Sets, UnequalNodesWithALonelyRankFail) {
  std::vector<std::string> d{"a", "a", "a", "b"};  // local ranks 1 and 2 only on node a
  EXPECT_FALSE(FormSets(d, SetScheme::kPartner, 8, 1).ok());
}

}  // namespace
}  // namespace cairn::redundancy
