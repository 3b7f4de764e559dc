// Tests of tree::NodeComm (tree/node_comm.h): a real coordinator in this process serves the
// job's key-value store, the nodes are threads with one NodeComm each, on loopback TCP.
#include "tree/node_comm.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "coord/address_file.h"
#include "coord/coordinator.h"
#include "coord/job_store.h"
#include "ipc/tcp.h"
#include "node_fixtures.h"
#include "test_util.h"

namespace cairn::tree {
namespace {

using cairn::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kJob[] = "job-node-comm";

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Bytes that depend on who sends them, with which tag, and where (every byte value occurs).
std::string Pattern(int from, int tag, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>(
        (i * 131 + (i >> 10) + static_cast<size_t>(from) * 71 + static_cast<size_t>(tag) * 37) &
        0xff);
  }
  return s;
}

// A data connection's header as node_comm.h describes it.
std::string RawHeader(const std::string& token, const std::string& session, int from, int to,
                      int tag, uint64_t seq, uint64_t size) {
  std::string out = "CNX1" + token;
  auto put = [&out](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(Hash64(session.data(), session.size()), 8);
  put(static_cast<uint32_t>(from), 4);
  put(static_cast<uint32_t>(to), 4);
  put(static_cast<uint32_t>(tag), 4);
  put(0, 4);
  put(seq, 8);
  put(size, 8);
  return out;
}

class NodeCommTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = cairn::testing::StartStoreCoordinator(dir_.path(), 3, kJob);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c.value());
    auto s = coord::JobStore::Open(dir_.path(), kJob, 3000);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_.emplace(s.value());
  }

  // Runs fn(comm, node) on `nodes` threads, each with its own NodeComm of `session`.
  void RunNodes(int nodes, const std::string& session, int timeout_ms,
                const std::function<void(NodeComm&, int)>& fn) {
    std::vector<std::thread> threads;
    for (int n = 0; n < nodes; ++n) {
      threads.emplace_back([&, n] {
        auto c = NodeComm::Create(*store_, session, n, nodes, "127.0.0.1", timeout_ms);
        ASSERT_TRUE(c.ok()) << c.status().ToString();
        EXPECT_EQ(c.value()->rank(), n);
        EXPECT_EQ(c.value()->size(), nodes);
        EXPECT_TRUE(c.value()->collective());
        fn(*c.value(), n);
      });
    }
    for (std::thread& t : threads) t.join();
  }

  TempDir dir_;
  std::unique_ptr<coord::Coordinator> coord_;
  std::optional<coord::JobStore> store_;
};

TEST_F(NodeCommTest, AllGatherReturnsEveryNodesBytesInRankOrder) {
  // Binary values of different sizes (one empty), twice: the second call uses new keys.
  auto value = [](int node, int round) {
    std::string v(node == 0 ? 0 : static_cast<size_t>(node) * 40000 + 3, '\0');
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = static_cast<char>(
          (i * 7 + static_cast<size_t>(node) * 31 + static_cast<size_t>(round)) & 0xff);
    }
    return v;
  };
  RunNodes(3, "t.allgather", 5000, [&](NodeComm& c, int n) {
    for (int round = 0; round < 2; ++round) {
      auto all = c.AllGather(value(n, round));
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      ASSERT_EQ(all.value().size(), 3u);
      for (int m = 0; m < 3; ++m) {
        EXPECT_EQ(all.value()[static_cast<size_t>(m)], value(m, round))
            << "node " << n << " round " << round << " value of node " << m;
      }
    }
  });
}

TEST_F(NodeCommTest, ReductionsBarrierAndGatherToRoot) {
  RunNodes(3, "t.reduce", 5000, [&](NodeComm& c, int n) {
    const int64_t mine[] = {5, -3, INT64_MAX};
    auto mn = c.AllMin(mine[n]);
    ASSERT_TRUE(mn.ok()) << mn.status().ToString();
    EXPECT_EQ(mn.value(), -3);
    auto mx = c.AllMax(mine[n]);
    ASSERT_TRUE(mx.ok()) << mx.status().ToString();
    EXPECT_EQ(mx.value(), INT64_MAX);
    auto t = c.AllTrue(n != 1);
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(t.value());
    auto g = c.GatherToRoot(n == 2 ? UINT64_MAX : static_cast<uint64_t>(100 + n));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    if (n == 0) {
      EXPECT_EQ(g.value(), (std::vector<uint64_t>{100, 101, UINT64_MAX}));
    } else {
      EXPECT_TRUE(g.value().empty());
    }
    // The barrier waits for the last node.
    if (n == 2) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto t0 = Clock::now();
    EXPECT_TRUE(c.Barrier().ok());
    if (n != 2) {
      EXPECT_GE(MsSince(t0), 250) << "node " << n;
    }
  });
}

