"""End-to-end ingestion throughput: fetch -> parse -> store -> extract, on real Celery workers.

    from bench.perf import ingestion
    result = ingestion.measure(workers=1, documents=400, database_url=..., redis_url=...)

    with ingestion.running(workers=1, documents=2000, database_url=..., redis_url=...) as run:
        while not run.done():
            ...  # e.g. measure search latency while the workers ingest
    print(run.result)  # None if the block left before the last document was extracted

    uv run python -m bench.perf.ingestion --workers 1 2 --documents 400 --repeat 3
        (DATABASE_URL / REDIS_URL from the environment; writes nothing unless --output)

What is measured: N real `celery worker` processes (prefork, concurrency 1 each, so one
core each) on a queue of their own, on the given Redis, writing to a scratch database
`waic_ing_<random>` created on `database_url`'s server, migrated, and dropped at the
end. A loopback HTTP server serves the payloads (bench/perf/ingestion_payloads.py:
RSS feeds of 25 entries, each a whole news article of 1,500-3,500 characters, ~2,300
on average, in content:encoded). Each worker is warmed first, through a private queue,
as a long-running worker is (a feed ingested, a document extracted: spaCy, the
gazetteer, the language detector loaded). Then the clock starts and the bench sends
what beat sends, `enqueue_due_sources`; a worker turns it into one `ingest_source` per
feed, each stored document hands itself to `extract_document` on commit, and the clock
stops when every document of every feed is stored and extracted (its candidates and
country mentions written, status no longer pending).

CPU: user+sys of each worker process and its pool child over the measured interval; on a
shared machine it is steadier than wall time. PostgreSQL's share is not counted (its
backends are the server's processes, not the workers').
Bounded: `time_limit` (default 600 s) for the measured run, 180 s for start and warm-up;
workers, server and database are always cleaned up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import psycopg2

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scratch_db  # noqa: E402
from bench.perf import ingestion_payloads  # noqa: E402

WARM_UP_LIMIT = 180.0
POLL_EVERY = 0.1


@dataclass(frozen=True)
class IngestionResult:
    workers: int
    documents: int  # stored and extracted during the measured interval
    seconds: float  # wall: enqueue -> the last document's candidates written
    worker_cpu_seconds: float  # user+sys of the workers (main processes and pool children)
    candidates: int
    extraction_failed: int
    ingest_failed: int  # feed fetches that ended failed
    average_chars: int  # of the documents' text

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    @property
    def documents_per_second_per_core(self) -> float:
        """Wall throughput divided by the workers (one core each)."""
        return self.documents_per_second / self.workers

    @property
    def documents_per_worker_cpu_second(self) -> float:
        """Throughput per core the workers actually got: steady under foreign load."""
        return self.documents / self.worker_cpu_seconds

    @property
    def ms_per_document(self) -> float:
        """Wall time one worker spends per document."""
        return 1000 * self.seconds * self.workers / self.documents

    @property
    def worker_cpu_ms_per_document(self) -> float:
        return 1000 * self.worker_cpu_seconds / self.documents

    def as_dict(self) -> dict[str, float | int]:
        extra = {
            name: round(getattr(self, name), 2)
            for name in (
                "documents_per_second",
                "documents_per_second_per_core",
                "documents_per_worker_cpu_second",
                "ms_per_document",
                "worker_cpu_ms_per_document",
            )
        }
        return {**asdict(self), **extra}


@dataclass
class IngestionRun:
    """A started ingestion: ask it how far it is, or wait for it (see `running`)."""

    workers: int
    documents: int
    database_url: str
    time_limit: float
    started: float = 0.0  # perf_counter at the enqueue
    result: IngestionResult | None = None
    _conn: psycopg2.extensions.connection | None = None
    _sources: list[int] = field(default_factory=list)
    _processes: list[psutil.Process] = field(default_factory=list)
    _cpu_at_start: dict[int, float] = field(default_factory=dict)

    def _query(self, sql: str, params: tuple = ()) -> tuple:
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def progress(self) -> tuple[int, int]:
        """(documents stored, documents extracted) so far."""
        stored, extracted = self._query(
            "SELECT count(*), count(*) FILTER (WHERE extraction_status <> 'pending') "
            "FROM governance_document WHERE source_id = ANY(%s)",
            (self._sources,),
        )
        return stored, extracted

    def done(self) -> bool:
        """True once every feed was fetched and every stored document extracted; the
        result is then recorded (the clock stops at the first call that sees it).
        TimeoutError past the run's time limit, so a caller's loop ends too."""
        if self.result is not None:
            return True
        (fetched,) = self._query(
            "SELECT count(DISTINCT source_id) FROM governance_ingestrun "
            "WHERE source_id = ANY(%s) AND outcome <> 'running'",
            (self._sources,),
        )
        stored, extracted = self.progress()
        if fetched < len(self._sources) or extracted < stored:
            if time.perf_counter() - self.started > self.time_limit:
                raise TimeoutError(
                    f"{extracted} of {stored} stored documents extracted "
                    f"(of {self.documents}) after {self.time_limit:.0f} s"
                )
            return False
        self._finish()
        return True

    def wait(self) -> IngestionResult:
        """Block until done (TimeoutError past the run's time limit)."""
        while not self.done():
            time.sleep(POLL_EVERY)
        assert self.result is not None
        return self.result

    def _finish(self) -> None:
        seconds = time.perf_counter() - self.started
        worker_cpu = _cpu(self._processes) - sum(self._cpu_at_start.values())
        stored, failed, chars = self._query(
            "SELECT count(*), count(*) FILTER (WHERE extraction_status = 'failed'), "
            "coalesce(avg(length(text)), 0) FROM governance_document WHERE source_id = ANY(%s)",
            (self._sources,),
        )
        (candidates,) = self._query(
            "SELECT count(*) FROM governance_candidate c JOIN governance_document d "
            "ON d.id = c.document_id WHERE d.source_id = ANY(%s)",
            (self._sources,),
        )
        (ingest_failed,) = self._query(
            "SELECT count(*) FROM governance_ingestrun WHERE source_id = ANY(%s) "
            "AND outcome = 'failed'",
            (self._sources,),
        )
        self.result = IngestionResult(
            workers=self.workers,
            documents=stored,
            seconds=seconds,
            worker_cpu_seconds=worker_cpu,
            candidates=candidates,
            extraction_failed=failed,
            ingest_failed=ingest_failed,
            average_chars=round(chars),
        )


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _worker_processes(worker: object) -> list[psutil.Process]:
    main = psutil.Process(worker.process.pid)
    return [main, *main.children(recursive=True)]


class _Broker:
    """Sends tasks by name, as beat does, without the caller's Django settings."""

    def __init__(self, redis_url: str) -> None:
        from celery import Celery

        self.app = Celery("waic-ingestion-bench", broker=redis_url, set_as_current=False)
        self.app.conf.task_serializer = "json"
        self.redis_url = redis_url

    def send(self, name: str, queue: str, **kwargs: object) -> None:
        self.app.send_task(name, kwargs=kwargs, queue=queue)

    def forget(self, queue: str) -> None:
        """Delete what the run left in Redis: its queues, their bindings and the beat
        marker, every key naming the run's queue (unique to the run)."""
        import redis

        with redis.Redis.from_url(self.redis_url, socket_timeout=5) as client:
            keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
            if keys:
                client.delete(*keys)
        self.app.close()


def _wait_for(check: object, what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {limit:.0f} s")
        time.sleep(POLL_EVERY)


@contextlib.contextmanager
def running(
    *,
    workers: int = 1,
    documents: int = 400,
    database_url: str,
    redis_url: str,
    time_limit: float = 600.0,
    log_dir: Path | None = None,
    worker_env: dict[str, str] | None = None,
) -> Iterator[IngestionRun]:
    """Start ingesting `documents` articles with `workers` workers and yield while they
    run (the clock has started). On leaving, `run.result` holds the figures if it
    finished (call `run.wait()` inside the block to make sure); everything started here
    is stopped and the scratch database dropped either way."""
    from tests.ingest.payload_server import PayloadServer
    from tests.ingest.worker import Worker

    tag = uuid.uuid4().hex[:8]
    queue = f"waic-ing-{tag}"
    private = [f"{queue}.w{i}" for i in range(workers)]
    log_dir = log_dir or Path(tempfile.gettempdir())
    db_url = scratch_db.create_database(database_url, f"waic_ing_{tag}")
    server = PayloadServer().start()
    broker = _Broker(redis_url)
    started: list[Worker] = []
    run = IngestionRun(workers, documents, db_url, time_limit)
    env = {
        **(worker_env or {}),
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        # One queue for every task: these workers fetch and extract (a caller's
        # CELERY_EXTRACT_QUEUE would send extraction where no worker of the run listens).
        "CELERY_EXTRACT_QUEUE": "",
        "INGEST_ALLOW_LOOPBACK": "true",
        "CONN_MAX_AGE": "60",
        # As deployed: DEBUG off (with it on, every query is logged and kept).
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
    }
    try:
        measured = ingestion_payloads.serve_feeds(server, "m", documents)
        warm = [ingestion_payloads.serve_feeds(server, f"w{i}", 2)[0] for i in range(workers)]
        plan = {"measured": [u for u, _ in measured], "warm": [u for u, _ in warm]}
        setup = subprocess.run(
            [sys.executable, "-m", "bench.perf.ingestion_setup"],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **env},
            timeout=WARM_UP_LIMIT,
            check=True,
        )
        ids = json.loads(setup.stdout.strip().splitlines()[-1])
        run._sources = ids["measured"]
        run._conn = psycopg2.connect(db_url, connect_timeout=5)
        run._conn.autocommit = True
        for i in range(workers):
            worker = Worker(log_dir, concurrency=1, args=["-Q", f"{queue},{private[i]}"], **env)
            started.append(worker.start(timeout=WARM_UP_LIMIT))
        _warm_up(run, broker, private, ids["warm"])
        run._processes = [p for w in started for p in _worker_processes(w)]
        run._cpu_at_start = {p.pid: _cpu([p]) for p in run._processes}
        run.started = time.perf_counter()
        broker.send("governance.tasks.enqueue_due_sources", queue)
        yield run
    finally:
        for worker in started:
            worker.stop()
        server.stop()
        if run._conn is not None:
            run._conn.close()
        with contextlib.suppress(Exception):
            broker.forget(queue)
        scratch_db.drop_database(db_url)


def _warm_up(run: IngestionRun, broker: _Broker, private: list[str], warm: list[int]) -> None:
    """Each worker, through its private queue, fetches a feed and extracts a document."""

    def query(sql: str, params: tuple) -> tuple:
        return run._query(sql, params)

    for queue, source_id in zip(private, warm, strict=True):
        broker.send("governance.tasks.ingest_source", queue, source_id=source_id)

    def fetched_and_extracted() -> bool:
        runs, stored, pending = query(
            "SELECT (SELECT count(*) FROM governance_ingestrun WHERE source_id = ANY(%s) "
            "AND outcome <> 'running'), count(*), "
            "count(*) FILTER (WHERE extraction_status = 'pending') "
            "FROM governance_document WHERE source_id = ANY(%s)",
            (warm, warm),
        )
        return runs == len(warm) and stored > 0 and pending == 0

    _wait_for(fetched_and_extracted, "warm-up fetch", WARM_UP_LIMIT)
    # Extraction went to whichever worker was free: now each extracts one itself.
    marks = []
    for queue, source_id in zip(private, warm, strict=True):
        document_id, extracted_at = query(
            "SELECT id, extracted_at FROM governance_document WHERE source_id = %s "
            "ORDER BY id LIMIT 1",
            (source_id,),
        )
        marks.append((document_id, extracted_at))
        broker.send("governance.tasks.extract_document", queue, document_id=document_id)

    def re_extracted() -> bool:
        return all(
            query("SELECT extracted_at > %s FROM governance_document WHERE id = %s", (at, pk))[0]
            for pk, at in marks
        )

    _wait_for(re_extracted, "warm-up extraction", WARM_UP_LIMIT)


def measure(
    workers: int = 1,
    documents: int = 400,
    database_url: str | None = None,
    redis_url: str | None = None,
    **kwargs: object,
) -> IngestionResult:
    """Ingest `documents` articles end to end with `workers` workers; the figures."""
    database_url = database_url or os.environ["DATABASE_URL"]
    redis_url = redis_url or os.environ["REDIS_URL"]
    with running(
        workers=workers,
        documents=documents,
        database_url=database_url,
        redis_url=redis_url,
        **kwargs,
    ) as run:
        return run.wait()


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores "
        f"({platform.processor() or 'cpu'}), Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--json", type=Path, help="Append each result as a JSON line.")
    args = parser.parse_args()
    if not (args.database_url and args.redis_url):
        parser.error("DATABASE_URL and REDIS_URL (or --database-url, --redis-url) are needed")
    print(
        "| workers | documents | seconds | docs/s | docs/s per core | ms/doc per worker "
        "| worker CPU s | docs per worker CPU-s | worker CPU ms/doc | candidates |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _ in range(args.repeat):
        for workers in args.workers:
            r = measure(workers, args.documents, args.database_url, args.redis_url)
            print(
                f"| {r.workers} | {r.documents} | {r.seconds:.2f} | {r.documents_per_second:.1f} "
                f"| {r.documents_per_second_per_core:.1f} | {r.ms_per_document:.1f} "
                f"| {r.worker_cpu_seconds:.2f} | {r.documents_per_worker_cpu_second:.1f} "
                f"| {r.worker_cpu_ms_per_document:.1f} | {r.candidates} |",
                flush=True,
            )
            if args.json:
                with args.json.open("a") as out:
                    out.write(json.dumps({**r.as_dict(), "at": time.time()}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
