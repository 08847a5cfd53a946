"""A real Celery worker in a subprocess, for tests of the job system.

It runs against the test database and the session's own queue, behind the
loopback guard, with settings given through its environment.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg2
from django.db import connection

from tests.ingest.payload_server import PayloadServer

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database this test session uses (test_<name>)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def terminate_own_connection() -> int:
    """Have PostgreSQL end this process's connection, as a server restart does; its pid."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = psycopg2.connect(test_database_url())
    other.autocommit = True
    other.cursor().execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    return pid


class Worker:
    def __init__(
        self, log_dir: Path, *, concurrency: int = 1, args: Sequence[str] = (), **env: str
    ) -> None:
        """`concurrency` pool children (prefork); `args` go to `celery worker` as given."""
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self.args = list(args)
        self.log_path = log_dir / f"{self.name}.log"
        self.env = {
            **os.environ,
            # A bench outside pytest names its own database (and has no test connection).
            "DATABASE_URL": env.get("DATABASE_URL") or test_database_url(),
            "INGEST_ALLOW_LOOPBACK": "true",
            "CONN_MAX_AGE": "0",
            # Every beat tick and task line in the log: tests count them (waic/quiet_logs.py).
            "VERBOSE_LOGS": "true",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    # What the log says once the process serves.
    ready = r"celery@\S+ ready|\S+@\S+ ready\."

    def command(self) -> list[str]:
        return [
            *("worker", "--loglevel", "info", "--concurrency", str(self.concurrency)),
            *("--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle"),
            *self.args,
        ]

    def start(self, timeout: float = 60.0) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.ingest.guarded_celery", "-A", "waic", *self.command()],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for_log(self.ready, timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, pattern: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return
            if self.process and self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker log never matched {pattern!r}:\n{self.log()[-3000:]}")

    def pool_children(self) -> list[psutil.Process]:
        assert self.process
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Beat(Worker):
    """A real `celery beat` process with its own schedule file (two may run at once, as
    when one is started by mistake); set INGEST_BEAT_INTERVAL through its environment."""

    ready = r"beat: Starting\.\.\."

    def command(self) -> list[str]:
        schedule = self.log_path.with_suffix(".schedule")
        return ["beat", "--loglevel", "info", "--schedule", str(schedule)]


def waiting_on(proc: psutil.Process, server: PayloadServer, fresher_than: float) -> list[str]:
    """Paths `proc` is waiting on `server` for, asked less than `fresher_than` seconds ago.

    The client socket's port names the server's request. With a delayed route, a young
    request means the fetch is still in progress: a kill now lands mid-fetch.
    """
    try:
        connections = proc.net_connections(kind="tcp")
    except psutil.Error:
        return []
    now, paths = time.monotonic(), []
    for conn in connections:
        if conn.raddr and conn.raddr.port == server.port:
            request = server.in_flight.get(conn.laddr.port)
            if request and now - request[1] < fresher_than:
                paths.append(request[0])
    return paths
