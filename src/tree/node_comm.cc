// See node_comm.h.
#include "tree/node_comm.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"

namespace cairn::tree {
namespace {

constexpr size_t kHeaderSize = 76;
constexpr char kMagic[4] = {'C', 'N', 'X', '1'};
constexpr size_t kTokenBytes = 32;
constexpr char kAck = 0x06;
constexpr size_t kChunk = size_t{8} << 20;           // bytes per send/recv call
constexpr int64_t kSliceMs = 100;                    // polls wake up this often to see an abort
constexpr size_t kMaxValueBytes = size_t{16} << 20;  // one collective value
constexpr size_t kMaxSessionBytes = 200;
constexpr size_t kMaxStashed = 256;  // connections kept for a later Exchange

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string N(int64_t v) { return std::to_string(v); }

// How a bounded wait or transfer ended.
enum class End { kDone, kTimeout, kAborted, kFailed };

}  // namespace

// The shared state of one Exchange: its deadline, and the first failure (which stops the
// other transfers).
struct NodeComm::Run {
  int64_t deadline = 0;
  std::atomic<bool> abort{false};
  std::mutex mu;
  Status first;
  void Fail(Status st) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok()) first = std::move(st);
    }
    abort.store(true);
  }
};

struct NodeComm::RecvState {
  const Transfer* t = nullptr;
  uint64_t seq = 0;
  size_t got = 0;
  bool filled = false;
};

struct NodeComm::SendState {
  const Transfer* t = nullptr;
  uint64_t seq = 0;
  size_t sent = 0;
  bool done = false;
};

namespace {

// Waits until `fd` is ready for `events` (or has an error to report), within the deadline;
// wakes up every kSliceMs to see an abort.
End WaitFd(int fd, short events, int64_t deadline, const std::atomic<bool>& abort,
           std::string* error) {
  for (;;) {
    if (abort.load()) return End::kAborted;
    const int64_t left = deadline - NowMs();
    if (left <= 0) return End::kTimeout;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSliceMs)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("poll: ") + std::strerror(errno);
      return End::kFailed;
    }
    if (n > 0) return End::kDone;
  }
}

// Writes n bytes in pieces of at most kChunk, without SIGPIPE; *done counts them.
End WriteAll(int fd, const char* p, size_t n, int64_t deadline, const std::atomic<bool>& abort,
             size_t* done, std::string* error) {
  size_t off = 0;
  while (off < n) {
    const End w = WaitFd(fd, POLLOUT, deadline, abort, error);
    if (w != End::kDone) return w;
    const ssize_t r = ::send(fd, p + off, std::min(kChunk, n - off), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      *error = "after " + N(static_cast<int64_t>(off)) + " of " + N(static_cast<int64_t>(n)) +
               " bytes: " + std::strerror(errno);
      return End::kFailed;
    }
    off += static_cast<size_t>(r);
    if (done != nullptr) *done += static_cast<size_t>(r);
  }
  return End::kDone;
}

// Reads exactly n bytes into p, in pieces of at most kChunk; *got counts them.
End ReadAll(int fd, char* p, size_t n, int64_t deadline, const std::atomic<bool>& abort,
            size_t* got, std::string* error) {
  size_t off = 0;
  while (off < n) {
    const End w = WaitFd(fd, POLLIN, deadline, abort, error);
    if (w != End::kDone) return w;
    const ssize_t r = ::recv(fd, p + off, std::min(kChunk, n - off), MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (r <= 0) {
      *error = "connection " + std::string(r == 0 ? "closed" : std::strerror(errno)) + " after " +
               N(static_cast<int64_t>(off)) + " of " + N(static_cast<int64_t>(n)) + " bytes";
      return End::kFailed;
    }
    off += static_cast<size_t>(r);
    if (got != nullptr) *got += static_cast<size_t>(r);
  }
  return End::kDone;
}

}  // namespace

NodeComm::NodeComm(coord::JobStore store, std::string session, int node, int nodes, int timeout_ms,
                   int listen_fd)
    : store_(std::move(store)),
      session_(std::move(session)),
      node_(node),
      nodes_(nodes),
      timeout_ms_(timeout_ms),
      listen_fd_(listen_fd),
      token_(store_.address().token),
      session_hash_(Hash64(session_.data(), session_.size())) {
  token_.resize(kTokenBytes, '\0');
}

