"""Worker memory under hostile payloads: growth stays below twice the size cap.

    uv run python bench/fetch_memory.py [--cap-mib 5] [--deadline 3] [--out bench/fetch-memory.md]

Issue #8, scenario 6. A real Celery worker (tests/ingest/worker.py: a subprocess behind
the loopback guard, one pool child) ingests, from a local server on 127.0.0.1, sources
that answer with a 50 MB body (with and without Content-Length), an endless chunked
body, decompression bombs for every encoding the fetcher offers (1 GiB of zeros), a
hung server and a 1 byte/s drip, with good feeds between them, on real Redis and
PostgreSQL, with INGEST_MAX_BYTES set to the cap. The worker's processes are sampled
every 20 ms (psutil RSS) and the kernel's high-water mark (VmHWM, reset per case
through /proc/<pid>/clear_refs) catches peaks shorter than a sample. The baseline is
the pool child's RSS once it is warm (a good feed fetched, parsed, stored and its
document extracted, so spaCy is loaded).

Phase 1 runs each hostile source alone (then a good feed), so each growth belongs to
one case; phase 2 enqueues them all at once, good feeds interleaved, in one beat tick.
Passes when, for every hostile source, the pool child's peak growth over the baseline
is below twice the cap and its first run failed with the expected reason, and every
good feed was stored. Exits 1 otherwise, 3 past the hard timeout.

The database is `waic_mem_bench`, dropped and created each run on the PostgreSQL server
of DATABASE_URL (default postgres://postgres@127.0.0.1:5432), and dropped at the end;
Redis is REDIS_URL (default redis://127.0.0.1:6379/4), on a queue of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MiB = 1 << 20
GiB = 1 << 30
DATABASE = "waic_mem_bench"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/4"
HARD_TIMEOUT = 170.0  # seconds; CI needs the script to end by itself


# --- Payloads ----------------------------------------------------------------------------


def deflate_bomb(decoded: int, container: str) -> bytes:
    """`decoded` zeros compressed once (raw deflate, about 1/1000 of the size), wrapped
    as gzip (RFC 1952) or zlib (RFC 1950) with correct checksums, or left raw (what
    some servers send as "deflate")."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(MiB)
    parts, crc, adler = [], 0, 1
    for _ in range(decoded // MiB):
        parts.append(compressor.compress(block))
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    parts.append(compressor.flush())
    raw = b"".join(parts)
    if container == "raw":
        return raw
    if container == "zlib":
        return b"\x78\xda" + raw + adler.to_bytes(4, "big")
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw + crc.to_bytes(4, "little") + (decoded % (1 << 32)).to_bytes(4, "little")


@dataclass
class Case:
    name: str
    route: dict[str, object]
    expected: str  # FailureReason value


def hostile_cases(cap: int) -> list[Case]:
    from governance.ingest.errors import FailureReason
    from tests.ingest.payload_server import drip, endless

    fifty_mb = b"<rss>" + b"x" * (50 * 1000 * 1000 - 5)
    gzip_bomb = deflate_bomb(GiB, "gzip")
    too_large, timeout = FailureReason.TOO_LARGE.value, FailureReason.TIMEOUT.value
    xml = {"Content-Type": "application/rss+xml"}
    return [
        Case("50 MB body, Content-Length", {"body": fifty_mb, "headers": xml}, too_large),
        Case(
            "50 MB body, no length (ends at close)",
            {"body": fifty_mb, "headers": xml, "close_delimited": True},
            too_large,
        ),
        Case("endless chunked body", {"body": endless(), "headers": xml}, too_large),
        Case(
            f"gzip bomb: 1 GiB of zeros in {len(gzip_bomb) / MiB:.1f} MiB",
            {"body": gzip_bomb, "headers": {**xml, "Content-Encoding": "gzip"}},
            too_large,
        ),
        Case(
            "gzip inside gzip: 1 GiB of zeros in a few kB",
            {
                "body": zlib.compress(gzip_bomb, 9, wbits=31),
                "headers": {**xml, "Content-Encoding": "gzip, gzip"},
            },
            too_large,
        ),
        Case(
            "deflate bomb (zlib stream): 1 GiB of zeros",
            {"body": deflate_bomb(GiB, "zlib"), "headers": {**xml, "Content-Encoding": "deflate"}},
            too_large,
        ),
        Case(
            "deflate bomb (raw stream): 1 GiB of zeros",
            {"body": deflate_bomb(GiB, "raw"), "headers": {**xml, "Content-Encoding": "deflate"}},
            too_large,
        ),
        Case("hung server (answers after 60 s)", {"body": b"<rss/>", "delay": 60}, timeout),
        Case(
            "1 byte/s drip",
            {"body": drip(b"<rss>" + b" " * 10_000), "headers": xml},
            timeout,
        ),
    ]


def check_encodings_covered() -> None:
    """A bomb per encoding the fetcher offers: if brotli or zstd gets installed, urllib3
    starts offering and decoding it, and this benchmark must grow a case for it."""
    from requests.utils import DEFAULT_ACCEPT_ENCODING

    offered = {e.strip() for e in DEFAULT_ACCEPT_ENCODING.split(",")}
    if offered - {"gzip", "deflate"}:
        raise SystemExit(f"the fetcher now offers {sorted(offered)}: add a bomb for each")


# --- Memory ------------------------------------------------------------------------------


def read_hwm(pid: int) -> int:
    """The kernel's peak RSS of the process since its last reset, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def reset_hwm(pid: int) -> None:
    """Set the peak back to the current RSS (Linux: "5" into clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class Sampler:
    """RSS of the worker's processes every `interval` seconds, in a thread."""

    def __init__(self, root_pid: int, interval: float = 0.02) -> None:
        import psutil

        self.root = psutil.Process(root_pid)
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (monotonic time, pid, rss)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            now = time.monotonic()
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    self.samples.append((now, process.pid, process.memory_info().rss))
            self._stop.wait(self.interval)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, pid: int, start: float, end: float) -> int:
        return max((r for t, p, r in self.samples if p == pid and start <= t <= end), default=0)

    def settled(self, pid: int, seconds: float) -> int:
        """The median RSS over the last `seconds`: the baseline, free of one-off spikes."""
        since = time.monotonic() - seconds
        values = [r for t, p, r in self.samples if p == pid and t >= since]
        return int(statistics.median(values))


# --- The run -----------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    phase: int
    expected: str
    reason: str = ""
    outcome: str = ""
    error: str = ""
    seconds: float = 0.0  # the first run's duration: time to abort
    sampled_peak: int = 0
    kernel_peak: int = 0
    own_growth: int = 0  # the kernel peak over the RSS just before the window
    good: bool = False  # a good feed, stored rather than refused
    passed: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max(self.sampled_peak, self.kernel_peak)


class Bench:
    def __init__(self, cap: int, deadline: float, log_dir: Path) -> None:
        from tests.ingest.payload_server import PayloadServer
        from tests.ingest.worker import Worker

        self.cap, self.deadline = cap, deadline
        self.server = PayloadServer().start()
        self.worker = Worker(
            log_dir,
            INGEST_MAX_BYTES=str(cap),
            INGEST_FETCH_DEADLINE=str(deadline),
            # A real worker is not in DEBUG: Django would keep the text of its queries.
            DEBUG="false",
        )
        self.sampler: Sampler | None = None
        self.child = 0
        self.baseline = self.main_baseline = 0
        self.goods = 0

    def start(self) -> None:
        self.worker.start()
        assert self.worker.process
        children = self.worker.pool_children()
        if len(children) != 1:
            raise SystemExit(f"expected one pool child, found {len(children)}")
        self.child = children[0].pid
        self.sampler = Sampler(self.worker.process.pid).start()

    def stop(self) -> None:
        if self.sampler:
            self.sampler.stop()
        self.worker.stop()
        self.server.stop()

    def main_growth(self) -> int:
        assert self.sampler and self.worker.process
        return self.sampler.peak(self.worker.process.pid, 0, time.monotonic()) - self.main_baseline

    def source(self, path: str, route: dict[str, object]) -> int:
        from governance.models import Source

        self.server.add(path, **route)
        source = Source.objects.create(
            name=f"bench {path}", kind=Source.Kind.FEED, url=self.server.url(path)
        )
        return source.pk

    def good_feed(self, summary_page: bool = False) -> tuple[int, int]:
        """A new good feed; returns its source id and how many documents it must store."""
        from tests.ingest.feeds import PARAGRAPHS, article, rss

        self.goods += 1
        n = self.goods
        text = f"{PARAGRAPHS[n % 3]} Report number {n} of the benchmark."
        items = [{"title": f"Good {n}", "link": f"http://wire.test/good/{n}", "content": text}]
        if summary_page:  # warms up the page path too: fetch, trafilatura
            page = f"/articles/{n}.html"
            self.server.add(
                page,
                body=article(f"Article {n}", [*PARAGRAPHS, f"Page {n}."]),
                headers={"Content-Type": "text/html"},
            )
            items.append({"title": f"Page {n}", "link": self.server.url(page), "summary": "…"})
        route = {"body": rss(items), "headers": {"Content-Type": "application/rss+xml"}}
        return self.source(f"/good-{n}.xml", route), len(items)

    def tick(self, expected: int) -> None:
        from governance.tasks import enqueue_due_sources

        enqueued = enqueue_due_sources()["enqueued"]
        if enqueued != expected:
            raise SystemExit(f"a beat tick enqueued {enqueued} sources, expected {expected}")

    def wait_for_first_runs(self, source_ids: list[int], timeout: float = 60.0) -> None:
        from governance.models import IngestRun

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = (
                IngestRun.objects.filter(source_id__in=source_ids)
                .exclude(outcome=IngestRun.Outcome.RUNNING)
                .values("source_id")
                .distinct()
                .count()
            )
            if done == len(source_ids):
                return
            if self.worker.process and self.worker.process.poll() is not None:
                raise SystemExit(f"the worker died:\n{self.worker.log()[-3000:]}")
            time.sleep(0.05)
        raise SystemExit(f"sources {source_ids} not all fetched within {timeout:g} s")

    def warm_up(self) -> None:
        from governance.models import Document, ExtractionStatus

        source, _ = self.good_feed(summary_page=True)
        self.tick(1)
        self.wait_for_first_runs([source])
        deadline = time.monotonic() + 90
        while Document.objects.filter(extraction_status=ExtractionStatus.PENDING).exists():
            if time.monotonic() > deadline:
                raise SystemExit("the warm-up documents were never extracted")
            time.sleep(0.1)
        time.sleep(1.0)  # let the child go idle
        assert self.sampler and self.worker.process
        self.baseline = self.sampler.settled(self.child, 0.5)
        self.main_baseline = self.sampler.settled(self.worker.process.pid, 0.5)

    def measure(self, cases: list[tuple[Case, int, int]], phase: int) -> list[Result]:
        """Enqueue `cases` (case, source id, documents a good feed must store) in one
        tick and wait for each first run; the peak over the window is shared by them."""
        import psutil

        reset_hwm(self.child)
        before = psutil.Process(self.child).memory_info().rss
        start = time.monotonic()
        self.tick(len(cases))
        ids = [source for _, source, _ in cases]
        self.wait_for_first_runs(ids)
        end = time.monotonic()
        time.sleep(0.05)  # one more sample past the end
        assert self.sampler
        sampled = self.sampler.peak(self.child, start, end + 0.05)
        kernel = read_hwm(self.child)
        return [
            self.judge(case, source, docs, phase, sampled, kernel, before)
            for case, source, docs in cases
        ]

    def judge(
        self, case: Case, source: int, docs: int, phase: int, sampled: int, kernel: int, before: int
    ) -> Result:
        from governance.models import IngestRun

        run = IngestRun.objects.filter(source_id=source).order_by("started_at").first()
        assert run is not None and run.finished_at is not None
        result = Result(
            case=case.name,
            phase=phase,
            expected=case.expected,
            reason=run.failure_reason,
            outcome=run.outcome,
            error=run.error,
            seconds=(run.finished_at - run.started_at).total_seconds(),
            sampled_peak=sampled - self.baseline,
            kernel_peak=kernel - self.baseline,
            own_growth=kernel - before,
            good=case.expected == "",
        )
        if result.good:
            if run.outcome != IngestRun.Outcome.NEW or run.documents_new != docs:
                result.problems.append(
                    f"stored {run.documents_new} of {docs} ({run.outcome}: {run.error})"
                )
        else:
            if run.outcome != IngestRun.Outcome.FAILED or run.failure_reason != case.expected:
                result.problems.append(f"recorded {run.outcome}/{run.failure_reason or '-'}")
            if result.peak >= 2 * self.cap:
                result.problems.append("memory growth not below twice the cap")
        result.passed = not result.problems
        return result

    def run(self) -> list[Result]:
        cases = hostile_cases(self.cap)
        good = Case("good feed", {}, "")
        results: list[Result] = []
        for number, case in enumerate(cases):  # phase 1: one at a time, a good feed after each
            source = self.source(f"/hostile-{number}", case.route)
            results += self.measure([(case, source, 0)], phase=1)
            results += self.measure([(good, *self.good_feed())], phase=1)
        together: list[tuple[Case, int, int]] = []  # phase 2: everything in one tick
        for number, case in enumerate(cases):
            together.append((case, self.source(f"/together-{number}", case.route), 0))
            together.append((good, *self.good_feed()))
        results += self.measure(together, phase=2)
        return results


# --- Set-up, report ----------------------------------------------------------------------


def database_urls() -> tuple[str, str]:
    """(the server's maintenance database, the benchmark's database) from DATABASE_URL."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    return (
        urlunsplit(parts._replace(path="/postgres", query="")),
        urlunsplit(parts._replace(path=f"/{DATABASE}", query="")),
    )


def recreate_database(maintenance_url: str, *, create: bool = True) -> None:
    import psycopg2

    connection = psycopg2.connect(maintenance_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        if create:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()


def purge_queue(redis_url: str, queue: str) -> None:
    """Remove this run's queue (and the retries it left waiting) from the shared Redis."""
    import redis

    client = redis.Redis.from_url(redis_url)
    bindings = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
    client.delete(queue, *bindings, *client.keys(f"{queue}\x06\x16*"))
    client.close()


def mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


def how(error: str) -> str:
    """The run's error without the URL in front and the retry note behind."""
    return error.split(": ", 1)[-1].removesuffix(" (will retry)")


def report(results: list[Result], bench: Bench, total_seconds: float) -> str:
    from requests.utils import DEFAULT_ACCEPT_ENCODING

    hostile = [r for r in results if not r.good]
    goods = [r for r in results if r.good]
    alone = [r for r in hostile if r.phase == 1]
    together = [r for r in hostile if r.phase == 2]
    worst = max(alone, key=lambda r: r.peak)
    verdict = "PASS" if all(r.passed for r in results) else "FAIL"

    def failed(r: Result) -> str:
        return "" if r.passed else f" **FAIL: {'; '.join(r.problems)}**"

    lines = [
        "# Worker memory under hostile payloads (issue #8, scenario 6)",
        "",
        "Command: `uv run python bench/fetch_memory.py` (CI runs it too)  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; PostgreSQL and Redis on 127.0.0.1  ",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {total_seconds:.0f} s in all  ",
        f"Cap (`INGEST_MAX_BYTES`): {mib(bench.cap)}; bound: growth below {mib(2 * bench.cap)}; "
        f"deadline (`INGEST_FETCH_DEADLINE`): {bench.deadline:g} s; the fetcher offers "
        f"`Accept-Encoding: {DEFAULT_ACCEPT_ENCODING}`  ",
        f"Baseline (warm pool child: a feed and a page fetched, stored and extracted): "
        f"{mib(bench.baseline)}; worker main process {mib(bench.main_baseline)}, which "
        f"grew by {mib(bench.main_growth())} at most  ",
        f"Result: **{verdict}**. Worst growth alone {mib(worst.peak)} ({worst.case}, "
        f"{worst.peak / bench.cap:.2f}× the cap); all together "
        f"{mib(together[0].peak)} ({together[0].peak / bench.cap:.2f}× the cap).",
        "",
        "A real Celery worker (prefork, one pool child) fetches each source from a server "
        "on 127.0.0.1 and records an IngestRun. *Growth* is the pool child's peak RSS while "
        "the source was enqueued and fetched, minus the baseline: *sampled* is psutil every "
        "20 ms, *kernel* the process's VmHWM reset just before (it sees peaks shorter than "
        "a sample); *own* is the kernel peak minus the RSS just before the case. Memory an "
        "earlier case or good feed freed stays resident, kept by the allocator for reuse: "
        "a case can reuse it and cost almost nothing, and growth over the baseline drifts "
        "up as the run goes on (a bomb's buffer left resident, thread stacks, caches). "
        "It is all counted against the bound. *Time to abort* is "
        "the first run's duration; a timed-out source is then retried, as transient "
        "failures are, while later cases are measured.",
        "",
        "Scope: this is what the worker holds while it refuses a source. A body the cap "
        "accepts is then parsed, and feedparser, lxml and trafilatura build trees many "
        "times its size; that is not bounded by this figure.",
        "",
        "## Phase 1: one hostile source at a time, a good feed after each",
        "",
        "| source | recorded | time to abort | growth, sampled | growth, kernel | own | × cap |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in alone:
        lines.append(
            f"| {r.case} | {r.reason or r.outcome}: {how(r.error)}{failed(r)} | "
            f"{r.seconds:.2f} s | {mib(r.sampled_peak)} | {mib(r.kernel_peak)} | "
            f"{mib(r.own_growth)} | {r.peak / bench.cap:.2f} |"
        )
    stored = sum(r.passed for r in goods)
    lines += [
        "",
        f"Good feeds: {stored} of {len(goods)} stored (one after each hostile source in "
        f"phase 1, one after each in phase 2, besides the warm-up); largest growth while "
        f"one was fetched, stored and extracted: "
        f"{mib(max(r.peak for r in goods if r.phase == 1))}.",
        "",
        "## Phase 2: all of them in one beat tick, good feeds interleaved",
        "",
        f"{len(together)} hostile sources and {len([r for r in goods if r.phase == 2])} "
        f"good feeds enqueued together; the worker took them in turn. Growth over the whole "
        f"phase: sampled {mib(together[0].sampled_peak)}, kernel "
        f"{mib(together[0].kernel_peak)}, own {mib(together[0].own_growth)}.",
        "",
        "| source | recorded | time to abort |",
        "|---|---|---:|",
    ]
    for r in together:
        lines.append(f"| {r.case} | {r.reason or r.outcome}{failed(r)} | {r.seconds:.2f} s |")
    for r in goods:
        if not r.passed:
            lines.append(f"\nGood feed not stored (phase {r.phase}): {'; '.join(r.problems)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mib", type=float, default=5.0, help="INGEST_MAX_BYTES in MiB")
    parser.add_argument("--deadline", type=float, default=3.0, help="INGEST_FETCH_DEADLINE")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "fetch-memory.md")
    args = parser.parse_args(argv)
    cap = int(args.cap_mib * MiB)

    maintenance_url, database_url = database_urls()
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    queue = f"fetch-memory-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="waic.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        INGEST_ALLOW_LOOPBACK="true",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or f"bench-{uuid.uuid4().hex}",
    )
    from tests.ingest import loopback_guard

    loopback_guard.install()  # this process too: nothing but 127.0.0.1 and ::1
    recreate_database(maintenance_url)

    import django

    django.setup()
    from django.core.management import call_command

    check_encodings_covered()
    call_command("migrate", verbosity=0)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fetch-memory-") as log_dir:
        bench = Bench(cap, args.deadline, Path(log_dir))

        def give_up() -> None:
            print(f"hard timeout: not done within {HARD_TIMEOUT:g} s", file=sys.stderr)
            print(bench.worker.log()[-3000:], file=sys.stderr)
            bench.worker.kill()
            os._exit(3)

        watchdog = threading.Timer(HARD_TIMEOUT, give_up)
        watchdog.daemon = True
        watchdog.start()
        try:
            bench.start()
            bench.warm_up()
            results = bench.run()
            guard_refusals = "test guard: refused" in bench.worker.log()
        finally:
            bench.stop()
            watchdog.cancel()
            from django.db import connections

            connections.close_all()
            purge_queue(redis_url, queue)
            recreate_database(maintenance_url, create=False)

    text = report(results, bench, time.monotonic() - started)
    args.out.write_text(text)
    print(text)
    ok = all(r.passed for r in results) and not guard_refusals
    if guard_refusals:
        print("FAIL: the worker tried to connect beyond loopback", file=sys.stderr)
    print(f"{'PASS' if ok else 'FAIL'}; written to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
