/* MPI-IO with files kept open across steps (so open during a checkpoint), in the current
 * directory: mpi_io.dat (explicit offsets) and mpi_io_seq.dat (individual file pointers).
 * MPI_File_delete, MPI_File_open, MPI_File_set_view with an interleaving filetype (each rank
 * owns every n-th block of B ints), MPI_File_write_at_all of one block per step,
 * every 5th step MPI_File_sync + MPI_Barrier + MPI_File_sync and MPI_File_get_size (exact:
 * (s+1) rows, so a file grown by a killed run past the checkpoint must be dealt with),
 * MPI_File_read_at_all of an earlier block, every 10th step a byte view of the whole row read
 * back by every rank, MPI_File_write_all with the individual pointer checked by
 * MPI_File_get_position, MPI_File_get_amode, MPI_File_get_group, MPI_File_close; an MPI_Info
 * with hints, passed to MPI_File_open and kept alive (its keys checked every 10th step); at the
 * end rank 0 checks and hashes both files with stdio. */
#include "mt.h"

#define B 64

static int32_t val(int s, int q, int i) { return mt_val(s, q, i) ^ 0x1234; }

static void check_info(MPI_Info info, int s) {
  int nkeys = -1, len = -1, flag = 0;
  char value[64] = {0};
  MT_MPI(MPI_Info_get_nkeys(info, &nkeys));
  MT_CHECK(nkeys == 2, "step %d: the info has %d keys", s, nkeys);
  MT_MPI(MPI_Info_get_valuelen(info, "cairn_test_key", &len, &flag));
  MT_CHECK(flag && len == 9, "step %d: cairn_test_key: flag %d length %d", s, flag, len);
  MT_MPI(MPI_Info_get(info, "cairn_test_key", (int)sizeof value - 1, value, &flag));
  MT_CHECK(flag && strcmp(value, "kept-42!x") == 0, "step %d: cairn_test_key = '%s'", s, value);
}

static MPI_File open_file(const char* path, MPI_Datatype filetype, int r, MPI_Info info) {
  MPI_File fh;
  MT_MPI(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, info, &fh));
  MT_MPI(
      MPI_File_set_view(fh, (MPI_Offset)r * B * 4, MPI_INT32_T, filetype, "native", MPI_INFO_NULL));
  return fh;
}

