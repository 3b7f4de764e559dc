/* Cartesian topology: MPI_Dims_create, MPI_Cart_create (periodic in dimension 0, not in
 * dimension 1), MPI_Topo_test, MPI_Cartdim_get, MPI_Cart_get, MPI_Cart_coords, MPI_Cart_rank,
 * MPI_Cart_shift (MPI_PROC_NULL at the open edges), MPI_Cart_sub (row and column
 * communicators), and a halo exchange every step with MPI_Sendrecv (rows contiguous, columns an
 * MPI_Type_vector) for an integer stencil. Every rank also computes the whole global grid
 * itself and checks its block against it after every step; row and column sums (Allreduce on
 * the sub-communicators) must add up to the global sum; MPI_Neighbor_alltoall on the
 * Cartesian communicator is checked against the neighbours' ranks. */
#include "mt.h"

#define NX 16
#define NY 12
#define MAXD 16

typedef int64_t cell;
#define MASK 0xffffffffLL

static cell stencil(cell c, cell up, cell down, cell left, cell right, int s) {
  return (c * 3 + up + down + left * 2 + right + s) & MASK;
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "cart", 150, 40);
  const int n = mt_size;
  int dims[2] = {0, 0}, periods[2] = {1, 0};
  MT_MPI(MPI_Dims_create(n, 2, dims));
  MT_CHECK(dims[0] * dims[1] == n && dims[0] >= dims[1] && dims[0] <= MAXD && dims[1] <= MAXD,
           "Dims_create(%d) = %d x %d", n, dims[0], dims[1]);
  MPI_Comm cart, row, col;
  MT_MPI(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart));
  int topo = -1, ndims = -1, r = -1, coords[2], gdims[2], gper[2], gcoords[2];
  MT_MPI(MPI_Topo_test(cart, &topo));
  MT_MPI(MPI_Cartdim_get(cart, &ndims));
  MT_CHECK(topo == MPI_CART && ndims == 2, "topo %d ndims %d", topo, ndims);
  MT_MPI(MPI_Comm_rank(cart, &r));
  MT_CHECK(r == mt_rank, "cart rank %d (reorder = 0)", r);
  MT_MPI(MPI_Cart_coords(cart, r, 2, coords));
  MT_MPI(MPI_Cart_get(cart, 2, gdims, gper, gcoords));
  MT_CHECK(gdims[0] == dims[0] && gdims[1] == dims[1] && gper[0] == 1 && gper[1] == 0 &&
               gcoords[0] == coords[0] && gcoords[1] == coords[1],
           "Cart_get");
  MT_CHECK(coords[0] == r / dims[1] && coords[1] == r % dims[1], "row-major coords");
  int back = -1;
  MT_MPI(MPI_Cart_rank(cart, coords, &back));
  MT_CHECK(back == r, "Cart_rank(Cart_coords(%d)) = %d", r, back);
  int up, down, left, right;
  MT_MPI(MPI_Cart_shift(cart, 0, 1, &up, &down));
  MT_MPI(MPI_Cart_shift(cart, 1, 1, &left, &right));
  MT_CHECK(up == ((coords[0] + dims[0] - 1) % dims[0]) * dims[1] + coords[1], "up %d", up);
  MT_CHECK((coords[1] == 0) == (left == MPI_PROC_NULL), "left %d", left);
  MT_CHECK((coords[1] == dims[1] - 1) == (right == MPI_PROC_NULL), "right %d", right);
  int keep_row[2] = {0, 1}, keep_col[2] = {1, 0};
  MT_MPI(MPI_Cart_sub(cart, keep_row, &row));
  MT_MPI(MPI_Cart_sub(cart, keep_col, &col));
  int rs = -1, cs = -1;
  MT_MPI(MPI_Comm_size(row, &rs));
  MT_MPI(MPI_Comm_size(col, &cs));
  MT_CHECK(rs == dims[1] && cs == dims[0], "sub sizes %d %d", rs, cs);

  MPI_Datatype column;
  MT_MPI(MPI_Type_vector(NX, 1, NY + 2, MPI_INT64_T, &column));
  MT_MPI(MPI_Type_commit(&column));

  /* The local block with a halo of 1, and the global grid (every rank holds all of it). */
  static cell u[NX + 2][NY + 2], v[NX + 2][NY + 2];
  const int GX = dims[0] * NX, GY = dims[1] * NY;
  cell* g = (cell*)calloc((size_t)GX * GY, sizeof(cell));
  cell* g2 = (cell*)calloc((size_t)GX * GY, sizeof(cell));
  MT_CHECK(g && g2, "calloc");
