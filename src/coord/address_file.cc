#include "coord/address_file.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hash.h"
#include "transparent/naming.h"

namespace cairn::coord {
namespace {

bool IsHex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool ParseNumber(const std::string& s, long long max, long long* out) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *out = std::stoll(s);
  return *out <= max;
}

}  // namespace

std::string AddressFilePath(const std::string& dir) {
  return transparent::naming::CoordinatorFile(dir);
}

std::string NewToken() {
  unsigned char b[16] = {};
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t r = ::getrandom(b + got, sizeof(b) - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got < sizeof(b)) {
    const uint64_t mix[3] = {
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
        static_cast<uint64_t>(::getpid()), reinterpret_cast<uintptr_t>(&got)};
    const uint64_t h1 = Hash64(mix, sizeof(mix));
    const uint64_t h2 = Hash64(&h1, sizeof(h1));
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<unsigned char>(h1 >> (8 * i));
      b[8 + i] = static_cast<unsigned char>(h2 >> (8 * i));
    }
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Status WriteAddressFile(const std::string& dir, const CoordinatorAddress& a, Env* env) {
  if (a.host.empty() || a.host.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidArgument("coordinator host '" + a.host + "' is empty or has blanks");
  }
  if (a.port < 1 || a.port > 65535) {
    return Status::InvalidArgument("coordinator port " + std::to_string(a.port) +
                                   " is outside 1..65535");
  }
  if (!IsHex32(a.token)) return Status::InvalidArgument("coordinator token is not 32 hex digits");
  if (a.job_key.empty() || a.job_key.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("job key '" + a.job_key + "' is empty or has a newline");
  }
  const std::string cairn_dir = transparent::naming::ControlDir(dir);
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(cairn_dir));
  const std::string path = AddressFilePath(dir);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::ostringstream os;
  os << a.host << " " << a.port << "\ntoken " << a.token << "\njob " << a.job_key << "\npid "
     << a.pid << "\n";
  const std::string text = os.str();
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(text.data(), text.size());
  if (st.ok()) st = f.value()->Sync();
  Status cst = f.value()->Close();
  if (st.ok()) st = cst;
  if (st.ok()) st = env->Rename(tmp, path);
  if (!st.ok()) {
    (void)env->RemoveFile(tmp);
    return st;
  }
  return env->SyncDir(cairn_dir);
}

Result<CoordinatorAddress> ReadAddressFile(const std::string& dir, Env* env) {
  const std::string path = AddressFilePath(dir);
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) {
    if (f.status().code() == Code::kNotFound) {
      return Status::NotFound("no coordinator address file '" + path + "'");
    }
    return f.status();
  }
  const uint64_t size = f.value()->size();
  auto bad = [&](const std::string& why) -> Status {
    return Status::Corruption("'" + path + "': not a coordinator address file (" + why + ")");
  };
  if (size > 4096) return bad("larger than 4 KiB");
  std::string text(size, '\0');
  CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(0, text.data(), text.size()));
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return bad("last line has no newline");
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() != 4) return bad(std::to_string(lines.size()) + " lines, want 4");
  CoordinatorAddress a;
  // Line 1: "host PORT".
  const size_t sp = lines[0].find(' ');
  long long n = 0;
  if (sp == std::string::npos || sp == 0 || !ParseNumber(lines[0].substr(sp + 1), 65535, &n) ||
      n < 1) {
    return bad("line 1 is not 'host PORT'");
  }
  a.host = lines[0].substr(0, sp);
  a.port = static_cast<int>(n);
  // Lines 2-4: "key value".
  auto value = [&](size_t i, const char* key, std::string* out) -> bool {
    const std::string prefix = std::string(key) + " ";
    if (lines[i].compare(0, prefix.size(), prefix) != 0) return false;
    *out = lines[i].substr(prefix.size());
    return !out->empty();
  };
  if (!value(1, "token", &a.token) || !IsHex32(a.token)) {
    return bad("line 2 is not 'token <32 hex digits>'");
  }
  if (!value(2, "job", &a.job_key)) return bad("line 3 is not 'job JOBKEY'");
  std::string pid;
  if (!value(3, "pid", &pid) || !ParseNumber(pid, INT64_MAX, &a.pid)) {
    return bad("line 4 is not 'pid PID'");
  }
  return a;
}

Status RemoveAddressFileIfOurs(const std::string& dir, const std::string& token, Env* env) {
  auto a = ReadAddressFile(dir, env);
  if (!a.ok()) return a.status().code() == Code::kNotFound ? Status::Ok() : a.status();
  if (a.value().token != token) return Status::Ok();
  CAIRN_RETURN_IF_ERROR(env->RemoveFile(AddressFilePath(dir)));
  return env->SyncDir(transparent::naming::ControlDir(dir));
}

Status FindCoordinator(const std::string& dir, const std::string& job_key, int timeout_ms,
                       const std::function<Status(const CoordinatorAddress&, int)>& attempt) {
  constexpr int kRetryMs = 100;
  const int64_t deadline = NowMs() + std::max(0, timeout_ms);
  std::string last = "no attempt";
  for (bool first = true;; first = false) {
    if (!first) {
      const int64_t left = deadline - NowMs();
      if (left <= 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(kRetryMs, left)));
    }
    auto a = ReadAddressFile(dir);
    if (!a.ok()) {
      last = a.status().message();
      continue;
    }
    if (a.value().job_key != job_key) {
      last = "'" + AddressFilePath(dir) + "' names job '" + a.value().job_key + "'";
      continue;
    }
    Status st = attempt(a.value(), static_cast<int>(std::max<int64_t>(1, deadline - NowMs())));
    if (st.ok() || st.code() != Code::kUnavailable) return st;
    last = st.message();
  }
  return Status::Unavailable("no coordinator for job '" + job_key + "' under '" + dir +
                             "' within " + std::to_string(timeout_ms) + " ms (" + last + ")");
}

}  // namespace cairn::coord
