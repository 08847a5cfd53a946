"""Extraction speed on one core, and the resident memory of a process that extracts.

    uv run python bench/extraction_speed.py [--rounds 5]

Runs the whole pipeline (spaCy parse + every rule) over the seed article, the
news-dev texts and the multi-paragraph articles in tests/fixtures/extraction,
several rounds, in this one process (as one worker process would), and writes
bench/extraction-speed.md. No database.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
os.environ.setdefault("DATABASE_URL", "postgres://unused@127.0.0.1:1/unused")


def corpus() -> list[str]:
    import yaml

    from bench.extraction_eval import article_text

    texts = [(ROOT / "governance/fixtures/seed/waic-2025-article.txt").read_text(encoding="utf-8")]
    dev = ROOT.parent / "shared/corpora/news-dev"
    texts += [article_text(p) for p in sorted(dev.glob("*.txt"))] if dev.exists() else []
    for name in ("quotes.yaml", "people.yaml", "proposals.yaml"):
        data = yaml.safe_load((ROOT / "tests/fixtures/extraction" / name).read_text())
        cases = data.get("cases", []) if isinstance(data, dict) else data
        texts += [c["text"] for c in cases if isinstance(c, dict) and len(c.get("text", "")) > 600]
    return texts


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "extraction-speed.md")
    args = parser.parse_args()
    import django

    django.setup()
    from governance.extract.pipeline import extract

    texts = corpus()
    before = rss_mib()
    started = time.perf_counter()
    extract(texts[0])  # loads spaCy, the gazetteer and the language detector
    warmup = time.perf_counter() - started
    chars = sum(len(t) for t in texts) * args.rounds
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(args.rounds):
        for text in texts:
            extract(text, language="en")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    docs = len(texts) * args.rounds
    lines = [
        "# Extraction speed (one process, one core)",
        "",
        f"Command: `uv run python bench/extraction_speed.py --rounds {args.rounds}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Corpus: {len(texts)} articles (seed, news-dev, multi-paragraph test articles), "
        f"{chars // docs:,} characters on average, {args.rounds} rounds.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| documents per second (wall) | {docs / elapsed:.1f} |",
        f"| documents per CPU-second (per core) | {docs / cpu:.1f} |",
        f"| milliseconds per document | {1000 * elapsed / docs:.1f} |",
        f"| milliseconds per 1,000 characters | {1_000_000 * elapsed / chars:.1f} |",
        f"| first document, loading models | {warmup:.2f} s |",
        f"| resident memory before loading | {before:.0f} MiB |",
        f"| peak resident memory after | {rss_mib():.0f} MiB |",
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
