// Kernel event objects held by descriptors: eventfd, timerfd, signalfd, epoll and inotify.
//
// Each kind has one file here holding both halves of its life in an image (as CRIU keeps one
// file per kind of kernel object): its capture, run in the checkpointed process (the preload's
// checkpoint thread) from the live descriptor and its /proc/self/fdinfo text, and its restore,
// run by `cairn restart` before the restorer takes over, which creates the object anew.
//
// Contract
// - KindOfLink maps a /proc/self/fd link ("anon_inode:[eventfd]") to its FileKind, or kOther.
// - Capture fills f->object for f->kind from descriptor `fd`. It never changes the object
//   (no read of an eventfd, no timer re-arm). Errors name the descriptor.
// - SameOpenFile says whether two descriptors of this process share one open file (dup): the
//   capture records later ones as `same_as` the first, and the restore dup()s them.
// - Restore creates the object of `f` (not a duplicate) and returns a new descriptor with
//   FD_CLOEXEC set (the caller places it at f.fd, which clears it). The status flags
//   (O_NONBLOCK) are f.open_flags'. An epoll's targets must already be open at their numbers;
//   a target that is not is an error naming it.
// - What is kept: an eventfd's counter and semaphore mode; a timerfd's clock, time to the next
//   expiration (relative: a restart resumes as if the process had been paused), period and
//   unread expirations; a signalfd's mask; an epoll's interest list (events and data). Not
//   kept: an edge-triggered epoll's pending edge (level state is recomputed by the kernel).
#pragma once

#include <string>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

FileKind KindOfLink(const std::string& link);

Status Capture(int fd, const std::string& fdinfo, FileState* f);
bool SameOpenFile(int a, int b);
Result<int> Restore(const FileState& f);

// The kinds, one file each (eventfd.cc, timerfd.cc, signalfd.cc, epoll.cc, inotify.cc).
Status CaptureEventfd(int fd, const std::string& fdinfo, EventObjectState* o);
Result<int> RestoreEventfd(const FileState& f);
Status CaptureTimerfd(int fd, const std::string& fdinfo, EventObjectState* o);
Result<int> RestoreTimerfd(const FileState& f);
Status CaptureSignalfd(int fd, const std::string& fdinfo, EventObjectState* o);
Result<int> RestoreSignalfd(const FileState& f);
Status CaptureEpoll(int fd, const std::string& fdinfo, EventObjectState* o);
Result<int> RestoreEpoll(const FileState& f);
// inotify: capture leaves each watch's path empty (the kernel keeps none); the preload fills
// it from what inotify_add_watch was given, when WatchPathMatches (that path still leads to
// the watched inode).
Status CaptureInotify(int fd, const std::string& fdinfo, EventObjectState* o);
bool WatchPathMatches(const InotifyWatch& w, const std::string& path);
Result<int> RestoreInotify(const FileState& f);

// A one-line account of an event object's saved state ("counter 5, semaphore", "watches fds
// 6 7 9", "same as fd 6"), for `cairn inspect`; "" for other kinds.
std::string Summary(const FileState& f);

// Shared by the kinds: the number after "<key>:" in fdinfo, in `base`; false when absent.
bool FdinfoNumber(const std::string& fdinfo, const std::string& key, int base, uint64_t* out);
// `fd` (the result of the call named `what`; < 0: its errno) moved to the lowest free number
// >= min_fd with FD_CLOEXEC; the old number is closed, also on failure.
Result<int> MoveAbove(int fd, int min_fd, const std::string& what);
// "fd N (kind)", for messages.
std::string Describe(int fd, FileKind k);

}  // namespace cairn::transparent::objects
