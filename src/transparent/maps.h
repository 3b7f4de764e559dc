// The memory map of a process, as /proc/<pid>/maps describes it: the first thing a
// transparent checkpoint reads, to know which regions exist and which of them to save.
//
// Line format (fs/proc/task_mmu.c, show_map_vma):
//   start-end perms offset major:minor inode [padding path]
//   55d674a00000-55d674a02000 r--p 00000000 fe:00 247498       /usr/bin/head
// Numbers are hex except the inode (decimal). The path starts after the padding and runs to
// the end of the line, so it may contain spaces (leading spaces of a file name cannot be told
// from the padding and are lost). The kernel escapes '\n' in paths as "\012"; the path is kept
// as the kernel wrote it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn::transparent {

struct MapRegion {
  enum Kind {
    kAnonymous,  // no path
    kFile,       // an absolute path (also /memfd:..., /SYSV..., /dev/zero (deleted))
    kHeap,       // [heap]
    kStack,      // [stack] (and [stack:<tid>] of old kernels)
    kVdso,       // [vdso]
    kVvar,       // [vvar], [vvar_vclock]
    kVsyscall,   // [vsyscall]
    kOther,      // [anon:name], [anon_shmem:name], [uprobes], anon_inode:..., ...
  };

  uint64_t start = 0;
  uint64_t end = 0;
  bool read = false;
  bool write = false;
  bool exec = false;
  bool shared = false;  // 's' (MAP_SHARED); 'p' is private
  uint64_t offset = 0;  // file offset of `start`
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  // The path with any " (deleted)" suffix removed (see `deleted`); empty for anonymous memory.
  std::string path;
  Kind kind = kAnonymous;
  // The kernel appended " (deleted)": the file was unlinked (or replaced) after mapping, so it
  // cannot be reopened by name; its contents must be saved.
  bool deleted = false;

  uint64_t size() const { return end - start; }
  // "rw-p" etc., as in the maps file.
  std::string PermString() const;
  // One line in the maps file's format (without padding); for logs and error messages.
  std::string ToString() const;
};

const char* KindName(MapRegion::Kind kind);

// Parses one line (without its '\n'). Errors are kCorruption and describe the fault.
Result<MapRegion> ParseMapsLine(std::string_view line);

// Parses a whole maps file. Strict: any malformed line (including an empty line other than
// after the final '\n') is kCorruption naming the 1-based line number.
Result<std::vector<MapRegion>> ParseMaps(const std::string& text);

// Reads and parses /proc/<pid>/maps; pid 0 means this process (/proc/self/maps). The file is
// read with a few large read(2) calls; the process's own allocations while reading may make the
// result slightly stale, as with any reader of the file.
Result<std::vector<MapRegion>> ReadMaps(pid_t pid = 0);

// Whether a checkpoint saves this region: false for [vsyscall], [vvar]/[vvar_vclock], [vdso]
// (the restorer keeps the new kernel's) and empty regions; true otherwise, also for regions
// without PROT_READ (their layout must be restored; the writer makes them readable to copy).
// The kVdso label is wrong after the vDSO was mremap()ed: callers that restore should also
// compare against the vDSO address they recorded (getauxval(AT_SYSINFO_EHDR)).
bool ShouldSave(const MapRegion& region);

}  // namespace cairn::transparent
