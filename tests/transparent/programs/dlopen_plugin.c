/* dlopen/dlsym: libmx_plugin.so (path given by argv[2], built by the tests) is loaded at
 * start; its function is called through a dlsym pointer every step and its own state (.data
 * and .bss of the library) is checked against a model. At step 120 it is dlclosed and loaded
 * again (state starts over); libm is dlopened at step 60 (RTLD_NOLOAD must find it afterwards). */
#include <dlfcn.h>

#include "mx.h"

MX_PROGRAM("dlopen_plugin");

typedef uint64_t (*step_fn)(uint64_t);
typedef uint64_t (*calls_fn)(void);
typedef int (*ctor_fn)(void);

static void* load(const char* path, step_fn* step, calls_fn* calls) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  MX_CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
  *step = (step_fn)(uintptr_t)dlsym(h, "mx_plugin_step");
  *calls = (calls_fn)(uintptr_t)dlsym(h, "mx_plugin_calls");
  ctor_fn ctor = (ctor_fn)(uintptr_t)dlsym(h, "mx_plugin_constructed");
  MX_CHECK(*step && *calls && ctor, "dlsym: %s", dlerror());
  MX_CHECK(ctor() == 1, "the plugin constructor did not run");
  return h;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  MX_CHECK(argc >= 3, "usage: dlopen_plugin WORKDIR LIBPATH");
  step_fn step;
  calls_fn calls;
  void* h = load(argv[2], &step, &calls);
  uint64_t model = 17, calls_model = 0, out = MX_HASH_INIT;
  void* libm = NULL;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s == 120) {
      MX_CHECK(dlclose(h) == 0, "dlclose");
      h = load(argv[2], &step, &calls);
      model = 17;
      calls_model = 0;
    }
    if (s == 60) {
      libm = dlopen("libm.so.6", RTLD_NOW);
      MX_CHECK(libm != NULL, "dlopen libm: %s", dlerror());
    }
    if (s > 60) {
      void* again = dlopen("libm.so.6", RTLD_NOW | RTLD_NOLOAD);
      MX_CHECK(again == libm, "step %d: RTLD_NOLOAD did not find libm", s);
      dlclose(again);
      double (*cosine)(double) = (double (*)(double))(uintptr_t)dlsym(libm, "cos");
      MX_CHECK(cosine != NULL && cosine(0.0) == 1.0, "step %d: cos via dlsym", s);
    }
    for (int k = 0; k < 10; ++k) {
      uint64_t x = (uint64_t)s * 10 + (uint64_t)k;
      model = model * 6364136223846793005ULL + x;
      ++calls_model;
      uint64_t got = step(x);
      MX_CHECK(got == model, "step %d: plugin state %llx, want %llx", s, (unsigned long long)got,
               (unsigned long long)model);
      out = mx_hash(out, &got, sizeof got);
    }
    MX_CHECK(calls() == calls_model, "step %d: plugin counted %llu calls, want %llu", s,
             (unsigned long long)calls(), (unsigned long long)calls_model);
    mx_step_sleep();
  }
  dlclose(h);
  dlclose(libm);
  printf("dlopen plugin hash %016llx\n", (unsigned long long)out);
  return 0;
}
