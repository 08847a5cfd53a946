"""Ingestion throughput on local payloads: documents per second per worker.

    uv run python bench/ingest_throughput.py [--feeds 8] [--entries 25]

Serves generated feeds (and article pages) from a local HTTP server on
127.0.0.1, ingests them into a scratch database `waic_bench` (created and
dropped here, on DATABASE_URL's server or the embedded one), and measures:

1. in-process: one process running fetch → parse → store, feed after feed;
2. one real Celery worker (concurrency 1) fed by beat's enqueue task;
each for feeds carrying full text, and for summary-only feeds whose every
entry needs its article page fetched. Writes bench/ingest-results.md.
Bounded: a fixed number of documents, and each phase stops after 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
os.environ["INGEST_ALLOW_LOOPBACK"] = "true"
os.environ["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"

from bench import scratch_db  # noqa: E402
from waic import services  # noqa: E402

SEED_ARTICLE = ROOT / "governance" / "fixtures" / "seed" / "waic-2025-article.txt"
PHASE_LIMIT = 600.0


def scratch_database() -> tuple[str, services.EmbeddedServices | None]:
    """DATABASE_URL of a fresh `waic_bench` database (embedded servers if none are set)."""
    started = None
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        started = services.start_services(
            postgres=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL")
        )
        started.export()
    return scratch_db.create_database(os.environ["DATABASE_URL"], "waic_bench"), started


def make_texts(n: int, rng: random.Random) -> list[list[str]]:
    """n distinct articles of ~2,500 characters in the seed article's vocabulary."""
    words = SEED_ARTICLE.read_text(encoding="utf-8").split()
    articles = []
    for i in range(n):
        paragraphs = []
        for _ in range(5):
            sentence = " ".join(rng.choice(words) for _ in range(80))
            paragraphs.append(f"{sentence}. Article {i}.")
        articles.append(paragraphs)
    return articles


def serve(server: object, prefix: str, feeds: int, entries: int, *, pages: bool) -> list[str]:
    from tests.ingest.feeds import article, rss

    rng = random.Random(f"{prefix}-{feeds}-{entries}-{pages}")
    texts = iter(make_texts(feeds * entries, rng))
    urls = []
    for f in range(feeds):
        items = []
        for e in range(entries):
            paragraphs = next(texts)
            link = server.url(f"/{prefix}/{f}/{e}.html")
            if pages:
                server.add(
                    f"/{prefix}/{f}/{e}.html",
                    body=article(f"Story {f}-{e}", paragraphs),
                    headers={"Content-Type": "text/html; charset=utf-8"},
                )
                items.append(
                    {"title": f"Story {f}-{e}", "link": link, "summary": paragraphs[0][:200]}
                )
            else:
                content = "".join(f"<p>{p}</p>" for p in paragraphs)
                items.append({"title": f"Story {f}-{e}", "link": link, "content": content})
        server.add(
            f"/{prefix}/{f}.xml", body=rss(items), headers={"Content-Type": "application/rss+xml"}
        )
        urls.append(server.url(f"/{prefix}/{f}.xml"))
    return urls


def register(urls: list[str], prefix: str) -> list[int]:
    from governance.models import Source

    return [
        Source.objects.create(name=f"{prefix} {i}", kind=Source.Kind.FEED, url=url).pk
        for i, url in enumerate(urls)
    ]


def in_process(source_ids: list[int]) -> tuple[int, float]:
    from governance.ingest import pipeline
    from governance.models import Document

    before = Document.objects.count()
    started = time.perf_counter()
    for source_id in source_ids:
        source = pipeline.claim(source_id)
        run = pipeline.ingest(source).run
        assert run.outcome == "new", (run.outcome, run.error)
    elapsed = time.perf_counter() - started
    return Document.objects.count() - before, elapsed


def with_worker(source_ids: list[int], log_dir: Path) -> tuple[int, float]:
    from governance.models import Document, IngestRun
    from governance.tasks import enqueue_due_sources
    from tests.ingest.worker import Worker

    worker = Worker(log_dir, CONN_MAX_AGE="60").start()
    try:
        before = Document.objects.count()
        started = time.perf_counter()
        enqueue_due_sources()
        deadline = time.monotonic() + PHASE_LIMIT
        while time.monotonic() < deadline:
            done = (
                IngestRun.objects.filter(source_id__in=source_ids)
                .exclude(outcome=IngestRun.Outcome.RUNNING)
                .count()
            )
            if done >= len(source_ids):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        return Document.objects.count() - before, elapsed
    finally:
        worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--entries", type=int, default=25)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "ingest-results.md")
    args = parser.parse_args()

    bench_url, started = scratch_database()
    os.environ["DATABASE_URL"] = bench_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from tests.ingest.payload_server import PayloadServer

    server = PayloadServer().start()
    rows = []
    try:
        for pages in (False, True):
            kind = "summary + article page" if pages else "full text in feed"
            for mode in ("in-process", "celery worker"):
                prefix = f"{'p' if pages else 'f'}{'w' if mode != 'in-process' else 'i'}"
                ids = register(serve(server, prefix, args.feeds, args.entries, pages=pages), prefix)
                if mode == "in-process":
                    docs, seconds = in_process(ids)
                else:
                    docs, seconds = with_worker(ids, Path(os.environ.get("TMPDIR", "/tmp")))
                rows.append((kind, mode, docs, seconds))
                print(
                    f"{kind:24} {mode:14} {docs:5d} documents in {seconds:6.2f} s "
                    f"= {docs / seconds:6.1f} documents/s",
                    flush=True,
                )
    finally:
        server.stop()
        from django.db import connections

        connections.close_all()
        scratch_db.drop_database(bench_url)
        if started:
            started.stop()

    import django as dj

    lines = [
        "# Ingestion throughput (local payloads)",
        "",
        f"Command: `uv run python bench/ingest_throughput.py --feeds {args.feeds} "
        f"--entries {args.entries}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Django {dj.get_version()}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "Each document: ~2,500 characters, fetched from 127.0.0.1, parsed, language "
        "detected, deduplicated and stored in PostgreSQL; the worker rows include Celery "
        "and Redis. One worker = one process with concurrency 1 (one core).",
        "",
        "| feed entries | where | documents | seconds | documents/s |",
        "|---|---|---:|---:|---:|",
        *(f"| {k} | {m} | {d} | {s:.2f} | {d / s:.1f} |" for k, m, d, s in rows),
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
