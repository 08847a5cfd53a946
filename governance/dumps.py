"""The full dataset dump: one zip with a CSV per table, a data dictionary and a manifest.

Built by the `governance.tasks.build_dataset_dump` beat task (daily) or `manage.py
build_dump`, into settings.DUMPS_DIR, and offered on /data/.

- Rows stream from the database through server-side cursors (CHUNK rows per round
  trip) into the zip entry being written, so memory does not grow with the data.
- Every table is read in one REPEATABLE READ transaction: the files agree with each
  other (a statement's evidence is there, counts match) even while curators work.
- The zip is written under a temporary name in DUMPS_DIR and renamed into place, so a
  download never sees a half-written file; the newest DUMPS_KEEP dumps are kept.
- Documents are exported as metadata (title, publisher, dates, URL, text length and
  hash), not their full text: that would make the dump mostly article bodies. Every
  evidence row carries the exact excerpt it relies on, and the document's page and URL
  give the full text.
- Text cells a spreadsheet would evaluate as a formula are neutralized with a leading
  quote (governance.spreadsheet), as in the list exports.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import re
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.utils import timezone

from governance import quotation, spreadsheet
from governance.models import (
    ActionPlanItem,
    Country,
    Document,
    DocumentCountry,
    Event,
    EventFigure,
    Evidence,
    Organization,
    Participation,
    Person,
    Proposal,
    Role,
    Statement,
    date_basis,
)

logger = logging.getLogger(__name__)

CHUNK = 5000
NAME_RE = re.compile(r"waic-dataset-(\d{8}T\d{6}Z)\.zip")
DICTIONARY_MD = "data-dictionary.md"
DICTIONARY_CSV = "data-dictionary.csv"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    # An ORM lookup read with values_list; `derive`, when set, makes the value from the
    # row (keyed by lookup) instead.
    lookup: str | None = None
    derive: Callable[[dict[str, Any]], Any] | None = None


@dataclass(frozen=True)
class Table:
    file: str
    description: str
    rows: Callable[[], QuerySet[Any]]
    columns: list[Column] = field(default_factory=list)


def _c(name: str, description: str, lookup: str | None = None) -> Column:
    return Column(name, description, lookup or name)


def _url(pattern: str) -> Column:
    """The record's page, from `pattern` filled with the row's values."""
    return Column(
        "url",
        "The record's page in the tracker",
        None,
        lambda row: settings.SITE_URL + pattern.format(**row),
    )


def _one_of(choices: type[models.TextChoices]) -> str:
    return "One of: " + ", ".join(choices.values)


STATEMENT_TEXT = (
    "The words, never with quotation marks the source does not have: verbatim for a "
    "direct quote, reported speech holding the quoted words for a partial quote, "
    "otherwise what was said"
)
QUOTED = (
    "A partial quote's quoted words (JSON array of strings, in order), each verbatim in the "
    "evidence; [] for other kinds (a direct quote is quoted whole)"
)
DISPLAY_TEXT = (
    "The text as the tracker shows it: quotation marks around the quoted words only, "
    "never around a paraphrase"
)
DATE_BASIS = (
    "own: dated by its own date; event: undated, shown with the dates of the event it was "
    "reported at (date_inferred_start/end); empty: undated"
)


def _inferred(name: str, lookup: str, own: str, which: str) -> Column:
    """The event's first or last day, for a row without its own date (else empty)."""
    return Column(
        name,
        f"Undated, at an event with known dates: the event's {which} (YYYY-MM-DD), "
        "inferred from the event",
        lookup,
        lambda row: None if row[own] is not None else row[lookup],
    )


MERGED = "Set when this record was a duplicate merged into that id (its page redirects there)"


