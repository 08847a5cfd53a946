"""Speed and memory of the streamed statements export over a large database.

Runs `/statements/?format=csv` (and json) through the full Django stack (middleware,
view, streaming response) with the test Client, consuming the body chunk by chunk as a
server would, and records rows/s, the size of the output, the growth of the process's
resident memory (sampled every 50 ms) and, in a second pass, Python's own peak
allocation (tracemalloc, which slows Python down, so its rows/s are not reported).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/w_exports_bench DEBUG=false \\
    SECRET_KEY=bench ALLOWED_HOSTS=testserver \\
    uv run python bench/export_memory.py --out bench/exports.md

DEBUG must be off, as in production: with it on, Django keeps the text of the last 9,000
queries (each chunk's evidence query names 2,000 ids), which shows up as memory growth.

The database is filled beforehand with `manage.py generate_data --statements 1000000`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from governance.models import Statement  # noqa: E402

MiB = 1024 * 1024


@dataclass
class Result:
    label: str
    query: str
    rows: int
    bytes: int
    seconds: float
    rss_before: int
    rss_peak: int
    traced_peak: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class RssSampler:
    """The process's peak resident memory while a block runs, sampled in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def run(label: str, query: str, *, trace: bool) -> Result:
    client = Client()
    rss_before = psutil.Process().memory_info().rss
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    size = lines = 0
    with RssSampler() as sampler:
        response = client.get(f"/statements/?{query}")
        assert response.status_code == 200, response.content[:500]
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # CSV: a header line; JSON: "[", a line per row, then "]" on its own line.
    rows = lines - 1 if "format=csv" in query else lines - 2
    return Result(label, query, rows, size, seconds, rss_before, sampler.peak, traced)


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def report(results: list[Result], total: int) -> str:
    lines = [
        "# Statements export: speed and memory",
        "",
        "Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/w_exports_bench "
        "DEBUG=false SECRET_KEY=bench ALLOWED_HOSTS=testserver "
        "uv run python bench/export_memory.py --out bench/exports.md`  ",
        f"Machine: {machine()}, PostgreSQL on 127.0.0.1 (shared with other work)  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
        f"Database: {total:,} statements (`manage.py generate_data --statements 1000000`, "
        "other options default)",
        "",
        "Each export goes through the whole stack (middleware, view, StreamingHttpResponse) "
        "with Django's test Client, the body consumed chunk by chunk and thrown away, as a "
        "server writes it to the socket. *RSS growth* is the process's peak resident memory "
        "during the export minus before it; *Python peak* is tracemalloc's peak of live "
        "allocations in a second, traced run of the same export. RSS growth is measured "
        "from just before each export: memory freed by an earlier export is reused, not "
        "returned to the system, so later rows can show none.",
        "",
        "| export | rows | output | seconds | rows/s | RSS growth | Python peak |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        traced = f"{r.traced_peak / MiB:.1f} MiB" if r.traced_peak is not None else "—"
        lines.append(
            f"| {r.label} (`?{r.query}`) | {r.rows:,} | {r.bytes / MiB:,.0f} MiB | "
            f"{r.seconds:,.1f} | {r.rows_per_second:,.0f} | "
            f"{(r.rss_peak - r.rss_before) / MiB:,.1f} MiB | {traced} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Write the markdown report here")
    parser.add_argument("--no-trace", action="store_true", help="Skip the tracemalloc passes")
    args = parser.parse_args()
    from django.conf import settings

    if settings.DEBUG:
        parser.error("run with DEBUG=false: DEBUG keeps every query's text in memory")
    total = Statement.objects.count()
    print(f"{total:,} statements in {connection.settings_dict['NAME']}", flush=True)
    cases = [
        ("all statements, CSV", "format=csv"),
        ("all statements, JSON", "format=json"),
        ("one country, CSV", "country=cn&format=csv"),
    ]
    results = []
    for label, query in cases:
        result = run(label, query, trace=False)
        if not args.no_trace:
            result.traced_peak = run(label, query, trace=True).traced_peak
        print(result, flush=True)
        results.append(result)
    text = report(results, total)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
