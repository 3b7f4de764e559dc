/* sigaltstack: an alternate signal stack (64 KiB in the heap) for SIGUSR1 (SA_ONSTACK) in the
 * main thread and a different one in a second thread. Every step each thread raises SIGUSR1 to
 * itself; the handler checks that it runs on that thread's alternate stack (the address of a
 * local and sigaltstack's SS_ONSTACK). sigaltstack(NULL, &old) must return the same stack. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "mx.h"

MX_PROGRAM("sigaltstack");

#define ALT_SIZE (64 * 1024)
static __thread char* my_stack;
static __thread volatile int on_alt, handled;

static void on_usr1(int sig) {
  (void)sig;
  volatile char local = 0;
  stack_t cur;
  sigaltstack(NULL, &cur);
  on_alt = (char*)&local >= my_stack && (char*)&local < my_stack + ALT_SIZE &&
           (cur.ss_flags & SS_ONSTACK);
  handled++;
}

static void setup_stack(void) {
  my_stack = malloc(ALT_SIZE);
  MX_CHECK(my_stack != NULL, "malloc");
  stack_t ss = {.ss_sp = my_stack, .ss_size = ALT_SIZE, .ss_flags = 0};
  MX_CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));
}

static void run(const char* who) {
  for (int s = 0; s < MX_STEPS; ++s) {
    stack_t old;
    MX_CHECK(sigaltstack(NULL, &old) == 0, "query");
    MX_CHECK(old.ss_sp == my_stack && old.ss_size == ALT_SIZE && !(old.ss_flags & SS_DISABLE),
             "%s step %d: the alternate stack changed (sp %p size %zu flags %d)", who, s, old.ss_sp,
             old.ss_size, old.ss_flags);
    on_alt = 0;
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    MX_CHECK(handled == s + 1, "%s step %d: handler ran %d times", who, s, handled);
    MX_CHECK(on_alt, "%s step %d: the handler did not run on the alternate stack", who, s);
    mx_step_sleep();
  }
}

static void* thread_body(void* arg) {
  (void)arg;
  setup_stack();
  run("thread");
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  setup_stack();
  pthread_t t;
  MX_CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0, "create");
  run("main");
  pthread_join(t, NULL);
  printf("sigaltstack: %d handler runs on the alternate stack in each of 2 threads\n", MX_STEPS);
  return 0;
}
