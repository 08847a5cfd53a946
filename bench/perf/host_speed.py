"""How fast this host runs extraction itself, so that runs on different hosts compare.

    uv run python -m bench.perf.host_speed [--articles 128]

The ingestion figures of bench/run depend on the host more than on anything else: the
same extraction code took 39 ms of CPU per document on one 2-core host of this project
and 71 on another (bench/ingestion-speed.md). This parses the ingestion bench's own
payload articles in one process, as a worker does (spaCy in batches, then every rule),
with no database, no Celery and nothing else running, and prints as JSON the CPU
milliseconds per article of each half and the CPU's vector instructions, which decide
the speed of spaCy's matrix products. bench/run puts them beside its machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CPUINFO = Path("/proc/cpuinfo")


def cpuinfo_field(name: str) -> str | None:
    """The value of the first `name` line of /proc/cpuinfo (None if absent or unreadable)."""
    try:
        lines = CPUINFO.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def vector_instructions() -> str:
    """The widest of AVX-512 / AVX2 / SSE the CPU reports ("unknown" if it says nothing)."""
    flags = (cpuinfo_field("flags") or "").split()
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("sse4_2", "SSE4.2")):
        if flag in flags:
            return name
    return "unknown"


def measure(articles: int = 128) -> dict[str, float | int | str]:
    """CPU ms per payload article of spaCy's parse and of the rules, in this process."""
    import django

    django.setup()
    from bench.perf.ingestion_payloads import articles as payload_articles
    from governance.extract import pipeline

    texts = [
        "\n\n".join([title, *paragraphs])
        for title, paragraphs in payload_articles(articles, salt="host-speed")
    ]
    for doc, text in zip(pipeline.parse(texts[:8]), texts[:8], strict=True):  # loads it all
        pipeline.extract(text, language="en", doc=doc)
    started = time.process_time()
    docs = list(pipeline.parse(texts))
    parsed = time.process_time()
    for doc, text in zip(docs, texts, strict=True):
        pipeline.extract(text, language="en", doc=doc)
    ruled = time.process_time()
    return {
        "articles": len(texts),
        "characters": round(sum(map(len, texts)) / len(texts)),
        "parse_ms": 1000 * (parsed - started) / len(texts),
        "rules_ms": 1000 * (ruled - parsed) / len(texts),
        "vector_instructions": vector_instructions(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=128)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
    # Settings need a database URL; nothing here connects to it.
    os.environ.setdefault("DATABASE_URL", "postgres://unused@127.0.0.1:1/unused")
    print(json.dumps(measure(args.articles)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
