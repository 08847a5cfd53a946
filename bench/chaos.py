"""Issue #25's chaos check: `manage.py up` serving under load while its parts are broken.

    uv run python bench/chaos.py [--load 4] [--sources 4] [--hold 8] [--out bench/chaos.md]

`up` runs as an operator starts it (embedded PostgreSQL and Redis in a scratch
directory, free ports), with a feed server on 127.0.0.1 whose feeds answer after
--delay seconds, so that a fetch is in flight when a fault lands. --load threads
request pages the whole time (cached pages, and searches no cache has seen, so the
database is really asked, plus an htmx fragment and an API list). Each fault, once,
in this order:

  redis killed mid-task   SIGKILL the embedded Redis while a pool child waits on a feed
  worker killed           SIGKILL the Celery worker's main process (an out-of-memory kill)
  pool child killed       SIGKILL one pool child while it waits on a feed
  redis stopped           SIGSTOP Redis for --hold seconds, then SIGCONT
  postgres stopped        SIGSTOP every PostgreSQL process for --hold seconds, then SIGCONT
  postgres killed         SIGKILL the postmaster

Before each, --sources new feed sources are registered, due at once (so that a fetch
is in flight when the fault lands); a fault is over when a source registered just after
it has been fetched and stored (the worker, beat and broker serve again) and the last
--healthy page requests were all answered — nobody lending a hand; the sources a fault
interrupted must be fetched by the end (once their lease lapses). For each fault the
report gives the requests answered in that window (200s, 503s and the slowest 503),
500s, requests unanswered (connection errors, timeouts, other statuses) and the seconds
until everything served again. At the end, every
entry the feeds served must be one Document: none lost, none duplicated.

Passes when: no 500 at all, every answer other than a 200 (or the API's 429) is a 503 within 3 s, no
request unanswered, every fault recovered within --recover seconds, and no document
lost or duplicated. Exit 1 otherwise. Writes --out (markdown).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ingest.feeds import PARAGRAPHS, rss  # noqa: E402
from tests.ingest.payload_server import PayloadServer  # noqa: E402
from waic.services import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402

RUNNING = re.compile(r"Tracker running at (http://\S+) ")
ANSWER_WITHIN = 3.0  # seconds: a 503 later than this counts as unanswered in time
ENTRIES = 2
# Short windows so that a killed task's source is fetched again within seconds: the
# lease outlasts the hard time limit (as in settings.py); beat ticks every 2 s.
# Extraction (spaCy's first load included) must fit the soft limit on a busy machine.
WINDOWS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "30",
    "CELERY_TASK_TIME_LIMIT": "40",
    "INGEST_FETCH_DEADLINE": "10",
    "INGEST_LEASE_SECONDS": "50",
    "INGEST_BEAT_INTERVAL": "2",
}
# Answers that count as served: a page, or the API's rate limit doing its job.
SERVED = (200, 429)


@dataclass
class Answer:
    at: float  # monotonic, when the request was sent
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    path: str
    error: str = ""


@dataclass
class Fault:
    name: str
    inject: Callable[[], None]
    needs_task: bool  # lands while a pool child waits on a feed
    started: float = 0.0
    recovered: float | None = None
    sources: list[int] = field(default_factory=list)
    probe: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Load:
    """Threads asking for pages until stopped; every answer recorded."""

    def __init__(self, base: str, threads: int) -> None:
        self.base = base.rstrip("/")
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.counter = itertools.count()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)

    def _paths(self) -> tuple[str, dict[str, str]]:
        n = next(self.counter)
        # A search nobody made before: no page cache, the database answers.
        fresh = f"/statements/?q=cooperation+{n}"
        choices: list[tuple[str, dict[str, str]]] = [
            ("/", {}),
            (fresh, {}),
            ("/countries/", {}),
            (f"/search/?q=waic+{n}", {}),
            ("/documents/", {"HX-Request": "true", "HX-Target": "results"}),
            ("/api/proposals", {}),
        ]
        return choices[n % len(choices)]

    def _run(self) -> None:
        session = requests.Session()
        while not self.stopping.is_set():
            path, headers = self._paths()
            sent = time.monotonic()
            try:
                response = session.get(self.base + path, headers=headers, timeout=15)
                answer = Answer(sent, time.monotonic() - sent, response.status_code, path)
            except requests.RequestException as exc:
                answer = Answer(sent, time.monotonic() - sent, 0, path, type(exc).__name__)
                session = requests.Session()
                time.sleep(0.2)
            self.answers.append(answer)

    def since(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at < end]

    def healthy(self, since: float, last: int) -> bool:
        """The last `last` requests sent after `since` were all answered 200."""
        recent = [a for a in self.answers[-4 * last :] if a.at >= since]
        return len(recent) >= last and all(a.status in SERVED for a in recent[-last:])


class Up:
    """`manage.py up` on embedded servers in a scratch directory."""

    def __init__(self, var_dir: Path, log_path: Path) -> None:
        self.var_dir = var_dir
        self.port, self.pg_port, self.redis_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            VAR_DIR=str(var_dir),
            EMBEDDED_POSTGRES_PORT=str(self.pg_port),
            EMBEDDED_REDIS_PORT=str(self.redis_port),
            PYTHONUNBUFFERED="1",
            INGEST_ALLOW_LOOPBACK="true",
            **WINDOWS,
        )
        self.log_path = log_path
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_running(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = RUNNING.search(self.output())
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                raise SystemExit(f"up exited ({self.proc.returncode}):\n{self.output()[-4000:]}")
            time.sleep(0.2)
        raise SystemExit(f"up did not serve within {timeout:.0f}s:\n{self.output()[-4000:]}")

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/waic"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def postgres(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.var_dir / "postgres", port=self.pg_port, log_file=Path("x"))

    def redis(self) -> EmbeddedRedis:
        return EmbeddedRedis(self.var_dir / "redis", port=self.redis_port, log_file=Path("x"))

    def worker(self) -> psutil.Process | None:
        """The Celery worker's main process (a child of `up`)."""
        for child in psutil.Process(self.proc.pid).children():
            with contextlib.suppress(psutil.Error):
                command = child.cmdline()
                if "celery" in command and "worker" in command:
                    return child
        return None

    def pool(self) -> list[psutil.Process]:
        worker = self.worker()
        return worker.children() if worker else []

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.postgres().stop()
        self.redis().stop()
        self.log.close()
        return self.proc.returncode