TEST_F(NodeCommTest, ExchangeMultiMiBBetweenEveryPairWithTwoTags) {
  const size_t kSize[] = {0, 5u << 20, (5u << 20) + 12345};  // by tag 1, 2
  RunNodes(3, "t.exchange", 8000, [&](NodeComm& c, int n) {
    // Every node sends its buffer of each tag to both others.
    std::string out[3] = {"", Pattern(n, 1, kSize[1]), Pattern(n, 2, kSize[2])};
    std::vector<std::string> in;
    std::vector<Comm::Transfer> sends, recvs;
    for (int peer = 0; peer < 3; ++peer) {
      if (peer == n) continue;
      for (int tag = 1; tag <= 2; ++tag) {
        sends.push_back({peer, tag, out[tag].data(), out[tag].size()});
        in.emplace_back(kSize[tag], '\0');
      }
    }
    size_t k = 0;
    for (int peer = 0; peer < 3; ++peer) {
      if (peer == n) continue;
      for (int tag = 1; tag <= 2; ++tag, ++k)
        recvs.push_back({peer, tag, in[k].data(), in[k].size()});
    }
    Status st = c.Exchange(sends, recvs);
    ASSERT_TRUE(st.ok()) << st.ToString();
    for (const Comm::Transfer& r : recvs) {
      EXPECT_TRUE(std::string(r.data, r.size) == Pattern(r.peer, r.tag, r.size))
          << "node " << n << ": from node " << r.peer << " tag " << r.tag;
    }
    // Two transfers of the same pair and tag arrive in the order they were posted, also in
    // a second Exchange.
    const int next = (n + 1) % 3, prev = (n + 2) % 3;
    std::string a = "first from " + std::to_string(n),
                b = "second, longer, from " + std::to_string(n);
    std::string ra(("first from " + std::to_string(prev)).size(), '\0');
    std::string rb(("second, longer, from " + std::to_string(prev)).size(), '\0');
    st = c.Exchange({{next, 3, a.data(), a.size()}, {next, 3, b.data(), b.size()}},
                    {{prev, 3, ra.data(), ra.size()}, {prev, 3, rb.data(), rb.size()}});
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(ra, "first from " + std::to_string(prev));
    EXPECT_EQ(rb, "second, longer, from " + std::to_string(prev));
  });
}

TEST_F(NodeCommTest, ExchangeToSelf) {
  RunNodes(2, "t.self", 5000, [&](NodeComm& c, int n) {
    const int other = 1 - n;
    std::string to_me = Pattern(n, 5, 1 << 20), to_other = Pattern(n, 6, 1000);
    std::string from_me(to_me.size(), '\0'), from_other(1000, '\0');
    Status st = c.Exchange(
        {{n, 5, to_me.data(), to_me.size()}, {other, 6, to_other.data(), to_other.size()}},
        {{other, 6, from_other.data(), from_other.size()}, {n, 5, from_me.data(), from_me.size()}});
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(from_me == to_me);
    EXPECT_TRUE(from_other == Pattern(other, 6, 1000));
    // Only to itself; a send to itself without its receive is refused before anything moves.
    std::string x = "x", y = "?";
    st = c.Exchange({{n, 7, x.data(), 1}}, {{n, 7, y.data(), 1}});
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(y, "x");
    EXPECT_EQ(c.Exchange({{n, 8, x.data(), 1}}, {}).code(), Code::kInvalidArgument);
    EXPECT_EQ(c.Exchange({}, {{5, 8, y.data(), 1}}).code(), Code::kInvalidArgument);
  });
}

