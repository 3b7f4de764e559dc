// MPI-IO across a restart (io.h): the file table, the wrappers that record what a reopen needs
// (open, close, set_view, set_atomicity, the Fortran handle conversions), the checkpoint's
// SaveFiles and the restart's ReplayFiles.
#include "mpi/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"
#include "transparent/preload/lower_api.h"

namespace cairn::mpi {
namespace {

struct FileRec {
  uint64_t seq = 0;               // open order (replayed in it)
  MPI_Comm comm = MPI_COMM_NULL;  // virtual or predefined
  std::string name;               // as reopened: the prefix, then the absolute path
  std::string path;               // the file system's path (stat, fsync)
  int amode = 0;
  InfoPairs hints;
  bool has_view = false;
  MPI_Offset disp = 0;
  MPI_Datatype etype = MPI_DATATYPE_NULL;     // held: a dup of ours, or predefined
  MPI_Datatype filetype = MPI_DATATYPE_NULL;  // held likewise
  std::string datarep;
  bool atomic_set = false;
  int atomic = 0;
  bool shared_used = false;
  int split = 0;  // split collectives begun and not ended
  // At the checkpoint (SaveFiles).
  MPI_Offset pos = 0, shared_pos = 0;
  long long size = -1;
};

FileTable g_files;
FileRec g_recs[kMaxFiles];
uint64_t g_open_seq = 0;

size_t KeyOf(size_t index) { return kMaxComms + 2 + index; }

// ROMIO accepts "<fs>:" before a name ("ufs:", "nfs:", "lustre:"...).
size_t PrefixLength(const char* name) {
  size_t n = 0;
  while ((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= 'A' && name[n] <= 'Z') ||
         (name[n] >= '0' && name[n] <= '9') || name[n] == '_') {
    ++n;
  }
  return n >= 2 && name[n] == ':' ? n + 1 : 0;
}

// `info`: the library's handle.
void Record(FileRec* f, MPI_Comm comm, const char* filename, int amode, MPI_Info info) {
  *f = FileRec{};
  f->seq = ++g_open_seq;
  f->comm = comm;
  f->amode = amode;
  const size_t pre = PrefixLength(filename);
  std::string path = filename + pre;
  if (!path.empty() && path[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) path = std::string(cwd) + "/" + path;
  }
  f->path = path;
  f->name = std::string(filename, pre) + path;
  if (info == MPI_INFO_NULL) return;
  Lower l;
  (void)InfoContents(info, &f->hints);  // hints only: a reopen works without them
}

// A datatype the view keeps: predefined ones as they are, the program's as a dup of ours.
MPI_Datatype Hold(MPI_Datatype v) {
  size_t i;
  if (!Types().Index(v, &i)) return v;
  MPI_Datatype dup = MPI_DATATYPE_NULL, out = MPI_DATATYPE_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_dup)(Types().Real(i), &dup);
  }
  if (rc != MPI_SUCCESS) return MPI_DATATYPE_NULL;
  if (MakeType(RecipeOp::kTypeDup, dup, &out, Bits(v), 0) != MPI_SUCCESS) return MPI_DATATYPE_NULL;
  return out;
}

void Release(MPI_Datatype* held) {
  size_t i;
  if (Types().Index(*held, &i)) (void)MPI_Type_free(held);  // the shim's own: logs the free
  *held = MPI_DATATYPE_NULL;
}

std::string ErrorText(int rc) {
  char s[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (CAIRN_REAL(MPI_Error_string)(rc, s, &len) != MPI_SUCCESS)
    return "MPI error " + std::to_string(rc);
  return std::string(s, static_cast<size_t>(len));
}

// The open files in the order they were opened.
std::vector<size_t> OpenOrder() {
  std::vector<size_t> order;
  for (size_t i = 0; i < g_files.Limit(); ++i) {
    if (g_files.Used(i)) order.push_back(i);
  }
  std::sort(order.begin(), order.end(),
            [](size_t a, size_t b) { return g_recs[a].seq < g_recs[b].seq; });
  return order;
}

// A collective on file `fh` (counted on its key) that `call` makes with the library's handle;
// *index: the file's table index (false: not a file of the table).
template <typename Fn>
int FileCollective(MPI_File fh, size_t* index, bool* known, Fn&& call) {
  *known = g_files.Index(fh, index);
  const size_t key = FileKey(fh);
  CountKey(key);
  int rc;
  {
    Lower l;
    rc = call(g_files.ToReal(fh));
  }
  CompleteKey(key);
  return rc;
}

}  // namespace

FileTable& Files() { return g_files; }

size_t FileKey(MPI_File v) {
  size_t i;
  if (g_files.Index(v, &i)) return KeyOf(i);
  return kMaxComms + 1;  // MPI_COMM_SELF's: never counted
}

void FileUsesSharedPointer(MPI_File v) {
  size_t i;
  if (g_files.Index(v, &i)) g_recs[i].shared_used = true;
}