# --- the feeds and their sources ------------------------------------------------------


class Feeds:
    def __init__(self, server: PayloadServer, delay: float) -> None:
        self.server = server
        self.delay = delay
        self.links: set[str] = set()
        self.batches = itertools.count()

    def register(self, n: int) -> list[int]:
        """n new slow feeds of ENTRIES entries each, their Sources due now: their ids."""
        from governance.models import Source

        batch = next(self.batches)
        sources = []
        for i in range(n):
            path = f"/chaos/{batch}/{i}.xml"
            items = []
            for e in range(ENTRIES):
                link = self.server.url(f"/chaos/{batch}/{i}/{e}")
                text = f"{PARAGRAPHS[(batch + i + e) % len(PARAGRAPHS)]} Dispatch {batch}-{i}-{e}."
                items.append({"title": f"Chaos {batch} {i}.{e}", "link": link, "content": text})
                self.links.add(link)
            self.server.add(
                path,
                body=rss(items),
                delay=self.delay,
                headers={"Content-Type": "application/rss+xml"},
            )
            sources.append(
                Source(
                    name=f"chaos {batch}.{i}",
                    kind=Source.Kind.FEED,
                    url=self.server.url(path),
                    interval=timedelta(days=1),
                    next_fetch_at=datetime.now(UTC),
                )
            )
        return [s.pk for s in _retry(lambda: Source.objects.bulk_create(sources))]


