"""The statements browser's queries an analyst builds from the page's own controls, each
asked once with nothing cached, against the 1,000,000-statement benchmark database.

Every request goes through the whole Django stack (middleware included, so the page's
statement timeout applies and an over-long query answers 503 "Too slow to answer") with
the test Client, as an anonymous visitor. Before each request the count cache's revisions
are moved on (`count_cache.bump_all()`), so neither the page cache nor the cached totals
and facet counts can answer it: the figure is the first request of a new query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/waic_perf REDIS_URL=redis://127.0.0.1:6379/6 \\
    DEBUG=false SECRET_KEY=bench ALLOWED_HOSTS=testserver \\
    uv run python bench/analyst_queries.py [--rounds 2] [--load 1] [--label after]

--load N runs N extra threads asking the same queries meanwhile (in another order), for
the "under load" figures; --rounds repeats the list and reports each query's worst.
The country and proposal are the ones with the most statements, read from the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from governance import count_cache  # noqa: E402

TERMS = ("safety", "AI", "governance", "cooperation")
DATE_RANGE = {"from": "2020-01-01", "to": "2022-12-31"}


def _top(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def queries() -> list[dict[str, str]]:
    country = _top(
        "SELECT lower(on_behalf_of_country_id) FROM governance_statement "
        "WHERE on_behalf_of_country_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    proposal = _top(
        "SELECT p.slug FROM governance_statement_proposals sp "
        "JOIN governance_proposal p ON p.id = sp.proposal_id "
        "GROUP BY p.slug ORDER BY count(*) DESC LIMIT 1"
    )
    out: list[dict[str, str]] = []
    for term in TERMS:
        out += [
            {"q": term},
            {"q": term, **DATE_RANGE},
            {"q": term, "country": country},
            {"q": term, "proposal": proposal},
            {"q": term, **DATE_RANGE, "country": country},
            {"q": term, **DATE_RANGE, "proposal": proposal},
            {"q": term, "country": country, "proposal": proposal},
            {"q": term, **DATE_RANGE, "sort": "relevance"},
            {"q": term, **DATE_RANGE, "sort": "oldest"},
            {"q": term, "year": "2021"},
            {"q": term, **DATE_RANGE, "kind": "direct_quote"},
            {"q": term, **DATE_RANGE, "dates": "own"},
            {"q": term, **DATE_RANGE, "page": "5"},
        ]
    out += [DATE_RANGE, {"country": country, **DATE_RANGE}, {"proposal": proposal}]
    return out


def ask(client: Client, params: dict[str, str]) -> tuple[int, float]:
    count_cache.bump_all()
    start = time.perf_counter()
    response = client.get("/statements/", params, secure=True)
    return response.status_code, (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--load", type=int, default=0, help="extra threads asking meanwhile")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    asked = queries()
    stop = threading.Event()

    def background(offset: int) -> None:
        client = Client()
        i = offset
        while not stop.is_set():
            ask(client, asked[i % len(asked)])
            i += 7
        connection.close()

    threads = [threading.Thread(target=background, args=(n * 11,)) for n in range(args.load)]
    for thread in threads:
        thread.start()
    client = Client()
    ask(client, {})  # connect, fill the template cache
    worst: dict[int, tuple[int, float]] = {}
    try:
        for _ in range(args.rounds):
            for i, params in enumerate(asked):
                status, ms = ask(client, params)
                if i not in worst or (status != 200, ms) > (worst[i][0] != 200, worst[i][1]):
                    worst[i] = (status, ms)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    print(f"## {args.label or 'run'}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"\n{platform.node()}, {os.cpu_count()} cores; rounds {args.rounds} (worst shown), "
        f"{args.load} background thread(s); every request with the caches bumped.\n"
    )
    print("| query | status | ms |")
    print("|---|---:|---:|")
    for i, params in enumerate(asked):
        status, ms = worst[i]
        print(f"| `/statements/?{urlencode(params)}` | {status} | {ms:,.0f} |")
    failed = sum(1 for status, _ in worst.values() if status != 200)
    slowest = max(ms for _, ms in worst.values())
    print(f"\n{len(asked)} queries, {failed} not 200, slowest {slowest:,.0f} ms.")


if __name__ == "__main__":
    main()
