"""cairn.Client: a checkpoint/restart client over libcairn (see docs/python.md).

Contract
- Protected memory is registered without a copy: a checkpoint reads it where it is and a
  restart writes the saved bytes back into the very same memory (numpy arrays keep their
  identity and data pointer). The client holds the object's buffer until the region is
  unprotected, replaced, cleared or the client closed.
- Every failure raises a cairn.Error subclass with the library's message. Nothing here exits
  the interpreter.
- MPI: pass an mpi4py communicator as ``comm``; the calls documented as collective in cairn.h
  (open, close, checkpoint, restart, need_checkpoint, should_exit) must then be made by every
  rank of it. mpi4py is imported only when a communicator is given.
- ``with Client(...) as c:`` closes at the end of the block (drain); when the block raises,
  an MPI client is closed without draining (no collective step another rank might not join).
- Clients left open are closed (drain) when garbage-collected and at interpreter exit, except
  MPI clients when the interpreter exits because of an uncaught exception (a collective close
  on one rank could hang the job; the process exit abandons the client instead).
"""

import atexit
import operator
import os
import sys
import weakref

from . import _cairn
from ._errors import Error

_open_clients = weakref.WeakSet()


def _name(value, what):
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    return value


def _group(group):
    return "" if group is None else _name(group, "group")


def _ids(ids):
    return None if ids is None else [int(i) for i in ids]


class Client:
    """An open cairn client.

    ``Client()`` opens in independent mode as rank ``rank`` (no MPI); ``Client(comm)`` opens
    in collective mode over the mpi4py communicator ``comm`` (its rank is the rank in comm).
    ``config`` is a VeloC-style configuration file (str or path-like); ``None`` reads the
    configuration from the environment (CAIRN_SCRATCH, CAIRN_PERSISTENT, CAIRN_MODE, ...).
    Use it as a context manager to close it: ``with cairn.Client(...) as c: ...``.
    """

    def __init__(self, comm=None, rank=0, config=None):
        cfg = None if config is None else os.fspath(config)
        if isinstance(cfg, bytes):
            cfg = os.fsdecode(cfg)
        if comm is None:
            rank = operator.index(rank)
            if rank < 0:
                raise ValueError("rank must be >= 0, not %d" % rank)
            self._c = _cairn.open_single(rank, cfg)
        else:
            self._c = _cairn.open_mpi(comm, cfg)
        _open_clients.add(self)

    # ---- state ---------------------------------------------------------------------------
    @property
    def rank(self):
        """This process's rank (its id in independent mode)."""
        return self._c.rank

    @property
    def size(self):
        """The number of ranks (1 in independent mode)."""
        return self._c.size

    @property
    def is_mpi(self):
        """True when opened over an MPI communicator."""
        return self._c.is_mpi

    @property
    def closed(self):
        return self._c.closed

    def regions(self):
        """The protected regions as sorted (group, id) pairs; group None is the default."""
        return [(g or None, i) for g, i in self._c.regions()]

    # ---- regions -------------------------------------------------------------------------
    def protect(self, id, obj, group=None):
        """Registers the memory of ``obj`` under ``id`` (in ``group``; None: default group).

        ``obj``: any object with a writable, contiguous buffer (numpy array, bytearray,
        memoryview, array.array, ...). No copy is made: checkpoints read this memory and
        restarts write into it. Re-protecting an id replaces it. Read-only or non-contiguous
        buffers raise InvalidArgument, non-buffers TypeError.
        """
        self._c.protect(int(id), obj, _group(group))

    def unprotect(self, id, group=None):
        """Unregisters ``id`` (NotFound if absent) and releases its buffer."""
        self._c.unprotect(int(id), _group(group))

    def clear(self, group=None):
        """Unregisters every region of ``group`` (None: the default group)."""
        self._c.clear(_group(group))

    def clear_all(self):
        """Unregisters every region of every group."""
        self._c.clear_all()

    # ---- checkpoint ----------------------------------------------------------------------
    def checkpoint(self, name, version):
        """A complete checkpoint of every protected region as ``name`` version ``version``.

        Sync mode: committed when it returns. Async mode: committed in the background; wait()
        reports the result. Collective in MPI mode.
        """
        self._c.checkpoint(_name(name, "name"), int(version))

    def checkpointing(self, name, version):
        """Context manager for the steps of a checkpoint (begin, mem, end).

        ``with c.checkpointing("run", v) as ck:`` begins; ``ck.route_file(path)`` gives where
        to write a file; ``ck.save(ids=None, exclude=False)`` saves regions (all of them at
        the end of the block when never called); leaving the block commits. An exception in
        the block discards the checkpoint (end with success=False) and propagates.
        """
        return _Checkpointing(self, _name(name, "name"), int(version))

    def wait(self):
        """Waits for pending asynchronous work; raises the error of anything since the last wait."""
        self._c.wait()

    def finished(self):
        """True when no asynchronous work is pending (does not block)."""
        return self._c.finished()

    def cleanup(self, name):
        """Removes this rank's checkpoints named ``name`` from scratch (persistent copies stay)."""
        self._c.cleanup(_name(name, "name"))

    def on_commit(self, callback):
        """Calls ``callback(name, version)`` after each committed version; returns callback.

        May run on a library thread (async mode); it must not call into this client.
        Exceptions it raises are reported as unraisable (sys.unraisablehook) and dropped.
        """
        if not callable(callback):
            raise TypeError("on_commit needs a callable, not %s" % type(callback).__name__)
        self._c.on_commit(callback)
        return callback

    def need_checkpoint(self):
        """True when a checkpoint should be taken now (interval, Young/Daly, `cairn job`).

        Collective in MPI mode: every rank gets the same answer.
        """
        return self._c.need_checkpoint()

    def should_exit(self):
        """True once a final checkpoint is committed: close the client and exit with 0."""
        return self._c.should_exit()

    # ---- restart -------------------------------------------------------------------------
    def restart_latest(self, name, max_version=None):
        """Restores the newest restorable version <= max_version (None or 0: any) of ``name``
        into the protected regions and returns it; None when there is nothing to restore
        (a fresh start). Falls back to older versions when the newest is unreadable."""
        mv = _cairn.ANY_VERSION if max_version is None else int(max_version)
        return self._c.restart_latest(_name(name, "name"), mv)

    def restart_test(self, name, max_version=None):
        """The version restart_latest would try first, without restoring; None if none."""
        mv = _cairn.ANY_VERSION if max_version is None else int(max_version)
        return self._c.restart_test(_name(name, "name"), mv)

    def restart(self, name, version):
        """Restores exactly ``version`` of ``name`` (NotFound when it does not exist,
        Corrupt when no copy verifies)."""
        self._c.restart(_name(name, "name"), int(version))

    def restarting(self, name, version):
        """Context manager for the steps of a restart (begin, recover, end).

        ``with c.restarting("run", v) as r:`` begins; ``r.size(id)`` is the saved size of a
        region, ``r.route_file(path)`` where to read a file from, ``r.recover(ids=None,
        exclude=False)`` restores regions (all of them at the end of the block when never
        called). An exception in the block ends the restart with success=False.
        """
        return _Restarting(self, _name(name, "name"), int(version))

    # ---- files ---------------------------------------------------------------------------
    def route_file(self, path):
        """During a checkpoint: where to write ``path``; during a restart: where to read it."""
        return self._c.route_file(os.fsdecode(os.fspath(path)))

    # ---- close ---------------------------------------------------------------------------
    def close(self, drain=True):
        """Closes the client (drain: wait for pending asynchronous work first and raise its
        error). Releases every protected buffer. Closing twice is harmless. Collective in MPI
        mode."""
        self._c.close(bool(drain))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            # The block failed, maybe on this rank only: in MPI mode close without draining,
            # which makes no collective call that the other ranks might never join.
            try:
                self.close(drain=not self.is_mpi)
            except Error:
                pass  # the block's exception is the one to report
        return False

    def __repr__(self):
        state = "closed" if self.closed else "rank %d of %d" % (self.rank, self.size)
        return "<cairn.Client %s%s>" % ("MPI " if not self.closed and self.is_mpi else "", state)