class UpExited(Exception):
    pass


# The launcher under test, once started: the script's database calls stop waiting for
# a database it took down with it.
LAUNCHER: list[Up] = []


def _retry(call: Callable[[], Any], seconds: float = 120.0) -> Any:
    """The script's own database calls wait out the outages it causes."""
    from django.db import DatabaseError, close_old_connections, connection

    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except DatabaseError:
            if LAUNCHER and LAUNCHER[0].proc.poll() is not None:
                raise UpExited(f"up exited ({LAUNCHER[0].proc.returncode})") from None
            if time.monotonic() > deadline:
                raise
            with contextlib.suppress(Exception):
                connection.close()
            close_old_connections()
            time.sleep(0.5)


def fetched(source_ids: list[int]) -> bool:
    from governance.models import Source

    return _retry(
        lambda: Source.objects.filter(
            pk__in=source_ids, last_success_at__isnull=False, lease_expires_at__isnull=True
        ).count()
    ) == len(source_ids)


# --- the run ----------------------------------------------------------------------------


def wait_for_task(server: PayloadServer, up: Up, timeout: float) -> bool:
    """Until a pool child waits on a feed (a fetch in flight), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.in_flight and up.pool():
            return True
        time.sleep(0.05)
    return False


def faults(up: Up, hold: float) -> list[Fault]:
    def kill_redis() -> None:
        os.kill(up.redis().pids()[0], signal.SIGKILL)

    def kill_worker() -> None:
        worker = up.worker()
        assert worker is not None, "no worker to kill"
        worker.send_signal(signal.SIGKILL)

    def kill_child() -> None:
        busy = [c for c in up.pool() if c.is_running()]
        assert busy, "no pool child to kill"
        busy[0].send_signal(signal.SIGKILL)

    def stop_resume(pids: Callable[[], list[int]]) -> Callable[[], None]:
        def pause() -> None:
            targets = pids()
            for pid in targets:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            time.sleep(hold)
            for pid in targets:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

        return pause

    def kill_postgres() -> None:
        postmaster = up.postgres().postmaster()
        assert postmaster is not None, "no postmaster"
        postmaster[0].send_signal(signal.SIGKILL)

    return [
        Fault("redis killed mid-task", kill_redis, needs_task=True),
        Fault("worker killed", kill_worker, needs_task=True),
        Fault("pool child killed", kill_child, needs_task=True),
        Fault(f"redis stopped {hold:.0f} s", stop_resume(lambda: up.redis().pids()), True),
        Fault(f"postgres stopped {hold:.0f} s", stop_resume(lambda: up.postgres().pids()), True),
        Fault("postgres killed", kill_postgres, needs_task=False),
    ]


def summarize(answers: list[Answer]) -> dict[str, Any]:
    ok = [a for a in answers if a.status in SERVED]
    unavailable = [a for a in answers if a.status == 503]
    late = [a for a in unavailable if a.seconds > ANSWER_WITHIN]
    errors = [a for a in answers if a.status >= 500 and a.status != 503]
    unanswered = [a for a in answers if a.status not in (*SERVED, 503) and a.status < 500]
    return {
        "requests": len(answers),
        "200": len(ok),
        "503": len(unavailable),
        "slowest 503 (s)": max((a.seconds for a in unavailable), default=0.0),
        "503 later than 3 s": len(late),
        "500s": len(errors),
        "unanswered": len(unanswered),
        "slowest 200 (s)": max((a.seconds for a in ok), default=0.0),
        "examples": [
            f"{a.status or a.error} {a.path} {a.seconds:.1f}s" for a in errors + late + unanswered
        ][:5],
    }


def documents_check(feeds: Feeds) -> dict[str, int]:
    from django.db.models import Count

    from governance.models import Document

    prefix = feeds.server.url("/chaos/")
    mine = Document.objects.filter(url__startswith=prefix)
    stored = set(_retry(lambda: list(mine.values_list("url", flat=True))))
    by_url = _retry(lambda: mine.values("url").annotate(n=Count("id")).filter(n__gt=1).count())
    by_hash = _retry(
        lambda: mine.values("content_sha256").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    return {
        "entries served": len(feeds.links),
        "documents": len(stored),
        "lost": len(feeds.links - stored),
        "duplicated (same URL)": by_url,
        "duplicated (same text)": by_hash,
    }


def run(args: Any, up: Up, base: str, server: PayloadServer, failures: list[str]) -> None:
    """Warm up, inject each fault in turn, then check the documents and write the report."""
    feeds = Feeds(server, args.delay)
    load = Load(base, args.load).start()
    rows: list[tuple[Fault, dict[str, Any]]] = []
    baseline_end = time.monotonic()
    docs: dict[str, int] = {}
    try:
        warm = feeds.register(args.sources)
        deadline = time.monotonic() + args.recover
        while not fetched(warm) and time.monotonic() < deadline:
            time.sleep(0.5)
        baseline_end = time.monotonic()
        for fault in faults(up, args.hold):
            rows.append((fault, inject(fault, args, up, server, feeds, load, failures)))
            if up.proc.poll() is not None:
                raise UpExited(f"up exited ({up.proc.returncode}) after: {fault.name}")
        # What a fault interrupted is fetched again once its lease lapses.
        every = [pk for fault, _ in rows for pk in (*fault.sources, *fault.probe)]
        limit = time.monotonic() + int(WINDOWS["INGEST_LEASE_SECONDS"]) + 60
        while not fetched(every) and time.monotonic() < limit:
            time.sleep(0.5)
        docs = documents_check(feeds)
        print(f"documents: {docs}", flush=True)
        if docs["lost"] or docs["duplicated (same URL)"] or docs["duplicated (same text)"]:
            failures.append(f"documents lost or duplicated: {docs}")
    except UpExited as exc:
        failures.append(str(exc))
    finally:
        load.stop()
    overall = summarize(load.answers)
    baseline = summarize(load.since(0.0, baseline_end))
    if overall["500s"]:
        failures.append(f"{overall['500s']} answers were 500s: {overall['examples']}")
    if overall["503 later than 3 s"]:
        failures.append(f"{overall['503 later than 3 s']} 503s took longer than 3 s")
    if overall["unanswered"]:
        failures.append(f"{overall['unanswered']} requests got no answer: {overall['examples']}")
    report(args, rows, baseline, overall, docs, failures, up.output())


def inject(
    fault: Fault,
    args: Any,
    up: Up,
    server: PayloadServer,
    feeds: Feeds,
    load: Load,
    failures: list[str],
) -> dict[str, Any]:
    """One fault: inject it, wait until everything serves again; its window's figures."""
    # Sources due now, so that a fetch is in flight when the fault lands.
    fault.sources = feeds.register(args.sources)
    if fault.needs_task and not wait_for_task(server, up, 60):
        fault.notes.append("no fetch was in flight within 60 s; injected anyway")
    fault.started = time.monotonic()
    print(f"{fault.name} ...", flush=True)
    try:
        fault.inject()
    except (AssertionError, psutil.Error, ProcessLookupError, IndexError) as exc:
        failures.append(f"{fault.name}: could not inject ({exc})")
    # New work after the fault: fetched once the worker, beat and broker serve again.
    fault.probe = feeds.register(1)
    limit = fault.started + args.recover
    while time.monotonic() < limit and up.proc.poll() is None:
        if fetched(fault.probe) and load.healthy(fault.started, args.healthy):
            fault.recovered = time.monotonic()
            break
        time.sleep(0.25)
    end = fault.recovered or time.monotonic()
    figures = summarize(load.since(fault.started, end))
    took = f"{end - fault.started:.1f} s" if fault.recovered else "NOT recovered"
    print(f"  {took}: {figures}", flush=True)
    if fault.recovered is None and up.proc.poll() is None:
        failures.append(f"{fault.name}: not serving again within {args.recover:.0f} s")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=int, default=4, help="page-requesting threads")
    parser.add_argument("--sources", type=int, default=4, help="new feed sources per fault")
    parser.add_argument("--delay", type=float, default=3.0, help="seconds a feed takes")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds a SIGSTOP lasts")
    parser.add_argument("--recover", type=float, default=180.0, help="seconds allowed")
    parser.add_argument("--healthy", type=int, default=12, help="200s in a row that end a fault")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "chaos.md")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="waic-chaos-"))
    server = PayloadServer().start()
    up = Up(scratch / "var", scratch / "up.log")
    LAUNCHER.append(up)
    failures: list[str] = []
    started = time.monotonic()
    try:
        base = up.wait_running(300)
        print(f"up serving at {base} after {time.monotonic() - started:.0f} s", flush=True)
        os.environ.update(
            DATABASE_URL=up.database_url,
            REDIS_URL=up.redis_url,
            DJANGO_SETTINGS_MODULE="waic.settings",
            INGEST_ALLOW_LOOPBACK="true",
        )
        import django

        django.setup()

        run(args, up, base, server, failures)
    finally:
        code = up.stop()
        server.stop()
        if code not in (0, None) and not any("up exited" in f for f in failures):
            failures.append(f"up stopped with exit code {code} on Ctrl-C")
        if not failures:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"up's log kept at {up.log_path}", flush=True)
    for failure in failures:
        print(f"FAILED: {failure}", flush=True)
    print("chaos check passed" if not failures else "chaos check FAILED", flush=True)
    return 1 if failures else 0


