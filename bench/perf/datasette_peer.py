"""The benchmark's peer (issue #9, "P"): Datasette serving the same statements.

Three parts, for the orchestrator (bench/run):

- `export(database_url, path)` copies the statements, as the statements browser shows
  them, from the tracker's PostgreSQL into one SQLite file, with an FTS5 index on the
  text and the SQLite equivalent of each PostgreSQL index on the columns the browser
  filters, sorts and facets by; then ANALYZE.
- `serve(path, port)` runs `datasette serve` on that file as a subprocess and yields its
  base URL while it answers.
- `peer_urls()` gives the pairs of equivalent pages (ours and Datasette's), and
  `verify_equivalence()` checks that both sides of each pair match the same rows.

What the browser shows, and how the peer shows the same
-------------------------------------------------------
Our `/statements/` (governance/search.py, templates/governance/statement_list.html) shows
PAGE_SIZE (20) cards, newest first (said_on desc, undated last, then id desc), each with
the kind, the text, the speaker's name, the role held (title, of country or
organization), the date, the event's name and the title of the first source document;
a capped total; and six facets of FACET_SIZE (10) values with counts and labels:
country (the country the statement was made *on behalf of*, a single column, not the
"countries it concerns" many-to-many), speaker, proposal (many-to-many), event, kind and
year. `q` is PostgreSQL full-text search (websearch syntax, english stemming).

The SQLite file has one denormalized `statements` table with a column per card field
and per facet:

- country, speaker and event are foreign keys to small `countries`, `people` and
  `events` tables, as in PostgreSQL. Datasette facets on a foreign key column show the
  referenced row's label (its `name`), as our page does (it also groups by the key and
  joins names after grouping), and the row cards show the names the same way.
- proposals are many-to-many. Datasette's table page cannot facet through a join table,
  so `statements.proposals` is a JSON array of the statement's proposal slugs and the page
  uses `_facet_array=proposals` (filter: `proposals__arraycontains=<slug>`). That is the
  one faceting Datasette offers over a many-to-many relation: it counts each statement
  once per proposal, like our facet over the join table, with no join table to read on
  each request. The join tables `statement_proposals` and `statement_countries` are
  exported too (with the PostgreSQL join tables' indexes), so that the data is complete
  and Datasette's row pages can link them, but the benchmarked pages do not read them.
- year is a stored integer column (our page computes EXTRACT(YEAR FROM said_on)):
  Datasette facets on columns only (`_facet_date` is per day, not per year).
- kind is the stored value (direct_quote, …); our page shows its label.
- source_title and source_url are those of the statement's first evidence (ordered by
  document, then start, as the card's prefetch orders them).

Facets: Datasette counts each facet under *all* filters, ours under every filter *but
its own* (disjunctive, so a ticked country still shows the other countries' counts).
For the facets that are not filtered on, both pages show the same counts. For a facet
that is filtered on, Datasette shows only the chosen value (with the same count as
ours) while ours counts that facet over the rows matching the other filters, which is
more work. Both sides compute six facets over the filtered rows; the peer URLs ask for
ten values per facet (`_facet_size=10`, FACET_SIZE) so both pages show as many.

Search: FTS5 with the `porter unicode61` tokenizer (the Porter stemmer; PostgreSQL's
english configuration uses Snowball's, and drops stop words, which FTS5 does not), as
an external-content table `statements_fts` (content="statements", so Datasette finds it
by itself; the metadata also names it, `fts_table` and `fts_pk`). Datasette's `_search=`
quotes each term, so a one-word search matches the stemmed word, like our `q`. The terms
chosen for the benchmark match the same rows in both (verify_equivalence checks this).
Datasette sorts by `_sort_desc=said_on` as our default sort does (it orders ties at the
page boundary arbitrarily on the first page; ours by id desc): the same rows, in nearly
the same order. It has no equivalent of our highlighted snippets (ts_headline).

Server settings (serve(), SETTINGS): immutable mode (`-i`: read-only, no locking,
counts cached), bound to 127.0.0.1, no reload, and three settings off Datasette's
defaults, each so that the peer's page does the work ours does, no less and no more:

- `sql_time_limit_ms` 3000 (default 1000): the budget of our pages' queries
  (ANALYST_QUERY_TIMEOUT_MS, 3 s), so a page fails on the same terms as ours, not on
  Datasette's stricter 1 s.
- `facet_time_limit_ms` 3000 (default 200): a facet that takes longer than the limit is
  dropped from the page ("timed out"), and at 1M statements the default drops some of
  the six facets of a common search (year and proposals for "safety", measured; more
  under concurrent load), so the page would be fast by showing less than ours. Each
  facet now gets the same budget as any of our queries; verify_equivalence fails if a
  facet is missing.
- `suggest_facets` off (default on): Datasette also tries every other column as a
  possible facet (each up to facet_suggest_time_limit_ms, 50 ms), work that our page
  does not do; it cost about 0.4-0.6 s per page at 1M (bench/datasette-peer.md).
  `serve(..., settings={"suggest_facets": True})` measures the default.

Everything else is Datasette's default: facet size 30 (the URLs ask for 10), page size
100 (the URLs ask for 20), three SQL threads, SQLite's default cache. Counts differ in
kind: Datasette counts every matching row (`count(*)`), our page stops at 10,001
("10,000+"), so for two of the three pages ours counts less.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

# The tracker's page size and facet size (governance/search.py); repeated here so that the
# orchestrator can import this module without setting up Django. The test checks them.
PAGE_SIZE = 20
FACET_SIZE = 10
BATCH = 20_000  # rows per fetch from the server-side cursor, and per executemany
SQL_TIME_LIMIT_MS = 3_000  # = ANALYST_QUERY_TIMEOUT_MS, our pages' statement timeout
# Datasette settings that differ from its defaults (module docstring: why).
SETTINGS: dict[str, int | bool] = {
    "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
    "facet_time_limit_ms": SQL_TIME_LIMIT_MS,
    "suggest_facets": False,
}
DB_NAME = "statements"  # Datasette names a database after its file's stem

SCHEMA = """
CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE people (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE proposals (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, title TEXT NOT NULL);
CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    said_on TEXT,
    year INTEGER,
    speaker INTEGER REFERENCES people(id),
    speaker_role TEXT,
    speaker_role_of TEXT,
    country TEXT REFERENCES countries(code),
    event INTEGER REFERENCES events(id),
    proposals TEXT NOT NULL,
    source_title TEXT,
    source_url TEXT
);
CREATE TABLE statement_proposals (
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    proposal_id INTEGER NOT NULL REFERENCES proposals(id)
);
CREATE TABLE statement_countries (
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    country_code TEXT NOT NULL REFERENCES countries(code)
);
"""

# The PostgreSQL indexes of these columns (governance/models.py, Statement.Meta, and the
# ones Django makes for foreign keys and many-to-many tables), each under its PostgreSQL
# name. Not mirrored: the `_like` (varchar_pattern_ops) twins, which serve LIKE 'x%' only,
# and the fingerprint's, a column not exported. statement_search (GIN on the tsvector)
# is statements_fts. Created after the rows are in, which is faster than maintaining them.
INDEXES = """
CREATE INDEX statement_speaker_date ON statements (speaker, said_on);
CREATE INDEX statement_said_on ON statements (said_on);
CREATE INDEX statement_newest ON statements (said_on DESC, id DESC);
CREATE INDEX statement_country_date ON statements (country, said_on);
CREATE INDEX statement_kind_date ON statements (kind, said_on);
-- governance_statement_speaker_id_d21339e3
CREATE INDEX statement_speaker ON statements (speaker);
-- governance_statement_on_behalf_of_country_id_3ac134fc
CREATE INDEX statement_country ON statements (country);
-- governance_statement_event_id_37cec8a0
CREATE INDEX statement_event ON statements (event);
-- governance_statement_pro_statement_id_proposal_id_5ee1f9cd_uniq, _statement_id_31b91ed4,
-- _proposal_id_42936f3c
CREATE UNIQUE INDEX statement_proposals_uniq ON statement_proposals (statement_id, proposal_id);
CREATE INDEX statement_proposals_statement ON statement_proposals (statement_id);
CREATE INDEX statement_proposals_proposal ON statement_proposals (proposal_id);
-- governance_statement_cou_statement_id_country_id_c51a643d_uniq, _statement_id_874cc1f4,
-- _country_id_510dc910
CREATE UNIQUE INDEX statement_countries_uniq ON statement_countries (statement_id, country_code);
CREATE INDEX statement_countries_statement ON statement_countries (statement_id);
CREATE INDEX statement_countries_country ON statement_countries (country_code);
"""

FTS = """
CREATE VIRTUAL TABLE statements_fts USING fts5(
    text, content="statements", content_rowid="id", tokenize="porter unicode61"
);
INSERT INTO statements_fts (statements_fts) VALUES ('rebuild');
"""

# One row per statement, everything the card and the facets need. The first evidence is
# the one the card links (Evidence.Meta.ordering: document, start).
STATEMENTS_SQL = """
SELECT s.id, s.kind, s.text, s.said_on::text, EXTRACT(YEAR FROM s.said_on)::int,
       s.speaker_id, r.title, COALESCE(rc.name, ro.name), s.on_behalf_of_country_id,
       s.event_id, COALESCE(p.slugs, '[]'), src.title, src.url
