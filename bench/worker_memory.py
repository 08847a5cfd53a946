"""A pool child's memory extracting the largest document, with and without recycling.

    uv run python bench/worker_memory.py [--corpus DIR] [--runs 3] [--ceiling-mib N]
                                         [--out bench/worker-memory.md]

Extraction reads at most MAX_CHARS (200,000) characters of a document, so the largest
document is one of that length: news prose, the .txt files of --corpus (for instance the
labelled news of ../shared/corpora/news-dev) concatenated, or without it the test feeds'
paragraphs, repeated until it is MAX_CHARS long, each copy numbered so no two are alike.

A real Celery worker (tests/ingest/worker.py: prefork, one pool child) on real Redis and
PostgreSQL extracts it --runs times, after a small warm-up document that loads spaCy. Its
pool child is sampled every 20 ms (psutil RSS), and the kernel's high-water mark (VmHWM)
catches peaks between samples. Phase 1 runs without a memory ceiling: the peak, and what
the child keeps once idle. Phase 2 runs with the ceiling (WORKER_MAX_MEMORY_MB): the
child that went past it is replaced after its task, and the new child's memory is
measured once idle. Exits 1 if phase 2's worker kept a child above the ceiling
after a task, 3 past the hard timeout.

The database is `waic_worker_mem_bench`, dropped and created each run on the PostgreSQL
server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432), and dropped at the
end; Redis is REDIS_URL (default redis://127.0.0.1:6379/4), on a queue of its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fetch_memory import (  # noqa: E402
    DEFAULT_REDIS,
    MiB,
    Sampler,
    purge_queue,
    read_hwm,
    reset_hwm,
)

DATABASE = "waic_worker_mem_bench"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
HARD_TIMEOUT = 900.0  # seconds; the 200,000-character extraction takes minutes on a busy core


def largest_text(corpus: Path | None, chars: int) -> tuple[str, str]:
    """(text of exactly `chars` characters, where its prose comes from)."""
    if corpus is not None:
        files = sorted(corpus.glob("*.txt"))
        if not files:
            raise SystemExit(f"no .txt files in {corpus}")
        prose = [path.read_text() for path in files]
        origin = f"{len(files)} news texts of {corpus.name}"
    else:
        from tests.ingest.feeds import PARAGRAPHS

        prose = list(PARAGRAPHS)
        origin = "the test feeds' paragraphs"
    parts, size, n = [], 0, 0
    while size < chars:
        piece = f"{prose[n % len(prose)]}\n\n(Part {n + 1}.)\n\n"
        parts.append(piece)
        size += len(piece)
        n += 1
    return "".join(parts)[:chars], origin


def alive(process: object) -> bool:
    """Running and not a zombie: a recycled child lingers as one until the pool reaps it."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE  # type: ignore[attr-defined]
    except psutil.Error:
        return False


