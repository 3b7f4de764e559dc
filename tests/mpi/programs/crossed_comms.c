/* Crossed communicators: the ranks form a grid of 2 columns (rank r: row r / 2, column r % 2);
 * every step does an Allreduce on the row communicator, then an Allreduce on the column
 * communicator. Column 0 computes between the two (STEP_MS of work), column 1 does not, so the
 * ranks of column 1 spend their time blocked in the next step's row Allreduce, waiting for their
 * row partner, while the ranks of column 0 are between their row and their column collective.
 *
 * This is the pattern of quantum-espresso's pw.x (pools and bands): when a checkpoint takes
 * every rank's collective counts at such a moment, the row communicators' target is one step
 * ahead of where column 0 is, and column 0 must first do a column collective no rank has
 * started yet (above its target). A checkpoint that only runs the ranks forward to the counts
 * it first saw never gets quiet; cairn raises the column's target when a rank needs it.
 * Every rank checks every sum against the values it computes itself. */
#include "mt.h"

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "crossed_comms", 200, 30);
  MT_CHECK(mt_size % 2 == 0, "needs an even number of ranks, not %d", mt_size);
  const int row = mt_rank / 2, col = mt_rank % 2, rows = mt_size / 2;
  MPI_Comm row_comm, col_comm;
  MT_MPI(MPI_Comm_split(MPI_COMM_WORLD, row, col, &row_comm));
  MT_MPI(MPI_Comm_split(MPI_COMM_WORLD, col, row, &col_comm));
  uint64_t h = MT_HASH_INIT;
  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    int64_t mine = mt_val(mt_rank, s, 1), row_sum = 0, col_sum = 0;
    MT_MPI(MPI_Allreduce(&mine, &row_sum, 1, MPI_INT64_T, MPI_SUM, row_comm));
    const int64_t want_row = (int64_t)mt_val(row * 2, s, 1) + mt_val(row * 2 + 1, s, 1);
    MT_CHECK(row_sum == want_row, "step %d: row sum %lld, want %lld", s, (long long)row_sum,
             (long long)want_row);
    if (col == 0) mt_step_sleep();
    MT_MPI(MPI_Allreduce(&row_sum, &col_sum, 1, MPI_INT64_T, MPI_SUM, col_comm));
    int64_t want_col = 0;
    for (int r = 0; r < rows; ++r)
      want_col += (int64_t)mt_val(r * 2, s, 1) + mt_val(r * 2 + 1, s, 1);
    MT_CHECK(col_sum == want_col, "step %d: column sum %lld, want %lld", s, (long long)col_sum,
             (long long)want_col);
    h = mt_hash_i64(h, col_sum);
    h = mt_hash_i64(h, row_sum);
  }
  MT_MPI(MPI_Comm_free(&row_comm));
  MT_MPI(MPI_Comm_free(&col_comm));
  mt_finish(h);
  return 0;
}
