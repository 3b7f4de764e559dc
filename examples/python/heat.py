#!/usr/bin/env python3
"""heat.py: 2-D heat diffusion on numpy arrays over mpi4py, checkpointed with cairn.

    mpirun -np 4 python3 heat.py heat.cfg --iters 200 --ckpt-every 20

The Python twin of examples/heat/heat_cairn.c. An NX x NY grid (NX columns, NY rows) with
fixed boundary values is split into blocks of rows, one per rank, each with a halo row above
and below; every iteration exchanges the halos (Sendrecv) and applies the 5-point Jacobi
stencil. Every cell gets the same arithmetic whatever the decomposition.

Checkpointed state, protected without copies: the grid block (a numpy array updated in
place) and the iteration counter (a one-element numpy array). At start the newest restorable
checkpoint is restored into them (restart_latest); a checkpoint is taken every K iterations
and whenever cairn asks for one (need_checkpoint, e.g. under `cairn job`); when cairn says the
job should end (should_exit) the program closes the client and exits 0 without a result.

Output on rank 0 (stdout): "FRESH" or "RESTARTED_FROM <version>", then at the end
"RESULT <sum> <hash>": the sum of all cells (%.10e) and a 64-bit hash (hex) of the grid's
bytes in row order, both independent of the number of ranks. Errors go to stderr and abort
the job (MPI Abort) so that no rank hangs in a collective.
"""

import argparse
import hashlib
import sys
import time

import numpy as np
from mpi4py import MPI

import cairn

NAME = "heat"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="cairn configuration file (scratch=, persistent=, mode=)")
    p.add_argument("--nx", type=int, default=256, help="columns")
    p.add_argument("--ny", type=int, default=256, help="rows")
    p.add_argument("--iters", type=int, default=200, help="iterations in total")
    p.add_argument("--ckpt-every", type=int, default=20, help="checkpoint every K iterations")
    p.add_argument("--sleep-ms", type=int, default=0, help="sleep per iteration (tests)")
    return p.parse_args(argv)


class Heat:
    """This rank's block of rows: u[1:-1] are its rows, u[0] and u[-1] the halos."""

    def __init__(self, comm, nx, ny):
        self.comm, self.nx, self.ny = comm, nx, ny
        rank, size = comm.Get_rank(), comm.Get_size()
        base, extra = divmod(ny, size)
        self.nrows = base + (1 if rank < extra else 0)
        self.row0 = rank * base + min(rank, extra)
        self.up = rank - 1 if rank > 0 else MPI.PROC_NULL
        self.down = rank + 1 if rank < size - 1 else MPI.PROC_NULL
        # Initial condition: hot top edge, warm left edge, a smooth bump inside.
        rows = np.arange(self.row0 - 1, self.row0 + self.nrows + 1, dtype=np.float64)[:, None]
        cols = np.arange(nx, dtype=np.float64)[None, :]
        self.u = np.sin(np.pi * rows / ny) * np.sin(np.pi * cols / nx)
        self.u[:, 0] = 50.0
        self.u[rows[:, 0] == 0, :] = 100.0
        # Rows of the block that are updated (not the global first or last row).
        self.lo = 1 if self.row0 == 0 else 0
        self.hi = self.nrows - 1 if self.row0 + self.nrows == ny else self.nrows

    def step(self):
        u, n = self.u, self.nrows
        self.comm.Sendrecv(u[1], dest=self.up, recvbuf=u[n + 1], source=self.down)
        self.comm.Sendrecv(u[n], dest=self.down, recvbuf=u[0], source=self.up)
        new = 0.25 * (u[0:n, 1:-1] + u[2 : n + 2, 1:-1] + u[1 : n + 1, 0:-2] + u[1 : n + 1, 2:])
        u[1 + self.lo : 1 + self.hi, 1:-1] = new[self.lo : self.hi]  # in place: same memory

    def result(self):
        """(sum, hash) of the whole grid on rank 0, None elsewhere (collective)."""
        blocks = self.comm.gather(np.ascontiguousarray(self.u[1 : self.nrows + 1]), root=0)
        if blocks is None:
            return None
        grid = np.concatenate(blocks)
        return float(grid.sum()), hashlib.blake2b(grid.tobytes(), digest_size=8).hexdigest()


def run(comm, opt):
    rank = comm.Get_rank()
    if opt.ny < comm.Get_size() or opt.nx < 3:
        raise SystemExit("heat.py: the grid is too small for %d ranks" % comm.Get_size())
    h = Heat(comm, opt.nx, opt.ny)
    it = np.zeros(1, dtype=np.int64)
    shape = np.array([opt.nx, opt.ny, comm.Get_size()], dtype=np.int64)
    with cairn.Client(comm, config=opt.config) as c:
        c.protect(0, it)
        c.protect(1, h.u)
        c.protect(2, shape)
        v = c.restart_latest(NAME)
        if v is not None:
            if list(shape) != [opt.nx, opt.ny, comm.Get_size()] or it[0] != v:
                raise SystemExit("heat.py: checkpoint %s version %d holds a %d x %d grid on %d "
                                 "ranks at iteration %d; this run is %d x %d on %d"
                                 % (NAME, v, shape[0], shape[1], shape[2], it[0], opt.nx,
                                    opt.ny, comm.Get_size()))
            if rank == 0:
                print("RESTARTED_FROM %d" % v, flush=True)
        elif rank == 0:
            print("FRESH", flush=True)

        while it[0] < opt.iters:
            h.step()
            it[0] += 1
            periodic = opt.ckpt_every > 0 and it[0] % opt.ckpt_every == 0
            if c.need_checkpoint() or periodic:
                c.checkpoint(NAME, int(it[0]))
                if c.should_exit():
                    return  # closed (drained) by the with statement; the job requeues us
            if opt.sleep_ms:
                time.sleep(opt.sleep_ms / 1000.0)

    res = h.result()
    if rank == 0:
        print("RESULT %.10e %s" % res, flush=True)


def main(argv):
    opt = parse_args(argv)
    comm = MPI.COMM_WORLD
    try:
        run(comm, opt)
    except (cairn.Error, SystemExit) as e:
        if isinstance(e, SystemExit) and e.code in (None, 0):
            raise
        print("heat.py[%d]: %s" % (comm.Get_rank(), e), file=sys.stderr, flush=True)
        comm.Abort(1)


if __name__ == "__main__":
    main(sys.argv[1:])
