"""Issue #8, scenario 1 at full scale: SIGKILL the worker, and a pool child, mid-fetch.

    uv run python bench/worker_crash.py [--sources 1000] [--seed N] [--timeout 330]

Two runs, each with --sources feed sources served from 127.0.0.1 (a small RSS feed of
two distinct entries each, answered after --delay seconds so that kills land
mid-fetch), all queued on Redis by beat's task before a real Celery worker (prefork,
concurrency 2, behind the loopback guard) starts on them:

(a) the whole worker (process group: main process and pool) is SIGKILLed at three
    random points, and a fresh worker started after each;
(b) one pool child, caught mid-fetch, is SIGKILLed at three random points; the main
    process must replace it.

The points are numbers of sources already fetched, drawn from a seeded RNG (the seed is
printed; --seed replays it); each kill waits for a pool child that is waiting on the
payload server. The script ticks beat (`enqueue_due_sources`) every --tick seconds,
with short lease, re-enqueue and time-limit settings given to the worker and to itself
through the environment, so a run ends in bounded time. It asserts: every source
fetched successfully, and once (0 lost); Documents == distinct entries served (0
duplicates, by URL and by content hash); no source left claimed and no run left
"running"; a WORKER_LOST run for each source a kill interrupted; a killed pool child
replaced. Exit 1 on a failed check, 2 on the overall --timeout. Writes
bench/worker-crash.md.

Extraction is left out on purpose: the worker's own messages (extract_documents, sent
after each store) go to a parked queue that nothing consumes, counted and deleted at
the end. spaCy on 4,000 documents would take most of the time budget on 2 cores and is
not what this scenario is about.

Database: a scratch `waic_crash_bench` on DATABASE_URL's server (dropped and created at
the start, dropped at the end unless --keep-db); Redis: REDIS_URL, on queues of its
own, deleted at the end. With neither set, throwaway embedded servers (waic.services).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "waic_crash_bench"
QUEUE = f"crash-{uuid.uuid4().hex[:8]}"
# The worker sends what it enqueues itself (extraction) here; nothing consumes it.
PARKED = f"{QUEUE}-parked"
CONCURRENCY = 2
ENTRIES = 2
KILLS = 3
# Short windows, for the worker (its environment) and for this script's beat ticks alike.
# The lease outlasts the hard time limit, as in settings.py; the broker's visibility
# timeout is twice the hard limit (16 s). Beat presumes a message lost once its source
# has gone unclaimed for INGEST_REENQUEUE_AFTER: about as long as the backlog takes to
# drain here (shorter, and beat re-enqueues every source still queued, each time).
WINDOWS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "6",
    "CELERY_TASK_TIME_LIMIT": "8",
    "INGEST_FETCH_DEADLINE": "5",
    "INGEST_LEASE_SECONDS": "10",
    "INGEST_REENQUEUE_AFTER": "60",
}
os.environ.update(
    WINDOWS,
    DJANGO_SETTINGS_MODULE="waic.settings",
    INGEST_ALLOW_LOOPBACK="true",
    CELERY_QUEUE=QUEUE,
)

from waic import services  # noqa: E402

# Workers this script started, for the watchdog: it kills only these.
STARTED: list[Any] = []


class BenchTimeout(Exception):
    pass


@dataclass
class Kill:
    at: float  # seconds since the run's worker was started
    fetched_before: int  # sources fetched successfully when it landed
    target: str
    pid: int
    # Sources the killed process(es) were waiting on the payload server for.
    interrupted: list[int] = field(default_factory=list)
    replaced_after: float | None = None  # pool child: seconds until the pool was whole
    wall: float = field(default_factory=time.time)
    redone_after: float | None = None  # until the last interrupted source was fetched


@dataclass
class Run:
    name: str
    mode: str  # "worker" or "child"
    sources: int
    kills: list[Kill] = field(default_factory=list)
    workers_started: int = 0
    reenqueued: int = 0  # messages beat sent after the initial ticks
    seconds: float = 0.0  # worker start → every source fetched, none claimed
    after_last_kill: float = 0.0  # last kill → the same
    settle: float = 0.0  # then until no message of ours is left in the broker
    restored: int = 0  # killed workers' messages put back past the visibility timeout
    figures: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


# --- services -----------------------------------------------------------------------


def scratch_database() -> tuple[str, services.EmbeddedServices | None]:
    """URL of a fresh BENCH_DB on DATABASE_URL's server (embedded servers if unset)."""
    started = None
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        started = services.start_test_services(
            postgres=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL")
        )
        started.export()
    parts = urlsplit(os.environ["DATABASE_URL"])
    _admin(parts, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}")), started