FROM governance_statement s
LEFT JOIN governance_role r ON r.id = s.speaker_role_id
LEFT JOIN governance_country rc ON rc.code = r.country_id
LEFT JOIN governance_organization ro ON ro.id = r.organization_id
LEFT JOIN (
    SELECT sp.statement_id, json_agg(pr.slug ORDER BY pr.slug)::text AS slugs
    FROM governance_statement_proposals sp
    JOIN governance_proposal pr ON pr.id = sp.proposal_id
    GROUP BY sp.statement_id
) p ON p.statement_id = s.id
LEFT JOIN LATERAL (
    SELECT d.title, d.url
    FROM governance_evidence e JOIN governance_document d ON d.id = e.document_id
    WHERE e.content_type_id = %(ct)s AND e.object_id = s.id::text
    ORDER BY e.document_id, e.start
    LIMIT 1
) src ON true
ORDER BY s.id
"""

TABLES = {
    "countries": "SELECT code, name FROM governance_country ORDER BY code",
    "people": "SELECT id, slug, name FROM governance_person ORDER BY id",
    "events": "SELECT id, slug, name FROM governance_event ORDER BY id",
    "proposals": "SELECT id, slug, title FROM governance_proposal ORDER BY id",
    "statements": STATEMENTS_SQL,
    "statement_proposals": (
        "SELECT statement_id, proposal_id FROM governance_statement_proposals ORDER BY 1, 2"
    ),
    "statement_countries": (
        "SELECT statement_id, country_id FROM governance_statement_countries ORDER BY 1, 2"
    ),
}


@dataclass
class ExportSummary:
    path: Path
    rows: dict[str, int]  # table -> rows written
    bytes: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    def describe(self) -> str:
        phases = ", ".join(f"{name} {s:.1f} s" for name, s in self.phases.items())
        return (
            f"{self.rows['statements']:,} statements -> {self.path} "
            f"({self.bytes / 2**20:,.0f} MiB) in {self.seconds:.1f} s ({phases})"
        )


def export(database_url: str, path: Path) -> ExportSummary:
    """Write the statements of the PostgreSQL database at `database_url` to a new SQLite
    file at `path` (replaced if present; written under a temporary name and renamed)."""
    conn = psycopg2.connect(database_url)
    try:
        # One snapshot for every table, read-only: the source is never written to.
        conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
        return export_from_connection(conn, path)
    finally:
        conn.close()


def export_from_connection(conn: Any, path: Path) -> ExportSummary:
    """The export over an open psycopg2 connection (the tests pass Django's, inside the
    test's transaction)."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial, isolation_level=None)
    try:
        # A throwaway file until it is renamed: no journal, no fsync.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")  # 256 MiB, for the index builds
        db.executescript(SCHEMA)
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM django_content_type "
                "WHERE app_label = 'governance' AND model = 'statement'"
            )
            row = cursor.fetchone()
        ct = row[0] if row else -1
        rows: dict[str, int] = {}
        for table, sql in TABLES.items():
            t0 = time.perf_counter()
            rows[table] = _copy(conn, db, table, sql, {"ct": ct})
            phases[f"copy {table}"] = time.perf_counter() - t0
        for label, script in (("indexes", INDEXES), ("fts", FTS)):
            t0 = time.perf_counter()
            db.executescript(script)
            phases[label] = time.perf_counter() - t0
        t0 = time.perf_counter()
        db.execute("ANALYZE")
        db.execute("VACUUM")
        phases["analyze+vacuum"] = time.perf_counter() - t0
    finally:
        db.close()
    os.replace(partial, path)
    return ExportSummary(
        path=path,
        rows=rows,
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
        phases=phases,
    )