def report(
    args: Any,
    rows: list[tuple[Fault, dict[str, Any]]],
    baseline: dict[str, Any],
    overall: dict[str, Any],
    docs: dict[str, int],
    failures: list[str],
    log: str,
) -> None:
    said = [
        line
        for line in log.splitlines()
        if line.startswith("up |") and re.search(r"stopped|back after|restart|died|exited", line)
    ]
    lines = [
        "# Chaos check (bench/chaos.py)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; `manage.py up` on "
        f"embedded servers, {args.load} threads requesting pages throughout, feeds answering "
        f"after {args.delay:.0f} s, {args.sources} new sources before each fault, SIGSTOP held "
        f"{args.hold:.0f} s. A fault is over when a source registered just after it has been "
        f"fetched and stored and the last {args.healthy} page requests were answered: most "
        "of that time is the new source waiting behind the fault's own fetches and their "
        "extraction, while pages were answered throughout.",
        "",
        "| fault | requests | 200 | 503 | slowest 503 | 500s | unanswered | serving again after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fault, f in rows:
        again = f"{fault.recovered - fault.started:.1f} s" if fault.recovered else "not recovered"
        lines.append(
            f"| {fault.name} | {f['requests']} | {f['200']} | {f['503']} | "
            f"{f['slowest 503 (s)']:.2f} s | {f['500s']} | {f['unanswered']} | {again} |"
        )
    lines += [
        "",
        f"Before the first fault: {baseline['requests']} requests, {baseline['200']} answered "
        f"200 (slowest {baseline['slowest 200 (s)']:.2f} s). Whole run: {overall['requests']} "
        f"requests, {overall['500s']} 500s, {overall['503 later than 3 s']} 503s later than "
        f"3 s, {overall['unanswered']} unanswered.",
        "",
        "Documents: " + ", ".join(f"{k} {v}" for k, v in docs.items()) + ".",
        "",
        "What `up` said meanwhile:",
        "",
        *[f"    {line}" for line in said[:40]],
        "",
        "Result: " + ("passed" if not failures else "FAILED — " + "; ".join(failures)),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