void FileSplit(MPI_File v, bool begin) {
  size_t i;
  if (!g_files.Index(v, &i)) return;
  g_recs[i].split += begin ? 1 : (g_recs[i].split > 0 ? -1 : 0);
}

bool SaveFiles(char* err, size_t err_len) {
  // No object lock: the program's threads are out of the wrappers or at safe points, which
  // do not change the file table.
  for (size_t i : OpenOrder()) {
    FileRec& f = g_recs[i];
    const MPI_File real = g_files.Real(i);
    if (f.split > 0) {
      std::snprintf(err, err_len,
                    "a split collective (MPI_File_..._begin without its _end) is open on %s: "
                    "cairn cannot checkpoint in the middle of one",
                    f.path.c_str());
      return false;
    }
    int rc = CAIRN_REAL(MPI_File_get_position)(real, &f.pos);
    if (rc == MPI_SUCCESS && f.shared_used) {
      rc = CAIRN_REAL(MPI_File_get_position_shared)(real, &f.shared_pos);
    }
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "the file pointer of %s: %s", f.path.c_str(),
                    ErrorText(rc).c_str());
      return false;
    }
    // The bytes this rank wrote reach the disk before the image is committed (an fsync of any
    // descriptor of the file flushes its dirty pages).
    // (Outside the lower half: this descriptor is the upper half's, and short-lived.)
    cairn_lower_exit();
    const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    int e = 0;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      e = errno;
    } else if ((f.amode & MPI_MODE_RDONLY) == 0 && ::fsync(fd) != 0) {
      e = errno;
    }
    if (fd >= 0) ::close(fd);
    cairn_lower_enter();
    if (e != 0) {
      std::snprintf(err, err_len, "%s, which the job has open: %s", f.path.c_str(),
                    std::strerror(e));
      return false;
    }
    f.size = static_cast<long long>(st.st_size);
  }
  return true;
}

bool ReplayFiles(char* err, size_t err_len) {
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  for (size_t i : OpenOrder()) {
    FileRec& f = g_recs[i];
    const MPI_Comm comm = Comms().ToReal(f.comm);
    MPI_Info info = MPI_INFO_NULL;
    if (!f.hints.empty()) (void)MakeInfo(f.hints, &info);  // hints only: the keys it could set
    MPI_File real = MPI_FILE_NULL;
    const int amode = f.amode & ~(MPI_MODE_CREATE | MPI_MODE_EXCL);
    const int orc = CAIRN_REAL(MPI_File_open)(comm, f.name.c_str(), amode, info, &real);
    if (info != MPI_INFO_NULL) CAIRN_REAL(MPI_Info_free)(&info);
    if (orc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "reopening %s, which the job had open: %s", f.path.c_str(),
                    ErrorText(orc).c_str());
      return false;
    }
    g_files.SetReal(i, real);
    // Every rank recorded the size after the drain, and looks at it now; all take the largest
    // of each (so all decide alike, also when one rank's cut lands before another looks).
    MPI_Offset now_here = -1;
    int rc = CAIRN_REAL(MPI_File_get_size)(real, &now_here);
    long long sizes[2] = {f.size, static_cast<long long>(now_here)};
    if (rc == MPI_SUCCESS) {
      rc = CAIRN_REAL(MPI_Allreduce)(MPI_IN_PLACE, sizes, 2, MPI_LONG_LONG, MPI_MAX, comm);
    }
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "the size of %s: %s", f.path.c_str(), ErrorText(rc).c_str());
      return false;
    }
    const long long size = sizes[0];
    const long long now = sizes[1];
    if (size >= 0 && now < size) {
      std::snprintf(err, err_len,
                    "%s is shorter (%lld bytes) than at the checkpoint (%lld bytes): what the job "
                    "wrote into it before the checkpoint is gone",
                    f.path.c_str(), now, size);
      return false;
    }
    if (size >= 0 && now > size && (f.amode & MPI_MODE_RDONLY) == 0) {
      rc = CAIRN_REAL(MPI_File_set_size)(real, static_cast<MPI_Offset>(size));
      if (rc != MPI_SUCCESS) {
        std::snprintf(err, err_len, "cutting %s back to its size at the checkpoint: %s",
                      f.path.c_str(), ErrorText(rc).c_str());
        return false;
      }
    }
    if (f.has_view) {
      rc = CAIRN_REAL(MPI_File_set_view)(real, f.disp, Types().ToReal(f.etype),
                                         Types().ToReal(f.filetype), f.datarep.c_str(),
                                         MPI_INFO_NULL);
    }
    if (rc == MPI_SUCCESS && f.atomic_set) rc = CAIRN_REAL(MPI_File_set_atomicity)(real, f.atomic);
    if (rc == MPI_SUCCESS) rc = CAIRN_REAL(MPI_File_seek)(real, f.pos, MPI_SEEK_SET);
    if (rc == MPI_SUCCESS && f.shared_used) {
      rc = CAIRN_REAL(MPI_File_seek_shared)(real, f.shared_pos, MPI_SEEK_SET);
    }
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "restoring the view and file pointers of %s: %s", f.path.c_str(),
                    ErrorText(rc).c_str());
      return false;
    }
  }
  return true;
}

}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