NodeComm::~NodeComm() {
  for (Incoming& in : incoming_) ::close(in.fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Result<std::unique_ptr<NodeComm>> NodeComm::Create(coord::JobStore store, std::string session,
                                                   int node, int nodes, std::string host,
                                                   int timeout_ms) {
  if (nodes < 1 || node < 0 || node >= nodes) {
    return Status::InvalidArgument("node " + N(node) + " is outside 0.." + N(nodes - 1));
  }
  if (session.empty() || session.size() > kMaxSessionBytes) {
    return Status::InvalidArgument("node " + N(node) + ": a session of 1.." +
                                   N(static_cast<int64_t>(kMaxSessionBytes)) +
                                   " bytes is required");
  }
  if (timeout_ms < 1) {
    return Status::InvalidArgument("node " + N(node) + ": session '" + session + "': timeout " +
                                   N(timeout_ms) + " ms is not positive");
  }
  const std::string where = "node " + N(node) + ": session '" + session + "'";
  auto fd = ipc::TcpListen(host, 0);
  if (!fd.ok()) return fd.status().Annotate(where);
  auto port = ipc::LocalPort(fd.value());
  if (!port.ok()) {
    ::close(fd.value());
    return port.status().Annotate(where);
  }
  std::unique_ptr<NodeComm> c(
      new NodeComm(std::move(store), std::move(session), node, nodes, timeout_ms, fd.value()));
  const std::string advertise = ipc::IsWildcardHost(host) ? c->store_.local_host() : host;
  auto all = c->Gather("addr", advertise + " " + N(port.value()),
                       "publishing the nodes' addresses of session '" + c->session_ + "'");
  if (!all.ok()) return all.status();
  for (int n = 0; n < nodes; ++n) {
    const std::string& a = all.value()[static_cast<size_t>(n)];
    const size_t sp = a.rfind(' ');
    int p = 0;
    const char* end = a.data() + a.size();
    if (sp == std::string::npos || sp == 0 ||
        std::from_chars(a.data() + sp + 1, end, p).ptr != end || p < 1 || p > 65535) {
      return Status::Corruption(where + ": node " + N(n) + " published the address '" + a +
                                "' (want 'HOST PORT')");
    }
    c->addrs_.emplace_back(a.substr(0, sp), p);
  }
  log::Debug(where, ": listening at ", advertise, " port ", port.value(), " for ", nodes,
             " node(s)");
  return c;
}

// --- collectives, through the store ---

Result<std::vector<std::string>> NodeComm::Gather(const std::string& step, const std::string& mine,
                                                  const std::string& what) {
  const std::string me = "node " + N(node_);
  if (mine.size() > kMaxValueBytes) {
    return Status::InvalidArgument(me + ": " + what + ": a value of " +
                                   N(static_cast<int64_t>(mine.size())) + " bytes (at most " +
                                   N(static_cast<int64_t>(kMaxValueBytes)) + ")");
  }
  const std::string prefix = session_ + "." + step + ".";
  const int64_t deadline = NowMs() + timeout_ms_;
  Status st = store_.Put(prefix + N(node_), mine);
  if (!st.ok()) return st.Annotate(me + ": " + what);
  std::vector<std::string> all(static_cast<size_t>(nodes_));
  all[static_cast<size_t>(node_)] = mine;
  for (int n = 0; n < nodes_; ++n) {
    if (n == node_) continue;
    const std::string key = prefix + N(n);
    for (;;) {
      const int64_t left = std::clamp<int64_t>(deadline - NowMs(), 0, coord::kMaxWaitMs);
      auto v = store_.Get(key, static_cast<int>(left));
      if (v.ok()) {
        all[static_cast<size_t>(n)] = std::move(v.value());
        break;
      }
      if (v.status().code() != Code::kNotFound) {
        return v.status().Annotate(me + ": " + what + ": waiting for node " + N(n));
      }
      if (NowMs() >= deadline) {
        return Status::Unavailable(me + ": " + what + ": node " + N(n) +
                                   " did not reach it within " + N(timeout_ms_) + " ms (no '" +
                                   key + "' in the job's store)");
      }
    }
  }
  return all;
}

Result<std::vector<std::string>> NodeComm::AllGather(const std::string& mine) {
  const uint64_t k = collectives_++;
  return Gather("c" + std::to_string(k), mine,
                "collective " + std::to_string(k) + " of session '" + session_ + "'");
}

Result<std::vector<int64_t>> NodeComm::GatherNumbers(int64_t v, const std::string& what) {
  const uint64_t k = collectives_++;
  const std::string step =
      "collective " + std::to_string(k) + " (" + what + ") of session '" + session_ + "'";
  auto all = Gather("c" + std::to_string(k), N(v), step);
  if (!all.ok()) return all.status();
  std::vector<int64_t> out;
  for (int n = 0; n < nodes_; ++n) {
    const std::string& s = all.value()[static_cast<size_t>(n)];
    int64_t x = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
      return Status::Corruption("node " + N(node_) + ": " + step + ": node " + N(n) + " gave '" +
                                s + "', not a number");
    }
    out.push_back(x);
  }
  return out;
}

Result<int64_t> NodeComm::AllMin(int64_t v) {
  auto all = GatherNumbers(v, "AllMin");
  if (!all.ok()) return all.status();
  return *std::min_element(all.value().begin(), all.value().end());
}

Result<int64_t> NodeComm::AllMax(int64_t v) {
  auto all = GatherNumbers(v, "AllMax");
  if (!all.ok()) return all.status();
  return *std::max_element(all.value().begin(), all.value().end());
}

Result<std::vector<uint64_t>> NodeComm::GatherToRoot(uint64_t v) {
  // Carried as the int64 of the same bits.
  auto all = GatherNumbers(static_cast<int64_t>(v), "GatherToRoot");
  if (!all.ok()) return all.status();
  std::vector<uint64_t> out;
  if (node_ == 0) {
    for (int64_t x : all.value()) out.push_back(static_cast<uint64_t>(x));
  }
  return out;
}

Status NodeComm::Barrier() {
  const uint64_t k = collectives_++;
  auto all = Gather("c" + std::to_string(k), "",
                    "collective " + std::to_string(k) + " (Barrier) of session '" + session_ + "'");
  return all.ok() ? Status::Ok() : all.status();
}

// --- Exchange, node to node ---

std::string NodeComm::EncodeHeader(const Header& h) const {
  std::string out(kMagic, sizeof kMagic);
  out += token_;
  PutU64(&out, session_hash_);
  PutU32(&out, static_cast<uint32_t>(h.from));
  PutU32(&out, static_cast<uint32_t>(h.to));
  PutU32(&out, static_cast<uint32_t>(h.tag));
  PutU32(&out, 0);
  PutU64(&out, h.seq);
  PutU64(&out, h.size);
  return out;
}

Result<NodeComm::Header> NodeComm::DecodeHeader(const std::string& raw) const {
  if (raw.size() != kHeaderSize || std::memcmp(raw.data(), kMagic, sizeof kMagic) != 0) {
    return Status::InvalidArgument("not a data connection (bad magic)");
  }
  const char* p = raw.data() + sizeof kMagic;
  unsigned char diff = 0;  // compared in constant time: the token is the job's secret
  for (size_t i = 0; i < kTokenBytes; ++i) {
    diff |= static_cast<unsigned char>(p[i] ^ token_[i]);
  }
  if (diff != 0) return Status::InvalidArgument("another job's token");
  p += kTokenBytes;
  if (GetU64(p) != session_hash_) return Status::InvalidArgument("another session");
  Header h;
  h.from = static_cast<int32_t>(GetU32(p + 8));
  h.to = static_cast<int32_t>(GetU32(p + 12));
  h.tag = static_cast<int32_t>(GetU32(p + 16));
  h.seq = GetU64(p + 24);
  h.size = GetU64(p + 32);
  if (h.to != node_) return Status::InvalidArgument("addressed to node " + N(h.to));
  if (h.from < 0 || h.from >= nodes_ || h.from == node_) {
    return Status::InvalidArgument("from node " + N(h.from) + ", not another node of the job");
  }
  return h;
}

void NodeComm::SendOne(SendState& s, Run& run) const {
  const Transfer& t = *s.t;
  const auto& [host, port] = addrs_[static_cast<size_t>(t.peer)];
  const std::string what = "node " + N(node_) + ": sending " + N(static_cast<int64_t>(t.size)) +
                           " bytes with tag " + N(t.tag) + " to node " + N(t.peer) + " (" + host +
                           " port " + N(port) + ")";
  const int64_t left = run.deadline - NowMs();
  if (left <= 0 || run.abort.load()) return;
  auto fd = ipc::TcpConnect(host, port, static_cast<int>(left));
  if (!fd.ok()) {
    if (NowMs() < run.deadline) run.Fail(fd.status().Annotate(what));
    return;
  }
  (void)ipc::SetIoTimeout(fd.value(), timeout_ms_);
  Header h;
  h.from = node_;
  h.to = t.peer;
  h.tag = t.tag;
  h.seq = s.seq;
  h.size = t.size;
  const std::string head = EncodeHeader(h);
  std::string error;
  End e = WriteAll(fd.value(), head.data(), head.size(), run.deadline, run.abort, nullptr, &error);
  if (e == End::kDone) {
    e = WriteAll(fd.value(), t.data, t.size, run.deadline, run.abort, &s.sent, &error);
  }
  char ack = 0;
  if (e == End::kDone) e = ReadAll(fd.value(), &ack, 1, run.deadline, run.abort, nullptr, &error);
  ::close(fd.value());
  if (e == End::kFailed) {
    run.Fail(Status::Unavailable(
        what + ": " + (s.sent == t.size ? "no acknowledgement (" + error + ")" : error)));
    return;
  }
  if (e != End::kDone) return;  // the deadline passed, or another transfer failed
  if (ack != kAck) {
    run.Fail(Status::Unavailable(what + ": a bad acknowledgement"));
    return;
  }
  s.done = true;
}

bool NodeComm::Deliver(Incoming& in, std::vector<RecvState>& rs, Run& run) {
  const Header& h = in.h;
  const std::string me = "node " + N(node_);
  auto done = [&in] {
    ::close(in.fd);
    in.fd = -1;
    return true;
  };
  auto it = received_.find({h.from, h.tag});
  const uint64_t base = it == received_.end() ? 0 : it->second;
  if (h.seq < base) {
    log::Warn(me, ": session '", session_, "': dropping a transfer from node ", h.from,
              " with tag ", h.tag, " number ", h.seq, ": it belongs to an Exchange that is over");
    return done();
  }
  for (RecvState& r : rs) {
    if (r.t->peer != h.from || r.t->tag != h.tag || r.seq != h.seq) continue;
    if (r.filled) {
      log::Warn(me, ": session '", session_, "': dropping a second transfer from node ", h.from,
                " with tag ", h.tag, " number ", h.seq);
      return done();
    }
    if (h.size != r.t->size) {
      run.Fail(Status::Corruption(me + ": node " + N(h.from) + " sends " +
                                  N(static_cast<int64_t>(h.size)) + " bytes with tag " + N(h.tag) +
                                  ", this node expects " + N(static_cast<int64_t>(r.t->size))));
      return done();
    }
    std::string error;
    const End e = ReadAll(in.fd, r.t->data, r.t->size, run.deadline, run.abort, &r.got, &error);
    if (e == End::kDone) {
      const char ack = kAck;
      (void)::send(in.fd, &ack, 1, MSG_NOSIGNAL);
      r.filled = true;
    } else if (e == End::kFailed) {
      run.Fail(Status::Unavailable(me + ": receiving " + N(static_cast<int64_t>(r.t->size)) +
                                   " bytes with tag " + N(h.tag) + " from node " + N(h.from) +
                                   ": " + error));
    }
    return done();
  }
  // A transfer of a later Exchange of this node: kept (its sender waits) until that one runs.
  return false;
}

void NodeComm::ReceiveAll(std::vector<RecvState>& rs, Run& run) {
  const std::string me = "node " + N(node_);
  auto all_filled = [&rs] {
    return std::all_of(rs.begin(), rs.end(), [](const RecvState& r) { return r.filled; });
  };
  auto drop_closed = [this] {
    incoming_.erase(std::remove_if(incoming_.begin(), incoming_.end(),
                                   [](const Incoming& in) { return in.fd < 0; }),
                    incoming_.end());
  };
  for (;;) {
    for (Incoming& in : incoming_) {
      if (run.abort.load()) break;
      if (in.fd >= 0 && in.has_header) (void)Deliver(in, rs, run);
    }
    drop_closed();
    if (all_filled() || run.abort.load()) return;
    const int64_t now = NowMs();
    if (now >= run.deadline) return;
    // A connection is kept at most timeout_ms: its sender has given up by then.
    size_t stashed = 0;
    for (Incoming& in : incoming_) {
      if (now - in.since_ms > timeout_ms_) {
        if (!in.has_header) {
          log::Warn(me, ": session '", session_, "': closing a connection from ",
                    ipc::PeerAddress(in.fd), " that sent no header within ", timeout_ms_, " ms");
        }
        ::close(in.fd);
        in.fd = -1;
      } else if (in.has_header) {
        ++stashed;
      }
    }
    drop_closed();
    std::vector<pollfd> fds;
    std::vector<size_t> which;  // fds[i + 1] is incoming_[which[i]]
    fds.push_back({listen_fd_, POLLIN, 0});
    for (size_t i = 0; i < incoming_.size(); ++i) {
      if (incoming_[i].has_header) continue;
      fds.push_back({incoming_[i].fd, POLLIN, 0});
      which.push_back(i);
    }
    const int n =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::min(run.deadline - now, kSliceMs)));
    if (n < 0 && errno != EINTR) {
      run.Fail(Status::FromErrno(me + ": poll", errno));
      return;
    }
    if (n <= 0) continue;
    for (size_t i = 0; i < which.size(); ++i) {
      if (fds[i + 1].revents == 0) continue;
      Incoming& in = incoming_[which[i]];
      char buf[kHeaderSize];
      const ssize_t r = ::recv(in.fd, buf, kHeaderSize - in.buf.size(), MSG_DONTWAIT);
      if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      std::string why;
      if (r <= 0) {
        why = r == 0 ? "closed before its header" : std::strerror(errno);
      } else {
        in.buf.append(buf, static_cast<size_t>(r));
        if (in.buf.size() < kHeaderSize) continue;
        auto h = DecodeHeader(in.buf);
        if (h.ok() && stashed >= kMaxStashed) {
          why = "too many transfers (" + N(static_cast<int64_t>(stashed)) +
                ") wait for a later Exchange";
        } else if (h.ok()) {
          in.h = h.value();
          in.has_header = true;
          ++stashed;
          continue;
        } else {
          why = h.status().message();
        }
      }
      log::Warn(me, ": session '", session_, "': ignoring a connection from ",
                ipc::PeerAddress(in.fd), ": ", why);
      ::close(in.fd);
      in.fd = -1;
    }
    drop_closed();
    if (fds[0].revents != 0) {
      auto fd = ipc::TcpAccept(listen_fd_);
      if (fd.ok()) {
        (void)ipc::SetIoTimeout(fd.value(), timeout_ms_);
        Incoming in;
        in.fd = fd.value();
        in.since_ms = NowMs();
        incoming_.push_back(std::move(in));
      } else if (fd.status().code() != Code::kUnavailable) {
        run.Fail(fd.status().Annotate(me + ": session '" + session_ + "'"));
        return;
      }
    }
  }
}

