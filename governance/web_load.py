"""How busy the web server on this machine is, so that extraction workers on the same
machine leave it the cores while analysts are being served (WORKER_YIELD_AT).

Why not the scheduler alone: workers already run at a lower CPU priority
(WORKER_NICENESS), and Linux's idle class was tried too. Extraction slows the pages
through what the cores share, not through the CPU time it takes: the same search served
from the page cache, at 4 concurrent clients on the 2-core bench host, had a p99 of
5.4 ms with the workers stopped and 14-15 ms with them extracting at nice 10 or in the
idle class alike. A loop doing arithmetic in the idle class cost it 1.2x, spaCy's matrix
products in the idle class 2.2x (bench/RESULTS.md, bench/ingestion-speed.md).

So each web process adds up the time its requests take (`MeasuresLoad`, the outermost
middleware) and, at most once a second, writes the average number of requests it had in
flight since its previous report to a Redis hash of this machine (field: its pid). A
worker sums the fresh reports of its own machine (`in_flight`), and an extraction task
waits between documents while the sum is at WORKER_YIELD_AT or more (`Yielding`), for at
most WORKER_YIELD_MAX_SECONDS in all, so that a task under sustained load still ends
well within its time limit, and extraction goes on, slower.

"This machine" is the running kernel (its boot id), which containers on one host share:
a web container and a worker container of `docker compose` on one host yield to each
other; workers on hosts of their own never wait (docs/scaling.md).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from functools import cache as memoized
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

REPORT_EVERY = 1.0  # seconds between a web process's reports, at most
FRESH_FOR = 3.0  # an older report is of a process that has since been idle (or is gone)
KEY_TTL = 60  # the hash goes when no web process of the machine has reported for this long
POLL_EVERY = 0.2  # seconds between a waiting worker's looks


@memoized
def machine() -> str:
    """This machine: the kernel's boot id (shared by its containers), else the host name."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return socket.gethostname()


def _key() -> str:
    return cache.make_key(f"web-load:{machine()}")


class _Meter:
    """This process's time in requests since its last report (threads share it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy = 0.0
        self.since = time.monotonic()

    def add(self, seconds: float) -> float | None:
        """Adds a request's time; the average in flight when a report is due, else None."""
        with self.lock:
            self.busy += seconds
            now = time.monotonic()
            elapsed = now - self.since
            if elapsed < REPORT_EVERY:
                return None
            in_flight, self.busy, self.since = self.busy / elapsed, 0.0, now
            return in_flight


_meter = _Meter()


def record(seconds: float) -> None:
    """Counts one request's time; reports this process's load when a report is due.
    Redis unreachable: no report (workers see an idle web server), as waic/cache.py does."""
    in_flight = _meter.add(seconds)
    if in_flight is None:
        return
    key, report = _key(), f"{in_flight:.3f} {time.time():.3f}"
    cache.with_redis(  # type: ignore[attr-defined]
        lambda redis: (
            redis.pipeline(transaction=False)
            .hset(key, str(os.getpid()), report)
            .expire(key, KEY_TTL)
            .execute()
        )
    )


def in_flight() -> float:
    """Requests in flight on this machine's web server, on average over the last second
    or so (the sum of its processes' fresh reports); 0.0 when Redis cannot be reached."""
    key = _key()
    reports = cache.with_redis(lambda redis: redis.hgetall(key)) or {}  # type: ignore[attr-defined]
    now, total, gone = time.time(), 0.0, []
    for field, value in reports.items():
        try:
            load, at = (float(part) for part in value.split())
        except ValueError:
            gone.append(field)
            continue
        if now - at <= FRESH_FOR:
            total += load
        elif now - at > KEY_TTL:
            gone.append(field)  # a process restarted long ago: its pid is not reused here
    if gone:
        cache.with_redis(lambda redis: redis.hdel(key, *gone))  # type: ignore[attr-defined]
    return total


class MeasuresLoad:
    """Outermost middleware: every request's time, cached hits included, goes to record()."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            record(time.perf_counter() - started)


class Yielding:
    """One task's waits: `wait()` returns once the web server is below WORKER_YIELD_AT,
    or at once after the task has waited WORKER_YIELD_MAX_SECONDS in all."""

    def __init__(self) -> None:
        self.threshold = settings.WORKER_YIELD_AT
        self.left = float(settings.WORKER_YIELD_MAX_SECONDS)
        self.waited = 0.0
        # A look costs a Redis round trip (0.3 ms, 0.7% of a document's extraction): after
        # one found the web server idle, the next documents go on without looking for
        # POLL_EVERY seconds, as long as a waiting worker takes to notice load anyway.
        self._idle_until = 0.0

    def wait(self) -> None:
        if self.threshold <= 0 or time.monotonic() < self._idle_until:
            return
        while self.left > 0 and in_flight() >= self.threshold:
            pause = min(POLL_EVERY, self.left)
            time.sleep(pause)
            self.left -= pause
            self.waited += pause
        self._idle_until = time.monotonic() + POLL_EVERY