TABLES: list[Table] = [
    Table(
        "countries.csv",
        "ISO 3166-1 countries (reference data).",
        lambda: Country.objects.order_by("code"),
        [
            _c("code", "ISO alpha-2 code; the key other files use for a country"),
            _c("alpha3", "ISO alpha-3 code"),
            _c("numeric", "ISO numeric code"),
            _c("name", "Short name"),
            _c("official_name", "Official name"),
            _c("region", "UN M49 region"),
            _c("subregion", "UN M49 sub-region"),
            Column(
                "url",
                "The country's page in the tracker",
                None,
                lambda row: f"{settings.SITE_URL}/countries/{row['code'].lower()}/",
            ),
        ],
    ),
    Table(
        "proposals.csv",
        "Governance proposals: bodies, declarations, action plans, laws, export controls.",
        lambda: Proposal.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("slug", "Stable slug, used in its URL"),
            _c("title", "Title"),
            Column("aliases", "Other titles it goes by, separated by '; '", "aliases"),
            _c("kind", _one_of(Proposal.Kind)),
            _c("status", _one_of(Proposal.Status)),
            _c("announced_on", "Date announced (YYYY-MM-DD)"),
            _c("event_id", "Event it was announced at (events.csv id)"),
            _c("summary", "Summary"),
            _c("proposed_headquarters", "Proposed seat, for a proposed body"),
            _c(
                "headquarters_statement_id",
                "The statement naming the proposed seat, who said it (statements.csv id)",
            ),
            _c("merged_into_id", MERGED),
            _url("/proposals/{slug}/"),
        ],
    ),
    Table(
        "action_plan_items.csv",
        "The numbered items of an action plan.",
        lambda: ActionPlanItem.objects.order_by("proposal_id", "position", "id"),
        [
            _c("id", "Stable id"),
            _c("proposal_id", "proposals.csv id"),
            _c("position", "Item number within the plan"),
            _c("heading", "Heading"),
            _c("text", "Text"),
            _c("themes", "Themes, separated by '; '"),
        ],
    ),
    Table(
        "participation.csv",
        "Who takes part in what: one participant, one subject (proposal or event), one role. "
        "An unknown stance is the absence of a row, never a role.",
        lambda: Participation.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("proposal_id", "proposals.csv id (empty when the subject is an event)"),
            _c("event_id", "events.csv id (empty when the subject is a proposal)"),
            _c(
                "country_code",
                "countries.csv code, when the participant is a country",
                "country_id",
            ),
            _c("organization_id", "organizations.csv id, when the participant is one"),
            _c("person_id", "people.csv id, when the participant is a person"),
            _c("role", _one_of(Participation.Role)),
            _c("date", "Date of the role (YYYY-MM-DD), its own date; empty if unknown"),
            Column(
                "date_basis",
                DATE_BASIS,
                None,
                lambda row: date_basis(row["date"], row["date_start"]),
            ),
            _inferred("date_inferred_start", "date_start", "date", "first day"),
            _inferred("date_inferred_end", "date_end", "date", "last day"),
            _c("note", "Curator's note"),
        ],
    ),
    Table(
        "people.csv",
        "People who speak or take part.",
        lambda: Person.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("slug", "Stable slug, used in its URL"),
            _c("name", "Name"),
            _c("aliases", "Other names, separated by '; '"),
            _c("description", "Short description"),
            _c("merged_into_id", MERGED),
            _url("/people/{slug}/"),
        ],
    ),
    Table(
        "roles.csv",
        "Positions people held (Li Qiang, Premier, China).",
        lambda: Role.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("person_id", "people.csv id"),
            _c("title", "Title of the position"),
            _c("organization_id", "organizations.csv id, if held in an organization"),
            _c("country_code", "countries.csv code, if held for a country", "country_id"),
            _c("start_date", "Start (YYYY-MM-DD)"),
            _c("end_date", "End (YYYY-MM-DD)"),
            _c("former", "true when known to have ended, even without an end date"),
        ],
    ),
    Table(
        "organizations.csv",
        "Governments, ministries, intergovernmental bodies, companies, research groups.",
        lambda: Organization.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("slug", "Stable slug, used in its URL"),
            _c("name", "Name"),
            _c("aliases", "Other names, separated by '; '"),
            _c("kind", _one_of(Organization.Kind)),
            _c("country_code", "countries.csv code of its country", "country_id"),
            _c("parent_id", "organizations.csv id of its parent"),
            _c("description", "Description"),
            _c("merged_into_id", MERGED),
            _url("/organizations/{slug}/"),
        ],
    ),
    Table(
        "organization_members.csv",
        "Member countries of an organization.",
        lambda: Organization.members.through.objects.order_by("id"),
        [
            _c("organization_id", "organizations.csv id"),
            _c("country_code", "countries.csv code", "country_id"),
        ],
    ),
    Table(
        "events.csv",
        "Summits, conferences and meetings.",
        lambda: Event.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("slug", "Stable slug, used in its URL"),
            _c("name", "Name"),
            _c("short_name", "Short name"),
            _c("city", "City"),
            _c("country_code", "countries.csv code of the host country", "country_id"),
            _c("start_date", "First day (YYYY-MM-DD)"),
            _c("end_date", "Last day (YYYY-MM-DD)"),
            _c("theme", "Theme"),
            _c("description", "Description"),
            _c("merged_into_id", MERGED),
            _url("/events/{slug}/"),
        ],
    ),
    Table(
        "event_figures.csv",
        "Numbers reported about events (over 800 companies).",
        lambda: EventFigure.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("event_id", "events.csv id"),
            _c("label", "What is counted"),
            _c("value", "The number"),
            _c("qualifier", _one_of(EventFigure.Qualifier)),
            _c("note", "Note"),
        ],
    ),
    Table(
        "statements.csv",
        "What officials and organizations said: direct and partial quotes, paraphrases.",
        lambda: Statement.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c("speaker_id", "people.csv id of the speaker"),
            _c("speaker_role_id", "roles.csv id of the role spoken in"),
            _c("country_code", "countries.csv code spoken for", "on_behalf_of_country_id"),
            _c(
                "organization_id", "organizations.csv id spoken for", "on_behalf_of_organization_id"
            ),
            _c("kind", _one_of(Statement.Kind)),
            _c("text", STATEMENT_TEXT),
            Column("quoted", QUOTED, "quoted", lambda row: json.dumps(row["quoted"])),
            Column(
                "display_text",
                DISPLAY_TEXT,
                None,
                lambda row: quotation.display_text(row["kind"], row["text"], row["quoted"]),
            ),
            _c("said_on", "Date said (YYYY-MM-DD), its own date; empty if unknown"),
            Column(
                "date_basis",
                DATE_BASIS,
                None,
                lambda row: date_basis(row["said_on"], row["date_start"]),
            ),
            _inferred("date_inferred_start", "date_start", "said_on", "first day"),
            _inferred("date_inferred_end", "date_end", "said_on", "last day"),
            _c("event_id", "events.csv id of the event it was said at"),
            _url("/statements/{id}/"),
        ],
    ),
    Table(
        "statement_proposals.csv",
        "Which proposals a statement is about.",
        lambda: Statement.proposals.through.objects.order_by("id"),
        [
            _c("statement_id", "statements.csv id"),
            _c("proposal_id", "proposals.csv id"),
        ],
    ),
    Table(
        "statement_countries.csv",
        "Which countries a statement is about.",
        lambda: Statement.countries.through.objects.order_by("id"),
        [
            _c("statement_id", "statements.csv id"),
            _c("country_code", "countries.csv code", "country_id"),
        ],
    ),
    Table(
        "statement_organizations.csv",
        "Which organizations a statement is about.",
        lambda: Statement.organizations.through.objects.order_by("id"),
        [
            _c("statement_id", "statements.csv id"),
            _c("organization_id", "organizations.csv id"),
        ],
    ),
    Table(
        "documents.csv",
        "The sources the tracker read (metadata; the full text is on the document's page).",
        lambda: Document.objects.annotate(text_length=Length("text")).order_by("id"),
        [
            _c("id", "Stable id"),
            _c("source_url", "The document's canonical URL (empty if entered by hand)", "url"),
            _c("title", "Title"),
            _c("publisher", "Publisher"),
            _c("author", "Author"),
            _c("published_at", "Publication time (ISO 8601, UTC)"),
            _c("language", "Language code"),
            _c("fetched_at", "When the tracker fetched it (ISO 8601, UTC)"),
            _c("source_name", "The tracker source it came from", "source__name"),
            _c("text_length", "Length of its text in characters"),
            _c("content_sha256", "SHA-256 of its text, white space normalized"),
            _url("/documents/{id}/"),
        ],
    ),
    Table(
        "document_countries.csv",
        "Countries a document mentions.",
        lambda: DocumentCountry.objects.order_by("id"),
        [
            _c("document_id", "documents.csv id"),
            _c("country_code", "countries.csv code", "country_id"),
            _c("mention_count", "How many times it is mentioned"),
        ],
    ),
    Table(
        "evidence.csv",
        "Where each fact comes from: an exact span of a document's text.",
        lambda: Evidence.objects.order_by("id"),
        [
            _c("id", "Stable id"),
            _c(
                "record_type",
                "The kind of record supported: statement, proposal, participation, role, "
                "person, organization, event, eventfigure, actionplanitem, country",
                "content_type__model",
            ),
            _c("record_id", "The record's id (code for a country) in its file", "object_id"),
            _c("document_id", "documents.csv id"),
            _c("start", "Start offset of the span in the document's text (characters)"),
            _c("end", "End offset (exclusive)"),
            _c("excerpt", "The exact text of the span"),
            _c("claim", "What the span supports, for readers"),
            Column(
                "url",
                "The span highlighted on the document's page",
                None,
                lambda row: (
                    f"{settings.SITE_URL}/documents/{row['document_id']}/"
                    f"#span-{row['start']}-{row['end']}"
                ),
            ),
        ],
    ),
]


