"""cairn: application-level checkpoint/restart (Python bindings of libcairn).

    import numpy as np, cairn
    u = np.zeros((512, 512))
    it = np.zeros(1, dtype=np.int64)
    with cairn.Client(config="run.cfg") as c:      # or cairn.Client(MPI.COMM_WORLD, ...)
        c.protect(0, u)                              # no copy: u's own memory
        c.protect(1, it)
        v = c.restart_latest("run")                  # None: fresh start
        while it[0] < 1000:
            step(u); it[0] += 1
            if it[0] % 100 == 0:
                c.checkpoint("run", int(it[0]))

See docs/python.md for the whole API, the zero-copy rules, MPI and errors.
"""

from ._errors import (  # noqa: F401  (imported first: the extension raises these)
    Corrupt,
    Error,
    Internal,
    InvalidArgument,
    IOFailure,
    NoSpace,
    NotFound,
    OrderError,
    Unavailable,
)
from . import _cairn  # noqa: E402
from ._client import Client  # noqa: E402

#: The version of the libcairn the extension runs against.
__version__ = _cairn.version()
#: True when Client(comm=...) is supported (libcairn built with MPI, mpi4py headers found).
HAVE_MPI = _cairn.HAVE_MPI


def library_version():
    """The version string of the loaded libcairn."""
    return _cairn.version()


__all__ = [
    "Client",
    "Error",
    "InvalidArgument",
    "NotFound",
    "Corrupt",
    "IOFailure",
    "NoSpace",
    "OrderError",
    "Unavailable",
    "Internal",
    "HAVE_MPI",
    "library_version",
]
