// The paths of inotify watches. The kernel keeps only a watch's inode, so the preload's
// inotify_add_watch wrapper records the path each watch was added with, for the capture
// (objects/inotify.cc) to name it in the image.
//
// Contract:
//   - Record(fd, wd, path) after a successful inotify_add_watch: the path made absolute
//     against the current directory; a later Record of the same (fd, wd) replaces it.
//     Forget(fd, wd) after inotify_rm_watch. Both take a spin lock and never allocate (the
//     table is one mmap()ed array, made on first use and never freed), so they run inside
//     any wrapper; the wrappers hold the gate, so a checkpoint never finds the lock taken.
//   - Find(fd, wd) (the checkpoint thread, every user thread parked): the recorded path, or
//     "" when none (a watch added before this library loaded, through a direct syscall, or
//     beyond the table's 4096 entries; the table lives in the process's memory, so it is in
//     the image and still right after a restart).
//   - Stale entries (an inotify descriptor closed and its number reused) are harmless: the
//     capture keeps a path only if it leads to the watched inode.
#pragma once

#include <string>

namespace cairn::preload::inotify_paths {

void Record(int fd, int wd, const char* path);
void Forget(int fd, int wd);
std::string Find(int fd, int wd);

}  // namespace cairn::preload::inotify_paths