static uint64_t check_file(const char* path, int n, int steps, int seq) {
  FILE* f = fopen(path, "rb");
  MT_CHECK(f != NULL, "cannot open %s", path);
  uint64_t h = MT_HASH_INIT;
  int32_t row[B];
  for (int s = 0; s < steps; ++s)
    for (int q = 0; q < n; ++q) {
      MT_CHECK(fread(row, 4, B, f) == B, "%s: short at step %d rank %d", path, s, q);
      for (int i = 0; i < B; ++i)
        MT_CHECK(row[i] == (seq ? -val(s, q, i) : val(s, q, i)), "%s: step %d rank %d [%d]", path,
                 s, q, i);
      h = mt_hash(h, row, sizeof row);
    }
  MT_CHECK(fgetc(f) == EOF, "%s is longer than %d rows", path, steps);
  fclose(f);
  return h;
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "mpi_io", 120, 45);
  const int n = mt_size, r = mt_rank;
  const char* path = "mpi_io.dat";
  const char* seq_path = "mpi_io_seq.dat";
  if (r == 0) {
    MPI_File_delete(path, MPI_INFO_NULL); /* may not exist */
    MPI_File_delete(seq_path, MPI_INFO_NULL);
  }
  MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
  MPI_Datatype block, filetype;
  MT_MPI(MPI_Type_contiguous(B, MPI_INT32_T, &block));
  MT_MPI(MPI_Type_create_resized(block, 0, (MPI_Aint)n * B * 4, &filetype));
  MT_MPI(MPI_Type_commit(&filetype));
  MPI_Info info;
  MT_MPI(MPI_Info_create(&info));
  MT_MPI(MPI_Info_set(info, "cairn_test_key", "kept-42!x"));
  MT_MPI(MPI_Info_set(info, "access_style", "read_mostly"));
  MPI_File fh = open_file(path, filetype, r, info);
  MPI_File seq = open_file(seq_path, filetype, r, MPI_INFO_NULL);
  int amode = 0;
  MT_MPI(MPI_File_get_amode(fh, &amode));
  MT_CHECK(amode == (MPI_MODE_CREATE | MPI_MODE_RDWR), "amode %d", amode);
  uint64_t h = MT_HASH_INIT;
  int32_t out[B], in[B];
  int32_t* row = (int32_t*)malloc((size_t)n * B * 4);
  MT_CHECK(row != NULL, "malloc");

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    for (int i = 0; i < B; ++i) out[i] = val(s, r, i);
    MPI_Status st;
    MT_MPI(MPI_File_write_at_all(fh, (MPI_Offset)s * B, out, B, MPI_INT32_T, &st));
    int cnt = -1;
    MT_MPI(MPI_Get_count(&st, MPI_INT32_T, &cnt));
    MT_CHECK(cnt == B, "step %d: wrote %d ints", s, cnt);
    /* The individual file pointer of the second file. */
    MPI_Offset pos = -1;
    MT_MPI(MPI_File_get_position(seq, &pos));
    MT_CHECK(pos == (MPI_Offset)s * B, "step %d: file pointer %lld, want %lld", s, (long long)pos,
             (long long)s * B);
    for (int i = 0; i < B; ++i) out[i] = -val(s, r, i);
    MT_MPI(MPI_File_write_all(seq, out, B, MPI_INT32_T, MPI_STATUS_IGNORE));

    /* Every 5th step (collective I/O is slow with 4 ranks on 2 cores): sync, barrier, sync,
     * and the exact size. */
    if (s % 5 == 4) {
      MT_MPI(MPI_File_sync(fh));
      MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
      MT_MPI(MPI_File_sync(fh));
      MPI_Offset size = -1;
      MT_MPI(MPI_File_get_size(fh, &size));
      MT_CHECK(size == (MPI_Offset)(s + 1) * n * B * 4, "step %d: file size %lld, want %lld", s,
               (long long)size, (long long)(s + 1) * n * B * 4);
    }

    /* Read back one of this rank's earlier blocks (its own writes: no sync needed). */
    const int back = (int)(mt_mix((uint64_t)s) % (uint64_t)(s + 1));
    memset(in, 0, sizeof in);
    MT_MPI(MPI_File_read_at_all(fh, (MPI_Offset)back * B, in, B, MPI_INT32_T, &st));
    for (int i = 0; i < B; ++i)
      MT_CHECK(in[i] == val(back, r, i), "step %d: block of step %d [%d] = %d", s, back, i, in[i]);
    h = mt_hash(h, in, sizeof in);

    /* Every 10th step (after a sync above): the whole row through a byte view. */
    if (s % 10 == 9) {
      MT_MPI(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
      MT_MPI(MPI_File_read_at_all(fh, (MPI_Offset)s * n * B * 4, row, n * B * 4, MPI_BYTE, &st));
      MT_MPI(MPI_Get_count(&st, MPI_BYTE, &cnt));
      MT_CHECK(cnt == n * B * 4, "step %d: row read %d bytes", s, cnt);
      for (int q = 0; q < n; ++q)
        for (int i = 0; i < B; ++i)
          MT_CHECK(row[q * B + i] == val(s, q, i), "step %d: row: rank %d [%d]", s, q, i);
      MT_MPI(MPI_File_set_view(fh, (MPI_Offset)r * B * 4, MPI_INT32_T, filetype, "native",
                               MPI_INFO_NULL));
      MPI_Group g;
      int gs = -1;
      MT_MPI(MPI_File_get_group(fh, &g));
      MT_MPI(MPI_Group_size(g, &gs));
      MT_CHECK(gs == n, "step %d: file group of %d", s, gs);
      MT_MPI(MPI_Group_free(&g));
      check_info(info, s);
    }
    mt_step_sleep();
  }
  MT_MPI(MPI_File_close(&fh));
  MT_MPI(MPI_File_close(&seq));
  check_info(info, mt_steps);
  MT_MPI(MPI_Info_free(&info));
  MT_CHECK(info == MPI_INFO_NULL, "Info_free");
  MT_CHECK(fh == MPI_FILE_NULL, "File_close");
  MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
  if (r == 0) {
    h = mt_hash_u64(h, check_file(path, n, mt_steps, 0));
    h = mt_hash_u64(h, check_file(seq_path, n, mt_steps, 1));
  }
  free(row);
  MT_MPI(MPI_Type_free(&filetype));
  MT_MPI(MPI_Type_free(&block));
  mt_finish(h);
  return 0;
}
