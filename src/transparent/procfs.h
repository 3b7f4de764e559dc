// Small readers of /proc text files, shared by the capture side of transparent checkpointing.
//
// Contract: ReadProcText returns the whole file ("" if it cannot be opened or read: callers
// treat missing information as absent); ProcField returns the value after "<key>:" on the
// line that starts with it in a /proc status-style text (leading blanks removed), or "".
// Neither allocates anything but the returned string; both are safe in the checkpoint thread.
// FlockHeld(device, inode) tells whether some process holds an flock() on that file (a line of
// /proc/locks), without touching the lock itself.
#pragma once

#include <string>

namespace cairn::transparent {

std::string ReadProcText(const std::string& path);
std::string ProcField(const std::string& text, const std::string& key);
bool FlockHeld(uint64_t device, uint64_t inode);

}  // namespace cairn::transparent
