"""Robustness run of parse_feed over a corpus of feed files (bytes in, no network).

    uv run python bench/feed_corpus.py [CORPUS_DIR] [--slow SECONDS]

CORPUS_DIR defaults to ../shared/corpora/feeds next to the repository (feedparser's
own test feeds: well-formed, ill-formed, odd encodings, entities, HTML to sanitize).
Every file must end as a ParsedFeed or a ParseError, within --slow seconds (2 s).
Prints a table of outcomes and the slowest files; exits 1 on any unhandled
exception or slow file.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.ingest.errors import ParseError  # noqa: E402
from governance.ingest.parse import parse_feed  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "feeds"
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds allowed per file")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in FEED_SUFFIXES)
    if not files:
        print(f"no feed files under {args.corpus}", file=sys.stderr)
        return 1

    outcomes: Counter[str] = Counter()
    entries = warned = 0
    crashes: list[tuple[Path, str]] = []
    timings: list[tuple[float, Path]] = []
    started = time.perf_counter()
    for path in files:
        content = path.read_bytes()
        url = f"http://payloads.test/{path.relative_to(args.corpus).as_posix()}"
        t0 = time.perf_counter()
        try:
            feed = parse_feed(content, url=url)
        except ParseError as exc:
            outcomes[f"failed: {exc.reason.value}"] += 1
        except Exception:  # what this script exists to find
            crashes.append((path, traceback.format_exc()))
            outcomes["UNHANDLED EXCEPTION"] += 1
        else:
            outcomes["ok"] += 1
            entries += len(feed.entries)
            warned += bool(feed.warnings)
        timings.append((time.perf_counter() - t0, path))
    total = time.perf_counter() - started

    timings.sort(reverse=True, key=lambda item: item[0])
    slow = [(seconds, path) for seconds, path in timings if seconds > args.slow]
    print(f"{len(files)} files under {args.corpus} in {total:.1f} s\n")
    print(f"{'outcome':<32}{'files':>8}")
    for outcome, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0])):
        print(f"{outcome:<32}{count:>8}")
    print(f"\n{entries} entries from ok feeds; {warned} ok feeds with warnings (bozo, skipped)")
    print(f"\nslowest files (limit {args.slow:g} s):")
    for seconds, path in timings[:5]:
        print(f"  {seconds * 1000:8.1f} ms  {path.relative_to(args.corpus)}")
    for path, trace in crashes:
        print(f"\nUNHANDLED {path}\n{trace}", file=sys.stderr)
    for seconds, path in slow:
        print(f"SLOW {seconds:.2f} s {path}", file=sys.stderr)
    return 1 if crashes or slow else 0


if __name__ == "__main__":
    sys.exit(main())
