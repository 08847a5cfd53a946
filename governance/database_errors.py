"""Telling "PostgreSQL is gone" apart from an error in what we asked of it."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# SQLSTATE classes of a lost server: 08 connection exception, 57P operator intervention
# (shutdown, crash shutdown, cannot connect now).
_LOST_CLASSES = ("08", "57P")


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused connection; False for a deadlock, a timeout, a bad query."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    # A client-side failure (connection refused, server closed the connection) has no
    # SQLSTATE; a server-side one says what it was.
    code = getattr(exc.__cause__, "pgcode", None)
    return code is None or code.startswith(_LOST_CLASSES)