Status NodeComm::Exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& recvs) {
  const std::string me = "node " + N(node_);
  for (int pass = 0; pass < 2; ++pass) {
    for (const Transfer& t : pass == 0 ? sends : recvs) {
      const char* dir = pass == 0 ? "a send to" : "a receive from";
      if (t.peer < 0 || t.peer >= nodes_) {
        return Status::InvalidArgument(me + ": exchange: " + dir + " node " + N(t.peer) + " (tag " +
                                       N(t.tag) + "), outside 0.." + N(nodes_ - 1));
      }
      if (t.data == nullptr && t.size > 0) {
        return Status::InvalidArgument(me + ": exchange: " + dir + " node " + N(t.peer) + " (tag " +
                                       N(t.tag) + ") has no buffer");
      }
    }
  }
  // Transfers to this node: copies, matched by tag in order.
  std::map<int, std::vector<const Transfer*>> self_sends, self_recvs;
  for (const Transfer& t : sends) {
    if (t.peer == node_) self_sends[t.tag].push_back(&t);
  }
  for (const Transfer& t : recvs) {
    if (t.peer == node_) self_recvs[t.tag].push_back(&t);
  }
  std::set<int> self_tags;
  for (const auto& [tag, list] : self_sends) self_tags.insert(tag);
  for (const auto& [tag, list] : self_recvs) self_tags.insert(tag);
  for (int tag : self_tags) {
    const size_t ns = self_sends[tag].size(), nr = self_recvs[tag].size();
    if (ns != nr) {
      return Status::InvalidArgument(me + ": exchange: " + N(static_cast<int64_t>(ns)) +
                                     " send(s) to itself with tag " + N(tag) + " but " +
                                     N(static_cast<int64_t>(nr)) + " receive(s)");
    }
  }
  for (const auto& [tag, list] : self_sends) {
    const auto& into = self_recvs[tag];
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i]->size != into[i]->size) {
        return Status::Corruption(me + ": exchange: sends " +
                                  N(static_cast<int64_t>(list[i]->size)) +
                                  " bytes to itself with tag " + N(tag) + ", expects " +
                                  N(static_cast<int64_t>(into[i]->size)));
      }
    }
  }
  for (const auto& [tag, list] : self_sends) {
    const auto& into = self_recvs[tag];
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i]->size > 0) std::memmove(into[i]->data, list[i]->data, list[i]->size);
    }
  }

  // Transfers to and from the other nodes, numbered per (node, tag) pair.
  Run run;
  run.deadline = NowMs() + timeout_ms_;
  std::map<std::pair<int, int>, uint64_t> nsent, nreceived;
  std::vector<SendState> ss;
  std::vector<RecvState> rs;
  for (const Transfer& t : sends) {
    if (t.peer == node_) continue;
    const std::pair<int, int> key(t.peer, t.tag);
    SendState s;
    s.t = &t;
    s.seq = sent_[key] + nsent[key]++;
    ss.push_back(s);
  }
  for (const Transfer& t : recvs) {
    if (t.peer == node_) continue;
    const std::pair<int, int> key(t.peer, t.tag);
    RecvState r;
    r.t = &t;
    r.seq = received_[key] + nreceived[key]++;
    rs.push_back(r);
  }
  std::map<int, std::vector<SendState*>> by_peer;
  for (SendState& s : ss) by_peer[s.t->peer].push_back(&s);
  std::vector<std::thread> threads;
  for (auto& [peer, list] : by_peer) {
    try {
      threads.emplace_back([this, &run, mine = list] {
        for (SendState* s : mine) {
          SendOne(*s, run);
          if (!s->done) break;
        }
      });
    } catch (const std::system_error& e) {
      run.Fail(Status::Internal(me + ": exchange: cannot start a thread to send to node " +
                                N(peer) + ": " + e.what()));
      break;
    }
  }
  if (!rs.empty()) ReceiveAll(rs, run);
  for (std::thread& th : threads) th.join();
  // Done or not, these numbers are used: a late transfer of this Exchange is stale.
  for (const auto& [key, n] : nsent) sent_[key] += n;
  for (const auto& [key, n] : nreceived) received_[key] += n;

  if (!run.first.ok()) return run.first;
  std::string missing;
  for (const RecvState& r : rs) {
    if (r.filled) continue;
    missing += std::string(missing.empty() ? "not received: " : ", ") + "from node " +
               N(r.t->peer) + " tag " + N(r.t->tag) + " (" + N(static_cast<int64_t>(r.got)) +
               " of " + N(static_cast<int64_t>(r.t->size)) + " bytes)";
  }
  std::string unsent;
  for (const SendState& s : ss) {
    if (s.done) continue;
    unsent += std::string(unsent.empty() ? "not sent: " : ", ") + "to node " + N(s.t->peer) +
              " tag " + N(s.t->tag) + " (" + N(static_cast<int64_t>(s.sent)) + " of " +
              N(static_cast<int64_t>(s.t->size)) + " bytes out, no acknowledgement)";
  }
  if (missing.empty() && unsent.empty()) return Status::Ok();
  return Status::Unavailable(me + ": exchange of session '" + session_ + "' not done within " +
                             N(timeout_ms_) + " ms: " + missing +
                             (missing.empty() || unsent.empty() ? "" : "; ") + unsent);
}

}  // namespace cairn::tree
