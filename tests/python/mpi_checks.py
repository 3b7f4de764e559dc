"""cairn's Python bindings over mpi4py communicators; run under mpirun (any number of ranks):

    mpirun -np 3 python3 mpi_checks.py

Checks on every rank: a client over COMM_WORLD knows its rank and size; restart_latest finds
nothing at first (None on every rank); a collective checkpoint of numpy arrays is restored in
place; need_checkpoint and should_exit agree on every rank; a client over a sub-communicator
(Split) gets the rank within it; a non-communicator is refused with TypeError and
COMM_NULL with InvalidArgument. Works in a fresh temporary directory (made by rank 0, removed at the end). Prints
"MPI_CHECKS_OK <rank>"; any failure aborts the job
(exit status != 0) so that no rank is left waiting in a collective.
"""

import os
import shutil
import sys
import tempfile
import traceback

import numpy as np
from mpi4py import MPI

import cairn


def write_cfg(workdir, name):
    path = os.path.join(workdir, name + ".cfg")
    if MPI.COMM_WORLD.Get_rank() == 0:
        with open(path, "w") as f:
            f.write("scratch = %s/%s/scratch\npersistent = %s/%s/persistent\nmode = sync\n"
                    % (workdir, name, workdir, name))
    MPI.COMM_WORLD.Barrier()
    return path


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main(workdir):
    world = MPI.COMM_WORLD
    rank, size = world.Get_rank(), world.Get_size()
    check(cairn.HAVE_MPI, "cairn.HAVE_MPI is False")

    with cairn.Client(world, config=write_cfg(workdir, "world")) as c:
        check((c.rank, c.size, c.is_mpi) == (rank, size, True), "rank/size %r" % ((c.rank, c.size),))
        a = np.full((5, 3), rank, dtype=np.float64)
        ptr = a.__array_interface__["data"][0]
        step = np.zeros(1, dtype=np.int32)
        c.protect(0, a)
        c.protect(1, step)
        check(c.restart_latest("mpi") is None, "restart_latest found something in a new dir")
        step[0] = 7
        c.checkpoint("mpi", 7)
        a[:] = -1
        step[0] = 0
        check(c.restart_latest("mpi") == 7, "restart_latest != 7")
        check((a == rank).all() and step[0] == 7, "not restored")
        check(a.__array_interface__["data"][0] == ptr, "the array moved")
        check(c.restart_test("mpi") == 7, "restart_test != 7")
        answers = world.allgather((c.need_checkpoint(), c.should_exit()))
        check(answers == [(False, False)] * size, "need/should_exit: %r" % (answers,))
        with c.checkpointing("mpi", 8) as ck:
            with open(ck.route_file("part.txt"), "w") as f:
                f.write("rank %d" % rank)
        with c.restarting("mpi", 8) as r:
            with open(r.route_file("part.txt")) as f:
                check(f.read() == "rank %d" % rank, "routed file content")

    cfgs = [write_cfg(workdir, "sub%d" % k) for k in range(2)]
    sub = world.Split(rank % 2, rank)
    with cairn.Client(sub, config=cfgs[rank % 2]) as c:
        check((c.rank, c.size) == (sub.Get_rank(), sub.Get_size()), "sub-communicator rank")
        b = bytearray(b"%d" % rank)
        c.protect(0, b)
        c.checkpoint("sub", 1)
        b[:] = b"x" * len(b)
        check(c.restart_latest("sub") == 1 and b == bytearray(b"%d" % rank), "sub restore")
    sub.Free()

    for bad, exc in (("not a comm", TypeError), (MPI.COMM_NULL, cairn.InvalidArgument)):
        try:
            cairn.Client(bad)
        except exc:
            pass
        else:
            raise AssertionError("Client(%r) did not raise %s" % (bad, exc.__name__))
    print("MPI_CHECKS_OK %d" % rank, flush=True)


if __name__ == "__main__":
    try:
        work = tempfile.mkdtemp(prefix="cairn-py-mpi-") if MPI.COMM_WORLD.Get_rank() == 0 else None
        work = MPI.COMM_WORLD.bcast(work, root=0)
        main(work)
        MPI.COMM_WORLD.Barrier()
        if MPI.COMM_WORLD.Get_rank() == 0:
            shutil.rmtree(work)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
