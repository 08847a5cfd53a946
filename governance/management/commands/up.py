"""`manage.py up`: the whole tracker in one command.

With DATABASE_URL / REDIS_URL unset it starts the embedded PostgreSQL / Redis (see
waic/services.py); then it migrates, seeds, and runs gunicorn, one Celery worker and Celery
beat as child processes, streaming their output with a prefix ("web | ..."). A child that
dies once the site answers is restarted, with a growing delay if it keeps dying, and said
on screen: only Ctrl-C or SIGTERM stops the children, then the embedded servers, and exits
0.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connections

from waic import services
from waic.quiet_logs import PROBE_USER_AGENT
from waic.service_watch import ServiceWatch

# Seconds the web server has to answer its first request (it imports the whole project).
READY_TIMEOUT = 120.0
# Seconds the worker and beat have to say they are ready (and the first dataset dump to
# be built) before the URL is announced anyway: the site already answers by then.
ANNOUNCE_TIMEOUT = 120.0
# What the children print once they serve, and when the first dump's task has ended.
_READY_LINES = {
    "worker": re.compile(r"celery@\S+ ready\."),
    "beat": re.compile(r"beat: Starting\.\.\."),
}
_DUMP_TASK = "governance.tasks.build_dataset_dump"
_DUMP_DONE = re.compile(r"Task governance\.tasks\.build_dataset_dump\[[^\]]+\] (succeeded|raised)")
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A child that dies is restarted after RESTART_DELAY seconds, doubled each time it dies
# again soon after, up to RESTART_DELAY_MAX; one that ran STABLE_AFTER seconds starts over
# at RESTART_DELAY. A child that cannot stay up (a broken deploy, say) thus costs a start
# every half minute, not a busy loop, and the rest of the site keeps serving.
RESTART_DELAY = 1.0
RESTART_DELAY_MAX = 30.0
STABLE_AFTER = 30.0


class _Interrupted(BaseException):
    """Ctrl-C or SIGTERM during start-up: abandon the current step and stop."""


class _Output:
    """Writes whole lines from the launcher and its children's reader threads, unmixed."""

    def __init__(self, stream: OutputWrapper) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, prefix: str, text: str) -> None:
        with self._lock:
            self._stream.write(f"{prefix} | {text}" if prefix else text)
            self._stream.flush()


class _PrefixedWriter:
    """A file-like object for call_command(stdout=...) that prefixes each line."""

    def __init__(self, output: _Output, prefix: str) -> None:
        self._output = output
        self._prefix = prefix
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._output.line(self._prefix, line)
        return len(text)

    def flush(self) -> None:
        # Lines are written when complete: "Applying x..." and its " OK" stay one line.
        pass

    def close(self) -> None:
        if self._pending:
            self._output.line(self._prefix, self._pending)
            self._pending = ""

    def isatty(self) -> bool:
        return False


@dataclass
class _Child:
    name: str
    popen: subprocess.Popen[bytes]
    argv: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    descendants: list[psutil.Process] = field(default_factory=list)
    # Set by the reader thread when the child prints the line that says it serves.
    ready: threading.Event = field(default_factory=threading.Event)
    started_at: float = field(default_factory=time.monotonic)
    # Restarts so far, the delay before the next one, and when it is due (None: running).
    restarts: int = 0
    delay: float = RESTART_DELAY
    restart_at: float | None = None
    # When the running process was a restart: to say how long it took to serve again.
    died_at: float | None = None


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A preexec_fn making the child get SIGTERM when the launcher dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigterm)
        if os.getppid() != parent_pid:  # the launcher died before prctl took effect
            os._exit(1)

    return preexec


