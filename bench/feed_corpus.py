"""Robustness run over a corpus of feed files: parse, or parse and store (no network).

    uv run python bench/feed_corpus.py [CORPUS_DIR] [--slow SECONDS] [--store]

CORPUS_DIR defaults to ../shared/corpora/feeds next to the repository (feedparser's
own test feeds: well-formed, ill-formed, odd encodings, entities, HTML to sanitize).

Without --store, every file must end as a ParsedFeed or a ParseError. With --store
(needs DATABASE_URL; CI runs this), every file goes through the real ingestion of a
feed Source, its bytes handed in as the fetched response: parse, dedupe, store, and an
IngestRun. Every file must then end in stored Documents or a recorded run with a clear
outcome, never an internal error. Either way each file must take under --slow seconds
(2 s), and the process's peak memory must stay under --max-rss MB. Summary-only entries
keep their summary: no article page is fetched (INGEST_MAX_PAGES_PER_RUN=0).
Prints a table of outcomes and the slowest files; exits 1 on any failure of these.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "feeds"
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_only(path: Path, url: str, outcomes: Counter[str]) -> None:
    from governance.ingest.errors import ParseError
    from governance.ingest.parse import parse_feed

    try:
        feed = parse_feed(path.read_bytes(), url=url)
    except ParseError as exc:
        outcomes[f"failed: {exc.reason.value}"] += 1
    else:
        outcomes["ok"] += 1
        outcomes["(entries)"] += len(feed.entries)


def parse_and_store(path: Path, url: str, outcomes: Counter[str]) -> None:
    from governance.ingest.fetch import FetchResult
    from governance.ingest.pipeline import ingest
    from governance.models import IngestRun, Source

    source = Source.objects.create(name=f"corpus: {url}", kind=Source.Kind.FEED, url=url)
    response = FetchResult(
        url=url,
        status=200,
        content=path.read_bytes(),
        content_type="",
        charset=None,
        etag="",
        last_modified="",
        elapsed=0.0,
    )
    run = ingest(source, prefetched=response).run
    if run.outcome == IngestRun.Outcome.FAILED:
        outcomes[f"failed: {run.failure_reason}"] += 1
        if run.failure_reason == "internal_error" or not run.error:
            raise RuntimeError(f"unclear failure: {run.failure_reason!r} {run.error!r}")
    else:
        outcomes[str(run.outcome)] += 1
        outcomes["(documents stored)"] += run.documents_new + run.documents_updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds allowed per file")
    parser.add_argument("--store", action="store_true", help="ingest into DATABASE_URL")
    parser.add_argument("--max-rss", type=float, default=1024.0, help="peak memory, MB")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in FEED_SUFFIXES)
    if not files:
        print(f"no feed files under {args.corpus}", file=sys.stderr)
        return 1

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
    os.environ["INGEST_MAX_PAGES_PER_RUN"] = "0"
    import django

    django.setup()
    run_one = parse_only
    if args.store:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from governance.models import Document, Source

        # Each run starts clean, so "duplicate" counts mean duplicates within the corpus.
        Document.objects.filter(source__name__startswith="corpus: ").delete()
        Source.objects.filter(name__startswith="corpus: ").delete()
        run_one = parse_and_store

    outcomes: Counter[str] = Counter()
    crashes: list[tuple[Path, str]] = []
    timings: list[tuple[float, Path]] = []
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    for path in files:
        url = f"http://payloads.test/{path.relative_to(args.corpus).as_posix()}"
        t0 = time.perf_counter()
        try:
            run_one(path, url, outcomes)
        except Exception:  # what this script exists to find
            crashes.append((path, traceback.format_exc()))
            outcomes["UNHANDLED EXCEPTION"] += 1
        timings.append((time.perf_counter() - t0, path))
    total = time.perf_counter() - started
    rss = peak_rss_mb()

    timings.sort(reverse=True, key=lambda item: item[0])
    slow = [(seconds, path) for seconds, path in timings if seconds > args.slow]
    mode = "parse + store" if args.store else "parse"
    print(f"{len(files)} files under {args.corpus}, {mode}, in {total:.1f} s")
    print(f"peak memory {rss:.0f} MB (after start-up {rss_before:.0f} MB)\n")
    print(f"{'outcome':<32}{'files':>8}")
    for outcome, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0])):
        print(f"{outcome:<32}{count:>8}")
    print(f"\nslowest files (limit {args.slow:g} s):")
    for seconds, path in timings[:5]:
        print(f"  {seconds * 1000:8.1f} ms  {path.relative_to(args.corpus)}")
    for path, trace in crashes:
        print(f"\nUNHANDLED {path}\n{trace}", file=sys.stderr)
    for seconds, path in slow:
        print(f"SLOW {seconds:.2f} s {path}", file=sys.stderr)
    if rss > args.max_rss:
        print(f"MEMORY peak {rss:.0f} MB over {args.max_rss:.0f} MB", file=sys.stderr)
    return 1 if crashes or slow or rss > args.max_rss else 0


if __name__ == "__main__":
    sys.exit(main())
