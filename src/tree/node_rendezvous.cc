// See node_rendezvous.h.
#include "tree/node_rendezvous.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "transparent/objects/socket.h"
#include "transparent/objects/tcp.h"

namespace cairn::tree {
namespace {

namespace tr = cairn::transparent;

// One connected end as the other nodes see it.
struct End {
  std::string name, peer;  // raw sockaddrs at the checkpoint
  uint32_t shutdown = 0;
  std::string queue;  // its saved receive queue (a stream: the chunks joined)
};

std::string EncodeEnds(const std::vector<const tr::FileState*>& ends) {
  std::string out;
  for (const tr::FileState* f : ends) {
    std::string queue;
    for (const std::string& q : f->socket.queued) queue += q;
    out += std::to_string(f->socket.name.size()) + " " +
           std::to_string(f->socket.peer_name.size()) + " " + std::to_string(f->socket.shutdown) +
           " " + std::to_string(queue.size()) + "\n";
    out += f->socket.name + f->socket.peer_name + queue;
  }
  return out;
}

Result<std::vector<End>> DecodeEnds(const std::string& s, int node) {
  std::vector<End> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t nl = s.find('\n', pos);
    unsigned long long a = 0, b = 0, sh = 0, q = 0;
    char tail = 0;
    if (nl == std::string::npos ||
        std::sscanf(s.substr(pos, nl - pos).c_str(), "%llu %llu %llu %llu%c", &a, &b, &sh, &q,
                    &tail) != 4 ||
        a > 128 || b > 128 || q > s.size() || nl + 1 + a + b + q > s.size()) {
      return Status::Corruption("node " + std::to_string(node) +
                                "'s list of connections does not parse");
    }
    pos = nl + 1;
    End e;
    e.name = s.substr(pos, a);
    e.peer = s.substr(pos + a, b);
    e.shutdown = static_cast<uint32_t>(sh);
    e.queue = s.substr(pos + a + b, q);
    pos += a + b + q;
    out.push_back(std::move(e));
  }
  return out;
}

std::string Hex(const std::string& raw) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> NodeRendezvous::GatherAll(const std::string& prefix,
                                                           const std::string& mine) {
  const int64_t deadline = NowMs() + timeout_ms_;
  for (;;) {
    auto all = GatherOnce(prefix, mine, deadline);
    if (all.ok() || all.status().code() != Code::kUnavailable || NowMs() >= deadline) return all;
    // The coordinator went away: the old job's, most likely. Find the one named now.
    log::Info("restart: node ", node_, ": ", all.status().message(), "; asking the job's ",
              "coordinator again");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto store = coord::JobStore::Open(dir_, job_key_,
                                       static_cast<int>(std::max<int64_t>(1, deadline - NowMs())));
    if (!store.ok()) return store.status();
    store_ = store.value();
  }
}

Result<std::vector<std::string>> NodeRendezvous::GatherOnce(const std::string& prefix,
                                                            const std::string& mine,
                                                            int64_t deadline) {
  CAIRN_RETURN_IF_ERROR(store_.Put(prefix + "." + std::to_string(node_), mine));
  std::vector<std::string> all(static_cast<size_t>(nodes_));
  for (int n = 0; n < nodes_; ++n) {
    if (n == node_) {
      all[static_cast<size_t>(n)] = mine;
      continue;
    }
    const int left = static_cast<int>(std::max<int64_t>(1, deadline - NowMs()));
    auto v = store_.Get(prefix + "." + std::to_string(n), left);
    if (!v.ok()) {
      return v.status().code() == Code::kNotFound && NowMs() >= deadline
                 ? Status::Unavailable("node " + std::to_string(n) + " did not reach '" + prefix +
                                       "' within " + std::to_string(timeout_ms_ / 1000) + " s")
                 : v.status();
    }
    all[static_cast<size_t>(n)] = v.value();
  }
  return all;
}

Result<uint64_t> NodeRendezvous::AgreeOnVersion(const std::vector<uint64_t>& mine) {
  std::string list;
  for (uint64_t v : mine) list += (list.empty() ? "" : ",") + std::to_string(v);
  auto all = GatherAll("versions", list);
  if (!all.ok()) return all.status();
  std::set<uint64_t> common(mine.begin(), mine.end());
  for (int n = 0; n < nodes_; ++n) {
    std::set<uint64_t> theirs;
    const std::string& s = all.value()[static_cast<size_t>(n)];
    for (size_t pos = 0; pos < s.size();) {
      size_t end = s.find(',', pos);
      if (end == std::string::npos) end = s.size();
      theirs.insert(std::strtoull(s.substr(pos, end - pos).c_str(), nullptr, 10));
      pos = end + 1;
    }
    std::set<uint64_t> both;
    for (uint64_t v : common) {
      if (theirs.count(v) != 0) both.insert(v);
    }
    if (both.empty()) {
      return Status::NotFound("no checkpoint of the job is complete on every node (node " +
                              std::to_string(n) + " has " + (s.empty() ? "none" : s) +
                              ", this node " + (list.empty() ? "none" : list) + ")");
    }
    common.swap(both);
  }
  return *common.rbegin();
}

Result<std::map<uint64_t, int>> NodeRendezvous::ConnectNodes(
    const std::vector<const tr::FileState*>& ends, int min_fd) {
  auto all = GatherAll("ends", EncodeEnds(ends));
  if (!all.ok()) return all.status();
  std::vector<std::vector<End>> by_node;
  for (int n = 0; n < nodes_; ++n) {
    auto d = DecodeEnds(all.value()[static_cast<size_t>(n)], n);
    if (!d.ok()) return d.status();
    by_node.push_back(std::move(d.value()));
  }
  // Each of my ends and its mirror on another node.
  struct Link {
    const tr::FileState* f;
    int peer_node;
    const End* peer;
    std::string key;
    int fd = -1;  // the listener (lower node), then the connection
  };
  std::vector<Link> links;
  for (const tr::FileState* f : ends) {
    for (int n = 0; n < nodes_; ++n) {
      if (n == node_) continue;
      const auto& theirs = by_node[static_cast<size_t>(n)];
      auto it = std::find_if(theirs.begin(), theirs.end(), [&](const End& e) {
        return e.name == f->socket.peer_name && e.peer == f->socket.name;
      });
      if (it == theirs.end()) continue;
      // The key names the lower node's end, so both sides compute the same one.
      const bool low = node_ < n;
      const std::string key = "conn." + std::to_string(low ? node_ : n) + "." +
                              Hex(low ? f->socket.name + f->socket.peer_name : it->name + it->peer);
      links.push_back({f, n, &*it, key});
      break;
    }
  }
  auto close_all = [&] {
    for (Link& l : links) {
      if (l.fd >= 0) ::close(l.fd);
    }
  };
  // 1. Listen where this node is the lower one; 2. connect where it is the higher one;
  // 3. accept. Every listener is announced before any node waits for one: no cycle.
  for (Link& l : links) {
    if (node_ > l.peer_node) continue;
    std::string address;
    auto fd = tr::objects::ListenAgain(*l.f, host_, &address);
    if (fd.ok()) l.fd = fd.value();
    Status st = fd.ok() ? store_.Put("listen." + l.key, address) : fd.status();
    if (!st.ok()) {
      close_all();
      return st.Annotate(tr::objects::SocketSummary(*l.f));
    }
  }
  const int64_t deadline = NowMs() + timeout_ms_;
  auto left = [&] { return static_cast<int>(std::max<int64_t>(1, deadline - NowMs())); };
  for (Link& l : links) {
    if (node_ < l.peer_node) continue;
    auto to = store_.Get("listen." + l.key, left());
    std::string from;
    Result<int> fd = to.ok() ? tr::objects::ConnectFrom(*l.f, host_, to.value(), &from)
                             : Result<int>(to.status());
    Status st = fd.ok() ? store_.Put("from." + l.key, from) : fd.status();
    if (fd.ok()) l.fd = fd.value();
    if (!st.ok()) {
      close_all();
      return st.Annotate(tr::objects::SocketSummary(*l.f) + " (to node " +
                         std::to_string(l.peer_node) + ")");
    }
  }
  for (Link& l : links) {
    if (node_ > l.peer_node) continue;
    auto from = store_.Get("from." + l.key, left());
    Result<int> fd = from.ok() ? tr::objects::AcceptFrom(l.fd, from.value(), left())
                               : Result<int>(from.status());
    ::close(l.fd);
    l.fd = fd.ok() ? fd.value() : -1;
    if (!fd.ok()) {
      close_all();
      return fd.status().Annotate(tr::objects::SocketSummary(*l.f) + " (from node " +
                                  std::to_string(l.peer_node) + ")");
    }
  }
  std::map<uint64_t, int> out;
  Status first = Status::Ok();
  for (Link& l : links) {
    const int fd = l.fd;
    l.fd = -1;
    std::vector<std::string> queue;
    if (!l.peer->queue.empty()) queue.push_back(l.peer->queue);
    auto settled = tr::objects::SettleRemote(fd, *l.f, queue, l.peer->shutdown, min_fd);
    if (!settled.ok()) {
      if (first.ok()) first = settled.status();
      continue;
    }
    out[l.f->socket.id] = settled.value();
    log::Info("restart: ", tr::objects::SocketSummary(*l.f), ": connected again to node ",
              l.peer_node, " from ", host_);
  }
  if (!first.ok()) {
    for (const auto& [id, fd] : out) ::close(fd);
    return first;
  }
  return out;
}

Status NodeRendezvous::Barrier(const std::string& name) {
  auto all = GatherAll("barrier." + name, "1");
  return all.ok() ? Status::Ok() : all.status();
}

}  // namespace cairn::tree