def _admin(parts: Any, *statements: str) -> None:
    import psycopg2

    conn = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def redis_client() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def our_unacked(client: Any) -> list[bytes]:
    """Delivery tags of unacknowledged messages of our queues (e.g. a killed worker's)."""
    tags = []
    for tag, raw in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError):
            continue
        if routing_key in (QUEUE, PARKED):
            tags.append(tag)
    return tags


def parked_extractions(client: Any) -> Counter[int]:
    """document_id → number of extraction messages the worker parked for it."""
    counts: Counter[int] = Counter()
    for raw in client.lrange(PARKED, 0, -1):
        message = json.loads(raw)
        if message["headers"].get("task") != "governance.tasks.extract_documents":
            continue
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        counts.update(kwargs["document_ids"])
    return counts


def clean_redis() -> None:
    client = redis_client()
    for pattern in (f"{QUEUE}*", f"_kombu.binding.{QUEUE}*", f"_kombu.binding_permanent.{QUEUE}*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    for tag in our_unacked(client):
        client.hdel("unacked", tag)
        client.zrem("unacked_index", tag)


# --- the feeds ----------------------------------------------------------------------


def serve_feeds(server: Any, run: str, n: int, delay: float) -> tuple[dict[str, int], set[str]]:
    """n slow feeds of ENTRIES distinct entries and their Sources: path → id, entry URLs."""
    from governance.models import Source
    from tests.ingest.feeds import PARAGRAPHS, rss

    paths, links = [], set()
    for i in range(n):
        path = f"/{run}/{i}.xml"
        items = []
        for e in range(ENTRIES):
            link = server.url(f"/{run}/{i}/{e}")
            text = f"{PARAGRAPHS[(i + e) % len(PARAGRAPHS)]} Dispatch {run}-{i}-{e}."
            items.append({"title": f"Story {run} {i}.{e}", "link": link, "content": text})
            links.add(link)
        server.add(
            path, body=rss(items), delay=delay, headers={"Content-Type": "application/rss+xml"}
        )
        paths.append(path)
    created = Source.objects.bulk_create(
        Source(
            name=f"crash {run} {i}",
            kind=Source.Kind.FEED,
            url=server.url(path),
            # Due once during the bench: a fetched source is not due again for a day.
            interval=timedelta(days=1),
        )
        for i, path in enumerate(paths)
    )
    return {path: source.pk for path, source in zip(paths, created, strict=True)}, links


# --- one run ------------------------------------------------------------------------


def start_worker(log_dir: Path) -> Any:
    from tests.ingest.worker import Worker

    worker = Worker(
        log_dir,
        concurrency=CONCURRENCY,
        # Consume the ingest queue only; the worker's default queue (where it sends
        # extraction) is the parked one.
        args=["--queues", QUEUE],
        CELERY_QUEUE=PARKED,
        CONN_MAX_AGE="60",
    )
    STARTED.append(worker)
    return worker.start()


def execute(
    run: Run,
    server: Any,
    ids: dict[str, int],
    points: list[int],
    args: Any,
    workers: list[Any],
    log_dir: Path,
) -> None:
    """Queue every source, start a worker, kill at `points`, until every source is done."""
    from governance.models import IngestRun, Source
    from governance.tasks import enqueue_due_sources
    from tests.ingest.worker import waiting_on

    mine = Source.objects.filter(pk__in=ids.values())
    queued = 0
    while queued < run.sources:  # beat enqueues at most 500 a tick
        queued += enqueue_due_sources()["enqueued"]
    print(f"  {queued} fetches queued on {QUEUE}", flush=True)

    t0 = last_kill = time.monotonic()
    workers.append(start_worker(log_dir))
    last_tick = last_check = time.monotonic()
    fetched = 0
    while True:
        now = time.monotonic()
        if now - last_tick >= args.tick:
            run.reenqueued += enqueue_due_sources()["enqueued"]
            last_tick = now
        if now - last_check >= 0.2:
            last_check = now
            fetched = mine.filter(last_success_at__isnull=False).count()
            if (
                not points
                and fetched == run.sources
                and not mine.filter(lease_expires_at__isnull=False).exists()
                and not IngestRun.objects.filter(
                    source__in=mine, outcome=IngestRun.Outcome.RUNNING
                ).exists()
            ):
                run.seconds = time.monotonic() - t0
                run.after_last_kill = time.monotonic() - last_kill
                return
        if not (points and fetched >= points[0]):
            time.sleep(0.05)
            continue
        # Armed: kill as soon as a pool child is waiting on a feed.
        children = workers[-1].pool_children()
        busy = {c.pid: waiting_on(c, server, args.delay * 0.6) for c in children}
        targets = [c for c in children if busy[c.pid]]
        if not targets:
            time.sleep(0.01)
            continue
        points.pop(0)
        at = time.monotonic() - t0
        if run.mode == "worker":
            kill = Kill(at, fetched, "worker", workers[-1].process.pid)
            kill.interrupted = [ids[p] for paths in busy.values() for p in paths]
            workers[-1].kill()  # SIGKILL to its process group: main process and pool
            print(f"  killed the worker at {at:.1f} s after {fetched} fetched", flush=True)
            workers.append(start_worker(log_dir))
        else:
            kill = kill_child(run, workers[-1], targets[0], at, fetched)
            kill.interrupted = [ids[p] for p in busy[targets[0].pid]]
        run.kills.append(kill)
        last_kill = time.monotonic()
        last_check = 0.0


def kill_child(run: Run, worker: Any, child: Any, at: float, fetched: int) -> Kill:
    """SIGKILL one pool child; wait (30 s at most) for the main process to replace it."""
    kill = Kill(at, fetched, "pool child", child.pid)
    os.kill(child.pid, signal.SIGKILL)
    killed = time.monotonic()
    print(f"  killed pool child {child.pid} at {at:.1f} s after {fetched} fetched", flush=True)
    while time.monotonic() - killed < 30:
        alive = [c for c in worker.pool_children() if c.pid != child.pid and _live(c)]
        if len(alive) == CONCURRENCY:
            kill.replaced_after = time.monotonic() - killed
            break
        time.sleep(0.05)
    if worker.process.poll() is not None:
        run.failures.append(f"the worker's main process died with child {child.pid}")
    return kill


def _live(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def settle(run: Run, deadline: float) -> None:
    """Until nothing of ours is queued or unacknowledged, so that late redeliveries are
    seen by the checks: each must fetch nothing.

    A killed worker's messages stay unacknowledged until the visibility timeout, then a
    live worker's kombu restores them to the queue; it looks only every 100 s (ten
    10-second polls), so past the timeout this script restores ours itself, as the
    worker would (not the whole hash: other users' messages on this Redis are left).
    """
    from django.conf import settings

    from governance.tasks import enqueue_due_sources
    from waic.celery import app

    client = redis_client()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    started = time.monotonic()
    restored = 0
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        while time.monotonic() < deadline:
            unacked = our_unacked(client)
            if not client.llen(QUEUE) and not unacked:
                break
            for tag in unacked:
                delivered = client.zscore("unacked_index", tag)
                if delivered is not None and delivered < time.time() - visibility:
                    channel.qos.restore_by_tag(tag, client)
                    restored += 1
            run.reenqueued += enqueue_due_sources()["enqueued"]
            time.sleep(0.5)
        else:
            run.failures.append("messages were still queued or unacknowledged at the deadline")
    time.sleep(1.0)  # the last delivery's task finishes (it must skip)
    run.settle = time.monotonic() - started
    run.restored = restored


def check(run: Run, server: Any, ids: dict[str, int], links: set[str], logs: str) -> None:
    from django.db.models import Count, Max, Q

    from governance.ingest.errors import FailureReason
    from governance.models import Document, IngestRun, Source

    source_ids = list(ids.values())
    unfinished = [IngestRun.Outcome.RUNNING, IngestRun.Outcome.FAILED]
    ok = ~Q(outcome__in=unfinished)
    per_source = (
        Source.objects.filter(pk__in=source_ids)
        .annotate(
            ok=Count("runs", filter=~Q(runs__outcome__in=unfinished)),
            lost=Count("runs", filter=Q(runs__failure_reason=FailureReason.WORKER_LOST)),
            other_failed=Count(
                "runs",
                filter=Q(runs__outcome=IngestRun.Outcome.FAILED)
                & ~Q(runs__failure_reason=FailureReason.WORKER_LOST),
            ),
            running=Count("runs", filter=Q(runs__outcome=IngestRun.Outcome.RUNNING)),
        )
        .values("pk", "ok", "lost", "other_failed", "running", "lease_expires_at")
    )
    rows = {row["pk"]: row for row in per_source}
    lost = [pk for pk, row in rows.items() if row["ok"] == 0]
    twice = [pk for pk, row in rows.items() if row["ok"] > 1]
    claimed = [pk for pk, row in rows.items() if row["lease_expires_at"] is not None]
    running = sum(row["running"] for row in rows.values())
    worker_lost = {pk for pk, row in rows.items() if row["lost"]}
    worker_lost_runs = sum(row["lost"] for row in rows.values())

    prefix = server.url(f"/{run.name}/")
    docs = list(Document.objects.filter(url__startswith=prefix).values_list("pk", "url"))
    by_hash = Document.objects.filter(url__startswith=prefix).values("content_sha256").distinct()
    urls = [url for _, url in docs]
    duplicated = len(urls) - len(set(urls))
    hash_duplicated = len(urls) - by_hash.count()
    missing = links - set(urls)
    unexpected = set(urls) - links
    hits = {pk: server.routes[path].hits for path, pk in ids.items()}
    # Each fetch is a run; only a killed attempt may have fetched before the successful one.
    extra_fetches = sum(max(0, hits[pk] - 1 - rows[pk]["lost"]) for pk in source_ids)
    parked = parked_extractions(redis_client())
    doc_ids = [pk for pk, _ in docs]

    unextracted = [pk for pk in doc_ids if not parked[pk]]
    for source_id, finished in (
        IngestRun.objects.filter(ok, source__documents__in=unextracted)
        .values_list("source", "finished_at")
        .distinct()
    ):
        gap = min((kill.wall - finished.timestamp() for kill in run.kills), key=abs, default=0)
        print(
            f"  source {source_id}: its documents' extraction message was never sent; its run "
            f"committed {gap * 1000:.1f} ms before a kill (resent by beat after "
            "EXTRACTION_RESEND_AFTER)",
            flush=True,
        )
    # Every document not handed over must be one the resend sweep will find.
    unrecoverable = Document.objects.filter(pk__in=unextracted).exclude(
        extraction_status="pending", extraction_enqueued_at__isnull=False
    )
    if unrecoverable.exists():
        run.failures.append(
            f"{unrecoverable.count()} documents lost their extraction message and would "
            "never be sent again"
        )
    run.figures = {
        "sources": run.sources,
        "fetched successfully": run.sources - len(lost),
        "lost": len(lost),
        "fetched successfully twice": len(twice),
        "left claimed": len(claimed),
        "runs left running": running,
        "WORKER_LOST runs": worker_lost_runs,
        "other failed runs": sum(row["other_failed"] for row in rows.values()),
        "feed requests": sum(hits.values()),
        "feeds requested more than once": sum(1 for h in hits.values() if h > 1),
        "requests beyond one per killed attempt and one success": extra_fetches,
        "entries served": len(links),
        "documents": len(docs),
        "duplicated (same URL)": duplicated,
        "duplicated (same text)": hash_duplicated,
        "entries missing": len(missing),
        "beat re-enqueues after the first ticks": run.reenqueued,
        "killed workers' messages redelivered in the end": run.restored,
        "deliveries skipped (claimed or not due)": logs.count("or not due; skipped"),
        "extractions enqueued (parked)": sum(parked[pk] for pk in doc_ids),
        "documents whose extraction was never enqueued": len(unextracted),
    }
    expect = {
        "lost": 0,
        "fetched successfully twice": 0,
        "left claimed": 0,
        "runs left running": 0,
        "requests beyond one per killed attempt and one success": 0,
        "duplicated (same URL)": 0,
        "duplicated (same text)": 0,
        "entries missing": 0,
    }
    for name, value in expect.items():
        if run.figures[name] != value:
            run.failures.append(f"{name}: {run.figures[name]}, expected {value}")
    if unexpected:
        run.failures.append(f"{len(unexpected)} documents for URLs never served")
    if len(docs) != len(links):
        run.failures.append(f"{len(docs)} documents for {len(links)} distinct entries served")
    if len(run.kills) != KILLS:
        run.failures.append(f"{len(run.kills)} kills landed, expected {KILLS}")
    for n, kill in enumerate(run.kills, 1):
        redone = IngestRun.objects.filter(ok, source__in=kill.interrupted).aggregate(
            last=Max("finished_at")
        )["last"]
        if redone and kill.interrupted:
            kill.redone_after = redone.timestamp() - kill.wall
        if not kill.interrupted:
            run.failures.append(f"kill {n}: no fetch in progress was identified")
        for pk in kill.interrupted:
            if pk not in worker_lost:
                run.failures.append(f"kill {n}: source {pk} has no WORKER_LOST run")
        if run.mode == "child" and kill.replaced_after is None:
            run.failures.append(f"kill {n}: pool child {kill.pid} was not replaced within 30 s")
    # A pool child runs one task: exactly one interrupted run per kill. A whole worker
    # may have been in the middle of a task in each child.
    most = len(run.kills) * (CONCURRENCY if run.mode == "worker" else 1)
    if not len(run.kills) <= worker_lost_runs <= most:
        run.failures.append(
            f"{worker_lost_runs} WORKER_LOST runs for {len(run.kills)} kills (at most {most})"
        )
    if "test guard: refused" in logs:
        run.failures.append("something in the worker tried to leave loopback")


def one_run(run: Run, server: Any, rng: random.Random, args: Any, deadline: float) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix=f"worker-crash-{run.name}-"))
    ids, links = serve_feeds(server, run.name, run.sources, args.delay)
    # Kill points: numbers of sources fetched, spread over the backlog's middle.
    points = sorted(rng.sample(range(run.sources // 20, run.sources * 17 // 20), KILLS))
    print(f"run {run.name}: {run.sources} sources, kill points {points}", flush=True)
    workers: list[Any] = []
    try:
        execute(run, server, ids, points, args, workers, log_dir)
        run.workers_started = len(workers)
        settle(run, deadline)
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(w.log() for w in workers)
    check(run, server, ids, links, logs)
    if run.failures:
        print(f"  worker logs kept in {log_dir}", flush=True)
    else:
        shutil.rmtree(log_dir, ignore_errors=True)


# --- report -------------------------------------------------------------------------


def report(runs: list[Run], seed: int, args: Any, total: float) -> str:
    import django

    titles = {"worker": "(a) whole worker SIGKILLed", "child": "(b) one pool child SIGKILLed"}
    lines = [
        "# Worker crash at scale (issue #8, scenario 1)",
        "",
        f"Command: `uv run python bench/worker_crash.py --sources {args.sources} --seed {seed}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Django {django.get_version()}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, total {total:.0f} s "
        f"(bound {args.timeout:.0f} s)",
        "",
        f"Each source: an RSS feed of {ENTRIES} distinct entries on 127.0.0.1, answered "
        f"after {args.delay} s. A real Celery worker (prefork, concurrency {CONCURRENCY}) "
        f"on Redis and PostgreSQL; beat's task ticked every {args.tick} s by the script. "
        "Windows: " + ", ".join(f"{k}={v}" for k, v in WINDOWS.items()) + ". Extraction "
        "left out (its messages parked, counted, deleted). Kill times are seconds since "
        "the run's first worker was started.",
        "",
        "Checked (the run fails otherwise): 0 lost, 0 fetched successfully twice, 0 left "
        "claimed or running, no request beyond one per killed attempt, Documents == "
        "distinct entries served (by URL and by text), a WORKER_LOST run for every "
        "interrupted fetch, each pool child replaced, every document whose extraction "
        "message a kill lost (between the commit and the send) marked for the resend "
        "sweep (beat's resend_lost_extractions). Reported: how many lost it.",
        "",
    ]
    for run in runs:
        lines += [
            f"## {titles[run.mode]}: {'passed' if not run.failures else 'FAILED'}",
            "",
            "| kill | at (s) | sources fetched before | target | fetches interrupted "
            "| interrupted sources fetched after | pool child replaced after |",
            "|---:|---:|---:|---|---:|---:|---:|",
        ]
        for n, kill in enumerate(run.kills, 1):
            replaced = f"{kill.replaced_after:.2f} s" if kill.replaced_after is not None else "—"
            redone = f"{kill.redone_after:.1f} s" if kill.redone_after is not None else "—"
            lines.append(
                f"| {n} | {kill.at:.1f} | {kill.fetched_before} | {kill.target} "
                f"(pid {kill.pid}) | {len(kill.interrupted)} | {redone} | {replaced} |"
            )
        lines += [
            "",
            "| figure | value |",
            "|---|---:|",
            *(f"| {name} | {value} |" for name, value in run.figures.items()),
            f"| workers started | {run.workers_started} |",
            f"| all fetched, none claimed, after (s) | {run.seconds:.1f} |",
            f"| of which after the last kill (s) | {run.after_last_kill:.1f} |",
            f"| then until the broker held nothing of ours (s) | {run.settle:.1f} |",
            "",
        ]
        lines += [f"- FAILED: {failure}" for failure in run.failures]
        if run.failures:
            lines.append("")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------


def _watchdog(seconds: float) -> None:
    """Past the bound and its grace period, kill our workers and leave, whatever hangs."""

    def fire() -> None:
        print(f"watchdog: still running after {seconds:.0f} s; killing our workers", flush=True)
        for worker in STARTED:
            worker.kill()
        os._exit(2)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise BenchTimeout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="replay a run's kill points")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds each feed waits")
    parser.add_argument("--tick", type=float, default=2.0, help="seconds between beat ticks")
    parser.add_argument("--timeout", type=float, default=330.0, help="overall bound, seconds")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "worker-crash.md")
    parser.add_argument("--keep-db", action="store_true", help=f"keep {BENCH_DB} afterwards")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    print(f"seed {seed} (replay with --seed {seed})", flush=True)
    rng = random.Random(seed)

    begun = time.monotonic()
    deadline = begun + args.timeout
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(args.timeout))
    _watchdog(args.timeout + 25)  # past the bound, cleaning up may take 15 s

    bench_url, embedded = scratch_database()
    os.environ["DATABASE_URL"] = bench_url
    runs: list[Run] = []
    code = 0
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        print(f"migrated {BENCH_DB} in {time.monotonic() - begun:.0f} s", flush=True)

        from tests.ingest import loopback_guard
        from tests.ingest.payload_server import PayloadServer

        loopback_guard.install()  # this process too: loopback only
        server = PayloadServer().start()
        try:
            for name, mode in (("a", "worker"), ("b", "child")):
                run = Run(name=name, mode=mode, sources=args.sources)
                runs.append(run)
                one_run(run, server, rng, args, deadline)
                print(f"  run {name}: {run.figures}", flush=True)
                for failure in run.failures:
                    print(f"  FAILED: {failure}", flush=True)
        finally:
            server.stop()
        code = 1 if any(run.failures for run in runs) else 0
    except BenchTimeout:
        print(f"FAILED: not finished within {args.timeout:.0f} s", flush=True)
        code = 2
    finally:
        signal.alarm(0)
        for worker in STARTED:
            worker.stop()
        try:
            clean_redis()
        finally:
            from django.db import connections

            connections.close_all()
            if not args.keep_db:
                _admin(urlsplit(bench_url), f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            if embedded:
                embedded.stop()
    total = time.monotonic() - begun
    if runs and runs[-1].figures:
        args.output.write_text(report(runs, seed, args, total) + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    print(f"{'passed' if code == 0 else 'FAILED'} in {total:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