class _Checkpointing:
    """The block of Client.checkpointing()."""

    def __init__(self, client, name, version):
        self._client = client
        self._name = name
        self._version = version
        self._saved = False

    def route_file(self, path):
        return self._client.route_file(path)

    def save(self, ids=None, exclude=False):
        """Saves the regions ``ids`` (None: all; exclude=True: all but ``ids``)."""
        self._client._c.checkpoint_mem(_ids(ids), bool(exclude))
        self._saved = True

    def __enter__(self):
        self._client._c.checkpoint_begin(self._name, self._version)
        return self

    def __exit__(self, exc_type, exc, tb):
        c = self._client._c
        if exc_type is None:
            try:
                if not self._saved:
                    self.save()
            except BaseException:
                _end_quietly(c.checkpoint_end)
                raise
            c.checkpoint_end(True)
        else:
            _end_quietly(c.checkpoint_end)
        return False


class _Restarting:
    """The block of Client.restarting()."""

    def __init__(self, client, name, version):
        self._client = client
        self._name = name
        self._version = version
        self._recovered = False

    def size(self, id):
        """Bytes saved under ``id`` in the checkpoint being restarted (NotFound if absent)."""
        return self._client._c.recover_size(int(id))

    def route_file(self, path):
        return self._client.route_file(path)

    def recover(self, ids=None, exclude=False):
        """Restores the regions ``ids`` (None: all; exclude=True: all but ``ids``)."""
        self._client._c.recover_mem(_ids(ids), bool(exclude))
        self._recovered = True

    def __enter__(self):
        self._client._c.restart_begin(self._name, self._version)
        return self

    def __exit__(self, exc_type, exc, tb):
        c = self._client._c
        if exc_type is None:
            try:
                if not self._recovered:
                    self.recover()
            except BaseException:
                _end_quietly(c.restart_end)
                raise
            c.restart_end(True)
        else:
            _end_quietly(c.restart_end)
        return False


def _end_quietly(end):
    """end(False) while another exception propagates (its own error says "discarded")."""
    try:
        end(False)
    except Error:
        pass


def _close_at_exit():
    dying = hasattr(sys, "last_value")  # the interpreter reported an uncaught exception
    for client in list(_open_clients):
        try:
            if client.closed or (client.is_mpi and dying):
                continue
            client.close(drain=True)
        except Error as e:
            print("cairn: closing a client at exit: %s" % e, file=sys.stderr)
    _cairn._set_finalizing()


atexit.register(_close_at_exit)