def _copy(conn: Any, db: sqlite3.Connection, table: str, sql: str, params: dict) -> int:
    """Stream one query's rows (a server-side cursor, BATCH at a time) into `table`."""
    n = 0
    with conn.cursor(name=f"peer_export_{table}") as cursor:
        cursor.itersize = BATCH
        cursor.execute(sql, params)
        insert = None
        db.execute("BEGIN")
        while batch := cursor.fetchmany(BATCH):
            if insert is None:
                insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(batch[0]))})"
            db.executemany(insert, batch)
            n += len(batch)
        db.execute("COMMIT")
    return n


def metadata() -> dict[str, Any]:
    """Datasette metadata: the FTS table, and the label of each looked-up table."""
    return {
        "title": "AI governance tracker statements (benchmark peer)",
        "databases": {
            DB_NAME: {
                "tables": {
                    "statements": {"fts_table": "statements_fts", "fts_pk": "id"},
                    "countries": {"label_column": "name"},
                    "people": {"label_column": "name"},
                    "events": {"label_column": "name"},
                    "proposals": {"label_column": "title"},
                }
            }
        },
    }


def serve_command(
    path: Path, port: int, metadata_path: Path, settings: Mapping[str, int | bool] | None = None
) -> list[str]:
    datasette = Path(sys.executable).with_name("datasette")
    options = []
    for name, value in {**SETTINGS, **(settings or {})}.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        options += ["--setting", name, text]
    return [
        str(datasette) if datasette.exists() else "datasette",
        "serve",
        "-i",
        str(path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metadata",
        str(metadata_path),
        *options,
    ]


@contextlib.contextmanager
def serve(
    path: Path,
    port: int,
    *,
    settings: Mapping[str, int | bool] | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Run Datasette on `path` at 127.0.0.1:`port`; yield its base URL once it answers,
    stop it on exit. `settings` override SETTINGS (e.g. {"suggest_facets": False})."""
    if path.stem != DB_NAME:
        raise ValueError(f"the file must be named {DB_NAME}.db (its stem names the database)")
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="datasette-peer-") as tmp:
        metadata_path = Path(tmp) / "metadata.json"
        metadata_path.write_text(json.dumps(metadata()))
        log = (Path(tmp) / "datasette.log").open("w+b")
        proc = subprocess.Popen(
            serve_command(path, port, metadata_path, settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for the benchmark is ours to pass on
            preexec_fn=_die_with_parent,
        )
        try:
            _wait_until_up(proc, f"{base}/-/versions.json", startup_timeout, log)
            yield base
        finally:
            _stop(proc)
            log.close()


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the process that started it dies, so that a
    benchmark killed outright leaves no server behind (Linux; elsewhere, nothing). Linux
    sends it when the *thread* that started the child ends: call serve() from a thread
    that lives as long as the server is needed (the main one)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_until_up(proc: subprocess.Popen, url: str, timeout: float, log: Any) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"datasette exited with {proc.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"datasette did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- The equivalent pages ----------------------------------------------------------------

# Our six facets as Datasette asks for them, in our order.
PEER_FACETS = (
    ("_facet", "country"),
    ("_facet", "speaker"),
    ("_facet_array", "proposals"),
    ("_facet", "event"),
    ("_facet", "kind"),
    ("_facet", "year"),
)

# Chosen from waic_perf (1,000,004 statements, `generate_data` with its default seed):
# the most frequent country (114,127 statements on behalf of the US) and the most common
# kind (450,906 direct quotes), 51,613 statements together; "helsinki", the city in the
# names of a few events and proposals (1,334 statements), and "safety", one of the most
# common topic words (133,266). Counts are PostgreSQL's; bench/datasette-peer.md has both.
DEFAULT_COUNTRY = "US"
DEFAULT_KIND = "direct_quote"
SELECTIVE_TERM = "helsinki"
COMMON_TERM = "safety"


@dataclass(frozen=True)
class PagePair:
    """One benchmark page on both sides: `tracker` is a path on our site, `peer` one on
    Datasette's (HTML; `peer_json` is its JSON twin). `where`/`params` select the same
    statements in PostgreSQL (alias s) for verify_equivalence."""

    name: str
    tracker: str
    peer: str
    where: str
    params: tuple[Any, ...]

    @property
    def peer_json(self) -> str:
        path, _, query = self.peer.partition("?")
        return f"{path}.json?{query}"


def _peer(filters: list[tuple[str, str]]) -> str:
    query = [
        *filters,
        ("_sort_desc", "said_on"),
        ("_size", str(PAGE_SIZE)),
        *PEER_FACETS,
        ("_facet_size", str(FACET_SIZE)),
    ]
    return f"/{DB_NAME}/statements?{urllib.parse.urlencode(query)}"


def peer_urls(
    *,
    country: str = DEFAULT_COUNTRY,
    kind: str = DEFAULT_KIND,
    selective: str = SELECTIVE_TERM,
    common: str = COMMON_TERM,
) -> list[PagePair]:
    """A3 (statements with two facets chosen) and A4 (full-text search, a selective and a
    common term), each on our statements browser and on Datasette."""
    country = country.upper()
    search_where = "s.search_vector @@ websearch_to_tsquery('english', %s)"
    pairs = [
        PagePair(
            name=f"A3 facets country={country.lower()} kind={kind}",
            tracker="/statements/?"
            + urllib.parse.urlencode({"country": country.lower(), "kind": kind}),
            peer=_peer([("country", country), ("kind", kind)]),
            where="s.on_behalf_of_country_id = %s AND s.kind = %s",
            params=(country, kind),
        )
    ]
    for label, term in (("selective", selective), ("common", common)):
        pairs.append(
            PagePair(
                name=f"A4 search {label} q={term}",
                tracker="/statements/?" + urllib.parse.urlencode({"q": term}),
                peer=_peer([("_search", term)]),
                where=search_where,
                params=(term,),
            )
        )
    return pairs


@dataclass
class Equivalence:
    pair: PagePair
    tracker_rows: int  # PostgreSQL's exact count of the page's filter
    peer_rows: int | None  # Datasette's filtered_table_rows_count (None: it timed out)
    # Facets asked for but not in the page: Datasette drops a facet that exceeds
    # facet_time_limit_ms (its JSON does not list them; its HTML says "timed out").
    facets_missing: list[str]
    peer_rows_shown: int

    @property
    def ok(self) -> bool:
        return (
            self.tracker_rows == self.peer_rows
            and self.peer_rows_shown == min(self.tracker_rows, PAGE_SIZE)
            and not self.facets_missing
        )

    def describe(self) -> str:
        status = "same" if self.ok else "DIFFERENT"
        timed_out = f", facets missing: {self.facets_missing}" if self.facets_missing else ""
        return (
            f"{self.pair.name}: PostgreSQL {self.tracker_rows:,}, Datasette "
            f"{self.peer_rows if self.peer_rows is None else f'{self.peer_rows:,}'} "
            f"({self.peer_rows_shown} shown){timed_out}: {status}"
        )


def fetch_json(url: str, timeout: float = 60.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def verify_equivalence(
    database_url: str, peer_base: str, pairs: list[PagePair] | None = None
) -> list[Equivalence]:
    """For each pair, PostgreSQL's count of the rows our page filters (exact, not capped
    as the page shows it) against Datasette's `filtered_table_rows_count` for its page
    (the JSON of the same URL)."""
    conn = psycopg2.connect(database_url)
    try:
        conn.set_session(readonly=True)
        base = peer_base.rstrip("/")
        return compare(conn, lambda path: fetch_json(base + path), pairs)
    finally:
        conn.close()


def compare(
    conn: Any, fetch: Callable[[str], dict[str, Any]], pairs: list[PagePair] | None = None
) -> list[Equivalence]:
    """verify_equivalence over an open psycopg2 connection, with `fetch` reading a
    Datasette path's JSON (the test uses Datasette's in-process client)."""
    results = []
    for pair in pairs if pairs is not None else peer_urls():
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM governance_statement s WHERE {pair.where}", pair.params
            )
            tracker_rows = cursor.fetchone()[0]
        data = fetch(pair.peer_json)
        results.append(
            Equivalence(
                pair=pair,
                tracker_rows=tracker_rows,
                peer_rows=data.get("filtered_table_rows_count"),
                facets_missing=[
                    column
                    for _, column in PEER_FACETS
                    if column not in (data.get("facet_results") or {})
                ],
                peer_rows_shown=len(data.get("rows") or []),
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    """By hand: export, serve, check. `uv run python -m bench.perf.datasette_peer
    postgres://postgres@127.0.0.1:5432/waic_perf /tmp/peer/statements.db`"""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("database_url")
    parser.add_argument("path", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-export", action="store_true", help="reuse the file at path")
    args = parser.parse_args(argv)
    if not args.no_export:
        print(export(args.database_url, args.path).describe(), flush=True)
    with serve(args.path, args.port) as base:
        print(f"datasette at {base}")
        ok = True
        for result in verify_equivalence(args.database_url, base):
            print(result.describe())
            print(f"  ours: {result.pair.tracker}\n  peer: {base}{result.pair.peer}")
            ok = ok and result.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
