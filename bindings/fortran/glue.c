/* Helpers of the Fortran glue: strings, arrays, the glue's own error messages (glue.h). */
#define _POSIX_C_SOURCE 200809L
#include "glue.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char* cf_string(const CFI_cdesc_t* s, const char* what, char* why) {
  const char* p = "";
  size_t n = 0;
  if (s != NULL && s->base_addr != NULL) {
    p = (const char*)s->base_addr;
    n = s->elem_len;
  }
  while (n > 0 && p[n - 1] == ' ') --n;
  if (memchr(p, '\0', n) != NULL) {
    snprintf(why, CF_MSG_MAX, "the %s contains a NUL character", what);
    return NULL;
  }
  char* out = malloc(n + 1);
  if (out == NULL) {
    snprintf(why, CF_MSG_MAX, "out of memory copying the %s", what);
    return NULL;
  }
  memcpy(out, p, n);
  out[n] = '\0';
  return out;
}

void cf_fill(CFI_cdesc_t* out, const char* msg) {
  if (out == NULL || out->base_addr == NULL) return;
  size_t n = strlen(msg);
  if (n > out->elem_len) n = out->elem_len;
  memcpy(out->base_addr, msg, n);
  memset((char*)out->base_addr + n, ' ', out->elem_len - n);
}

int cf_array(const CFI_cdesc_t* a, void** ptr, size_t* count, size_t* elem_len, char* why) {
  size_t n = 1;
  ptrdiff_t want = (ptrdiff_t)a->elem_len; /* the stride of a contiguous dimension */
  int contiguous = 1;
  for (int k = 0; k < a->rank; ++k) {
    const CFI_index_t e = a->dim[k].extent;
    if (e < 0) {
      snprintf(why, CF_MSG_MAX, "an assumed-size array has no known size (pass a section)");
      return -1;
    }
    if (e != 1 && a->dim[k].sm != want) contiguous = 0;
    if (e != 0 && n > SIZE_MAX / (size_t)e) {
      snprintf(why, CF_MSG_MAX, "the array's element count overflows");
      return -1;
    }
    n *= (size_t)e;
    want *= e;
  }
  if (n == 0) contiguous = 1;
  if (!contiguous) {
    snprintf(why, CF_MSG_MAX,
             "the array (rank %d) is not contiguous; protect a contiguous array or copy it",
             (int)a->rank);
    return -1;
  }
  if (a->elem_len != 0 && n > SIZE_MAX / a->elem_len) {
    snprintf(why, CF_MSG_MAX, "the array's size in bytes overflows");
    return -1;
  }
  if (a->base_addr == NULL && n > 0 && a->elem_len > 0) {
    snprintf(why, CF_MSG_MAX, "the array is not allocated or its pointer not associated");
    return -1;
  }
  *ptr = a->base_addr;
  *count = n;
  *elem_len = a->elem_len;
  return 0;
}

/* The glue's last messages, per thread: a few clients at a time (the oldest is forgotten). */
#define CF_SLOTS 8
static _Thread_local struct {
  const void* key;
  int used;
  char msg[CF_MSG_MAX];
} slots[CF_SLOTS];
static _Thread_local unsigned next_slot;

static int find_slot(const void* key) {
  for (int i = 0; i < CF_SLOTS; ++i) {
    if (slots[i].used && slots[i].key == key) return i;
  }
  return -1;
}

void cf_set_error(const void* key, const char* msg) {
  int i = find_slot(key);
  if (i < 0) {
    i = (int)(next_slot++ % CF_SLOTS);
    slots[i].key = key;
    slots[i].used = 1;
  }
  snprintf(slots[i].msg, sizeof slots[i].msg, "%s", msg);
}

void cf_clear_error(const void* key) {
  int i = find_slot(key);
  if (i >= 0) slots[i].used = 0;
}

const char* cf_glue_error(const void* key) {
  int i = find_slot(key);
  return i < 0 ? NULL : slots[i].msg;
}

void cf_log_error(const char* fn, const char* msg) {
  const char* level = getenv("CAIRN_LOG");
  if (level != NULL && strcmp(level, "off") == 0) return;
  char line[CF_MSG_MAX + 128];
  int n = snprintf(line, sizeof line, "cairn ERROR: %s: %s\n", fn, msg);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) {
    n = (int)sizeof line - 1;
    line[n - 1] = '\n';
  }
  const char* file = getenv("CAIRN_LOG_FILE");
  int fd = 2;
  if (file != NULL && file[0] != '\0') {
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fd = 2;
  }
  ssize_t w = write(fd, line, (size_t)n); /* one write: lines of several ranks do not mix */
  (void)w;
  if (fd != 2) close(fd);
}
