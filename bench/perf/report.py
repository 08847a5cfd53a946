"""bench/RESULTS.md from bench/run's figures: the machine, every figure, the ratios and
whether each target of issue #9 is met."""

from __future__ import annotations

import statistics
from typing import Any

from bench.perf.http_load import Scenario, WrkRun

# Issue #9's targets (2 cores, 1,000,000 statements).
FAST_PAGES = ("A1", "A2", "A5", "A6")  # rps >= 30% of F1, p95 <= 50 ms
SEARCH_PAGES = ("A3", "A4s")  # p95 <= 100 ms and at least Datasette's rps


def _per(a: float, b: float) -> float:
    return a / b if b else float("inf")


def _ok(flag: bool) -> str:
    return "met" if flag else "**not met**"


def render(results: dict[str, Any]) -> str:
    args = results["args"]
    machine = results["machine"]
    scen: list[tuple[str, Scenario]] = results["scenarios"]
    by_key = {s.key: s for _, s in scen}
    floor = by_key["F1"].median("rps")
    lines = [
        "# Performance at 1,000,000 statements",
        "",
        "Written by `bench/run` (bench/perf/main.py); every figure below comes from the run",
        f"that started {results['started_at']:%Y-%m-%d %H:%M} UTC and ended "
        f"{results['finished_at']:%H:%M} UTC. Rerun: `bench/run` (README, Benchmarks).",
        "",
        "## Machine and versions",
        "",
        *[f"- {name}: {value}" for name, value in machine.items()],
        *_host_speed_line(results.get("host_speed")),
        "",
        "## Method",
        "",
        f"- Dataset: database `waic_perf`, {results['dataset']['statements']:,} statements "
        "made by `manage.py generate_data --seed 1` (all defaults: 20,000 people, 5,000 "
        "organizations, 2,000 proposals, 200,000 documents)"
        + (
            f", generated in {results['dataset']['generate_seconds']:.0f} s by this run."
            if "generate_seconds" in results["dataset"]
            else ", kept from an earlier run (bench/generate-data.md has the generator's time)."
        ),
        "- Our server: gunicorn as in docker-compose.yml (3 gthread workers × 2 threads, "
        "DEBUG off, access log on), plain HTTP on 127.0.0.1; PostgreSQL and Redis on the "
        "same machine.",
        "- F1: a Django hello-world view on the same gunicorn settings, with Django's "
        "default middleware (bench/perf/floor.py).",
        "- P: Datasette (immutable mode) on a SQLite export of the same statements with "
        "FTS5 and the equivalents of our indexes (bench/perf/datasette_peer.py): "
        f"{results['export'].describe()}.",
        f"- Load: wrk, 1 thread, {args['connections']} keep-alive connections, "
        f"{args['seconds']:g} s per page, {args['rounds']} rounds with the pages "
        "interleaved; the tables give the median over the rounds (p95 and p99: the "
        "worst round's, too).",
        "- Our counts and, for visitors not signed in, whole pages are cached per data "
        "revision (governance/count_cache.py, governance/page_cache.py): wrk measures the "
        "cached page, as analysts get it until the data changes; the first request after "
        "a data change (computed again) is in its own table below. Datasette caches "
        "nothing between requests (immutable mode only spares it counting the table).",
        "- Search during ingestion: ingestion moves only the documents' revision, which "
        "the statements browser does not follow, so the probed search stays cached while "
        "two workers ingest; what ingestion takes from it is the cores. As deployed, an "
        "extraction worker waits between documents while the web server on its machine has "
        "a request in flight on average (WORKER_YIELD_AT, governance/web_load.py), for at "
        "most 60 s per task: wrk keeps it that busy, so extraction goes on slowly during "
        "the probes (documents extracted: below). The same probes with workers that never "
        "wait (WORKER_YIELD_AT=0) are given for comparison. A search no one made since "
        "the last change costs the first-request time below, more under load.",
        "",
        "## Pages",
        "",
        "| page | URL | req/s | p50 ms | p95 ms | p95 worst round | p99 ms | KiB | errors "
        "| req/s ÷ F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, s in scen:
        lines.append(
            f"| {s.key} {s.title} | `{s.url}` | {s.median('rps'):,.0f} | "
            f"{s.median('p50_ms'):.1f} | {s.median('p95_ms'):.1f} | {s.worst('p95_ms'):.1f} | "
            f"{s.median('p99_ms'):.1f} | {s.median('bytes_per_request') / 1024:,.1f} | "
            f"{s.errors} | {s.median('rps') / floor:.0%} |"
        )
    lines += ["", "## Ratios and targets", ""]
    lines += ["| target | figure | |", "|---|---|---|"]
    for key in FAST_PAGES:
        s = by_key[key]
        ratio = s.median("rps") / floor
        p95 = s.median("p95_ms")
        lines.append(
            f"| {key} {s.title}: req/s ≥ 30% of F1, p95 ≤ 50 ms | {ratio:.0%} of F1, "
            f"p95 {p95:.1f} ms | {_ok(ratio >= 0.30 and p95 <= 50)} |"
        )
    peer_of = {"A3": "P3", "A4s": "P4s"}
    for key in SEARCH_PAGES:
        s, p = by_key[key], by_key[peer_of[key]]
        ratio = _per(s.median("rps"), p.median("rps"))
        p95 = s.median("p95_ms")
        lines.append(
            f"| {key} {s.title}: p95 ≤ 100 ms, at least Datasette's req/s | p95 {p95:.1f} ms; "
            f"{ratio:.2f}× Datasette ({s.median('rps'):,.0f} vs {p.median('rps'):,.0f} req/s) "
            f"| {_ok(p95 <= 100 and ratio >= 1)} |"
        )
    common, pc = by_key["A4c"], by_key["P4c"]
    first = results["first_request"]["A4c"]["cold_ms"]
    lines.append(
        f"| A4 common term completes within 1 s with a capped count | first request "
        f"{first:,.0f} ms, warm p95 {common.median('p95_ms'):.1f} ms; "
        f"{_per(common.median('rps'), pc.median('rps')):.2f}× Datasette | {_ok(first <= 1000)} |"
    )
    a7, a3 = by_key["A7"], by_key["A3"]
    lines.append(
        f"| A7 htmx partial over A3 full page | {a7.median('rps') / a3.median('rps'):.2f}× "
        f"req/s, {a7.median('bytes_per_request') / 1024:.1f} vs "
        f"{a3.median('bytes_per_request') / 1024:.1f} KiB | |"
    )
    search = results.get("search_under_ingestion")
    if search:
        rest, during = _median_p99(search["at_rest"]), _median_p99(search["during"])
        ratio = during / rest
        extracted = search["progress"][-1][1] if search["progress"] else 0
        lines.append(
            f"| A4 search p99 during ingestion ≤ 2× at rest | {during:.1f} ms vs "
            f"{rest:.1f} ms (medians of {len(search['during'])} probes during, 3 at rest): "
            f"{ratio:.2f}×, workers yielding to the web server ({extracted:,} documents "
            f"extracted during the probes) | {_ok(ratio <= 2)} |"
        )
        if search.get("unyielding"):
            unyielding = _median_p99(search["unyielding"])
            lines.append(
                f"| the same, workers never yielding (WORKER_YIELD_AT=0), for comparison | "
                f"{unyielding:.1f} ms ({len(search['unyielding'])} probes): "
                f"{unyielding / rest:.2f}× | |"
            )
    for workers, result in results.get("ingestion", {}).items():
        per_core = result.documents_per_second_per_core
        lines.append(
            f"| ingestion ≥ 20 documents/s per worker core ({workers} worker"
            f"{'s' if workers > 1 else ''}) | {result.documents_per_second:.1f} documents/s, "
            f"{per_core:.1f} per worker core | {_ok(per_core >= 20)} |"
        )
    cold = results.get("cold_start")
    if cold is not None:
        lines.append(
            f"| `manage.py up` cold start to the first page ≤ 15 s | median "
            f"{cold.median:.1f} s ({', '.join(f'{s:.1f}' for s in cold.seconds)}) "
            f"| {_ok(cold.median <= 15)} |"
        )
    lines += _first_request_table(results["first_request"])
    lines += _export_section(results["export_csv"])
    if "ingestion" in results:
        lines += _ingestion_section(results)
    lines += _review_section(results.get("review"))
    if cold is not None:
        lines += ["", "## Cold start", "", cold.describe() + "."]
    lines += ["", "## Equivalence of our pages and Datasette's", ""]
    lines += [f"- {e.describe()}" for e in results["equivalence"]]
    lines.append("")
    return "\n".join(lines)


def _first_request_table(first: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "",
        "## First request after a data change",
        "",
        "One request per page right after the count cache's revision moved (as after a "
        "curator's edit), then the same request again.",
        "",
        "| page | first ms | next ms | status |",
        "|---|---:|---:|---:|",
    ]
    for key, row in first.items():
        lines.append(f"| {key} | {row['cold_ms']:,.0f} | {row['warm_ms']:,.0f} | {row['status']} |")
    return lines


def _export_section(export: dict[str, Any]) -> list[str]:
    runs = export["runs"]
    best = min(ms for ms, _ in runs)
    size = runs[0][1]
    return [
        "",
        "## A8: CSV export",
        "",
        f"`{export['path']}`: {export['rows']:,} rows, {size / 2**20:.1f} MiB, streamed "
        f"in {', '.join(f'{ms / 1000:.1f}' for ms, _ in runs)} s "
        f"({export['rows'] / (best / 1000):,.0f} rows/s at best), one client.",
    ]


def _host_speed_line(speed: dict[str, Any] | None) -> list[str]:
    """What decides the ingestion figures more than anything else: the host's own speed."""
    if not speed:
        return []
    return [
        f"- extraction in one process, nothing else running (bench/perf/host_speed.py): "
        f"spaCy's parse {speed['parse_ms']:.1f} ms and the rules {speed['rules_ms']:.1f} ms "
        f"of CPU per article ({speed['articles']} of the ingestion payload's articles, "
        f"{speed['characters']:,} characters on average); vector instructions: "
        f"{speed['vector_instructions']}"
    ]


def _ingestion_section(results: dict[str, Any]) -> list[str]:
    lines = ["", "## Ingestion", ""]
    for workers, result in results["ingestion"].items():
        lines.append(
            f"- {workers} worker{'s' if workers > 1 else ''} (one process each, concurrency "
            f"1): {result.documents:,} documents of {result.average_chars:,} characters on "
            f"average in {result.seconds:.1f} s = {result.documents_per_second:.1f} "
            f"documents/s, {result.documents_per_second_per_core:.1f} per worker core; "
            f"worker CPU {result.worker_cpu_ms_per_document:.0f} ms per document "
            f"({result.documents_per_worker_cpu_second:.1f} per CPU-second); "
            f"{result.candidates:,} candidates; failures: {result.ingest_failed} fetches, "
            f"{result.extraction_failed} extractions"
        )
    search = results["search_under_ingestion"]
    lines.append("- A4 selective search, 10 s probes of wrk as for the pages:")
    lines += [f"  - at rest, before: {_run_line(run)}" for run in search["at_rest"][:-1]]
    lines += [
        f"  - while 2 workers ingest: {_run_line(run)}; by its end {stored:,} documents "
        f"stored, {extracted:,} extracted"
        for run, (stored, extracted) in zip(search["during"], search["progress"], strict=True)
    ]
    lines += [
        f"  - while 2 workers ingest, never yielding: {_run_line(run)}; by its end "
        f"{stored:,} documents stored, {extracted:,} extracted"
        for run, (stored, extracted) in zip(
            search.get("unyielding", []), search.get("unyielding_progress", []), strict=True
        )
    ]
    lines.append(f"  - at rest, after: {_run_line(search['at_rest'][-1])}")
    return lines


def _median_p99(runs: list[WrkRun]) -> float:
    return statistics.median(run.p99_ms for run in runs)


def _run_line(run: WrkRun) -> str:
    return (
        f"{run.rps:,.0f} req/s, p50 {run.p50_ms:.1f} ms, p95 {run.p95_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms"
    )


def _review_section(review: Any) -> list[str]:
    return ["", "## Review queue", "", review.describe() if review is not None else "not run"]