CAIRN_API int MPI_File_open(MPI_Comm comm, const char* filename, int amode, MPI_Info info,
                            MPI_File* fh) {
  if (FromLower()) return CAIRN_REAL(MPI_File_open)(comm, filename, amode, info, fh);
  Call c;
  const MPI_Comm rcomm = Comms().ToReal(comm);
  const MPI_Info rinfo = Infos().ToReal(info);
  CountCollective(comm);
  MPI_File real = MPI_FILE_NULL;
  int rc, size = 1;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_File_open)(rcomm, filename, amode, rinfo, &real);
    CAIRN_REAL(MPI_Comm_size)(rcomm, &size);
  }
  CompleteCollective(comm);
  if (rc != MPI_SUCCESS) return rc;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  const long i = g_files.Add(real);
  if (i < 0) {
    NoteUnsupported("(more open MPI files than the shim's table holds)");
    *fh = real;
    return rc;
  }
  Record(&g_recs[i], comm, filename, amode, rinfo);
  NewFileKey(comm, KeyOf(static_cast<size_t>(i)), size);
  *fh = g_files.Virtual(static_cast<size_t>(i));
  return rc;
}
CAIRN_PMPI(MPI_File_open)

CAIRN_API int MPI_File_close(MPI_File* fh) {
  if (FromLower()) return CAIRN_REAL(MPI_File_close)(fh);
  Call c;
  size_t i;
  if (!g_files.Index(*fh, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_File_close)(fh);
  }
  MPI_File real = g_files.Real(i);
  CountKey(KeyOf(i));
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_File_close)(&real);
  }
  CompleteKey(KeyOf(i));
  if (rc != MPI_SUCCESS) return rc;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  Release(&g_recs[i].etype);
  Release(&g_recs[i].filetype);
  g_recs[i] = FileRec{};
  DropFileKey(KeyOf(i));
  g_files.SetReal(i, MPI_FILE_NULL);
  g_files.Free(i);
  *fh = MPI_FILE_NULL;
  return rc;
}
CAIRN_PMPI(MPI_File_close)

CAIRN_API int MPI_File_set_view(MPI_File fh, MPI_Offset disp, MPI_Datatype etype,
                                MPI_Datatype filetype, const char* datarep, MPI_Info info) {
  if (FromLower()) return CAIRN_REAL(MPI_File_set_view)(fh, disp, etype, filetype, datarep, info);
  Call c;
  size_t i = 0;
  bool known = false;
  const int rc = FileCollective(fh, &i, &known, [&](MPI_File real) {
    return CAIRN_REAL(MPI_File_set_view)(real, disp, Types().ToReal(etype),
                                         Types().ToReal(filetype), datarep, Infos().ToReal(info));
  });
  if (rc != MPI_SUCCESS || !known) return rc;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  FileRec& f = g_recs[i];
  Release(&f.etype);
  Release(&f.filetype);
  f.etype = Hold(etype);
  f.filetype = Hold(filetype);
  if (f.etype == MPI_DATATYPE_NULL || f.filetype == MPI_DATATYPE_NULL) {
    NoteUnsupported("MPI_File_set_view (its datatypes could not be kept)");
  }
  f.has_view = true;
  f.disp = disp;
  f.datarep = datarep != nullptr ? datarep : "native";
  return rc;
}
CAIRN_PMPI(MPI_File_set_view)

CAIRN_API int MPI_File_set_atomicity(MPI_File fh, int flag) {
  if (FromLower()) return CAIRN_REAL(MPI_File_set_atomicity)(fh, flag);
  Call c;
  size_t i = 0;
  bool known = false;
  const int rc = FileCollective(fh, &i, &known, [&](MPI_File real) {
    return CAIRN_REAL(MPI_File_set_atomicity)(real, flag);
  });
  if (rc == MPI_SUCCESS && known) {
    g_recs[i].atomic_set = true;
    g_recs[i].atomic = flag;
  }
  return rc;
}
CAIRN_PMPI(MPI_File_set_atomicity)

// ------------------------------------------------------------------ Fortran handles
CAIRN_API MPI_Fint MPI_File_c2f(MPI_File fh) {
  if (FromLower()) return CAIRN_REAL(MPI_File_c2f)(fh);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (g_files.Index(fh, &i)) return FileTable::FortranOf(i);
  Lower l;
  return CAIRN_REAL(MPI_File_c2f)(fh);
}
CAIRN_PMPI(MPI_File_c2f)

CAIRN_API MPI_File MPI_File_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_File_f2c)(f);
  Call c;
  size_t i;
  if (FileTable::IndexOfFortran(f, &i) && g_files.Used(i)) return g_files.Virtual(i);
  Lower l;
  return CAIRN_REAL(MPI_File_f2c)(f);
}
CAIRN_PMPI(MPI_File_f2c)
