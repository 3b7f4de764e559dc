/* Attribute caching and error handling state that must survive a restart:
 * MPI_Comm_create_keyval (with copy and delete callbacks, and with MPI_COMM_NULL_COPY_FN),
 * MPI_Comm_set_attr / MPI_Comm_get_attr / MPI_Comm_delete_attr (the callbacks' calls counted),
 * attributes copied by MPI_Comm_dup and deleted by MPI_Comm_free, MPI_Comm_get_attr of
 * MPI_TAG_UB / MPI_WTIME_IS_GLOBAL, MPI_Comm_set_name / MPI_Comm_get_name;
 * MPI_Comm_set_errhandler(MPI_ERRORS_RETURN) and deliberately bad calls (invalid rank, tag,
 * count, datatype) checked for an error code, MPI_Error_class and MPI_Error_string, a user
 * error handler (MPI_Comm_create_errhandler, MPI_Comm_call_errhandler), and a user error class
 * and code (MPI_Add_error_class, MPI_Add_error_code, MPI_Add_error_string). */
#include "mt.h"

struct attr {
  int magic;
  int generation; /* +1 per copy */
  long touched;   /* +1 per step */
};

static int deletes, copies, handler_calls, handler_last_class = -1;

static int copy_fn(MPI_Comm old, int key, void* extra, void* in, void* out, int* flag) {
  (void)old, (void)key;
  const struct attr* a = (const struct attr*)in;
  struct attr* b = (struct attr*)malloc(sizeof *b);
  if (b == NULL) return MPI_ERR_OTHER;
  *b = *a;
  b->generation += 1;
  *(void**)out = b;
  *flag = 1;
  ++copies;
  ++*(int*)extra;
  return MPI_SUCCESS;
}

static int delete_fn(MPI_Comm comm, int key, void* val, void* extra) {
  (void)comm, (void)key;
  struct attr* a = (struct attr*)val;
  if (a->magic != 0x5eed) return MPI_ERR_OTHER;
  a->magic = 0;
  free(a);
  ++deletes;
  ++*(int*)extra;
  return MPI_SUCCESS;
}

