#include "redundancy/redundancy_level.h"

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "ipc/message.h"
#include "redundancy/erasure.h"

namespace cairn::redundancy {
namespace {

constexpr int kTagPartner = 1, kTagPartnerParity = 2, kTagStripe = 10;  // stripes: 10..409

int IndexOf(const std::vector<int>& v, int x) {
  auto it = std::find(v.begin(), v.end(), x);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

}  // namespace

Result<std::unique_ptr<RedundancyLevel>> RedundancyLevel::Create(const Config& cfg, Comm* comm,
                                                                 Env* env, ProtectedData* data) {
  std::unique_ptr<RedundancyLevel> l(new RedundancyLevel(cfg, comm, env, data));
  auto domains = comm->AllGather(cfg.failure_domain);
  if (!domains.ok()) return domains.status();
  SetScheme s = cfg.ec_scheme == "partner" ? SetScheme::kPartner
                : cfg.ec_scheme == "xor"   ? SetScheme::kXor
                                           : SetScheme::kRs;
  auto sets = FormSets(domains.value(), s, cfg.ec_set_size, cfg.ec_parity);
  if (!sets.ok()) return sets.status().Annotate("ec_scheme = " + cfg.ec_scheme);
  l->sets_ = std::move(sets.value());
  if (comm->rank() == 0) {
    for (const auto& n : l->sets_.notes) log::Warn("redundancy: ", n);
    log::Info("redundancy: ", cfg.ec_scheme, " over ", l->sets_.sets.size(), " set(s)");
  }
  return l;
}

// ------------------------------------------------------------------ encode

Status RedundancyLevel::Encode(const std::string& name, long long version) {
  const int me = comm_->rank();
  auto mine = data_->Read(name, version);
  Status st = mine.status();
  // Everyone learns everyone's size (also tells the set who failed to read).
  auto sizes = comm_->AllGather(st.ok() ? std::to_string(mine.value().size()) : "-1");
  if (!sizes.ok()) return sizes.status();
  const SetPlan& plan = sets_.sets[static_cast<size_t>(sets_.set_of[static_cast<size_t>(me)])];
  EcHeader h;
  h.scheme = scheme_;
  h.name = name;
  h.version = version;
  h.rank = me;
  h.set_index = plan.index;
  h.parity = plan.parity;
  h.members = plan.members;
  bool set_ok = true;
  for (int m : plan.members) {
    long long sz = std::stoll(sizes.value()[static_cast<size_t>(m)]);
    if (sz < 0) set_ok = false;
    h.sizes.push_back(static_cast<uint64_t>(std::max(0LL, sz)));
  }
  if (st.ok() && !set_ok) st = Status::Unavailable("a member of the set has no rank file");
  // Every member runs the same exchanges (possibly with empty data) to stay in step.
  std::string none;
  std::string& data = mine.ok() ? mine.value() : none;
  Status enc = scheme_ == "partner" ? EncodePartner(h, data) : EncodeParity(h, data);
  if (st.ok()) st = enc;
  auto all = comm_->AllTrue(st.ok());
  if (!all.ok()) return all.status();
  if (!all.value()) {
    (void)env_->RemoveFile(data_->EcPath(name, version));
    return st.ok() ? Status::Unavailable("redundancy encoding failed on another rank") : st;
  }
  return Status::Ok();
}

Status RedundancyLevel::EncodePartner(const EcHeader& base, std::string& mine) {
  const int me = comm_->rank();
  const int n = static_cast<int>(base.members.size());
  const int i = IndexOf(base.members, me);
  const int left = base.members[static_cast<size_t>((i - 1 + n) % n)];
  const int right = base.members[static_cast<size_t>((i + 1) % n)];
  std::string copy(base.sizes[static_cast<size_t>((i - 1 + n) % n)], '\0');
  Status st = comm_->Exchange({{right, kTagPartner, mine.data(), mine.size()}},
                              {{left, kTagPartner, copy.data(), copy.size()}});
  if (!st.ok()) return st;
  EcHeader h = base;
  h.chunk = copy.size();
  return WriteEcFile(env_, data_->EcPath(h.name, h.version), h, copy.data(), copy.size(),
                     cfg_.scratch_fsync);
}

Status RedundancyLevel::EncodeParity(EcHeader h, std::string& mine) {
  const int me = comm_->rank();
  const int n = static_cast<int>(h.members.size());
  const int k = h.parity;
  const int i = IndexOf(h.members, me);
  StripeLayout L(n, k, *std::max_element(h.sizes.begin(), h.sizes.end()));
  CAIRN_RETURN_IF_ERROR(L.status());
  ErasureCodec codec(scheme_ == "xor" ? Scheme::kXor : Scheme::kRs, n - k, k);
  CAIRN_RETURN_IF_ERROR(codec.status());
  const uint64_t chunk = L.chunk();
  h.chunk = chunk;
  mine.resize(L.padded_len(), '\0');  // zero padding up to (n-k) chunks
  std::string parity(L.parity_len(), '\0');
  const std::vector<int> my_parity = L.ParityStripes(i);
  std::string stripe(chunk * static_cast<uint64_t>(n - k), '\0');
  std::vector<std::string> out(static_cast<size_t>(k), std::string(chunk, '\0'));
  for (int s = 0; s < n && chunk > 0; ++s) {
    std::vector<Comm::Transfer> sends, recvs;
    const int c = L.DataChunkIndex(s, i);
    if (c >= 0) {
      for (int j = 0; j < k; ++j) {
        sends.push_back({h.members[static_cast<size_t>(L.ParityHolder(s, j))], kTagStripe + s % 400,
                         mine.data() + static_cast<uint64_t>(c) * chunk, chunk});
      }
    }
    const int j = L.ParityIndex(s, i);
    std::vector<int> data_members = L.DataMembers(s);
    if (j >= 0) {
      for (size_t q = 0; q < data_members.size(); ++q) {
        recvs.push_back({h.members[static_cast<size_t>(data_members[q])], kTagStripe + s % 400,
                         stripe.data() + q * chunk, chunk});
      }
    }
    CAIRN_RETURN_IF_ERROR(comm_->Exchange(sends, recvs));
    if (j >= 0) {
      std::vector<const uint8_t*> d;
      for (size_t q = 0; q < data_members.size(); ++q) {
        d.push_back(reinterpret_cast<const uint8_t*>(stripe.data() + q * chunk));
      }
      std::vector<uint8_t*> p;
      for (auto& o : out) p.push_back(reinterpret_cast<uint8_t*>(o.data()));
      codec.Encode(d, p, chunk);
      const int pos = IndexOf(my_parity, s);
      std::memcpy(parity.data() + static_cast<uint64_t>(pos) * chunk,
                  out[static_cast<size_t>(j)].data(), chunk);
    }
  }
  return WriteEcFile(env_, data_->EcPath(h.name, h.version), h, parity.data(), parity.size(),
                     cfg_.scratch_fsync);
}

// ------------------------------------------------------------------ restart

Result<bool> RedundancyLevel::Assess(const std::string& name, long long version, bool l1_ok) {
  const int me = comm_->rank();
  std::string payload;
  auto h = ReadEcFile(env_, data_->EcPath(name, version), &payload);
  bool ec_ok =
      h.ok() && h.value().name == name && h.value().version == version && h.value().rank == me;
  ipc::Message rec("R");
  rec.Add("l1", l1_ok ? 1 : 0).Add("ec", ec_ok ? 1 : 0);
  if (ec_ok) rec.Add("header", EncodeEcHeader(h.value()));
  auto all = comm_->AllGather(rec.Encode());
  if (!all.ok()) return all.status();
  records_.assign(all.value().size(), Record{});
  for (size_t r = 0; r < all.value().size(); ++r) {
    auto m = ipc::Message::Decode(all.value()[r]);
    if (!m.ok()) continue;
    records_[r].l1 = m.value().GetInt("l1", 0) != 0;
    records_[r].ec = m.value().GetInt("ec", 0) != 0;
    if (records_[r].ec) {
      auto hh = DecodeEcHeader(m.value().GetOr("header", ""));
      if (hh.ok())
        records_[r].header = hh.value();
      else
        records_[r].ec = false;
    }
  }
  assessed_name_ = name;
  assessed_version_ = version;
  if (l1_ok) return true;
  const EcHeader* set = MySet();
  if (set == nullptr) return false;
  const int n = static_cast<int>(set->members.size());
  const int i = IndexOf(set->members, me);
  auto rec_of = [&](int idx) -> const Record& {
    return records_[static_cast<size_t>(set->members[static_cast<size_t>(idx)])];
  };
  if (set->scheme == "partner") return rec_of((i + 1) % n).ec;
  std::vector<bool> data_lost(static_cast<size_t>(n)), parity_lost(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    data_lost[static_cast<size_t>(j)] = !rec_of(j).l1;
    parity_lost[static_cast<size_t>(j)] = !rec_of(j).ec;
  }
  StripeLayout L(n, set->parity, *std::max_element(set->sizes.begin(), set->sizes.end()));
  return L.ok() && L.Recoverable(data_lost, parity_lost);
}

const EcHeader* RedundancyLevel::MySet() const {
  const int me = comm_->rank();
  if (records_[static_cast<size_t>(me)].ec) return &records_[static_cast<size_t>(me)].header;
  for (const auto& r : records_) {
    if (r.ec && r.header.name == assessed_name_ && r.header.version == assessed_version_ &&
        IndexOf(r.header.members, me) >= 0) {
      return &r.header;
    }
  }
  return nullptr;
}

Status RedundancyLevel::Rebuild(const std::string& name, long long version) {
  if (name != assessed_name_ || version != assessed_version_ || records_.empty()) {
    return Status::FailedPrecondition("redundancy: Rebuild without Assess of that version");
  }
  const int me = comm_->rank();
  const EcHeader* set = MySet();
  Status st;
  bool wrote_data = false, wrote_parity = false;
  std::string data, parity;
  if (set != nullptr) {
    // The member that runs this must know the whole set's state; all members do.
    st = set->scheme == "partner" ? RebuildPartner(*set, &data, &parity, &wrote_data, &wrote_parity)
                                  : RebuildParity(*set, &data, &parity, &wrote_data, &wrote_parity);
  }
  if (st.ok() && wrote_data) {
    st = data_->Install(name, version, data);
    if (st.ok())
      log::Warn("redundancy: rebuilt rank ", me, "'s checkpoint '", name, "' version ", version,
                " from its set");
  }
  if (st.ok() && wrote_parity) {
    EcHeader h = *set;
    h.rank = me;
    st = data_->PrepareEc(name, version);
    if (st.ok()) {
      st = WriteEcFile(env_, data_->EcPath(name, version), h, parity.data(), parity.size(),
                       cfg_.scratch_fsync);
    }
  }
  auto all = comm_->AllTrue(st.ok());
  if (!all.ok()) return all.status();
  if (!st.ok()) return st.Annotate("redundancy rebuild");
  return all.value() ? Status::Ok()
                     : Status::Unavailable("redundancy rebuild failed on another rank");
}

Status RedundancyLevel::RebuildPartner(const EcHeader& set, std::string* data, std::string* parity,
                                       bool* wrote_data, bool* wrote_parity) {
  const int me = comm_->rank();
  const int n = static_cast<int>(set.members.size());
  const int i = IndexOf(set.members, me);
  auto member = [&](int idx) { return set.members[static_cast<size_t>((idx % n + n) % n)]; };
  auto rec = [&](int idx) -> const Record& { return records_[static_cast<size_t>(member(idx))]; };
  // Phase 1: a member without its rank file gets it back from its right neighbour's copy.
  {
    std::vector<Comm::Transfer> sends, recvs;
    std::string copy;  // I hold the copy of member i-1
    if (!rec(i - 1).l1 && rec(i).ec) {
      auto h = ReadEcFile(env_, data_->EcPath(set.name, set.version), &copy);
      if (!h.ok()) return h.status();
      sends.push_back({member(i - 1), kTagPartner, copy.data(), copy.size()});
    }
    if (!rec(i).l1 && rec(i + 1).ec) {
      data->assign(set.sizes[static_cast<size_t>(i)], '\0');
      recvs.push_back({member(i + 1), kTagPartner, data->data(), data->size()});
      *wrote_data = true;
    }
    CAIRN_RETURN_IF_ERROR(comm_->Exchange(sends, recvs));
  }
  // Phase 2: a member without its .ec gets its left neighbour's rank file again.
  {
    std::vector<Comm::Transfer> sends, recvs;
    std::string own;
    const bool i_have_data = rec(i).l1 || *wrote_data;
    const bool right_needs = !rec(i + 1).ec;
    // Left's data exists: its own (a rebuilt one would have needed my missing .ec).
    const bool left_has = rec(i - 1).l1;
    if (right_needs && i_have_data) {
      if (*wrote_data) {
        own = *data;
      } else {
        auto b = data_->Read(set.name, set.version);
        if (!b.ok()) return b.status();
        own = std::move(b.value());
      }
      sends.push_back({member(i + 1), kTagPartnerParity, own.data(), own.size()});
    }
    if (!rec(i).ec && left_has) {
      parity->assign(set.sizes[static_cast<size_t>((i - 1 + n) % n)], '\0');
      recvs.push_back({member(i - 1), kTagPartnerParity, parity->data(), parity->size()});
      *wrote_parity = true;
    }
    CAIRN_RETURN_IF_ERROR(comm_->Exchange(sends, recvs));
  }
  return Status::Ok();
}

Status RedundancyLevel::RebuildParity(const EcHeader& set, std::string* data, std::string* parity,
                                      bool* wrote_data, bool* wrote_parity) {
  const int me = comm_->rank();
  const int n = static_cast<int>(set.members.size());
  const int k = set.parity;
  const int i = IndexOf(set.members, me);
  StripeLayout L(n, k, *std::max_element(set.sizes.begin(), set.sizes.end()));
  CAIRN_RETURN_IF_ERROR(L.status());
  ErasureCodec codec(set.scheme == "xor" ? Scheme::kXor : Scheme::kRs, n - k, k);
  CAIRN_RETURN_IF_ERROR(codec.status());
  const uint64_t chunk = L.chunk();
  std::vector<bool> data_lost(static_cast<size_t>(n)), parity_lost(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    const Record& r = records_[static_cast<size_t>(set.members[static_cast<size_t>(j)])];
    data_lost[static_cast<size_t>(j)] = !r.l1;
    parity_lost[static_cast<size_t>(j)] = !r.ec;
  }
  if (!L.Recoverable(data_lost, parity_lost)) return Status::Ok();  // L3 will have to do
  bool any = false;
  for (int j = 0; j < n; ++j)
    any = any || data_lost[static_cast<size_t>(j)] || parity_lost[static_cast<size_t>(j)];
  if (!any || chunk == 0) return Status::Ok();
  // What this member still has.
  std::string mine, my_parity;
  if (!data_lost[static_cast<size_t>(i)]) {
    auto b = data_->Read(set.name, set.version);
    if (!b.ok()) return b.status();
    mine = std::move(b.value());
    mine.resize(L.padded_len(), '\0');
  }
  if (!parity_lost[static_cast<size_t>(i)]) {
    auto h = ReadEcFile(env_, data_->EcPath(set.name, set.version), &my_parity);
    if (!h.ok()) return h.status();
  }
  if (data_lost[static_cast<size_t>(i)]) {
    data->assign(L.padded_len(), '\0');
    *wrote_data = true;
  }
  if (parity_lost[static_cast<size_t>(i)]) {
    parity->assign(L.parity_len(), '\0');
    *wrote_parity = true;
  }
  const std::vector<int> my_pstripes = L.ParityStripes(i);
  std::vector<std::string> shards(static_cast<size_t>(n), std::string(chunk, '\0'));
  for (int s = 0; s < n; ++s) {
    std::vector<int> erased;
    std::vector<bool> lost_here(static_cast<size_t>(n), false);  // by shard index
    for (int q = 0; q < n; ++q) {
      int m = L.ShardMember(s, q);
      bool lost =
          q < n - k ? data_lost[static_cast<size_t>(m)] : parity_lost[static_cast<size_t>(m)];
      if (lost) {
        erased.push_back(q);
        lost_here[static_cast<size_t>(q)] = true;
      }
    }
    if (erased.empty()) continue;
    const int my_q = L.ShardIndex(s, i);
    const bool i_rebuild = lost_here[static_cast<size_t>(my_q)];
    std::vector<Comm::Transfer> sends, recvs;
    // My surviving shard goes to every member rebuilding a shard of this stripe.
    if (!i_rebuild) {
      char* src = my_q < n - k
                      ? mine.data() + static_cast<uint64_t>(L.DataChunkIndex(s, i)) * chunk
                      : my_parity.data() + static_cast<uint64_t>(IndexOf(my_pstripes, s)) * chunk;
      for (int q : erased) {
        sends.push_back({set.members[static_cast<size_t>(L.ShardMember(s, q))],
                         kTagStripe + s % 400, src, chunk});
      }
    } else {
      for (int q = 0; q < n; ++q) {
        if (lost_here[static_cast<size_t>(q)]) continue;
        recvs.push_back({set.members[static_cast<size_t>(L.ShardMember(s, q))],
                         kTagStripe + s % 400, shards[static_cast<size_t>(q)].data(), chunk});
      }
    }
    CAIRN_RETURN_IF_ERROR(comm_->Exchange(sends, recvs));
    if (!i_rebuild) continue;
    std::vector<uint8_t*> ptrs;
    for (auto& sh : shards) ptrs.push_back(reinterpret_cast<uint8_t*>(sh.data()));
    CAIRN_RETURN_IF_ERROR(codec.Decode(ptrs, erased, chunk));
    if (my_q < n - k) {
      std::memcpy(data->data() + static_cast<uint64_t>(L.DataChunkIndex(s, i)) * chunk,
                  shards[static_cast<size_t>(my_q)].data(), chunk);
    } else {
      std::memcpy(parity->data() + static_cast<uint64_t>(IndexOf(my_pstripes, s)) * chunk,
                  shards[static_cast<size_t>(my_q)].data(), chunk);
    }
  }
  if (*wrote_data) data->resize(set.sizes[static_cast<size_t>(i)]);
  return Status::Ok();
}

}  // namespace cairn::redundancy
