// What ps, top, Slurm and /proc show of the process: its command line, environment and
// executable (/proc/self/{cmdline,environ,exe}, and the memory layout the kernel reports).
//
// Contract:
//   - Remember() (at start, from the constructor or a fork child) records the memory
//     layout fields of /proc/self/stat (code, data, brk, stack, argv and environment ranges)
//     and /proc/self/auxv in library memory, which a restored process gets back with the
//     rest of its memory.
//   - Restore() (after a restart, on the restart thread) gives them back to the kernel with
//     prctl(PR_SET_MM, PR_SET_MM_MAP) (no privilege needed; the current brk is kept), so
//     /proc/self/cmdline and environ show the program's again instead of the restorer's;
//     and, where the kernel allows it (CAP_SYS_ADMIN in the process's user namespace), also
//     /proc/self/exe. Failures are logged at info level: the process runs on regardless.
#pragma once

namespace cairn::preload::identity {

void Remember();
void Restore();

}  // namespace cairn::preload::identity
