#include "redundancy/ec_file.h"

#include <cstring>

#include "common/hash.h"
#include "ipc/message.h"
#include "storage/layout.h"

namespace cairn::redundancy {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'E', 'C', '1'};

template <class T>
std::string Join(const std::vector<T>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

}  // namespace

std::string EcFileName(int rank) { return "r" + std::to_string(rank) + ".ec"; }

std::string EncodeEcHeader(const EcHeader& h) {
  ipc::Message m("EC");
  m.Add("scheme", h.scheme).Add("name", h.name).Add("version", h.version).Add("rank", h.rank);
  m.Add("set", h.set_index).Add("parity", h.parity).Add("members", Join(h.members));
  m.Add("sizes", Join(h.sizes)).Add("chunk", static_cast<long long>(h.chunk));
  return m.Encode();
}

Result<EcHeader> DecodeEcHeader(const std::string& text) {
  auto m = ipc::Message::Decode(text);
  if (!m.ok()) return m.status();
  const ipc::Message& msg = m.value();
  EcHeader h;
  h.scheme = msg.GetOr("scheme", "");
  h.name = msg.GetOr("name", "");
  h.version = msg.GetInt("version", -1);
  h.rank = static_cast<int>(msg.GetInt("rank", -1));
  h.set_index = static_cast<int>(msg.GetInt("set", -1));
  h.parity = static_cast<int>(msg.GetInt("parity", 0));
  h.chunk = static_cast<uint64_t>(msg.GetInt("chunk", 0));
  try {
    for (const auto& f : ipc::SplitFields(msg.GetOr("members", ""), ',')) {
      if (!f.empty()) h.members.push_back(std::stoi(f));
    }
    for (const auto& f : ipc::SplitFields(msg.GetOr("sizes", ""), ',')) {
      if (!f.empty()) h.sizes.push_back(std::stoull(f));
    }
  } catch (const std::exception&) {
    return Status::Corruption("redundancy header: bad member list");
  }
  if ((h.scheme != "partner" && h.scheme != "xor" && h.scheme != "rs") || h.version < 0 ||
      h.rank < 0 || h.members.size() < 2 || h.sizes.size() != h.members.size() || h.parity < 1 ||
      h.parity >= static_cast<int>(h.members.size())) {
    return Status::Corruption("redundancy header: inconsistent fields");
  }
  return h;
}

Status WriteEcFile(Env* env, const std::string& path, const EcHeader& h, const char* payload,
                   uint64_t size, bool sync) {
  std::string head = EncodeEcHeader(h);
  std::string pre(kMagic, sizeof(kMagic));
  uint32_t hl = static_cast<uint32_t>(head.size());
  pre.append(reinterpret_cast<const char*>(&hl), 4);
  pre += head;
  Hasher hash;
  hash.Update(head.data(), head.size());
  hash.Update(payload, size);
  uint64_t digest = hash.Digest();
  auto f = env->NewWritableFile(path + kTmpSuffix);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(pre.data(), pre.size());
  if (st.ok()) st = f.value()->Append(payload, size);
  if (st.ok()) st = f.value()->Append(&digest, sizeof(digest));
  if (st.ok() && sync) st = f.value()->Sync();
  if (st.ok()) st = f.value()->Close();
  if (st.ok()) st = env->Rename(path + kTmpSuffix, path);
  if (!st.ok()) (void)env->RemoveFile(path + kTmpSuffix);
  return st;
}

namespace {
Result<EcHeader> OpenHeader(Env* env, const std::string& path,
                            std::unique_ptr<RandomAccessFile>* file, std::string* head) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  char pre[12];
  if (f.value()->size() < sizeof(pre) + 8) return Status::Corruption("'" + path + "' is truncated");
  CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(0, pre, sizeof(pre)));
  if (std::memcmp(pre, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("'" + path + "' is not a cairn redundancy file");
  }
  uint32_t hl = 0;
  std::memcpy(&hl, pre + 8, 4);
  if (hl > (1u << 20) || sizeof(pre) + hl + 8 > f.value()->size()) {
    return Status::Corruption("'" + path + "': bad header length");
  }
  head->assign(hl, '\0');
  CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(sizeof(pre), head->data(), hl));
  auto h = DecodeEcHeader(*head);
  if (!h.ok()) return h.status().Annotate("'" + path + "'");
  *file = std::move(f.value());
  return h;
}
}  // namespace

Result<EcHeader> ReadEcHeader(Env* env, const std::string& path) {
  std::unique_ptr<RandomAccessFile> f;
  std::string head;
  return OpenHeader(env, path, &f, &head);
}

Result<EcHeader> ReadEcFile(Env* env, const std::string& path, std::string* payload) {
  std::unique_ptr<RandomAccessFile> f;
  std::string head;
  auto h = OpenHeader(env, path, &f, &head);
  if (!h.ok()) return h;
  const uint64_t start = 12 + head.size();
  const uint64_t size = f->size() - start - 8;
  payload->assign(size, '\0');
  CAIRN_RETURN_IF_ERROR(f->ReadAt(start, payload->data(), size));
  uint64_t stored = 0;
  CAIRN_RETURN_IF_ERROR(f->ReadAt(start + size, &stored, sizeof(stored)));
  Hasher hash;
  hash.Update(head.data(), head.size());
  hash.Update(payload->data(), payload->size());
  if (hash.Digest() != stored) return Status::Corruption("'" + path + "': checksum mismatch");
  return h;
}

}  // namespace cairn::redundancy
