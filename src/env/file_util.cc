// WriteFileAtomic and ReadFileToString (env.h): whole small files through an Env.
#include "env/env.h"

namespace cairn {

Status WriteFileAtomic(Env* env, const std::string& path, const std::string& text, bool sync) {
  const std::string tmp = path + ".tmp";
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(text.data(), text.size());
  if (st.ok() && sync) st = f.value()->Sync();
  Status closed = f.value()->Close();
  if (st.ok()) st = closed;
  if (st.ok()) st = env->Rename(tmp, path);
  if (st.ok() && sync) st = env->SyncDir(DirName(path));
  if (!st.ok()) (void)env->RemoveFile(tmp);
  return st;
}

Result<std::string> ReadFileToString(Env* env, const std::string& path, uint64_t max_bytes) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  const uint64_t n = f.value()->size();
  if (n > max_bytes) return Status::InvalidArgument("'" + path + "' is too large to read whole");
  std::string out(n, '\0');
  if (n > 0) CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(0, out.data(), n));
  return out;
}

}  // namespace cairn
