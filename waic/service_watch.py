"""`manage.py up` keeps an eye on PostgreSQL and Redis while the tracker runs.

Whoever pulls the plug on either gets a clear line on the launcher's screen saying what
stopped and what that means, and another when it is back. An embedded server (one `up`
started) is restarted on its own port; a server of the user's (DATABASE_URL / REDIS_URL
set) can only be waited for. Either way the web server, the worker and beat reconnect by
themselves: nothing here restarts them.
"""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psycopg2

from waic import services

# Seconds between probes of a server's reachability, and between restart attempts.
PROBE_EVERY = 2.0
RESTART_EVERY = 3.0

EFFECTS = {
    "postgres": "pages answer 503 and jobs wait until it is back; nothing is lost",
    "redis": "pages keep working; fetches and emails wait until it is back",
}


def postgres_reachable(url: str, timeout: int = 2) -> str | None:
    """None if PostgreSQL at url accepts a connection, else why not (one line)."""
    try:
        psycopg2.connect(url, connect_timeout=timeout).close()
    except psycopg2.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def redis_reachable(url: str, timeout: float = 2.0) -> str | None:
    """None if Redis at url answers PING, else why not."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return exc.strerror or str(exc)
    # A password-protected server answers NOAUTH: it is there, which is all we ask.
    return None if reply.startswith((b"+PONG", b"-NOAUTH")) else f"unexpected reply {reply[:20]!r}"


@dataclass
class Watched:
    name: str  # "postgres" | "redis"
    label: str  # "PostgreSQL at 127.0.0.1:5432"
    probe: Callable[[], str | None]
    embedded: services.EmbeddedPostgres | services.EmbeddedRedis | None = None
    down_since: float | None = None
    next_probe: float = 0.0
    next_restart: float = 0.0
    restart_failures: int = field(default=0)

    def process_gone(self) -> bool:
        if self.embedded is None:
            return False
        if isinstance(self.embedded, services.EmbeddedPostgres):
            return self.embedded.postmaster() is None
        return self.embedded.server() is None


class ServiceWatch:
    """Call check() often (the launcher's loop does, five times a second)."""

    def __init__(
        self,
        say: Callable[[str], None],
        environ: dict[str, str],
        embedded: services.EmbeddedServices | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say = say
        self.clock = clock
        self.watched: list[Watched] = []
        servers = (
            ("postgres", "PostgreSQL", "DATABASE_URL", postgres_reachable),
            ("redis", "Redis", "REDIS_URL", redis_reachable),
        )
        for name, kind, variable, reachable in servers:
            url = environ.get(variable)
            if not url:
                continue
            # EmbeddedServices names its servers as we do.
            server = getattr(embedded, name) if embedded else None
            probe = functools.partial(reachable, url)
            self.watched.append(Watched(name, _label(kind, url, server), probe, server))

    def check(self) -> None:
        now = self.clock()
        for item in self.watched:
            if item.process_gone():
                self._went_down(item, "its process is gone", now, restarting=True)
                self._restart(item, now)
            elif now >= item.next_probe:
                item.next_probe = now + PROBE_EVERY
                reason = item.probe()
                if reason:
                    self._went_down(item, reason, now, restarting=False)
                elif item.down_since is not None:
                    self.say(f"{item.label} is back after {now - item.down_since:.1f}s")
                    item.down_since = None
                    item.restart_failures = 0

    def _went_down(self, item: Watched, reason: str, now: float, *, restarting: bool) -> None:
        if item.down_since is not None:
            return
        item.down_since = now
        # A live process that does not answer (stopped, overloaded) is waited for, never
        # killed: restarting a busy database would turn slowness into an outage.
        gone = item.embedded is not None and restarting
        what = "stopped" if gone else "is unreachable"
        self.say(f"{item.label} {what} ({reason}): {EFFECTS[item.name]}")
        if gone:
            self.say(f"restarting the embedded {item.name}")

    def _restart(self, item: Watched, now: float) -> None:
        if now < item.next_restart or item.embedded is None:
            return
        try:
            item.embedded.start()
        except services.ServiceError as exc:
            item.restart_failures += 1
            item.next_restart = now + RESTART_EVERY
            if item.restart_failures in (1, 10) or item.restart_failures % 100 == 0:
                self.say(f"could not restart the embedded {item.name} yet: {exc}; trying again")
            return
        item.next_probe = 0.0  # confirm and announce on the next check


def _label(kind: str, url: str, embedded: object) -> str:
    parts = urlsplit(url)
    where = (
        f"{parts.hostname or '127.0.0.1'}:{parts.port or (5432 if kind == 'PostgreSQL' else 6379)}"
    )
    return f"the embedded {kind} ({where})" if embedded else f"{kind} at {where}"
