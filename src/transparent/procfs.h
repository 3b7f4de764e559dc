// Small readers of /proc text files, shared by the capture side of transparent checkpointing.
//
// Contract: ReadProcText returns the whole file ("" if it cannot be opened or read: callers
// treat missing information as absent); ProcField returns the value after "<key>:" on the
// line that starts with it in a /proc status-style text (leading blanks removed), or "".
// Neither allocates anything but the returned string; both are safe in the checkpoint thread.
// HeldFlocks() lists the files some process holds an flock() on, as (device, inode) pairs, from
// one read of /proc/locks (waiters are not holders); looking never touches a lock.
// ProcessChildren() lists this process's children, for the checks of a checkpoint.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::transparent {

std::string ReadProcText(const std::string& path);
// The lines of a text (without their '\n'; a last line without one too) and the blank-
// separated words of a text. Plain string work: no C++ streams, whose shared locale the
// checkpoint thread must not touch (preload/uncounted_thread.h).
std::vector<std::string> Lines(std::string_view text);
std::vector<std::string> Words(std::string_view text);
std::string ProcField(const std::string& text, const std::string& key);
// The fields of a /proc/PID/stat text by their 1-based number (proc(5)): [1] the pid, [2] the
// command name (without its parentheses; it may hold blanks and parentheses), [3] the state,
// and so on; [0] is empty. Empty when the text is not such a line.
std::vector<std::string> StatFields(const std::string& stat);
std::set<std::pair<uint64_t, uint64_t>> HeldFlocks();

// The children of this process (of any of its threads; CONFIG_PROC_CHILDREN's
// /proc/self/task/*/children), each as "pid N (comm)" with ", exited, not reaped" for a
// zombie, in pid order. Empty when there are none, or when the kernel does not list them.
std::vector<std::string> ProcessChildren();

// `root` and every process descending from it (children of any of its threads, theirs, ...),
// root first; empty when root does not exist. Pids that exit meanwhile may be listed.
std::vector<long> ProcessTree(long root);

// The same children as ProcessChildren(), as records.
struct ChildProcess {
  long pid = 0;
  std::string comm;
  bool zombie = false;           // exited, not reaped
  std::string Describe() const;  // "pid N (comm)[, exited, not reaped]"
};
std::vector<ChildProcess> ChildProcesses();

}  // namespace cairn::transparent
