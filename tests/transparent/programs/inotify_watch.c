/* inotify across checkpoints (issue 11, requirements 4 and 6): watches on directories a and c
 * of the work directory (b was watched in between and removed, so the watch numbers are 1 and
 * 3: the restart must give them back with the gap). Each step writes a file in a or c
 * (alternately) and waits for its IN_CLOSE_WRITE event, which must carry that directory's
 * watch number and the file's name. An event queued at a checkpoint is lost by a restart
 * (the kernel's queue cannot be copied): a robust watcher, like this one, writes the file
 * again after 2 s without its event. Checked at the end: every file was seen, and the events
 * came only from watches 1 and 3. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("inotify_watch");

static void write_file(const char* dir, int step) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/f%03d", dir, step);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  MX_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  MX_CHECK(write(fd, &step, sizeof step) == sizeof step, "write");
  close(fd);
}

/* Waits up to 2 s for IN_CLOSE_WRITE of f<step> on watch wd; other events must be from
 * watches 1 or 3. Returns 1 when seen. */
static int wait_event(int in, int wd, int step, unsigned* others) {
  char want[16];
  snprintf(want, sizeof want, "f%03d", step);
  for (int tries = 0; tries < 40; ++tries) {
    struct pollfd p = {in, POLLIN, 0};
    int r = poll(&p, 1, 50);
    if (r < 0 && errno == EINTR) continue;
    MX_CHECK(r >= 0, "poll: %s", strerror(errno));
    if (r == 0) continue;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    MX_CHECK(n > 0, "read inotify: %s", strerror(errno));
    int seen = 0;
    for (char* q = buf; q < buf + n;) {
      struct inotify_event* e = (struct inotify_event*)q;
      MX_CHECK(e->wd == 1 || e->wd == 3, "an event from watch %d (mask %#x)", e->wd, e->mask);
      if (e->wd == wd && (e->mask & IN_CLOSE_WRITE) && e->len > 0 && strcmp(e->name, want) == 0) {
        seen = 1;
      } else {
        ++*others;
      }
      q += sizeof *e + e->len;
    }
    if (seen) return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* wdir = mx_workdir(argc, argv);
  char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
  snprintf(a, sizeof a, "%s/a", wdir);
  snprintf(b, sizeof b, "%s/b", wdir);
  snprintf(c, sizeof c, "%s/c", wdir);
  const char* dirs[] = {a, b, c};
  for (int i = 0; i < 3; ++i) {
    MX_CHECK(mkdir(dirs[i], 0700) == 0 || errno == EEXIST, "mkdir %s", dirs[i]);
  }
  int in = inotify_init1(IN_NONBLOCK);
  MX_CHECK(in >= 0, "inotify_init1");
  int wa = inotify_add_watch(in, a, IN_CLOSE_WRITE);
  int wb = inotify_add_watch(in, b, IN_CREATE);
  MX_CHECK(inotify_rm_watch(in, wb) == 0, "inotify_rm_watch");
  MX_CHECK(chdir(wdir) == 0, "chdir");
  int wc = inotify_add_watch(in, "c", IN_CLOSE_WRITE | IN_DELETE); /* a relative path */
  MX_CHECK(wa == 1 && wb == 2 && wc == 3, "watch numbers %d %d %d", wa, wb, wc);
  /* The IN_IGNORED of watch 2. */
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  MX_CHECK(read(in, buf, sizeof buf) > 0, "no IN_IGNORED for the removed watch");

  unsigned rewrites = 0, others = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    const char* dir = s % 2 == 0 ? a : c;
    const int wd = s % 2 == 0 ? wa : wc;
    write_file(dir, s);
    while (!wait_event(in, wd, s, &others)) {
      ++rewrites;
      MX_CHECK(rewrites < 10, "no event for f%03d after %u writes", s, rewrites);
      write_file(dir, s);
    }
    mx_step_sleep();
  }
  (void)others; /* (a restart may replay steps: duplicates of earlier files' events) */
  (void)rewrites;
  printf("inotify_watch: %d files seen through watches 1 and 3\n", MX_STEPS);
  return 0;
}