#define G(a, i, j) (a)[(size_t)(i) * GY + (j)]
  for (int i = 0; i < GX; ++i)
    for (int j = 0; j < GY; ++j) G(g, i, j) = mt_val(i, j, 0) & 0xffff;
  const int x0 = coords[0] * NX, y0 = coords[1] * NY;
  for (int i = 0; i < NX; ++i)
    for (int j = 0; j < NY; ++j) u[i + 1][j + 1] = G(g, x0 + i, y0 + j);
  uint64_t h = MT_HASH_INIT;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* Halo exchange (open edges: MPI_PROC_NULL leaves the halo at 0). */
    MT_MPI(MPI_Sendrecv(&u[NX][1], NY, MPI_INT64_T, down, 1, &u[0][1], NY, MPI_INT64_T, up, 1,
                        cart, MPI_STATUS_IGNORE));
    MT_MPI(MPI_Sendrecv(&u[1][1], NY, MPI_INT64_T, up, 2, &u[NX + 1][1], NY, MPI_INT64_T, down, 2,
                        cart, MPI_STATUS_IGNORE));
    MT_MPI(MPI_Sendrecv(&u[1][NY], 1, column, right, 3, &u[1][0], 1, column, left, 3, cart,
                        MPI_STATUS_IGNORE));
    MT_MPI(MPI_Sendrecv(&u[1][1], 1, column, left, 4, &u[1][NY + 1], 1, column, right, 4, cart,
                        MPI_STATUS_IGNORE));
    for (int i = 1; i <= NX; ++i)
      for (int j = 1; j <= NY; ++j)
        v[i][j] = stencil(u[i][j], u[i - 1][j], u[i + 1][j], u[i][j - 1], u[i][j + 1], s);
    for (int i = 1; i <= NX; ++i)
      for (int j = 1; j <= NY; ++j) u[i][j] = v[i][j];
    /* The same step on the global grid (periodic rows, zero beyond the column edges). */
    for (int i = 0; i < GX; ++i)
      for (int j = 0; j < GY; ++j) {
        const cell lft = j > 0 ? G(g, i, j - 1) : 0, rgt = j < GY - 1 ? G(g, i, j + 1) : 0;
        G(g2, i, j) = stencil(G(g, i, j), G(g, (i + GX - 1) % GX, j), G(g, (i + 1) % GX, j), lft,
                              rgt, s);
      }
    cell* t = g;
    g = g2, g2 = t;
    for (int i = 0; i < NX; ++i)
      for (int j = 0; j < NY; ++j)
        MT_CHECK(u[i + 1][j + 1] == G(g, x0 + i, y0 + j), "step %d: cell (%d,%d) %lld, want %lld",
                 s, x0 + i, y0 + j, (long long)u[i + 1][j + 1], (long long)G(g, x0 + i, y0 + j));

    /* Sums over the row, the column and everything. */
    if (s % 3 == 0) {
      int64_t mine = 0, rsum = 0, csum_of_rows = 0, all = 0, want = 0;
      for (int i = 1; i <= NX; ++i)
        for (int j = 1; j <= NY; ++j) mine += u[i][j];
      for (int i = 0; i < GX * GY; ++i) want += g[i];
      MT_MPI(MPI_Allreduce(&mine, &rsum, 1, MPI_INT64_T, MPI_SUM, row));
      MT_MPI(MPI_Allreduce(&rsum, &csum_of_rows, 1, MPI_INT64_T, MPI_SUM, col));
      MT_MPI(MPI_Allreduce(&mine, &all, 1, MPI_INT64_T, MPI_SUM, cart));
      MT_CHECK(csum_of_rows == want && all == want, "step %d: sums %lld %lld want %lld", s,
               (long long)csum_of_rows, (long long)all, (long long)want);
      h = mt_hash_i64(h, all);
    }
    /* Neighbourhood collective: to (up, down, left, right) in this order. */
    if (s % 3 == 1) {
      int out[4], in[4] = {-1, -1, -1, -1};
      const int nb[4] = {up, down, left, right};
      for (int k = 0; k < 4; ++k) out[k] = r * 1000 + s;
      MT_MPI(MPI_Neighbor_alltoall(out, 1, MPI_INT, in, 1, MPI_INT, cart));
      for (int k = 0; k < 4; ++k)
        MT_CHECK(nb[k] == MPI_PROC_NULL ? in[k] == -1 : in[k] == nb[k] * 1000 + s,
                 "step %d: neighbor_alltoall[%d] = %d from %d", s, k, in[k], nb[k]);
    }
    mt_step_sleep();
  }
  h = mt_hash(h, u, sizeof u);
  MT_MPI(MPI_Type_free(&column));
  MT_MPI(MPI_Comm_free(&row));
  MT_MPI(MPI_Comm_free(&col));
  MT_MPI(MPI_Comm_free(&cart));
  free(g), free(g2);
  mt_finish(h);
  return 0;
}