@dataclass
class Phase:
    name: str
    ceiling: int  # bytes; 0 = none
    baseline: int = 0  # the warm, idle child before the large document
    runs: list[dict[str, float]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)  # pool child pids seen, in order
    problems: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, log_dir: Path, text: str, ceiling: int) -> None:
        from tests.ingest.worker import Worker

        env = {"DEBUG": "false", "WORKER_YIELD_AT": "0", "WORKER_MAX_TASKS": "0"}
        env["WORKER_MAX_MEMORY_MB"] = str(ceiling // MiB)
        env["CELERY_TASK_SOFT_TIME_LIMIT"] = str(int(HARD_TIMEOUT))
        env["CELERY_TASK_TIME_LIMIT"] = str(int(HARD_TIMEOUT) + 60)
        self.worker = Worker(log_dir, **env)
        self.text = text
        self.sampler: Sampler | None = None

    def child(self, other_than: int | None = None) -> int:
        """The one pool child; with other_than, its replacement if one comes within 15 s
        (a child past the ceiling exits after its task and the pool starts another)."""
        deadline = time.monotonic() + (15 if other_than else 60)
        pid = 0
        while time.monotonic() < deadline:
            children = [c for c in self.worker.pool_children() if alive(c)]
            if len(children) == 1:
                pid = children[0].pid
                if pid != other_than:
                    return pid
            time.sleep(0.05)
        if pid:
            return pid
        raise SystemExit("expected one pool child")

    def extract(self, text: str, label: str) -> float:
        """Store a document with this text, have the worker extract it; seconds taken."""
        from governance.models import Document, ExtractionStatus
        from governance.tasks import extract_documents

        document = Document.objects.create(title=label, text=text, language="en")
        started = time.monotonic()
        extract_documents.delay(document_ids=[document.pk])
        while True:
            document.refresh_from_db(fields=["extraction_status"])
            if document.extraction_status not in ("", ExtractionStatus.PENDING):
                break
            if self.worker.process and self.worker.process.poll() is not None:
                raise SystemExit(f"the worker died:\n{self.worker.log()[-3000:]}")
            if document.extraction_status == "" and time.monotonic() - started > HARD_TIMEOUT:
                raise SystemExit("extraction never finished")
            time.sleep(0.1)
        if document.extraction_status != ExtractionStatus.DONE:
            raise SystemExit(f"extraction of {label} ended {document.extraction_status}")
        return time.monotonic() - started

    def idle_rss(self, pid: int, seconds: float = 1.5) -> int:
        """The child's RSS once idle (the median of its last second of samples)."""
        import psutil

        assert self.sampler
        time.sleep(seconds)
        try:
            return self.sampler.settled(pid, 1.0)
        except ValueError:  # statistics.StatisticsError: no samples, read it now
            return psutil.Process(pid).memory_info().rss

    def run(self, phase: Phase, runs: int) -> None:
        self.worker.start()
        assert self.worker.process
        self.sampler = Sampler(self.worker.process.pid).start()
        try:
            warm = "Li Qiang said AI should be a common good for all of humanity."
            self.extract(f"{warm} ({phase.name})", "warm")
            child = self.child()
            phase.children.append(child)
            phase.baseline = self.idle_rss(child)
            print(f"phase {phase.name}: warm child {phase.baseline / MiB:.0f} MiB", flush=True)
            for number in range(1, runs + 1):
                child = self.child()
                reset_hwm(child)
                start = time.monotonic()
                text = f"Run {number}, phase {phase.name}.\n\n{self.text}"[: len(self.text)]
                seconds = self.extract(text, f"largest {number}")
                end = time.monotonic()
                sampled = self.sampler.peak(child, start, end)
                try:
                    kernel = read_hwm(child)
                except (OSError, RuntimeError):
                    kernel = 0  # recycled already: the sampled peak stands
                after = self.child(other_than=child if phase.ceiling else None)
                if after not in phase.children:
                    phase.children.append(after)
                idle = self.idle_rss(after)
                phase.runs.append(
                    {
                        "seconds": seconds,
                        "peak": max(sampled, kernel),
                        "idle_after": idle,
                        "recycled": float(after != child),
                    }
                )
                print(f"phase {phase.name}, run {number}: {phase.runs[-1]}", flush=True)
                if phase.ceiling and idle > phase.ceiling:
                    phase.problems.append(
                        f"run {number}: the child kept {idle / MiB:.0f} MiB, above the ceiling"
                    )
        finally:
            self.sampler.stop()
            self.worker.stop()


def report(phases: list[Phase], chars: int, origin: str, total: float) -> str:
    def mib(n: float) -> str:
        return f"{n / MiB:,.0f} MiB"

    lines = [
        "# Worker memory: the largest document, with and without recycling",
        "",
        f"`bench/worker_memory.py`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{total:.0f} s in all.",
        "",
        f"The document: {chars:,} characters (extraction's MAX_CHARS), from {origin}. "
        "A real worker (prefork, one pool child) extracts it after a small warm-up "
        "document (spaCy loaded); RSS of the pool child sampled every 20 ms plus the "
        "kernel's peak (VmHWM).",
        "",
        "| phase | run | seconds | peak RSS | growth over warm child | idle RSS after "
        "| child replaced |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase in phases:
        for number, run in enumerate(phase.runs, 1):
            lines.append(
                f"| {phase.name} | {number} | {run['seconds']:.1f} | {mib(run['peak'])} "
                f"| +{mib(run['peak'] - phase.baseline)} | {mib(run['idle_after'])} "
                f"| {'yes' if run['recycled'] else 'no'} |"
            )
    lines.append("")
    for phase in phases:
        ceiling = f"ceiling {mib(phase.ceiling)}" if phase.ceiling else "no ceiling"
        lines.append(
            f"- {phase.name} ({ceiling}): warm idle child {mib(phase.baseline)}; "
            f"{len(phase.children)} pool child process(es) over the runs"
            + (f"; problems: {'; '.join(phase.problems)}" if phase.problems else "")
        )
    free, capped = phases
    if free.runs and capped.runs:
        lines += [
            "",
            f"Without a ceiling the child never gives the parse back: idle at "
            f"{mib(free.runs[0]['idle_after'])} after the first run, "
            f"{mib(free.runs[-1]['idle_after'])} after run {len(free.runs)} "
            f"(+{mib(free.runs[-1]['idle_after'] - free.baseline)} over the warm child), "
            "so a worker of two children holds well over 2 GiB for good after a few long "
            "documents. With the ceiling the child that passed it exits after its task and "
            f"its replacement idles at {mib(capped.runs[-1]['idle_after'])} until its "
            "next extraction loads spaCy again (which the seconds of phase 2 include); the "
            "peak during one extraction is the same either way: a ceiling bounds what is "
            "kept, not what one document needs.",
        ]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a folder of .txt news texts")
    parser.add_argument("--runs", type=int, default=3, help="extractions of the document")
    parser.add_argument(
        "--ceiling-mib", type=float, default=0, help="phase 2's ceiling (default: the setting's)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "worker-memory.md")
    args = parser.parse_args(argv)

    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    maintenance_url = urlunsplit(parts._replace(path="/postgres", query=""))
    database_url = urlunsplit(parts._replace(path=f"/{DATABASE}", query=""))
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    queue = f"worker-memory-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="waic.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or f"bench-{uuid.uuid4().hex}",
    )

    import psycopg2

    def recreate(create: bool) -> None:
        connection = psycopg2.connect(maintenance_url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            if create:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()

    recreate(True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from governance.extract.pipeline import MAX_CHARS

    call_command("migrate", verbosity=0)
    text, origin = largest_text(args.corpus, MAX_CHARS)
    ceiling = (
        int(args.ceiling_mib * MiB) or (settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD or 0) * 1024
    )
    if not ceiling:
        raise SystemExit("no ceiling: set --ceiling-mib or WORKER_MAX_MEMORY_MB")

    started = time.monotonic()
    phases = [Phase("1: no ceiling", 0), Phase("2: ceiling", ceiling)]
    bench: Bench | None = None

    def give_up() -> None:
        print(f"hard timeout: not done within {HARD_TIMEOUT:g} s", file=sys.stderr)
        if bench is not None:
            print(bench.worker.log()[-3000:], file=sys.stderr)
            bench.worker.kill()
        os._exit(3)

    watchdog = threading.Timer(2 * HARD_TIMEOUT, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        with tempfile.TemporaryDirectory(prefix="worker-memory-") as log_dir:
            for phase in phases:
                bench = Bench(Path(log_dir), text, phase.ceiling)
                bench.run(phase, args.runs)
    finally:
        watchdog.cancel()
        from django.db import connections

        connections.close_all()
        purge_queue(redis_url, queue)
        recreate(False)

    out = report(phases, len(text), origin, time.monotonic() - started)
    args.out.write_text(out)
    print(out)
    ok = not any(phase.problems for phase in phases)
    print(f"{'PASS' if ok else 'FAIL'}; written to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
