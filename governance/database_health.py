"""A short-lived, shared "the database is down" verdict, so that while PostgreSQL cannot
be reached or does not answer every web request learns it at once instead of each
waiting out a timeout in turn behind the others (figures: bench/database-outage.md).

Who decides:
- a connection attempt that fails (refused, or libpq's connect_timeout for a server that
  accepts the TCP connection but never answers, as a SIGSTOPped one does);
- this process's watchdog thread, when a request has been in flight for STUCK_AFTER
  seconds: it asks the postmaster for a one-byte answer (an SSLRequest, answered before
  any authentication, costing a fork on the server and nothing in its log), and if none
  comes within PROBE_TIMEOUT it declares the database down and shuts down the sockets
  of this process's open connections. That is what frees a request blocked on an open
  connection: the kernel of a stopped server still acknowledges every packet, so neither
  TCP keepalives nor tcp_user_timeout ever fire on it (they bound a host that vanished
  from the network), and libpq has no client-side query timeout.

The verdict lives DOWN_FOR seconds in this process and in the shared cache (Redis), so
the other web processes stop connecting too; while it holds, requests answer 503 without
touching the database and no new connection is attempted. The watchdog probes again
every PROBE_EVERY seconds: one probe per process, not one wait per request, notices the
server's return, and clears the verdict here and in the cache.

Only processes that serve requests take part (the first request_started enables it):
Celery workers and management commands connect and retry as before.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
import weakref
from typing import Any

import psycopg2
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import connections

logger = logging.getLogger(__name__)

DOWN_FOR = 5.0  # seconds a verdict holds unless a probe confirms it (or clears it sooner)
STUCK_AFTER = 0.75  # a request in flight this long makes the watchdog ask the server
PROBE_TIMEOUT = 1.0  # a healthy postmaster answers in milliseconds, even on a busy host
PROBE_EVERY = 0.5  # while down: how soon the server's return is noticed
PROBE_EVERY_UP = 1.0  # while up: at most this often for requests that are merely slow
TICK = 0.1
CACHE_KEY = "database-down"
# The SSLRequest message: length 8, code 1234.5679. Any reply (N or S) is an answer.
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)

_lock = threading.Lock()
_down_until = 0.0  # time.monotonic() until which the database counts as down
_in_flight: dict[int, float] = {}  # thread id -> when its request started
_connections: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_watchdog_pid = 0
enabled = False  # set by the first request this process serves


def is_down() -> bool:
    """True while this process holds a "down" verdict; no I/O, for every request."""
    return time.monotonic() < _down_until


def known_down() -> bool:
    """is_down(), or another process's verdict in the shared cache (one cache read)."""
    if is_down():
        return True
    until = cache.get(CACHE_KEY)
    remaining = until - time.time() if isinstance(until, float) else 0.0
    if remaining <= 0:
        return False
    _hold(min(remaining, DOWN_FOR))
    return True


def _hold(seconds: float) -> bool:
    """Extend the local verdict; True if it was not held before."""
    global _down_until
    now = time.monotonic()
    with _lock:
        was_up = now >= _down_until
        _down_until = max(_down_until, now + seconds)
    return was_up


def mark_down(reason: str) -> None:
    """Declare the database down here and for the other processes, and free this
    process's requests blocked on it."""
    if _hold(DOWN_FOR):
        logger.warning("database unavailable (%s): answering 503 until it is back", reason)
    cache.set(CACHE_KEY, time.time() + DOWN_FOR, int(DOWN_FOR) + 1)
    cut_connections()


def mark_up() -> None:
    global _down_until
    with _lock:
        was_down = time.monotonic() < _down_until
        _down_until = 0.0
    cache.delete(CACHE_KEY)
    if was_down:
        logger.warning("database answering again")


def reset() -> None:
    """Forget any verdict (tests)."""
    global _down_until
    with _lock:
        _down_until = 0.0
        _in_flight.clear()
    cache.delete(CACHE_KEY)


# --- connections -----------------------------------------------------------------------


def before_connect() -> None:
    """Refuse a new connection at once while the database is known to be down."""
    if enabled and known_down():
        raise psycopg2.OperationalError("the database is unavailable (a recent attempt failed)")


def connect_failed(exc: Exception) -> None:
    if enabled:
        lines = str(exc).strip().splitlines()
        mark_down(f"connecting failed: {lines[-1] if lines else type(exc).__name__}")