def _display_host(host: str) -> str:
    """Where to reach a server bound to host (a wildcard is reached on loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def _exit_description(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


# Written into the environment once `up` compiled its bytecode: an interrupted compile
# leaves some files compiled, which must not pass for a whole one.
_COMPILED_MARKER = Path(sys.prefix) / ".bytecode-compiled-by-up"


def _bytecode_to_compile(dont_write_bytecode: bool) -> tuple[bool, bool]:
    """(compile it, none at all yet). Where PYTHONDONTWRITEBYTECODE is set Python caches no
    bytecode by itself, and an environment installed without it (uv's default) compiles
    every import at every start of every process."""
    import importlib.util

    import django

    if not dont_write_bytecode or _COMPILED_MARKER.exists():
        return False, False
    return True, not Path(importlib.util.cache_from_source(django.__file__)).exists()


class Command(BaseCommand):
    help = (
        "Run the tracker: the embedded database and broker when DATABASE_URL / REDIS_URL are "
        "unset, migrate, seed, then the web server, a Celery worker and Celery beat."
    )
    # System checks query the database (GeneratedField asks for the server version), which
    # may not run yet: handle() runs them once the servers are up.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
        parser.add_argument("--port", type=int, default=8000, help="port to serve on")
        parser.add_argument("--no-worker", action="store_true", help="run no Celery worker")
        parser.add_argument("--no-beat", action="store_true", help="run no Celery beat")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=10.0,
            help="seconds a child gets to exit after SIGTERM before it is killed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.output = _Output(self.stdout)
        self.children: list[_Child] = []
        # Set when the worker reports the end of the first dataset dump's task.
        self.dump_done = threading.Event()
        self.services: services.EmbeddedServices | None = None
        self.phase = "starting"
        self.stop_requested = False
        self.force_stop = False
        self.compiling: subprocess.Popen[bytes] | None = None
        self.compiling_since = 0.0
        self.child_env: dict[str, str] = {}
        self.preexec: Any = None
        self.web_address: tuple[str, int] = ("127.0.0.1", 8000)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}
        failure: str | None = None
        try:
            failure = self._run(options)
        except _Interrupted:
            self.say("interrupted during start-up")
        except services.ServiceError as exc:
            failure = str(exc)
        finally:
            self.phase = "stopping"
            if self.compiling is not None:
                self.compiling.terminate()  # files it wrote are whole: each is renamed into place
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.compiling.wait(5)
            self._stop_children(options["stop_timeout"])
            self._stop_services()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure:
            raise CommandError(failure)
        self.say("stopped")

    def say(self, text: str) -> None:
        self.output.line("up", text)

    def _on_signal(self, signum: int, frame: object) -> None:
        # Only flags are touched here: a lock taken in a signal handler can deadlock
        # against the main thread that was interrupted while holding it.
        if self.phase == "starting":
            raise _Interrupted
        if self.phase == "running":
            self.stop_requested = True
        else:
            self.force_stop = True  # a second Ctrl-C while stopping: stop waiting

    def _run(self, options: dict[str, Any]) -> str | None:
        host, port = options["host"], options["port"]
        # Checked first, so a busy port costs nothing and leaves nothing running.
        if services.port_in_use(port, host):
            return (
                f"cannot serve on {host}:{port}: the port is already in use "
                "(choose another with --port)"
            )
        compile_bytecode, bytecode_missing = _bytecode_to_compile(sys.flags.dont_write_bytecode)
        if bytecode_missing:
            self.say(
                "PYTHONDONTWRITEBYTECODE is set and the environment has no bytecode: each "
                "process compiles its imports as it starts, so this start is slower; the "
                "bytecode is compiled once, in the background, after the site answers"
            )
        self._start_services()
        self.check()
        env = self._child_environ()

        self._migrate()
        writer = _PrefixedWriter(self.output, "seed")
        call_command("seed", stdout=writer)
        writer.close()
        connections.close_all()  # the children open their own
        Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)

        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        python = sys.executable
        commands = {
            "web": [
                *(python, "-m", "gunicorn", "waic.wsgi:application", "--bind", bind),
                *("--workers", str(options["web_workers"]), "--threads", "2"),
                *("--access-logfile", "-", "--error-logfile", "-"),
                # Static files and the readiness probe unlogged unless VERBOSE_LOGS is set.
                *("--logger-class", "waic.quiet_logs.AccessLogger"),
                *("--graceful-timeout", str(max(1, int(options["stop_timeout"])))),
                # Its default control socket is one per user: two launchers would fight.
                "--no-control-socket",
            ],
        }
        if not options["no_worker"]:
            commands["worker"] = [python, "-m", "celery", "-A", "waic", "worker"]
            commands["worker"] += ["-l", "info", "--concurrency", "2"]
            # One worker needs no gossip or mingle with others: they only add a second to
            # start-up and tracebacks to the log when Redis goes away.
            commands["worker"] += ["--without-gossip", "--without-mingle"]
        if not options["no_beat"]:
            # The schedule file comes from settings (under VAR_DIR); no pidfile to go stale.
            commands["beat"] = [python, "-m", "celery", "-A", "waic", "beat", "-l", "info"]
        # The web server first, alone: on two cores the worker's and beat's start-up
        # would otherwise compete with it for the CPU and delay the first page by ~3 s.
        # All children are first forked before any reader thread exists (preexec_fn is
        # only safe in a single-threaded process); the web server's few start-up lines wait
        # in its pipe meanwhile. Restarts come later, with readers running: see _popen.
        self.preexec = _die_with_parent(os.getpid())
        self.child_env = env
        self.say("starting the web server")
        self._spawn("web", commands.pop("web"))
        failure = self._wait_for_web(host, port)
        if not failure and commands:
            self.say(f"the site answers; starting the {' and '.join(commands)}")
            for name, argv in commands.items():
                self._spawn(name, argv)
        for child in self.children:
            self._start_reader(child)
        if failure:
            return failure
        dump_queued = self._queue_first_dump(worker=not options["no_worker"])
        failure = self._wait_until_announced(dump_queued and not options["no_worker"])
        if failure:
            return failure
        self._announce(f"Tracker running at http://{_display_host(host)}:{port}/ — Ctrl-C to stop")
        self.phase = "running"
        if compile_bytecode:
            self._compile_bytecode()
        # PostgreSQL or Redis going away is reported (and an embedded one restarted);
        # the children reconnect by themselves.
        watch = ServiceWatch(self.say, env, self.services)
        while not self.stop_requested:
            self._heal_children()
            watch.check()
            self._note_compiled()
            time.sleep(0.2)
        self.say("stopping (signal received)")
        return None

    def _compile_bytecode(self) -> None:
        """Compile the environment's bytecode in a low-priority process, so that the next
        start's processes read it instead of compiling their imports again.

        One process (-j 1): compileall's parallel mode starts a forkserver and workers that
        outlive a stopped or killed launcher; serial, it also leaves a core to the site."""
        paths = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
        argv = [sys.executable, "-m", "compileall", "-q", "-j", "1", *paths]
        nice = shutil.which("nice")
        self.compiling = subprocess.Popen(
            [nice, "-n", "10", *argv] if nice else argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        self.compiling_since = time.monotonic()
        self.say("compiling the environment's bytecode once, in the background (nice 10)")

    def _note_compiled(self) -> None:
        if self.compiling is None or self.compiling.poll() is None:
            return
        # compileall exits 1 when some package ships a file it cannot compile (test data,
        # templates): the rest is compiled all the same.
        if self.compiling.returncode in (0, 1):
            _COMPILED_MARKER.touch()
            seconds = time.monotonic() - self.compiling_since
            self.say(f"bytecode compiled in {seconds:.0f}s: later starts read it")
        self.compiling = None

    def _migrate(self) -> None:
        """Apply migrations with one line of output (a first start applies dozens)."""
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not plan:
            return
        self.say(f"applying {len(plan)} database migration{'s' if len(plan) != 1 else ''}")
        writer = _PrefixedWriter(self.output, "migrate")
        call_command("migrate", interactive=False, verbosity=0, stdout=writer)
        writer.close()

    def _queue_first_dump(self, *, worker: bool) -> bool:
        """No dataset dump yet (a first start): queue one for the worker, so /data/ offers
        it within seconds rather than after the nightly build. Queued only once the site
        answers, so it never delays the first page."""
        from governance import dumps
        from waic.celery import app

        if dumps.list_dumps(with_manifest=False):
            return False
        try:
            app.send_task(_DUMP_TASK)
        except Exception as exc:  # the broker refused: beat builds one nightly anyway
            self.say(f"could not queue the first dataset dump ({exc}); beat builds one nightly")
            return False
        if worker:
            self.say("no dataset dump yet: building the first one (offered at /data/)")
        else:
            self.say("no dataset dump yet: queued the first one for a worker (--no-worker)")
        return True

    def _wait_until_announced(self, wait_for_dump: bool) -> str | None:
        """Wait until the worker and beat say they serve (and the first dump is built), so
        the URL comes after their banners; bounded, since the site already answers."""
        waiting = [child for child in self.children if child.name in _READY_LINES]
        deadline = time.monotonic() + ANNOUNCE_TIMEOUT
        while time.monotonic() < deadline:
            # The site answers already: a child that dies now is restarted, not fatal.
            self._heal_children()
            if all(child.ready.is_set() for child in waiting) and (
                not wait_for_dump or self.dump_done.is_set()
            ):
                break
            time.sleep(0.1)
        else:
            late = [child.name for child in waiting if not child.ready.is_set()]
            if wait_for_dump and not self.dump_done.is_set():
                late.append("the first dataset dump")
            self.say(f"still starting after {ANNOUNCE_TIMEOUT:.0f}s: {', '.join(late)}")
        if wait_for_dump and self.dump_done.is_set():
            from governance import dumps

            built = dumps.list_dumps(with_manifest=False)
            self.say(
                f"dataset dump {built[0].name} ready at /data/"
                if built
                else "the first dataset dump failed (see the worker's lines above)"
            )
        return None

    def _announce(self, text: str) -> None:
        """The URL, last and set apart, so it is the line a person finds."""
        rule = "=" * (len(text) + 4)
        for line in ("", rule, f"  {text}", rule, ""):
            self.output.line("", line)

    def _start_services(self) -> None:
        wanted = services.deferred_services()
        if not any(wanted.values()):
            return
        names = [name for name, needed in wanted.items() if needed]
        self.say(f"starting embedded {' and '.join(names)} (data in {services.var_dir()})")
        self.services = services.start_services(**wanted)
        # Settings were loaded with the URLs provide_services_for_command planned; they
        # only differ if another process moved a server meanwhile.
        for key, url in self.services.environ.items():
            if os.environ.get(key) != url:
                raise services.ServiceError(
                    f"the embedded server for {key} moved to {url} while starting; run up again"
                )

    def _child_environ(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.services is not None:
            env.update(self.services.environ)
        env["VAR_DIR"] = str(Path(settings.VAR_DIR).resolve())
        env["PYTHONUNBUFFERED"] = "1"  # lines reach us as they are written
        return env

    def _start_reader(self, child: _Child) -> None:
        child.reader = threading.Thread(target=self._pump, args=(child, child.popen), daemon=True)
        child.reader.start()

    def _pump(self, child: _Child, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        ready = _READY_LINES.get(child.name)
        for raw in iter(popen.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.output.line(child.name, line)
            if ready is not None and not child.ready.is_set() and ready.search(line):
                child.ready.set()
                if child.died_at is not None:
                    back = time.monotonic() - child.died_at
                    self.say(f"the {child.name} is back after {back:.1f}s")
                    child.died_at = None
            if child.name == "worker" and _DUMP_DONE.search(line):
                self.dump_done.set()

    def _dead_child(self) -> str | None:
        for child in self.children:
            code = child.popen.poll()
            if code is not None:
                return (
                    f"the {child.name} process stopped unexpectedly ({_exit_description(code)}); "
                    "stopped everything"
                )
        return None

    def _heal_children(self) -> None:
        """Restart every child that died, each after its backoff delay.

        The dead child's whole process group goes first: a worker killed alone leaves its
        pool processes (and gunicorn's master its workers, holding the port)."""
        now = time.monotonic()
        for child in self.children:
            code = child.popen.poll()
            if code is None:
                # The web server prints no line when it serves: it is asked instead.
                if child.name == "web" and child.died_at is not None and self._web_answers(1):
                    self.say(f"the web is back after {time.monotonic() - child.died_at:.1f}s")
                    child.died_at = None
                continue
            if child.restart_at is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.popen.pid, signal.SIGKILL)
                if now - child.started_at >= STABLE_AFTER:
                    child.delay = RESTART_DELAY
                child.restart_at = now + child.delay
                child.died_at = child.died_at or now
                self.say(
                    f"the {child.name} process stopped unexpectedly ({_exit_description(code)}); "
                    f"restarting it in {child.delay:.0f}s (restart {child.restarts + 1}); "
                    "the rest of the site keeps running"
                )
                child.delay = min(child.delay * 2, RESTART_DELAY_MAX)
            elif now >= child.restart_at:
                if child.reader is not None:
                    child.reader.join(timeout=1)  # its last lines first
                child.restarts += 1
                child.restart_at = None
                child.ready.clear()
                child.popen = self._popen(child.argv)
                child.started_at = time.monotonic()
                self._start_reader(child)
                self.say(
                    f"restarted the {child.name} (pid {child.popen.pid}; "
                    f"{child.restarts} restart{'s' if child.restarts != 1 else ''} so far)"
                )

    def _popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        # Always from the main thread, which the parent-death signal follows. For restarts,
        # made while reader threads run, the preexec_fn is still safe: it calls only prctl
        # and getppid, which take no lock another thread could hold at the fork.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            env=self.child_env,
            # Own session: the terminal's Ctrl-C reaches only the launcher, which then
            # stops the children in order.
            start_new_session=True,
            preexec_fn=self.preexec,
        )

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.children.append(_Child(name, self._popen(argv), argv=argv))

    def _web_answers(self, timeout: float) -> bool:
        """Any HTTP answer from the web server, even an error page, means it serves."""
        try:
            conn = http.client.HTTPConnection(*self.web_address, timeout=timeout)
            try:
                # Its own User-Agent keeps it out of the access log (waic/quiet_logs.py).
                conn.request("GET", "/", headers={"User-Agent": PROBE_USER_AGENT})
                conn.getresponse().read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            return False
        return True

    def _wait_for_web(self, host: str, port: int) -> str | None:
        self.web_address = (_display_host(host).strip("[]"), port)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            failure = self._dead_child()
            if failure:
                return failure
            if self._web_answers(timeout=10):
                return None
            time.sleep(0.2)
        return f"the web server did not answer on {host}:{port} within {READY_TIMEOUT:.0f}s"

    def _stop_children(self, timeout: float) -> None:
        if not self.children:
            return
        self.say(f"stopping {', '.join(child.name for child in self.children)}")
        restarted = [f"{child.name} {child.restarts}" for child in self.children if child.restarts]
        if restarted:
            self.say(f"restarts while running: {', '.join(restarted)}")
        for child in self.children:
            # Remembered now: after the parent exits they can no longer be found via it.
            with contextlib.suppress(psutil.Error):
                child.descendants = psutil.Process(child.popen.pid).children(recursive=True)
            if child.popen.poll() is None:
                child.popen.terminate()
        deadline = time.monotonic() + timeout
        while (
            any(child.popen.poll() is None for child in self.children)
            and time.monotonic() < deadline
            and not self.force_stop
        ):
            time.sleep(0.1)
        for child in self.children:
            if child.popen.poll() is None:
                why = "second stop signal" if self.force_stop else f"not stopped in {timeout:.0f}s"
                self.say(f"killing {child.name} ({why})")
            # The whole process group: gunicorn workers, Celery pool processes.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=5)
            for proc in child.descendants:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            if child.reader is not None:
                child.reader.join(timeout=5)
        self.children = []

    def _stop_services(self) -> None:
        if self.services is None:
            return
        self.say("stopping the embedded servers")
        self.services.stop()
        self.services = None
