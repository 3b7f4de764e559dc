"""cairn's exceptions: one class per status code of the C API (cairn.h, cairn_status_t).

Every failure of a cairn call raises a subclass of :class:`Error` carrying ``status`` (the
integer code) and ``message`` (the library's cairn_last_error() text, which names what failed:
path, name, version, rank). ``str(error)`` is the message followed by the status in brackets.
Some classes also derive from the matching built-in exception (ValueError, LookupError,
OSError) so that generic handlers catch them.
"""

_STATUS_NAMES = {
    1: "invalid argument",
    2: "not found",
    3: "corrupt",
    4: "I/O error",
    5: "no space",
    6: "out of order",
    7: "unavailable",
    8: "internal error",
}


class Error(Exception):
    """A cairn call failed. ``status``: cairn_status_t code; ``message``: what failed."""

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = int(status)
        self.message = str(message)

    def __str__(self):
        name = _STATUS_NAMES.get(self.status, "status %d" % self.status)
        return "%s [%s]" % (self.message, name) if self.message else name


class InvalidArgument(Error, ValueError):
    """CAIRN_E_INVALID: bad name, version, config value, read-only or non-contiguous buffer."""


class NotFound(Error, LookupError):
    """CAIRN_E_NOT_FOUND: no such version, region or file."""


class Corrupt(Error):
    """CAIRN_E_CORRUPT: checksum mismatch, bad magic, truncated file."""


class IOFailure(Error, OSError):
    """CAIRN_E_IO: a system call failed."""

    def __init__(self, status, message):
        super().__init__(status, message)
        self.errno = None  # OSError would take the status for an errno
        self.strerror = self.message

    __str__ = Error.__str__


class NoSpace(IOFailure):
    """CAIRN_E_NO_SPACE: ENOSPC / EDQUOT while writing."""


class OrderError(Error):
    """CAIRN_E_ORDER: calls out of order (end without begin, a call on a closed client...)."""


class Unavailable(Error):
    """CAIRN_E_UNAVAILABLE: a peer (rank) is gone."""


class Internal(Error):
    """CAIRN_E_INTERNAL: a bug in cairn."""


_BY_STATUS = {
    1: InvalidArgument,
    2: NotFound,
    3: Corrupt,
    4: IOFailure,
    5: NoSpace,
    6: OrderError,
    7: Unavailable,
    8: Internal,
}


for _cls in (Error, *_BY_STATUS.values()):
    _cls.__module__ = "cairn"  # shown as cairn.NotFound, the public name


def error_for(status):
    """The exception class of a cairn_status_t code (Error for unknown codes)."""
    return _BY_STATUS.get(int(status), Error)