def track(raw_connection: Any) -> None:
    """Remember a new connection, so the watchdog can free a request blocked on it."""
    with _lock:
        _connections[id(raw_connection)] = raw_connection


def cut_connections() -> int:
    """Shut down the socket of every open connection of this process; a thread blocked
    on one gets "server closed the connection" at once. Returns how many were cut.

    shutdown() on a duplicate of the descriptor: the connection keeps its own descriptor
    (closing it under libpq's feet could hand the number to another socket), and only a
    socket whose peer is the database's port is touched."""
    with _lock:
        open_connections = list(_connections.values())
    cut = 0
    for raw in open_connections:
        try:
            if raw.closed:
                continue
            dup = socket.socket(fileno=os.dup(raw.fileno()))
        except (psycopg2.Error, OSError, ValueError):
            continue
        with dup:
            try:
                if _is_database_peer(dup, raw):
                    dup.shutdown(socket.SHUT_RDWR)
                    cut += 1
            except OSError:
                pass  # already shut down, or not connected any more
    return cut


def _is_database_peer(sock: socket.socket, raw: Any) -> bool:
    peer = sock.getpeername()
    port = str(raw.info.port)
    if sock.family == socket.AF_UNIX:
        return isinstance(peer, str) and peer.endswith(f".s.PGSQL.{port}")
    return sock.type == socket.SOCK_STREAM and str(peer[1]) == port


# --- the probe -------------------------------------------------------------------------


def _address() -> tuple[int, Any] | None:
    """(family, address) of the default database's postmaster, or None if there is no
    single one to ask (several hosts): then only failed connections decide."""
    settings_dict = connections["default"].settings_dict
    host = str(settings_dict.get("HOST") or "")
    port = int(settings_dict.get("PORT") or 5432)
    if "," in host:
        return None
    if not host or host.startswith("/"):
        directory = host or "/var/run/postgresql"  # libpq's default on Debian
        return socket.AF_UNIX, f"{directory}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


def probe(timeout: float = PROBE_TIMEOUT) -> bool | None:
    """Does the postmaster answer? None if there is no single server to ask."""
    address = _address()
    if address is None:
        return None
    family, where = address
    deadline = time.monotonic() + timeout
    try:
        if family == socket.AF_UNIX:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(where)
        else:
            sock = socket.create_connection(where, timeout=timeout)
        with sock:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(_SSL_REQUEST)
            return sock.recv(1) != b""
    except OSError:
        return False


# --- the watchdog ----------------------------------------------------------------------


def _started(**_: Any) -> None:
    global enabled
    enabled = True
    _in_flight[threading.get_ident()] = time.monotonic()
    if _watchdog_pid != os.getpid():
        _start_watchdog()


def _finished(**_: Any) -> None:
    _in_flight.pop(threading.get_ident(), None)


def _start_watchdog() -> None:
    global _watchdog_pid
    with _lock:
        if _watchdog_pid == os.getpid():
            return
        _watchdog_pid = os.getpid()  # after a fork, the child starts its own
    threading.Thread(target=_watch, name="database-watchdog", daemon=True).start()


def _watch() -> None:
    last_probe = 0.0
    while True:
        time.sleep(TICK)
        try:
            last_probe = _check(last_probe)
        except Exception:  # the watchdog must outlive anything, e.g. Redis errors
            logger.exception("database watchdog")


def _check(last_probe: float) -> float:
    now = time.monotonic()
    if is_down():
        if now - last_probe < PROBE_EVERY:
            return last_probe
        answered = probe()
        if answered is False:
            mark_down("the server does not answer")
        elif answered:
            mark_up()
        return time.monotonic()
    oldest = min(_in_flight.copy().values(), default=now)
    if now - oldest < STUCK_AFTER or now - last_probe < PROBE_EVERY_UP:
        return last_probe
    if known_down():
        mark_down("another web process found it down")
    elif probe() is False:
        mark_down(f"the server did not answer within {PROBE_TIMEOUT:g}s")
    return time.monotonic()


# Connected after django.db's own receivers (close_old_connections), so that a request
# counts as in flight until its connection has been checked at its end too.
request_started.connect(_started, dispatch_uid="database_health_started")
request_finished.connect(_finished, dispatch_uid="database_health_finished")
