"""The web side of bench/run: gunicorn with the production settings, and wrk against it.

The server runs as `docker compose` runs it (DEBUG off, gunicorn gthread, 3 workers of 2
threads, access log on), plain HTTP on loopback as behind a TLS-terminating proxy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("wrk_report.lua")
# docker-compose.yml's web command, minus the bind address.
GUNICORN_ARGS = ["--workers", "3", "--threads", "2"]


def production_environ(database_url: str, redis_url: str) -> dict[str, str]:
    """docker-compose.yml's environment for the Django services, on loopback."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "PYTHONPATH": str(ROOT),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.3)


@contextlib.contextmanager
def gunicorn(
    environ: dict[str, str], log_dir: Path, *, settings: str = "waic.settings"
) -> Iterator[str]:
    """A gunicorn serving the tracker (or the floor app); yields its base URL."""
    port = free_port()
    env = {**environ, "DJANGO_SETTINGS_MODULE": settings}
    name = settings.rsplit(".", 1)[-1]
    log = (log_dir / f"gunicorn-{name}.log").open("ab")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "waic.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS),
            *("--access-logfile", str(log_dir / f"access-{name}.log"), "--no-control-socket"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def collectstatic(environ: dict[str, str]) -> None:
    """The manifest the production static storage needs."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=environ,
        check=True,
    )


@dataclass
class WrkRun:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    bytes_per_request: float
    non_2xx: int
    socket_errors: int


@dataclass
class Scenario:
    key: str
    title: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    runs: list[WrkRun] = field(default_factory=list)
    first_ms: float | None = None  # one request after a data change (cache empty)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def worst(self, attr: str) -> float:
        return max(getattr(r, attr) for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.non_2xx + r.socket_errors for r in self.runs)


def describe(run: WrkRun) -> str:
    return (
        f"{run.rps:,.1f} req/s, p50 {run.p50_ms:.1f} ms, p95 {run.p95_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms, {run.bytes_per_request / 1024:.1f} KiB, "
        f"errors {run.non_2xx + run.socket_errors}"
    )


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "wrk is not installed: `apt-get install wrk` (bench/run does it when run as root)"
        )
    return found


def wrk(url: str, *, connections: int, seconds: float, headers: dict[str, str]) -> WrkRun:
    """One wrk run: one thread (the other core serves), `connections` keep-alive clients."""
    args = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    args += ["-s", str(LUA)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    match = re.search(r"^WRK_JSON (\{.*\})$", out, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no report for {url}:\n{out}")
    data = json.loads(match.group(1))
    seconds_run = data["duration_us"] / 1e6
    requests = max(data["requests"], 1)
    return WrkRun(
        rps=data["requests"] / seconds_run,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        bytes_per_request=data["bytes"] / requests,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
    )


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    """(milliseconds, status, bytes) of one GET read to the end."""
    request = urllib.request.Request(url, headers=headers or {})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
            status = response.status
    except urllib.error.HTTPError as error:
        status, size = error.code, len(error.read())
    return (time.perf_counter() - start) * 1000, status, size
