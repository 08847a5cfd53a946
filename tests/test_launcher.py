"""`manage.py up` end to end: real servers and child processes, traffic to 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest
import redis
import requests
from celery import Celery

from waic.services import EmbeddedPostgres, EmbeddedRedis, free_port

pytestmark = pytest.mark.launcher

BASE_DIR = Path(__file__).resolve().parent.parent
COLD_START = 180.0  # initdb, migrations, seed, gunicorn and Celery imports
STOP = 60.0
SEED_FACTS = ("Li Qiang", "AI should be a common good for all of humanity")
RUNNING = re.compile(r"^\s*Tracker running at (http://\S+) ")
# Lines a normal start must not print (warnings of any kind, Celery's root warning).
WARNINGS = re.compile(r"warn|superuser|not recommended", re.IGNORECASE)
STATIC_FILE = "static/css/tracker.css"


class Launcher:
    """`manage.py up` in a subprocess with DATABASE_URL/REDIS_URL removed from its env
    (so it starts its embedded servers), unless `environ` sets them."""

    def __init__(
        self,
        var_dir: Path,
        *,
        port: int,
        pg_port: int,
        redis_port: int,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.var_dir = var_dir
        self.pg_port = pg_port
        self.redis_port = redis_port
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            VAR_DIR=str(var_dir),
            EMBEDDED_POSTGRES_PORT=str(pg_port),
            EMBEDDED_REDIS_PORT=str(redis_port),
            PYTHONUNBUFFERED="1",
        )
        env.update(environ or {})
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Like a terminal's Ctrl-C, our SIGINT then reaches the launcher alone.
            start_new_session=True,
        )
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join([*self.lines, "--- stderr ---", *self.errors])

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                seen += 1
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None and seen == len(self.lines):
                pytest.fail(
                    f"up exited ({self.proc.returncode}) before {pattern!r}:\n{self.output}"
                )
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} within {timeout:.0f}s:\n{self.output}")

    def processes(self) -> list[psutil.Process]:
        """The launcher, its descendants, and the embedded servers (not its descendants)."""
        root = psutil.Process(self.proc.pid)
        procs = [root, *root.children(recursive=True)]
        servers = [
            EmbeddedPostgres(self.var_dir / "postgres", port=self.pg_port, log_file=Path("x")),
            EmbeddedRedis(self.var_dir / "redis", port=self.redis_port, log_file=Path("x")),
        ]
        for server in servers:
            for pid in server.pids():
                with contextlib.suppress(psutil.NoSuchProcess):
                    procs.append(psutil.Process(pid))
        return procs

    def interrupt(self, timeout: float = STOP) -> int:
        os.kill(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def cleanup(self) -> None:
        """Whatever a failed test left: stop the launcher, then any server on var_dir."""
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.interrupt(timeout=STOP)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        EmbeddedPostgres(self.var_dir / "postgres", port=self.pg_port, log_file=Path("x")).stop()
        EmbeddedRedis(self.var_dir / "redis", port=self.redis_port, log_file=Path("x")).stop()


def _still_running(procs: list[psutil.Process]) -> list[str]:
    running = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            # is_running() also checks the start time, so a recycled pid does not count.
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                running.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
    return running


def _wait_until_gone(procs: list[psutil.Process], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := _still_running(procs)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def launchers(tmp_path: Path) -> Iterator[list[Launcher]]:
    started: list[Launcher] = []
    yield started
    for launcher in started:
        launcher.cleanup()


def _start(
    launchers: list[Launcher], var_dir: Path, environ: dict[str, str] | None = None, **ports: int
) -> Launcher:
    launcher = Launcher(var_dir, environ=environ, **ports)
    launchers.append(launcher)
    return launcher


def test_up_serves_the_seeded_site_stops_cleanly_and_restarts_with_its_data(
    tmp_path: Path, launchers: list[Launcher]
) -> None:
    ports = {"port": free_port(), "pg_port": free_port(), "redis_port": free_port()}
    # Beat ticks every second: idle ticks must still stay off the console.
    up = _start(launchers, tmp_path, {"INGEST_BEAT_INTERVAL": "1"}, **ports)
    url = up.wait_for(RUNNING, COLD_START).group(1)
    announced = next(i for i, line in enumerate(up.lines) if RUNNING.search(line))

    page = requests.get(url, timeout=30)
    assert page.status_code == 200
    for fact in SEED_FACTS:
        assert fact in page.text

    # The URL comes last: after the worker's and beat's banners and the first dump.
    before = up.lines[:announced]
    for pattern in (
        r"^worker \| .*celery@\S+ ready\.",
        r"^beat \| .*beat: Starting\.\.\.",
        r"^up \| dataset dump waic-dataset-\S+\.zip ready at /data/",
    ):
        assert any(re.search(pattern, line) for line in before), (pattern, up.output)
    assert not [line for line in before if WARNINGS.search(line)], up.output
    assert up.errors == [], up.output
    # A dataset dump exists after the first start, and /data/ offers it.
    dumps = list((tmp_path / "dumps").glob("waic-dataset-*.zip"))
    assert len(dumps) == 1, up.output
    assert dumps[0].name in requests.get(url + "data/", timeout=30).text
    assert requests.get(url + STATIC_FILE, timeout=30).status_code == 200
    # The worker really consumes from the embedded broker.
    broker = f"redis://127.0.0.1:{ports['redis_port']}/0"
    # `up` inherits this session's CELERY_QUEUE (tests/embedded_services.py).
    Celery(broker=broker, set_as_current=False).send_task(
        "governance.tasks.heartbeat", queue=os.environ.get("CELERY_QUEUE", "celery")
    )
    up.wait_for(r"^worker \| .*Task governance\.tasks\.heartbeat\[.*\] succeeded", 60)

    # The plug pulled on each embedded server: up says so, restarts it, and the tracker
    # carries on (tests/test_outages.py does the same to servers up does not own).
    os.kill(EmbeddedRedis(tmp_path / "redis", port=0, log_file=Path("x")).pids()[0], 9)
    up.wait_for(r"^up \| the embedded Redis \(127\.0\.0\.1:\d+\) stopped", 10)
    up.wait_for(r"^up \| the embedded Redis \(127\.0\.0\.1:\d+\) is back after", 30)
    up.wait_for(r"^worker \| .*Connected to redis://", 30)
    Celery(broker=broker, set_as_current=False).send_task(
        "governance.tasks.heartbeat", queue=os.environ.get("CELERY_QUEUE", "celery")
    )
    up.wait_for(r"^worker \| .*Task governance\.tasks\.heartbeat\[.*\] succeeded", 60)
    postmaster = EmbeddedPostgres(tmp_path / "postgres", port=0, log_file=Path("x")).postmaster()
    assert postmaster is not None
    os.kill(postmaster[0].pid, 9)
    up.wait_for(r"^up \| the embedded PostgreSQL \(127\.0\.0\.1:\d+\) stopped", 10)
    up.wait_for(r"^up \| the embedded PostgreSQL \(127\.0\.0\.1:\d+\) is back after", 60)
    assert SEED_FACTS[0] in requests.get(url, timeout=30).text
    # Marks that must survive a restart: a row in PostgreSQL, a key in the broker.
    with psycopg2.connect(f"postgres://postgres@127.0.0.1:{ports['pg_port']}/waic") as conn:
        conn.cursor().execute("CREATE TABLE launcher_probe AS SELECT 'kept' AS note")
    conn.close()
    redis.Redis.from_url(broker).set("launcher-probe", "kept")

    procs = up.processes()
    names = {proc.name() for proc in procs}
    assert {"postgres", "valkey-server"} <= names, names
    assert len(procs) > 8  # launcher, gunicorn + workers, celery + pool, beat, servers

    # Quiet by default: pages are logged, static files and the readiness probe are not;
    # beat ticked every second meanwhile, and no idle tick reached the console.
    assert any('"GET /data/ ' in line for line in up.lines), up.output
    assert not [line for line in up.lines if "/static/" in line or "readiness" in line]
    assert not [line for line in up.lines if "Sending due task" in line], up.output
    assert not [
        line
        for line in up.lines
        if re.search(r"enqueue_due_sources\[.*\] (received|.*: \{'enqueued': 0\})", line)
    ], up.output

    assert up.interrupt() == 0, up.output
    assert _wait_until_gone(procs, 10) == []
    assert up.lines[-1] == "up | stopped"
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    assert not (tmp_path / "redis" / "valkey.pid").exists()
    assert not list((tmp_path / "run").glob("*.json"))

    # VERBOSE_LOGS turns the routine lines on; a dump exists, so none is built.
    verbose = {"VERBOSE_LOGS": "true", "INGEST_BEAT_INTERVAL": "1"}
    again = _start(launchers, tmp_path, verbose, **ports)
    url = again.wait_for(RUNNING, COLD_START).group(1)
    assert SEED_FACTS[0] in requests.get(url, timeout=30).text
    assert requests.get(url + STATIC_FILE, timeout=30).status_code == 200
    again.wait_for(rf'^web \| .*"GET /{STATIC_FILE} ', 30)
    again.wait_for(r"^beat \| .*Sending due task enqueue-due-sources", 30)
    again.wait_for(r"^worker \| .*enqueue_due_sources\[.*\] succeeded", 30)
    assert not [line for line in again.lines if "dataset dump" in line], again.output
    assert len(list((tmp_path / "dumps").glob("waic-dataset-*.zip"))) == 1
    with psycopg2.connect(f"postgres://postgres@127.0.0.1:{ports['pg_port']}/waic") as conn:
        cur = conn.cursor()
        cur.execute("SELECT note FROM launcher_probe")
        assert cur.fetchone() == ("kept",)
    conn.close()
    assert redis.Redis.from_url(broker).get("launcher-probe") == b"kept"
    assert again.interrupt() == 0, again.output


def test_up_killed_leaves_no_children_and_the_next_up_adopts_its_servers(
    tmp_path: Path, launchers: list[Launcher]
) -> None:
    ports = {"port": free_port(), "pg_port": free_port(), "redis_port": free_port()}
    up = _start(launchers, tmp_path, **ports)
    up.wait_for(RUNNING, COLD_START)
    children = psutil.Process(up.proc.pid).children(recursive=True)
    children = [proc for proc in children if proc.name() != "valkey-server"]

    up.proc.kill()
    up.proc.wait()

    # Web, worker and beat die with the launcher (parent-death signal) ...
    assert _wait_until_gone(children, 30) == []
    # ... while the servers, left running, are taken over by the next launcher.
    again = _start(launchers, tmp_path, **ports)
    url = again.wait_for(RUNNING, COLD_START).group(1)
    assert requests.get(url, timeout=30).status_code == 200
    procs = again.processes()
    assert again.interrupt() == 0, again.output
    assert _wait_until_gone(procs, 10) == []


def test_up_on_a_busy_web_port_fails_with_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(tmp_path),
        EMBEDDED_POSTGRES_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        up = subprocess.run(
            [sys.executable, "manage.py", "up", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert up.returncode != 0
    error_lines = up.stderr.strip().splitlines()
    assert len(error_lines) == 1, up.stderr
    assert str(port) in error_lines[0]
    assert "already in use" in error_lines[0]
    assert not (tmp_path / "postgres").exists()
    assert not (tmp_path / "redis").exists()
    leftovers = []
    for proc in psutil.process_iter(["cwd"]):
        if proc.info["cwd"] and str(tmp_path) in proc.info["cwd"]:
            leftovers.append(proc.pid)
    assert leftovers == []


def _child(up: Launcher, *words: str) -> psutil.Process:
    """The launcher's direct child whose command line has all these words."""
    for proc in psutil.Process(up.proc.pid).children():
        with contextlib.suppress(psutil.Error):
            if all(word in proc.cmdline() for word in words):
                return proc
    pytest.fail(f"no child of up runs {words}:\n{up.output}")


