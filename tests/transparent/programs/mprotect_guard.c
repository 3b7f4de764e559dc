/* mprotect: a 64-page region in which pages cycle through read-write, read-only and PROT_NONE
 * (guard pages). A SIGSEGV handler (siglongjmp) probes every page every step: writes to
 * read-only pages and any access to PROT_NONE pages must fault, the rest must not, and the
 * contents must survive. */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("mprotect_guard");

#define PAGES 64
#define PAGE 4096
static sigjmp_buf jump;
static volatile sig_atomic_t faults;

static void on_segv(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)si;
  (void)ctx;
  faults++;
  siglongjmp(jump, 1);
}
/* 1 when reading (or writing, `write`) *p faults. */
static int faults_on(volatile unsigned char* p, int write, unsigned char* value) {
  if (sigsetjmp(jump, 1) != 0) return 1;
  if (write)
    *p = *value;
  else
    *value = *p;
  return 0;
}
static int prot_of(int page, int step) { return (page + step / 7) % 3; } /* 0 rw, 1 ro, 2 none */

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  unsigned char* m =
      mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(m != MAP_FAILED, "mmap");
  unsigned char content[PAGES];
  for (int p = 0; p < PAGES; ++p) {
    content[p] = (unsigned char)(p * 3 + 1);
    memset(m + p * PAGE, content[p], PAGE);
  }
  long expected_faults = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s % 7 == 0) {
      for (int p = 0; p < PAGES; ++p) {
        static const int prots[3] = {PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE};
        MX_CHECK(mprotect(m + p * PAGE, PAGE, prots[prot_of(p, s)]) == 0, "mprotect");
      }
    }
    for (int p = 0; p < PAGES; ++p) {
      int prot = prot_of(p, s);
      volatile unsigned char* addr = m + p * PAGE + (size_t)(s * 37 % PAGE);
      unsigned char v = 0;
      int f = faults_on(addr, 0, &v);
      MX_CHECK(f == (prot == 2), "step %d page %d (prot %d): read %s", s, p, prot,
               f ? "faulted" : "did not fault");
      expected_faults += f;
      if (!f)
        MX_CHECK(v == content[p], "step %d page %d: content %u, want %u", s, p, v, content[p]);
      unsigned char nv = (unsigned char)(content[p] + 1);
      f = faults_on(addr, 1, &nv);
      MX_CHECK(f == (prot != 0), "step %d page %d (prot %d): write %s", s, p, prot,
               f ? "faulted" : "did not fault");
      expected_faults += f;
      if (!f) {
        content[p] = nv;
        memset(m + p * PAGE, nv, PAGE);
      }
    }
    MX_CHECK(faults == expected_faults, "step %d: %ld faults, want %ld", s, (long)faults,
             expected_faults);
    mx_step_sleep();
  }
  uint64_t h = mx_hash(MX_HASH_INIT, content, sizeof content);
  printf("mprotect faults %ld hash %016llx\n", expected_faults, (unsigned long long)h);
  return 0;
}
