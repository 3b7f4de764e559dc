#!/usr/bin/env bash
# Process trees restarted without root (issue 11, requirement 3): tree programs that check
# their pids (kill, waitpid of unreaped children), their session and process groups, and a
# pseudo-terminal as controlling terminal go through two cycles of checkpoint, kill -9 and
# restart (matrix.sh --tree) as an unprivileged user, so `cairn restart` takes the user + pid
# namespace path instead of root's pid namespace.
#
#   tree_nonroot.sh CAIRN PROGRAMS_DIR WORK_ROOT
#
# Run as root it drops to uid/gid 65534 (nobody) with setpriv; run as another user it runs as
# that user. Skipped (status 77) when run as root without setpriv, or when the system allows
# no unprivileged user namespaces (kernel.unprivileged_userns_clone=0 or
# user.max_user_namespaces=0).
set -u
CAIRN=$1 PROGS=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2> /dev/null || echo 1)" = 0 ] ||
  [ "$(cat /proc/sys/user/max_user_namespaces 2> /dev/null || echo 1)" = 0 ]; then
  echo "SKIP: this system allows no unprivileged user namespaces"
  exit 77
fi
# Descriptors the caller leaked (ctest's log) would be the program's, and the user could
# not reopen them at restart.
for fd in $(ls /proc/$$/fd); do
  [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2> /dev/null
done
rm -rf "$WORK"
mkdir -p "$WORK"
as_user=()
if [ "$(id -u)" = 0 ]; then
  if ! command -v setpriv > /dev/null; then
    echo "SKIP: running as root and setpriv (util-linux) is missing"
    exit 77
  fi
  chown 65534:65534 "$WORK"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$WORK")
fi
status=0
for p in tree_signals tree_zombie tree_session tree_pty; do
  if ! "${as_user[@]}" bash "$HERE/matrix.sh" "$CAIRN" "$PROGS" "$WORK" --tree "$p"; then
    status=1
  fi
done
# The restarted processes ran as that user: their images are theirs and private.
for img in $(find "$WORK" -name '*.cimg' 2> /dev/null); do
  owner=$(stat -c %u "$img") mode=$(stat -c %a "$img")
  if [ "$(id -u)" = 0 ] && [ "$owner" != 65534 ]; then
    echo "FAIL: $img belongs to uid $owner, not the unprivileged user"
    status=1
  fi
  if [ "$mode" != 600 ]; then
    echo "FAIL: $img has mode $mode, not 600"
    status=1
  fi
done
[ $status = 0 ] && rm -rf "$WORK"
exit $status