class _Pages:
    """Requests the home page every 0.2 s in a thread, recording each answer (or error)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, int | str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                status: int | str = requests.get(self.url, timeout=5).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.answers.append((time.monotonic(), status))

    def since(self, started: float) -> list[int | str]:
        return [status for at, status in self.answers if at >= started]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_up_restarts_a_killed_worker_beat_and_web_and_the_site_keeps_serving(
    tmp_path: Path, launchers: list[Launcher]
) -> None:
    """SIGKILL of a child's main process (what an out-of-memory kill does): up says which
    and why, restarts it after a delay, and never stops the rest of the site."""
    ports = {"port": free_port(), "pg_port": free_port(), "redis_port": free_port()}
    up = _start(launchers, tmp_path, **ports)
    url = up.wait_for(RUNNING, COLD_START).group(1)
    broker = f"redis://127.0.0.1:{ports['redis_port']}/0"
    queue = os.environ.get("CELERY_QUEUE", "celery")
    pages = _Pages(url)
    try:
        # --- the worker --------------------------------------------------------------
        worker = _child(up, "celery", "worker")
        pool = worker.children()
        assert pool, "the worker has pool processes"
        killed = time.monotonic()
        worker.kill()
        up.wait_for(
            r"^up \| the worker process stopped unexpectedly \(killed by SIGKILL\); "
            r"restarting it in 1s \(restart 1\)",
            10,
        )
        up.wait_for(r"^up \| restarted the worker \(pid \d+; 1 restart so far\)", 10)
        up.wait_for(r"^up \| the worker is back after \d+\.\ds", 90)
        # Its orphaned pool went with it; the new worker consumes.
        assert _wait_until_gone(pool, 10) == []
        Celery(broker=broker, set_as_current=False).send_task(
            "governance.tasks.heartbeat", queue=queue
        )
        up.wait_for(r"^worker \| .*Task governance\.tasks\.heartbeat\[.*\] succeeded", 60)
        served = pages.since(killed)
        assert served and set(served) == {200}, served  # the site answered throughout

        # --- beat ----------------------------------------------------------------------
        killed = time.monotonic()
        _child(up, "celery", "beat").kill()
        up.wait_for(r"^up \| the beat process stopped unexpectedly \(killed by SIGKILL\)", 10)
        up.wait_for(r"^up \| restarted the beat \(pid \d+; 1 restart so far\)", 10)
        up.wait_for(r"^up \| the beat is back after \d+\.\ds", 60)
        served = pages.since(killed)
        assert served and set(served) == {200}, served

        # --- the web server: down while it restarts, then back by itself ---------------
        _child(up, "gunicorn").kill()
        up.wait_for(r"^up \| the web process stopped unexpectedly \(killed by SIGKILL\)", 10)
        up.wait_for(r"^up \| restarted the web \(pid \d+; 1 restart so far\)", 10)
        up.wait_for(r"^up \| the web is back after \d+\.\ds", 60)
        assert requests.get(url, timeout=30).status_code == 200
    finally:
        pages.stop()

    (tmp_path / "up.log").write_text(up.output)
    assert up.proc.poll() is None  # nothing above stopped the launcher
    assert "stopped everything" not in up.output
    procs = up.processes()
    assert up.interrupt() == 0, up.output
    assert "up | restarts while running: web 1, worker 1, beat 1" in up.lines, up.output
    assert _wait_until_gone(procs, 10) == []
    assert up.lines[-1] == "up | stopped"
