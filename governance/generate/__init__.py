"""A deterministic generator of a large, realistic dataset (`manage.py generate_data`).

Same seed and options, same rows: one random.Random(seed) drives everything,
in a fixed order, with dates from a fixed range and no wall-clock values. Only
surrogate ids differ between runs (they come from the tables' sequences).

Generated records are marked so they can be removed without touching anything
else: documents belong to the "Generated data" source, slugged records'
slugs start with "gen--" (see reference.SLUG_PREFIX), and every other record
hangs on one of those. No history rows are written for them.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from tqdm import tqdm

from governance import count_cache, models
from governance.generate.bulk import allocate_ids, copy_rows
from governance.generate.documents import DocumentRow, Newsroom
from governance.generate.reference import SLUG_PREFIX, build_reference

SOURCE_NAME = "Generated data"
# Fixed, so that the source row is the same on every run.
SOURCE_CREATED = dt.datetime(2026, 10, 31, tzinfo=dt.UTC)
DOCUMENTS_PER_BATCH = 1000


class AlreadyGenerated(Exception):
    """Generated data is present; clear it first."""


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        width = max(map(len, self.counts), default=0)
        return [f"{k:<{width}}  {v:>10,}" for k, v in self.counts.items()]


def generated_present() -> bool:
    return (
        models.Source.objects.filter(name=SOURCE_NAME).exists()
        or models.Person.objects.filter(slug__startswith=SLUG_PREFIX).exists()
        or models.Organization.objects.filter(slug__startswith=SLUG_PREFIX).exists()
    )


def _table(model: type[models.models.Model]) -> str:
    return model._meta.db_table


def clear() -> dict[str, int]:
    """Delete every generated record, in SQL (the ORM's cascade collector is far too
    slow for a million rows); anything else pointing at them makes it fail loudly."""
    m = models
    prefix = SLUG_PREFIX + "%"  # no _ or % in it, so LIKE matches it literally
    people = f"SELECT id FROM {_table(m.Person)} WHERE slug LIKE %(p)s"
    orgs = f"SELECT id FROM {_table(m.Organization)} WHERE slug LIKE %(p)s"
    events = f"SELECT id FROM {_table(m.Event)} WHERE slug LIKE %(p)s"
    proposals = f"SELECT id FROM {_table(m.Proposal)} WHERE slug LIKE %(p)s"
    source = f"SELECT id FROM {_table(m.Source)} WHERE name = %(s)s"
    docs = f"SELECT id FROM {_table(m.Document)} WHERE source_id IN ({source})"
    statements = f"SELECT id FROM {_table(m.Statement)} WHERE speaker_id IN ({people})"
    steps = [
        ("evidence", m.Evidence, f"document_id IN ({docs})"),
        *[
            (
                f"statement {name}",
                getattr(m.Statement, name).through,
                f"statement_id IN ({statements})",
            )
            for name in ("proposals", "countries", "organizations")
        ],
        ("statements", m.Statement, f"speaker_id IN ({people})"),
        ("country mentions", m.DocumentCountry, f"document_id IN ({docs})"),
        ("candidates", m.Candidate, f"document_id IN ({docs})"),
        ("documents", m.Document, f"source_id IN ({source})"),
        ("ingest runs", m.IngestRun, f"source_id IN ({source})"),
        ("sources", m.Source, "name = %(s)s"),
        (
            "participations",
            m.Participation,
            f"proposal_id IN ({proposals}) OR event_id IN ({events}) "
            f"OR organization_id IN ({orgs}) OR person_id IN ({people})",
        ),
        ("action plan items", m.ActionPlanItem, f"proposal_id IN ({proposals})"),
        ("event figures", m.EventFigure, f"event_id IN ({events})"),
        ("proposals", m.Proposal, "slug LIKE %(p)s"),
        ("roles", m.Role, f"person_id IN ({people})"),
        ("events", m.Event, "slug LIKE %(p)s"),
        ("people", m.Person, "slug LIKE %(p)s"),
        ("organization members", m.Organization.members.through, f"organization_id IN ({orgs})"),
        ("organizations", m.Organization, "slug LIKE %(p)s"),
    ]
    counts: dict[str, int] = {}
    params = {"p": prefix, "s": SOURCE_NAME}
    with transaction.atomic(), connection.cursor() as cursor:
        count_cache.bump_all()  # raw DELETEs: no signals
        for label, model, where in steps:
            cursor.execute(f"DELETE FROM {_table(model)} WHERE {where}", params)
            if cursor.rowcount:
                counts[label] = cursor.rowcount
    return counts


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """total items over parts buckets, unevenly (some articles quote more people)."""
    if parts <= 0:
        return []
    counts = [(i + 1) * total // parts - i * total // parts for i in range(parts)]
    for i in range(0, parts - 1, 2):
        move = rng.randint(0, counts[i])
        counts[i] -= move
        counts[i + 1] += move
    return counts


def generate(
    *,
    statements: int,
    seed: int,
    people: int,
    organizations: int,
    proposals: int,
    documents: int,
    events: int,
    progress: bool = True,
) -> Summary:
    """Write the dataset in one transaction; raises AlreadyGenerated if some is there."""
    started = time.monotonic()
    if statements and (documents < 1 or people < 1):
        raise ValueError("statements need at least one document and one person")
    rng = random.Random(seed)
    summary = Summary()
    with transaction.atomic():
        if generated_present():
            raise AlreadyGenerated
        count_cache.bump_all()  # COPY: no signals
        with connection.cursor() as cursor:
            # One big transaction: no need to wait for the WAL flush of each COPY,
            # and a larger GIN pending list means fewer, bigger merges.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        source = models.Source.objects.create(
            name=SOURCE_NAME,
            kind=models.Source.Kind.MANUAL,
            enabled=False,  # never due: beat must not try to fetch it
            next_fetch_at=None,
            manual_text="Synthetic documents written by manage.py generate_data.",
        )
        models.Source.objects.filter(pk=source.pk).update(created_at=SOURCE_CREATED)
        ref = build_reference(
            rng, people=people, organizations=organizations, proposals=proposals, events=events
        )
        summary.counts.update(ref.counts)
        summary.counts.update(
            _write_documents(ref, rng, source.pk, statements, documents, progress=progress)
        )
        with connection.cursor() as cursor:
            tables = [
                _table(t)
                for t in (
                    models.Organization,
                    models.Person,
                    models.Role,
                    models.Event,
                    models.Proposal,
                    models.Participation,
                    models.Document,
                    models.DocumentCountry,
                    models.Statement,
                    models.Statement.countries.through,
                    models.Statement.proposals.through,
                    models.Evidence,
                )
            ]
            cursor.execute("ANALYZE " + ", ".join(tables))
    summary.seconds = time.monotonic() - started
    return summary


def _write_documents(
    ref, rng: random.Random, source_id: int, n_statements: int, n_documents: int, *, progress: bool
) -> dict[str, int]:
    newsroom = Newsroom(ref, rng, n_documents)
    per_doc = split(n_statements, n_documents, rng)
    stmt_type = ContentType.objects.get_for_model(models.Statement).pk
    part_type = ContentType.objects.get_for_model(models.Participation).pk
    totals = dict.fromkeys(
        ["documents", "statements", "evidence", "country mentions", "statement countries",
         "statement proposals"],
        0,
    )  # fmt: skip
    bar = tqdm(
        total=n_statements, unit="stmt", file=sys.stderr, disable=not progress, smoothing=0.1
    )
    for first in range(0, n_documents, DOCUMENTS_PER_BATCH):
        batch = range(first, min(first + DOCUMENTS_PER_BATCH, n_documents))
        doc_ids = allocate_ids(models.Document, len(batch))
        stmt_ids = iter(allocate_ids(models.Statement, sum(per_doc[i] for i in batch)))
        docs: list[DocumentRow] = [
            newsroom.document(i, doc_id, [next(stmt_ids) for _ in range(per_doc[i])])
            for i, doc_id in zip(batch, doc_ids, strict=True)
        ]
        totals["documents"] += copy_rows(
            _table(models.Document),
            ["id", "source_id", "url", "title", "publisher", "author", "published_at",
             "language", "text", "content_sha256", "fetched_at", "extraction_status",
             "extracted_at", "extraction_error"],
            (
                (d.id, source_id, d.url, d.title, d.publisher, d.author, d.published_at, "en",
                 d.text, d.sha256, d.fetched_at, models.ExtractionStatus.DONE, d.fetched_at, "")
                for d in docs
            ),
        )  # fmt: skip
        totals["country mentions"] += copy_rows(
            _table(models.DocumentCountry),
            ["document_id", "country_id", "mention_count", "start", "end", "mention_types"],
            ((d.id, c, n, s, e, ["name"]) for d in docs for c, n, s, e in d.mentions),
        )
        stmts = [s for d in docs for s in d.statements]
        totals["statements"] += copy_rows(
            _table(models.Statement),
            ["id", "kind", "text", "said_on", "fingerprint", "event_id",
             "on_behalf_of_country_id", "on_behalf_of_organization_id", "speaker_id",
             "speaker_role_id", "quoted"],
            (
                # A generated partial quote is the quoted words alone, as extraction files
                # one: all of it is quoted (and its evidence is those words).
                (s.id, s.kind, s.text, s.said_on, s.fingerprint, s.event_id, s.country,
                 s.organization_id, s.speaker_id, s.role_id,
                 [s.text] if s.kind == models.Statement.Kind.PARTIAL_QUOTE else [])
                for s in stmts
            ),
        )  # fmt: skip
        totals["statement countries"] += copy_rows(
            _table(models.Statement.countries.through),
            ["statement_id", "country_id"],
            ((s.id, c) for s in stmts for c in s.countries),
        )
        totals["statement proposals"] += copy_rows(
            _table(models.Statement.proposals.through),
            ["statement_id", "proposal_id"],
            ((s.id, s.proposal_id) for s in stmts if s.proposal_id),
        )
        totals["evidence"] += copy_rows(
            _table(models.Evidence),
            ["content_type_id", "object_id", "document_id", "start", "end", "excerpt", "claim",
             "created_at"],
            [
                *((stmt_type, str(s.id), d.id, s.start, s.end, s.text, "The statement",
                   d.fetched_at) for d in docs for s in d.statements),
                *((part_type, str(pid), d.id, start, end, excerpt, "The participation",
                   d.fetched_at) for d in docs for pid, start, end, excerpt in d.participations),
            ],
        )  # fmt: skip
        bar.update(len(stmts))
    bar.close()
    return totals
