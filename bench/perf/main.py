"""bench/run: the tracker at 1,000,000 statements against the framework floor and Datasette.

    bench/run [--rounds 5] [--seconds 10] [--connections 4] [--statements 1000000] [--quick]

Everything runs on loopback and ends by itself. Steps:
0. cold start: `manage.py up` on an empty VAR_DIR to its first page (bench/perf/cold_start.py);
1. the dataset: database `waic_perf` on DATABASE_URL's server (embedded servers when the
   variables are unset), generated once with `manage.py generate_data` (timed) and kept
   for the next run;
2. gunicorn with the production settings serving the tracker, a second one serving the
   hello-world floor (bench/perf/floor.py), Datasette on a SQLite export of the same
   statements (bench/perf/datasette_peer.py);
3. wrk over every page, interleaved over the rounds; one request per page just after a
   data change (the count cache empty); the 100,000-row CSV export;
4. ingestion end to end with 1 and 2 workers (bench/perf/ingestion.py), and the search's
   p99 while 2 workers ingest; the review queue (bench/perf/review.py);
5. bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pickle
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.perf import host_speed as speed_of_host  # noqa: E402
from bench.perf import http_load  # noqa: E402
from bench.perf.http_load import Scenario  # noqa: E402

DATABASE = "waic_perf"
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # Chromium's Accept-Encoding
RESULTS = ROOT / "bench" / "RESULTS.md"
MAX_PROBES = 30  # of the search while ingesting: bounds the run if ingestion stalls


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _psql(admin_url: str, sql: str) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def ensure_dataset(server_url: str, statements: int, environ: dict[str, str]) -> dict:
    """waic_perf with `statements` generated statements; generated (and timed) if absent."""
    admin = _with_database(server_url, "postgres")
    url = _with_database(server_url, DATABASE)
    exists = _psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
    have = None
    if exists:
        with contextlib.suppress(Exception):
            have = _psql(url, "SELECT count(*) FROM governance_statement")[0][0]
    env = {**environ, "DATABASE_URL": url, "DEBUG": "true"}
    manage = [sys.executable, "manage.py"]
    info: dict = {"reused": False}
    if have is not None and have >= statements:
        log(f"dataset: reusing {DATABASE} ({have:,} statements)")
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        info.update(reused=True, statements=have)
        return info
    log(f"dataset: creating {DATABASE} with {statements:,} statements")
    _psql(admin, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _psql(admin, f"CREATE DATABASE {DATABASE}")
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed"], cwd=ROOT, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [*manage, "generate_data", "--statements", str(statements), "--seed", "1"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    info["generate_seconds"] = time.perf_counter() - start
    # Index-only scans need the visibility map a fresh table lacks.
    _psql(url, "VACUUM ANALYZE")
    info["statements"] = _psql(url, "SELECT count(*) FROM governance_statement")[0][0]
    return info


def scenarios(pairs: list) -> tuple[list[Scenario], list[Scenario]]:
    """(ours, Datasette's) pages; A3/A4 come from the peer's equivalent pairs."""
    from django.db.models import Count

    from governance.models import Proposal

    proposal = Proposal.objects.annotate(n=Count("participations")).order_by("-n", "pk").first()
    a3 = next(p for p in pairs if p.name.startswith("A3"))
    selective = next(p for p in pairs if p.name.startswith("A4 search selective"))
    common = next(p for p in pairs if p.name.startswith("A4 search common"))
    htmx = {"HX-Request": "true", "HX-Target": "browser", "HX-Current-URL": "/statements/"}
    ours = [
        Scenario("A1", "dashboard", "/"),
        Scenario("A2", "statements list", "/statements/"),
        Scenario("A3", "statements, two facets", a3.tracker),
        Scenario("A4s", "search, selective term", selective.tracker),
        Scenario("A4c", "search, common term", common.tracker),
        Scenario("A5", "country detail", "/countries/us/"),
        Scenario("A6", "proposal detail", f"/proposals/{proposal.slug}/"),
        Scenario("A7", "htmx partial of A3", a3.tracker, htmx),
    ]
    peer = [
        Scenario("P3", "Datasette: two facets", a3.peer),
        Scenario("P4s", "Datasette: search, selective", selective.peer),
        Scenario("P4c", "Datasette: search, common", common.peer),
    ]
    return ours, peer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--ingest-documents", type=int, default=400)
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 3 s, 100 documents: a smoke run"
    )
    parser.add_argument(
        "--parts",
        default="coldstart,pages,ingestion,review",
        help="comma-separated subset of coldstart,pages,ingestion,review (default: all)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.ingest_documents = 1, 3.0, 100
    http_load.wrk_path()
    # SIGTERM (kill, timeout) stops the run like Ctrl-C: servers and workers stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started_at = datetime.datetime.now(datetime.UTC)

    from waic import services

    embedded = None
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        embedded = services.start_services(
            postgres=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL")
        )
        embedded.export()
    try:
        return _run(args, started_at)
    finally:
        if embedded is not None:
            embedded.stop()


def _run(args: argparse.Namespace, started_at: datetime.datetime) -> int:
    from bench.perf import report

    server_url, redis_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    parts = set(args.parts.split(","))
    results: dict = {"args": vars(args), "started_at": started_at}
    if "coldstart" in parts:
        # First, while nothing else of the bench runs.
        from bench.perf import cold_start

        log("cold start: manage.py up on an empty VAR_DIR, to the first page (3 runs)")
        results["cold_start"] = cold_start.measure(runs=1 if args.quick else 3)
        log(f"    {results['cold_start'].describe()}")
    dataset = ensure_dataset(server_url, args.statements, dict(os.environ))
    url = _with_database(server_url, DATABASE)
    environ = http_load.production_environ(url, redis_url)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "waic.settings"})
    import django

    django.setup()
    from bench.perf import datasette_peer

    results["dataset"] = dataset
    work = Path(tempfile.mkdtemp(prefix="waic-bench-"))
    log(f"logs in {work}")
    http_load.collectstatic(environ)

    peer_db = work / f"{datasette_peer.DB_NAME}.db"
    log("Datasette: exporting the statements to SQLite")
    results["export"] = datasette_peer.export(url, peer_db)
    pairs = datasette_peer.peer_urls()
    ours, peer = scenarios(pairs)
    f1 = Scenario("F1", "hello-world floor", "/")
    for s in [f1, *ours, *peer]:  # what a browser sends with every request
        s.headers = {"Accept-Encoding": BROWSER_ENCODINGS, **s.headers}

    with contextlib.ExitStack() as stack:
        base = stack.enter_context(http_load.gunicorn(environ, work))
        floor = stack.enter_context(http_load.gunicorn(environ, work, settings="bench.perf.floor"))
        peer_base = stack.enter_context(datasette_peer.serve(peer_db, http_load.free_port()))
        results["equivalence"] = datasette_peer.verify_equivalence(url, peer_base, pairs)
        # Every gunicorn worker loads the URLconf and templates on its first request.
        for _ in range(12):
            http_load.timed_get(base + "/countries/")
        results["first_request"] = first_requests(base, ours)
        everything = [(floor, f1)] + [(base, s) for s in ours] + [(peer_base, s) for s in peer]
        for _, s in everything:  # warm: templates, connections, caches
            for _ in range(3):
                http_load.timed_get(_base_of(s, base, floor, peer_base) + s.url, s.headers)
        for round_no in range(1, args.rounds + 1):
            for host, s in everything:
                log(f"round {round_no}/{args.rounds}: {s.key} {s.title}")
                run = http_load.wrk(
                    host + s.url,
                    connections=args.connections,
                    seconds=args.seconds,
                    headers=s.headers,
                )
                s.runs.append(run)
                log(f"    {http_load.describe(run)}")
        results["scenarios"] = everything
        results["export_csv"] = csv_export(base)
        if "ingestion" in parts:
            results["host_speed"] = host_speed()
            results["search_under_ingestion"], results["ingestion"] = ingestion(
                args, base, ours, server_url, redis_url, work
            )
        if "review" in parts:
            results["review"] = review(url, base)
    results["finished_at"] = datetime.datetime.now(datetime.UTC)
    results["machine"] = machine()
    # Every figure, also when the report cannot be written (pickle: the dataclasses as is).
    (work / "results.pickle").write_bytes(pickle.dumps(results))
    args.output.write_text(report.render(results))
    log(f"wrote {args.output}")
    return 0


def _base_of(s: Scenario, base: str, floor: str, peer: str) -> str:
    return floor if s.key == "F1" else peer if s.key.startswith("P") else base


def first_requests(base: str, ours: list[Scenario]) -> dict[str, float]:
    """Each page once right after a data change (count cache empty), then once warm."""
    from governance import count_cache

    out = {}
    for s in ours:
        count_cache.bump()
        cold, status, _ = http_load.timed_get(base + s.url, s.headers)
        warm, _, _ = http_load.timed_get(base + s.url, s.headers)
        s.first_ms = cold
        out[s.key] = {"cold_ms": cold, "warm_ms": warm, "status": status}
    return out


def csv_export(base: str, runs: int = 3) -> dict:
    """A8: the statements of one kind (about 100,000 rows) as CSV, streamed to the end."""
    from governance.models import Statement

    kind = "remarks"
    rows = Statement.objects.filter(kind=kind).count()
    path = f"/statements/?kind={kind}&format=csv"
    timings = []
    for _ in range(runs):
        ms, status, size = http_load.timed_get(base + path)
        if status != 200:
            raise RuntimeError(f"A8 {path} answered {status}")
        timings.append((ms, size))
    return {"path": path, "rows": rows, "runs": timings}


def host_speed() -> dict[str, Any]:
    """Extraction's own speed on this host, in a process of its own (bench/perf/host_speed.py)."""
    log("host speed: spaCy's parse and the rules in one process")
    out = subprocess.run(
        [sys.executable, "-m", "bench.perf.host_speed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def ingestion(
    args: argparse.Namespace,
    base: str,
    ours: list[Scenario],
    server_url: str,
    redis_url: str,
    work: Path,
) -> tuple[dict, dict]:
    """Documents/s with 1 and 2 workers; A4 (selective) p99 at rest and while 2 ingest."""
    from bench.perf import ingestion as ingest

    search = next(s for s in ours if s.key == "A4s")
    seconds = max(args.seconds, 5.0)

    def probe() -> http_load.WrkRun:
        # Both probes measure the page as analysts get it most of the time: cached (the
        # entry may have expired since the page rounds).
        http_load.timed_get(base + search.url, search.headers)
        return http_load.wrk(
            base + search.url,
            connections=args.connections,
            seconds=seconds,
            headers=search.headers,
        )

    figures = {}
    for workers in (1, 2):
        log(f"ingestion: {workers} worker(s), {args.ingest_documents} documents")
        figures[workers] = ingest.measure(
            workers=workers,
            documents=args.ingest_documents,
            database_url=server_url,
            redis_url=redis_url,
            log_dir=work,
        )
    # One 10-second probe is at the mercy of this machine's slow spells (F1 at half speed
    # for ~40 s at a time): three at rest (two before, one after) and, during, one after
    # another until the workers are done, so that the probes cover fetching and storing
    # (the feeds' tasks come first in the queue) and then extraction; medians.
    log("search p99 at rest, then while 2 workers ingest, then at rest again")
    at_rest = [probe(), probe()]

    def during_ingestion(worker_env: dict[str, str], limit: int) -> tuple[list, list]:
        probes: list[http_load.WrkRun] = []
        progress: list[tuple[int, int]] = []  # documents stored and extracted after each
        with ingest.running(
            workers=2,
            documents=args.ingest_documents * 4,
            database_url=server_url,
            redis_url=redis_url,
            log_dir=work,
            worker_env=worker_env,
        ) as run:
            time.sleep(2)
            while True:
                probes.append(probe())
                progress.append(run.progress())
                log(f"    probe {len(probes)}: {http_load.describe(probes[-1])}; {progress[-1]}")
                if run.done() or len(probes) >= limit:
                    break
        return probes, progress

    # As deployed: extraction yields to the busy web server (WORKER_YIELD_AT).
    during, progress = during_ingestion({}, MAX_PROBES)
    # For comparison, workers that never wait (as before WORKER_YIELD_AT existed).
    log("search p99 while 2 workers ingest without yielding (WORKER_YIELD_AT=0)")
    unyielding, unyielding_progress = during_ingestion({"WORKER_YIELD_AT": "0"}, 8)
    at_rest.append(probe())
    return {
        "at_rest": at_rest,
        "during": during,
        "progress": progress,
        "unyielding": unyielding,
        "unyielding_progress": unyielding_progress,
    }, figures


def review(url: str, base: str) -> object:
    from bench.perf import review as review_bench

    log("review queue: preparing candidates")
    curator = review_bench.prepare(url)
    log("review queue: render and accept")
    return review_bench.measure(base, curator)


def checkout(root: Path = ROOT) -> str:
    """The commit measured: HEAD, "with uncommitted changes" if tracked files differ from it
    (bench/RESULTS.md aside: each run rewrites it); "unknown" outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        changed = git(
            "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes" if changed else head


def machine() -> dict[str, str]:
    import django
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    cpu = speed_of_host.cpuinfo_field("model name") or "unknown"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    wrk_version = subprocess.run(
        [http_load.wrk_path(), "-v"], capture_output=True, text=True
    ).stdout.splitlines()
    versions = {}
    for package in ("gunicorn", "datasette", "celery", "psycopg2-binary", "psycopg2"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    return {
        "commit": checkout(),
        "cpu": f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg,
        "wrk": wrk_version[0] if wrk_version else "wrk",
        **versions,
    }


if __name__ == "__main__":
    sys.exit(main())