static void handler(MPI_Comm* comm, int* code, ...) {
  (void)comm;
  int cls = -1;
  MPI_Error_class(*code, &cls);
  handler_last_class = cls;
  ++handler_calls;
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "attributes_errh", 180, 40);
  const int n = mt_size, r = mt_rank;
  uint64_t h = MT_HASH_INIT;
  int extra_count = 0, flag = 0;

  int key, nocopy_key;
  MT_MPI(MPI_Comm_create_keyval(copy_fn, delete_fn, &key, &extra_count));
  MT_MPI(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &nocopy_key,
                                NULL));
  MPI_Comm a, errc, userc;
  MT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &a));
  MT_MPI(MPI_Comm_set_name(a, "cairn-attr-comm"));
  struct attr* at = (struct attr*)malloc(sizeof *at);
  at->magic = 0x5eed, at->generation = 0, at->touched = 0;
  MT_MPI(MPI_Comm_set_attr(a, key, at));
  static int nocopy_value = 42;
  MT_MPI(MPI_Comm_set_attr(a, nocopy_key, &nocopy_value));

  MT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &errc));
  MT_MPI(MPI_Comm_set_errhandler(errc, MPI_ERRORS_RETURN));
  MPI_Errhandler eh;
  MT_MPI(MPI_Comm_create_errhandler(handler, &eh));
  MT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &userc));
  MT_MPI(MPI_Comm_set_errhandler(userc, eh));

  int my_class, my_code;
  MT_MPI(MPI_Add_error_class(&my_class));
  MT_MPI(MPI_Add_error_code(my_class, &my_code));
  MT_MPI(MPI_Add_error_string(my_code, "cairn test error code"));
  MT_MPI(MPI_Add_error_string(my_class, "cairn test error class"));
  int copies_expected = 0, deletes_expected = 0, handler_expected = 0;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* The attribute on `a`, touched every step. */
    struct attr* got = NULL;
    MT_MPI(MPI_Comm_get_attr(a, key, &got, &flag));
    MT_CHECK(flag && got == at && got->magic == 0x5eed && got->generation == 0 && got->touched == s,
             "step %d: attribute lost (flag %d touched %ld)", s, flag, got ? got->touched : -1);
    got->touched++;
    int* nc = NULL;
    MT_MPI(MPI_Comm_get_attr(a, nocopy_key, &nc, &flag));
    MT_CHECK(flag && nc == &nocopy_value && *nc == 42, "step %d: second attribute", s);
    char name[MPI_MAX_OBJECT_NAME];
    int len = 0;
    MT_MPI(MPI_Comm_get_name(a, name, &len));
    MT_CHECK(strcmp(name, "cairn-attr-comm") == 0 && len == 15, "step %d: name '%s'", s, name);
    MT_MPI(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
    MT_CHECK(strcmp(name, "MPI_COMM_WORLD") == 0, "step %d: world named '%s'", s, name);

    /* Predefined attributes. */
    int* tag_ub = NULL;
    MT_MPI(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag));
    MT_CHECK(flag && *tag_ub >= 32767, "step %d: MPI_TAG_UB", s);
    int* wg = NULL;
    MT_MPI(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &wg, &flag));
    MT_CHECK(!flag || *wg == 0 || *wg == 1, "step %d: MPI_WTIME_IS_GLOBAL", s);

    /* Every 10th step: dup copies the attribute (generation 1), the no-copy one is absent;
     * free deletes the copy. Every 10th + 5: set and delete on a third communicator. */
    if (s % 10 == 0) {
      MPI_Comm b;
      MT_MPI(MPI_Comm_dup(a, &b));
      ++copies_expected;
      struct attr* bg = NULL;
      MT_MPI(MPI_Comm_get_attr(b, key, &bg, &flag));
      MT_CHECK(flag && bg != at && bg->generation == 1 && bg->touched == s + 1,
               "step %d: copied attribute", s);
      MT_MPI(MPI_Comm_get_attr(b, nocopy_key, &nc, &flag));
      MT_CHECK(!flag, "step %d: MPI_COMM_NULL_COPY_FN attribute was copied", s);
      int64_t v = r, sum = 0;
      MT_MPI(MPI_Allreduce(&v, &sum, 1, MPI_INT64_T, MPI_SUM, b));
      MT_CHECK(sum == (int64_t)n * (n - 1) / 2, "step %d: allreduce on dup", s);
      MT_MPI(MPI_Comm_free(&b));
      ++deletes_expected;
    }
    if (s % 10 == 5) {
      struct attr* t = (struct attr*)malloc(sizeof *t);
      t->magic = 0x5eed, t->generation = 7, t->touched = s;
      MT_MPI(MPI_Comm_set_attr(errc, key, t));
      MT_MPI(MPI_Comm_delete_attr(errc, key));
      ++deletes_expected;
      MT_MPI(MPI_Comm_get_attr(errc, key, &got, &flag));
      MT_CHECK(!flag, "step %d: deleted attribute still there", s);
    }
    MT_CHECK(copies == copies_expected && deletes == deletes_expected &&
                 extra_count == copies_expected + deletes_expected,
             "step %d: %d copies %d deletes (extra %d), want %d %d", s, copies, deletes,
             extra_count, copies_expected, deletes_expected);

    /* Errors returned, not fatal. */
    {
      MPI_Errhandler cur;
      MT_MPI(MPI_Comm_get_errhandler(errc, &cur));
      MT_CHECK(cur == MPI_ERRORS_RETURN, "step %d: errhandler of errc changed", s);
      if (cur != MPI_ERRORS_RETURN) MPI_Errhandler_free(&cur);
      int buf[4] = {0, 0, 0, 0}, cls = -1, rc, slen = 0;
      char msg[MPI_MAX_ERROR_STRING];
      const int which = s % 4;
      if (which == 0)
        rc = MPI_Send(buf, 1, MPI_INT, n + 3, 0, errc), cls = MPI_ERR_RANK;
      else if (which == 1)
        rc = MPI_Send(buf, 1, MPI_INT, (r + 1) % n, -5, errc), cls = MPI_ERR_TAG;
      else if (which == 2)
        rc = MPI_Send(buf, -1, MPI_INT, (r + 1) % n, 0, errc), cls = MPI_ERR_COUNT;
      else
        rc = MPI_Send(buf, 1, MPI_DATATYPE_NULL, (r + 1) % n, 0, errc), cls = MPI_ERR_TYPE;
      MT_CHECK(rc != MPI_SUCCESS, "step %d: bad call %d succeeded", s, which);
      int got_cls = -1;
      MT_MPI(MPI_Error_class(rc, &got_cls));
      MT_CHECK(got_cls == cls, "step %d: error class %d, want %d", s, got_cls, cls);
      MT_MPI(MPI_Error_string(rc, msg, &slen));
      MT_CHECK(slen > 0 && slen < MPI_MAX_ERROR_STRING && (int)strlen(msg) == slen,
               "step %d: error string", s);
      h = mt_hash_i64(h, got_cls);
      /* The user class and code. */
      MT_MPI(MPI_Error_string(my_code, msg, &slen));
      MT_CHECK(strcmp(msg, "cairn test error code") == 0, "step %d: user code string '%s'", s, msg);
      MT_MPI(MPI_Error_class(my_code, &got_cls));
      MT_CHECK(got_cls == my_class, "step %d: user code class %d, want %d", s, got_cls, my_class);
    }
    /* The user handler: a bad call and MPI_Comm_call_errhandler. */
    if (s % 5 == 2) {
      int buf = 0;
      (void)MPI_Send(&buf, 1, MPI_INT, n + 1, 0, userc);
      ++handler_expected;
      MT_CHECK(handler_calls == handler_expected && handler_last_class == MPI_ERR_RANK,
               "step %d: user handler calls %d class %d", s, handler_calls, handler_last_class);
      MT_MPI(MPI_Comm_call_errhandler(userc, my_code));
      ++handler_expected;
      MT_CHECK(handler_calls == handler_expected && handler_last_class == my_class,
               "step %d: call_errhandler: calls %d class %d", s, handler_calls, handler_last_class);
    }
    /* A little communication on `a`. */
    {
      int64_t v = mt_val(s, r, 0), sum = 0, want = 0;
      for (int q = 0; q < n; ++q) want += mt_val(s, q, 0);
      MT_MPI(MPI_Allreduce(&v, &sum, 1, MPI_INT64_T, MPI_SUM, a));
      MT_CHECK(sum == want, "step %d: allreduce on a", s);
      h = mt_hash_i64(h, sum);
    }
    mt_step_sleep();
  }
  h = mt_hash_i64(h, copies);
  h = mt_hash_i64(h, deletes);
  h = mt_hash_i64(h, handler_calls);
  MT_MPI(MPI_Comm_free(&a)); /* deletes `at` */
  MT_CHECK(deletes == deletes_expected + 1, "Comm_free did not delete the attribute");
  MT_MPI(MPI_Comm_free_keyval(&key));
  MT_MPI(MPI_Comm_free_keyval(&nocopy_key));
  MT_MPI(MPI_Errhandler_free(&eh));
  MT_MPI(MPI_Comm_free(&errc));
  MT_MPI(MPI_Comm_free(&userc));
  mt_finish(h);
  return 0;
}
