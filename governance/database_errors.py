"""Telling "PostgreSQL is gone" apart from an error in what we asked of it."""

from __future__ import annotations

import psycopg2
from django.db import InterfaceError, OperationalError

# SQLSTATE classes of a lost server: 08 connection exception, 57P operator intervention
# (shutdown, crash shutdown, cannot connect now).
_LOST_CLASSES = ("08", "57P")


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError | psycopg2.InterfaceError):
        return True  # "connection already closed": used after the server went
    if isinstance(exc, OperationalError | psycopg2.OperationalError):
        # A client-side failure (connection refused, server closed the connection, timeout
        # expired) has no SQLSTATE; a server-side one says what it was.
        code = getattr(exc, "pgcode", None) or getattr(exc.__cause__, "pgcode", None)
        return code is None or code.startswith(_LOST_CLASSES)
    # psycopg2 reports some broken connections as a bare DatabaseError without a SQLSTATE
    # ("error with status PGRES_TUPLES_OK and no message from the libpq").
    return type(exc) is psycopg2.DatabaseError and exc.pgcode is None


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused connection; False for a deadlock, a timeout, a bad query.

    The exception's causes and context count too: an error raised while handling a lost
    connection (rolling back, rendering an error page) is the outage's as well."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        if _lost(current):
            return True
        current = current.__cause__ or current.__context__
    return False
