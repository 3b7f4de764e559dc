/* The shared library loaded by dlopen_plugin (libmx_plugin.so): state in its own .data/.bss,
 * a constructor, and functions called through dlsym pointers. */
#include <stdint.h>

#define MX_EXPORT __attribute__((visibility("default")))

static uint64_t plugin_state = 17; /* .data */
static uint64_t plugin_calls;      /* .bss */
static int constructed;

__attribute__((constructor)) static void plugin_init(void) { constructed = 1; }

MX_EXPORT int mx_plugin_constructed(void) { return constructed; }

MX_EXPORT uint64_t mx_plugin_step(uint64_t x) {
  plugin_calls++;
  plugin_state = plugin_state * 6364136223846793005ULL + x;
  return plugin_state;
}

MX_EXPORT uint64_t mx_plugin_calls(void) { return plugin_calls; }