# --- Writing ----------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return value


def table_rows(table: Table) -> Iterator[list[Any]]:
    """The table's rows as CSV cells, read through a server-side cursor."""
    lookups = [c.lookup for c in table.columns if c.lookup]
    for values in table.rows().values_list(*lookups).iterator(chunk_size=CHUNK):
        # Derived columns (URLs) read the row by lookup name.
        row = dict(zip(lookups, values, strict=True))
        yield [
            _cell(c.derive(row) if c.derive else row[c.lookup] if c.lookup else None)
            for c in table.columns
        ]


def _write_table(archive: zipfile.ZipFile, table: Table) -> int:
    n = 0
    with archive.open(table.file, "w", force_zip64=True) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = spreadsheet.Writer(text)
        writer.writerow([c.name for c in table.columns])
        for n, row in enumerate(table_rows(table), start=1):  # noqa: B007
            writer.writerow(row)
        text.flush()
        text.detach()
    return n


def dictionary_markdown(tables: list[Table] = TABLES) -> str:
    lines = [
        "# Data dictionary",
        "",
        "One CSV per table, UTF-8, comma-separated, with a header row. Empty cells are",
        "unknown or not applicable. Ids are stable: the same record keeps its id in every",
        "dump, and a duplicate merged into another keeps its row with `merged_into_id`.",
        "Dates are YYYY-MM-DD; times ISO 8601 in UTC. Lists inside a cell are separated",
        "by '; '. Documents are listed without their full text (see `documents.csv`);",
        "`evidence.csv` has the exact excerpt behind every fact.",
        "",
        "Text a spreadsheet would run as a formula (a cell starting with =, +, -, @, a tab",
        "or a carriage return) is written with a single quote (') in front, so the file",
        "opens as text; to get the stored value back, remove one leading quote from a text",
        "cell that starts with quotes followed by one of those characters. Numbers are",
        "written as they are.",
        "",
    ]
    for table in tables:
        lines += [
            f"## {table.file}",
            "",
            table.description,
            "",
            "| column | meaning |",
            "|---|---|",
        ]
        lines += [f"| `{c.name}` | {c.description.replace('|', '/')} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)


def dictionary_csv(tables: list[Table] = TABLES) -> str:
    out = io.StringIO()
    writer = spreadsheet.Writer(out)
    writer.writerow(["file", "column", "description"])
    for table in tables:
        for c in table.columns:
            writer.writerow([table.file, c.name, c.description])
    return out.getvalue()


def tracker_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _schema_migration() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM django_migrations WHERE app = 'governance' ORDER BY id DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return row[0] if row else ""


@dataclass
class Dump:
    path: Path
    built_at: datetime.datetime
    size: int
    manifest: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.path.name


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent snapshot for every table. Inside a caller's transaction (a test, a
    shell) the caller's snapshot is used as it is."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def build_dump(directory: Path | None = None, *, keep: int | None = None) -> Dump:
    """Write a new dump into `directory` (DUMPS_DIR), then prune to the newest `keep`."""
    directory = Path(directory or settings.DUMPS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    built_at = timezone.now().replace(microsecond=0)
    final = directory / f"waic-dataset-{built_at.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}.zip"
    fd, tmp_name = tempfile.mkstemp(prefix=".building-", suffix=".zip.tmp", dir=directory)
    tmp = Path(tmp_name)
    counts: dict[str, int] = {}
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                with _snapshot():
                    for table in TABLES:
                        counts[table.file] = _write_table(archive, table)
                    migration = _schema_migration()
                archive.writestr(DICTIONARY_MD, dictionary_markdown())
                archive.writestr(DICTIONARY_CSV, dictionary_csv())
                manifest = {
                    "format_version": FORMAT_VERSION,
                    "built_at": built_at.isoformat(),
                    "tracker_version": tracker_version(),
                    "schema_migration": migration,
                    "site_url": settings.SITE_URL,
                    "row_counts": counts,
                    "files": [t.file for t in TABLES] + [DICTIONARY_MD, DICTIONARY_CSV],
                }
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("dataset dump %s written: %s", final.name, counts)
    prune(directory, keep if keep is not None else settings.DUMPS_KEEP)
    return Dump(final, built_at, final.stat().st_size, manifest)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dumps (at least one is always kept)."""
    removed = []
    for dump in list_dumps(directory, with_manifest=False)[max(keep, 1) :]:
        dump.path.unlink(missing_ok=True)
        removed.append(dump.path)
    return removed


def _parse_name(name: str) -> datetime.datetime | None:
    match = NAME_RE.fullmatch(name)
    if not match:
        return None
    try:
        parsed = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return parsed.replace(tzinfo=datetime.UTC)


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(MANIFEST))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def list_dumps(directory: Path | None = None, *, with_manifest: bool = True) -> list[Dump]:
    """Finished dumps, newest first (temporary files are not listed)."""
    directory = Path(directory or settings.DUMPS_DIR)
    if not directory.is_dir():
        return []
    dumps = []
    for entry in directory.iterdir():
        built_at = _parse_name(entry.name)
        if built_at is None or not entry.is_file():
            continue
        dumps.append(Dump(entry, built_at, entry.stat().st_size))
    dumps.sort(key=lambda d: d.built_at, reverse=True)
    if with_manifest and dumps:
        # Only the newest is shown with its row counts.
        dumps[0].manifest = read_manifest(dumps[0].path)
    return dumps


def find_dump(name: str, directory: Path | None = None) -> Path | None:
    """The dump called `name`, or None: only names of the exact dump pattern are looked
    up, so nothing outside DUMPS_DIR can be reached."""
    if _parse_name(name) is None:
        return None
    path = Path(directory or settings.DUMPS_DIR) / name
    return path if path.is_file() else None