TEST_F(NodeCommTest, ExchangeKeepsATransferForALaterExchange) {
  RunNodes(3, "t.later", 5000, [&](NodeComm& c, int n) {
    const std::string big = Pattern(1, 1, 3 << 20), small = Pattern(2, 1, 10);
    if (n == 0) {
      // Node 1's transfer arrives while this node still waits for node 2's in a first Exchange.
      std::string a(small.size(), '\0'), b(big.size(), '\0');
      Status st = c.Exchange({}, {{2, 1, a.data(), a.size()}});
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_EQ(a, small);
      st = c.Exchange({}, {{1, 1, b.data(), b.size()}});
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_TRUE(b == big);
    } else if (n == 1) {
      std::string out = big;
      Status st = c.Exchange({{0, 1, out.data(), out.size()}}, {});
      EXPECT_TRUE(st.ok()) << st.ToString();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      std::string out = small;
      Status st = c.Exchange({{0, 1, out.data(), out.size()}}, {});
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  });
}

TEST_F(NodeCommTest, ExchangeTimesOutNamingWhatWasNotReceivedOrSent) {
  std::atomic<int> finished{0};
  RunNodes(3, "t.timeout", 1500, [&](NodeComm& c, int n) {
    std::string buf(1000, 'z');
    std::string r1(1000, '\0'), r2(1000, '\0');
    if (n == 0) {  // receives from 1 (sends) and 2 (never sends)
      const auto t0 = Clock::now();
      Status st = c.Exchange({}, {{1, 1, r1.data(), r1.size()}, {2, 1, r2.data(), r2.size()}});
      const int64_t ms = MsSince(t0);
      EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
      EXPECT_NE(st.message().find("not received: from node 2 tag 1 (0 of 1000 bytes)"),
                std::string::npos)
          << st.ToString();
      EXPECT_EQ(st.message().find("from node 1"), std::string::npos) << st.ToString();
      EXPECT_GE(ms, 1400);
      EXPECT_LT(ms, 3500);
      EXPECT_EQ(r1, buf);
    } else if (n == 1) {  // sends to 0, and to 2 which never receives
      Status st = c.Exchange({{0, 1, buf.data(), buf.size()}, {2, 4, buf.data(), buf.size()}}, {});
      EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
      EXPECT_NE(st.message().find("not sent: to node 2 tag 4"), std::string::npos) << st.ToString();
      EXPECT_EQ(st.message().find("to node 0"), std::string::npos) << st.ToString();
    }
    // Node 2 stays (listening, never exchanging) until the others are done.
    if (n != 2) {
      ++finished;
    } else {
      while (finished.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

TEST_F(NodeCommTest, ExchangeIgnoresConnectionsWithoutTheJobsTokenOrSession) {
  const std::string session = "t.strangers";
  std::atomic<bool> go{false};
  std::thread strangers([&] {
    auto addr = store_->Get(session + ".addr.0", 5000);
    ASSERT_TRUE(addr.ok()) << addr.status().ToString();
    const std::string& a = addr.value();
    const int port = std::stoi(a.substr(a.rfind(' ') + 1));
    auto connect = [&] {
      auto fd = ipc::TcpConnect("127.0.0.1", port, 2000);
      EXPECT_TRUE(fd.ok()) << fd.status().ToString();
      if (fd.ok()) {
        EXPECT_TRUE(ipc::SetIoTimeout(fd.value(), 3000).ok());
      }
      return fd.ok() ? fd.value() : -1;
    };
    // One that says nothing (stays open), then three with a bad header and some data that
    // claim to fill node 0's receive.
    const int idle = connect();
    const std::string junk(1 << 20, '\xaa');
    const std::string bad[] = {
        "GET / HTTP/1.1\r\nHost: node0\r\n" + std::string(80, 'x') + "\r\n\r\n",
        RawHeader(coord::NewToken(), session, 1, 0, 9, 0, junk.size()) + junk,
        RawHeader(store_->address().token, "another session", 1, 0, 9, 0, junk.size()) + junk,
    };
    for (const std::string& b : bad) {
      const int fd = connect();
      if (fd < 0) continue;
      (void)::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
      // Node 0 closes it: end of stream or a reset, not a timeout.
      char c = 0;
      const ssize_t r = ::recv(fd, &c, 1, 0);
      EXPECT_TRUE(r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
          << "r=" << r << " " << std::strerror(errno);
      ::close(fd);
    }
    go.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (idle >= 0) ::close(idle);
  });
  RunNodes(2, session, 5000, [&](NodeComm& c, int n) {
    const std::string data = Pattern(1, 9, 1 << 20);
    if (n == 0) {
      std::string in(data.size(), '\0');
      Status st = c.Exchange({}, {{1, 9, in.data(), in.size()}});
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_TRUE(in == data);
    } else {
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::string out = data;
      Status st = c.Exchange({{0, 9, out.data(), out.size()}}, {});
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  });
  strangers.join();
}

TEST_F(NodeCommTest, ExchangeOfAnotherSizeIsCorruption) {
  RunNodes(2, "t.size", 3000, [&](NodeComm& c, int n) {
    std::string buf(n == 0 ? 200 : 100, 's');
    const auto t0 = Clock::now();
    if (n == 0) {
      Status st = c.Exchange({}, {{1, 2, buf.data(), buf.size()}});
      EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
      EXPECT_NE(st.message().find("node 1 sends 100 bytes with tag 2, this node expects 200"),
                std::string::npos)
          << st.ToString();
    } else {
      Status st = c.Exchange({{0, 2, buf.data(), buf.size()}}, {});
      EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
      EXPECT_NE(st.message().find("to node 0"), std::string::npos) << st.ToString();
    }
    EXPECT_LT(MsSince(t0), 2000) << "node " << n << " waited for the timeout";
  });
}

TEST_F(NodeCommTest, CreateChecksItsArgumentsAndWaitsForEveryNode) {
  EXPECT_EQ(NodeComm::Create(*store_, "t.args", 3, 3, "127.0.0.1", 1000).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(NodeComm::Create(*store_, "", 0, 3, "127.0.0.1", 1000).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(NodeComm::Create(*store_, "t.args", 0, 1, "127.0.0.1", 0).status().code(),
            Code::kInvalidArgument);
  // One node alone is a communicator of one.
  auto one = NodeComm::Create(*store_, "t.one", 0, 1, "127.0.0.1", 1000);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto all = one.value()->AllGather("solo");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.value(), std::vector<std::string>{"solo"});
  // Node 1 of 2 never comes.
  const auto t0 = Clock::now();
  auto lonely = NodeComm::Create(*store_, "t.lonely", 0, 2, "127.0.0.1", 500);
  EXPECT_EQ(lonely.status().code(), Code::kUnavailable);
  EXPECT_NE(lonely.status().message().find("node 1 did not reach it"), std::string::npos)
      << lonely.status().ToString();
  EXPECT_GE(MsSince(t0), 450);
  EXPECT_LT(MsSince(t0), 3000);
}

}  // namespace
}  // namespace cairn::tree
