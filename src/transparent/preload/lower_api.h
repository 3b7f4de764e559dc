/* The preload library's interface for the "lower half" of a split process (C ABI).
 *
 * A split process has an upper half that cairn saves (the program, its libraries, heap,
 * stacks, threads) and a lower half that it does not (an MPI library: everything it loads,
 * allocates, maps, opens and the threads it starts). A lower half is driven by a shim library
 * (src/mpi/, one build per MPI ABI) that is LD_PRELOADed after libcairn_preload.so and calls
 * these functions.
 *
 * Contract:
 *   - cairn_lower_enter()/cairn_lower_exit() bracket every call from the upper half into the
 *     lower half (they nest). Inside: malloc & co. called from a lower-half library's code
 *     allocate from the library's private heap (never saved, emptied at restart; what libc or
 *     the dynamic loader allocate on its behalf stays in glibc's heap, see lower_half.h),
 *     mmap()s and descriptors created are recorded as the lower half's (never saved, never
 *     restored), threads started are lower-half threads (never stopped, saved or restored).
 *     Lower-half threads are inside for their whole life.
 *   - cairn_preload_set_internal(on): the calling thread (the checkpoint thread) allocates
 *     like a program thread while off, so that it can call into the lower half.
 *   - cairn_lower_inside(): whether the calling thread is inside (a call from the lower half
 *     back into an interposed MPI symbol must go straight to the real function).
 *   - cairn_lower_mark_fds_since(before, n): every descriptor open now that is not in
 *     before[0..n) becomes the lower half's (for what the library opened without going
 *     through an interposed call).
 *   - cairn_lower_snapshot_libs(roots): records the pristine writable data (minus RELRO) of
 *     the libraries that only the lower half uses: the dependency closure of the loaded
 *     objects whose file name starts with one of `roots` (NULL-terminated), minus everything
 *     the rest of the process needs. Call it before the lower half is initialized; call it
 *     again after a dlopen() from inside the lower half (new objects are added).
 *     cairn_lower_reset_libs() copies the pristine data back (at restart, before the lower
 *     half is initialized again) and forgets the old process's lower half: the ranges it had
 *     mapped (a restart did not map them again, so the program's new mappings may land there
 *     and must be saved) and its descriptors. Returns the number of libraries recorded /
 *     reset, or -1.
 *   - cairn_preload_watch_fd(fd, fn): the checkpoint thread polls `fd` beside its control
 *     socket and calls fn(fd) on it when readable (one watched descriptor; 0 on success).
 *   - cairn_preload_capture(): on the checkpoint thread only: stops every upper-half thread
 *     and writes the process image; the threads stay stopped until cairn_preload_resume().
 *     Returns 0 and fills path/bytes, or a nonzero cairn::Code and fills err.
 *   - cairn_preload_set_restart_hook(fn): fn runs on the restored checkpoint thread once the
 *     upper half's threads were re-created and released (a shim keeps them out of the lower
 *     half until fn is done).
 *   - cairn_preload_ckpt_dir(): the checkpoint directory (absolute), or NULL when inactive.
 */
#ifndef CAIRN_TRANSPARENT_PRELOAD_LOWER_API_H_
#define CAIRN_TRANSPARENT_PRELOAD_LOWER_API_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void cairn_lower_enter(void);
void cairn_preload_set_internal(int on);
void cairn_lower_exit(void);
int cairn_lower_inside(void);
void cairn_lower_mark_fds_since(const int* before, size_t n);
void cairn_lower_mark_fd(int fd);
int cairn_lower_snapshot_libs(const char* const* roots);
int cairn_lower_reset_libs(void);

typedef void (*cairn_fd_handler)(int fd);
int cairn_preload_watch_fd(int fd, cairn_fd_handler fn);
int cairn_preload_capture(char* path, size_t path_len, unsigned long long* bytes, char* err,
                          size_t err_len);
void cairn_preload_resume(void);
void cairn_preload_set_restart_hook(void (*fn)(void));
const char* cairn_preload_ckpt_dir(void);

#ifdef __cplusplus
}
#endif

#endif  // CAIRN_TRANSPARENT_PRELOAD_LOWER_API_H_
