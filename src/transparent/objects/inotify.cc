// inotify: the watches of an instance (see event_objects.h).
//
// Capture parses the "inotify wd:W ino:I sdev:D mask:M ..." lines of fdinfo. The kernel keeps
// no path, only the inode: the preload library records the path each watch was added with
// (preload/inotify_paths.h) and fills InotifyWatch::path from it; FindWatchPath checks that
// the path still leads to the watched inode.
//
// Restore creates a new instance and adds each watch by its path, in the order of its watch
// descriptor, so that each gets its old number back: the kernel hands out numbers in
// increasing order from 1, so a gap is filled with a watch on a scratch file that is removed
// again (its IN_IGNORED event, and any event that arrived while the watches were being made,
// are read off the queue before the program runs). A watch whose path is unknown or no longer
// exists is not added (logged): the program would have received IN_IGNORED for it. Not kept:
// events queued and not yet read at the checkpoint.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "common/log.h"
#include "transparent/objects/event_objects.h"
#include "transparent/procfs.h"

namespace cairn::transparent::objects {
namespace {

// Whether `path` leads to inode `ino` on the device the kernel calls `sdev`
// (MAJOR << 20 | MINOR).
bool SameInode(const std::string& path, uint64_t ino, uint32_t sdev) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_ino == ino && major(st.st_dev) == (sdev >> 20) &&
         minor(st.st_dev) == (sdev & 0xfffffu);
}

// Fills the gap below watch number `wd` with watches on fresh scratch files (in `dir`, made on
// first use); their numbers go to *fillers.
Status FillTo(int fd, int wd, std::string* dir, std::vector<int>* fillers) {
  for (int n = 0; n < 1 << 20; ++n) {
    if (dir->empty()) {
      char tmpl[] = "/tmp/cairn-inotify.XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) return Status::FromErrno("mkdtemp", errno);
      *dir = tmpl;
    }
    const std::string file = *dir + "/" + std::to_string(fillers->size());
    int f = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (f < 0) return Status::FromErrno("creating '" + file + "'", errno);
    ::close(f);
    const int got = ::inotify_add_watch(fd, file.c_str(), IN_ATTRIB);
    if (got < 0) return Status::FromErrno("inotify_add_watch('" + file + "')", errno);
    fillers->push_back(got);
    if (got >= wd - 1) return Status::Ok();
  }
  return Status::Internal("watch numbers do not increase");
}

}  // namespace

Status CaptureInotify(int /*fd*/, const std::string& fdinfo, EventObjectState* o) {
  for (const std::string& line : Lines(fdinfo)) {
    if (!line.starts_with("inotify ")) continue;
    int wd = 0;
    unsigned long long ino = 0;
    unsigned sdev = 0, mask = 0;
    if (std::sscanf(line.c_str(), "inotify wd:%d ino:%llx sdev:%x mask:%x", &wd, &ino, &sdev,
                    &mask) != 4 ||
        wd <= 0) {
      return Status::IOError("cannot parse its fdinfo line '" + line + "'");
    }
    o->watches.push_back(InotifyWatch{wd, mask, ino, sdev, ""});
  }
  std::sort(o->watches.begin(), o->watches.end(),
            [](const InotifyWatch& a, const InotifyWatch& b) { return a.wd < b.wd; });
  return Status::Ok();
}

bool WatchPathMatches(const InotifyWatch& w, const std::string& path) {
  return !path.empty() && path[0] == '/' && SameInode(path, w.ino, w.dev);
}

Result<int> RestoreInotify(const FileState& f) {
  int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return Status::FromErrno("inotify_init1", errno);
  std::string scratch;
  std::vector<int> fillers;
  Status st;
  int last = 0;
  for (const InotifyWatch& w : f.object.watches) {
    struct stat s;
    if (w.path.empty() || ::stat(w.path.c_str(), &s) != 0) {
      log::Warn("restart: ", Describe(f.fd, f.kind), ": watch ", w.wd, " (",
                w.path.empty() ? std::string("path unknown") : "'" + w.path + "' is gone",
                ") is not restored");
      continue;
    }
    if (w.wd > last + 1) st = FillTo(fd, w.wd, &scratch, &fillers);
    if (!st.ok()) break;
    const int got = ::inotify_add_watch(fd, w.path.c_str(), w.mask);
    if (got < 0) {
      st = Status::FromErrno("inotify_add_watch('" + w.path + "')", errno);
      break;
    }
    if (got != w.wd) {
      st = Status::Internal("watch '" + w.path + "' came back as " + std::to_string(got) +
                            ", not " + std::to_string(w.wd));
      break;
    }
    last = got;
  }
  for (int filler : fillers) (void)::inotify_rm_watch(fd, filler);
  if (!scratch.empty()) {
    for (size_t i = 0; i < fillers.size() + 1; ++i) {
      (void)::unlink((scratch + "/" + std::to_string(i)).c_str());
    }
    (void)::rmdir(scratch.c_str());
  }
  char drain[4096];
  while (st.ok() && ::read(fd, drain, sizeof drain) > 0) {
  }
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  // The caller sets the program's status flags (O_NONBLOCK or not) at its number.
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace cairn::transparent::objects
