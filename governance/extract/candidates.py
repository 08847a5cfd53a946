"""Turn an Extraction into Candidates (for review) and country mentions (published).

One transaction per document: its pending Candidates are replaced, decided ones
are never touched nor duplicated, and the countries it mentions are stored as
DocumentCountry rows, the only facts published without review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from difflib import SequenceMatcher
from functools import cache
from typing import Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from governance import count_cache, quotation
from governance.extract.pipeline import extract_country_mentions
from governance.extract.types import CountryFound, EventFound, Extraction, ParaphraseFound
from governance.models import (
    Candidate,
    Country,
    Document,
    DocumentCountry,
    Event,
    ExtractionStatus,
    Organization,
    Person,
    Statement,
)

EXTRACTOR_VERSION = "rules-v1"

# How much a curator can trust each kind of candidate, before any calibration: the
# gazetteer is precise, attribution and proposal rules less so.
CONFIDENCE = {
    Candidate.Kind.COUNTRY: 0.9,
    Candidate.Kind.PERSON: 0.8,
    Candidate.Kind.ORGANIZATION: 0.7,
    Candidate.Kind.QUOTE: 0.75,
    Candidate.Kind.PROPOSAL: 0.6,
    Candidate.Kind.ACTION_ITEM: 0.5,
    Candidate.Kind.FIGURE: 0.8,
    Candidate.Kind.DATE: 0.8,
    Candidate.Kind.EVENT: 0.7,
    Candidate.Kind.PARTICIPATION: 0.5,
}
# A fact read across sentences (an agentless announcement given to the official who
# speaks next) is a guess a curator must confirm.
INFERRED_CONFIDENCE = 0.3


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _named(name: str) -> Q:
    """Same name, case-insensitive, or one of the record's aliases."""
    return Q(name__iexact=name) | Q(aliases__contains=[name])


def _first_named[M: (Person, Organization)](model: type[M], names: Iterable[str]) -> dict[str, M]:
    """For each name, the curated record `model.objects.filter(_named(name)).first()`
    gives (names without one are left out), in one query for them all and one to load
    the records. Each name is looked up through the indexes on UPPER(name) and on
    aliases (migration 0014), not by reading the whole table once per name."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    table = connection.ops.quote_name(model._meta.db_table)
    # _named's lookups as Django writes them (iexact: UPPER(name::text) = UPPER(%s)); the
    # model's ordering, then the id, picks the first.
    order = ", ".join(
        f"found.{connection.ops.quote_name(field.lstrip('-'))}"
        + (" DESC" if field.startswith("-") else "")
        for field in model._meta.ordering
    )
    sql = f"""
        SELECT DISTINCT ON (asked.i) asked.i, found.id
        FROM unnest(%s::text[]) WITH ORDINALITY AS asked(name, i)
        CROSS JOIN LATERAL (
            SELECT record.* FROM {table} record
            WHERE UPPER(record.name::text) = UPPER(asked.name)
            UNION ALL
            SELECT record.* FROM {table} record
            WHERE record.aliases @> ARRAY[asked.name]::varchar[]
        ) found
        ORDER BY asked.i, {order + ", " if order else ""}found.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [names])
        pks = {i - 1: pk for i, pk in cursor.fetchall()}
    records = model.objects.in_bulk(pks.values())
    return {names[i]: records[pk] for i, pk in pks.items()}


# Characters two wordings must share before a paraphrase is taken for a curated one:
# a curator rewords ("Called for ..."), but a clause of the article survives.
PARAPHRASE_OVERLAP = 30


def _overlap_blocks(mine: str) -> list[str]:
    """Consecutive blocks of half PARAPHRASE_OVERLAP characters: a run of PARAPHRASE_OVERLAP
    characters anywhere in `mine` covers one of them whole."""
    size = PARAPHRASE_OVERLAP // 2
    return [mine[i : i + size] for i in range(0, len(mine) - size + 1, size)]


# The kinds whose text is reported speech: a paraphrase, or a partial quote (reported
# speech holding quoted words; the article may carry no marks around them, as the seed's).
REPORTED_SPEECH = (Statement.Kind.PARAPHRASE.value, Statement.Kind.PARTIAL_QUOTE.value)


def _paraphrase_statement(speaker: Person, found: ParaphraseFound) -> Statement | None:
    """The speaker's curated paraphrase or partial quote that says the same: one text contains
    the other or they share a long run of words (the approach quotes use, loosened for
    rewording).

    PostgreSQL first narrows the speaker's paraphrases to those that can match (they
    contain `mine`, or one of its overlap blocks, or `mine` contains them): a speaker in
    the news has thousands. For one with 6,093 (bench/run's dataset), a paraphrase that
    is none of them took 614 ms comparing each here, 68 ms narrowed first."""
    mine = found.text.lower()
    blocks = _overlap_blocks(mine)
    # Their text contains mine or a block of it, or (STRPOS) mine contains their text
    # lowercased less its final periods.
    could_match = " OR ".join(
        ["STRPOS(%s, RTRIM(LOWER(text), '.')) > 0"] + [_CONTAINS] * (1 + len(blocks))
    )
    params = [list(REPORTED_SPEECH), mine, *map(_like, [mine, *blocks])]
    candidates = _statements(speaker, f"kind = ANY(%s) AND ({could_match})", params)
    return next((st for st in candidates if _says_the_same(mine, st.text.lower())), None)


def _quoted_statement(speaker: Person, quoted: str) -> Statement | None:
    """The first of the speaker's statements (in Statement's order) that contains
    `quoted`, whatever its case."""
    return next(iter(_statements(speaker, _CONTAINS, [_like(quoted)], limit=1)), None)


# What the ORM's text__icontains asks PostgreSQL; its parameter is _like(the text).
_CONTAINS = "UPPER(text) LIKE UPPER(%s)"
# Statement.Meta.ordering in SQL.
_STATEMENT_ORDER = "said_on DESC NULLS LAST, id DESC"


def _like(text: str) -> str:
    return f"%{connection.ops.prep_for_like_query(text)}%"


def _statements(
    speaker: Person, condition: str, params: list[Any], limit: int | None = None
) -> Iterator[Statement]:
    """The speaker's statements that meet `condition` (SQL), in Statement's order. SQL,
    not the ORM: building the query took longer than running it, for each quote and
    paraphrase of a known speaker (a test holds both to the ORM's answers)."""
    fields, columns = _statement_columns()
    sql = (
        f"SELECT {columns} FROM {_table(Statement)} WHERE speaker_id = %s AND ({condition}) "
        f"ORDER BY {_STATEMENT_ORDER}" + (f" LIMIT {int(limit)}" if limit else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [speaker.pk, *params])
        rows = cursor.fetchall()
    return (Statement.from_db(connection.alias, fields, row) for row in rows)


@cache
def _statement_columns() -> tuple[list[str], str]:
    """Statement's fields and their columns, less the generated ones (the search vector),
    which are left deferred."""
    fields = [f for f in Statement._meta.concrete_fields if not f.generated]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return [f.attname for f in fields], columns


def _says_the_same(mine: str, theirs: str) -> bool:
    """Two lowercased paraphrases say the same: one contains the other (less a final
    period), or they share a run of PARAPHRASE_OVERLAP characters."""
    if mine in theirs or theirs.rstrip(".") in mine:
        return True
    match = SequenceMatcher(None, mine, theirs, autojunk=False).find_longest_match()
    return match.size >= PARAPHRASE_OVERLAP


def _item_span(text: str, item: str, start: int, end: int) -> tuple[int, int]:
    """Where a plan item is written. A heading rebuilt from a shared verb ("bridging gaps
    in technical standards" from "to bridge gaps in regulatory philosophies and technical
    standards") is found by its longest literal tail, so two items keep two spans."""
    words = item.split()
    for first in range(len(words) - 1):  # at least two words, or "standards" anywhere
        tail = " ".join(words[first:])
        at = text.find(tail, start)
        if at >= 0:
            return at, at + len(tail)
    return start, end


def _event_names(found: EventFound) -> set[str]:
    """What a curated event a found one is may be called: its name or short name, with or
    without the year."""
    names = {found.name, found.display_name}
    if found.short_name:
        names |= {found.short_name, f"{found.short_name} {found.year}".strip()}
    return names


@dataclass(frozen=True)
class Curated:
    """The curated records a batch of extractions names, looked up once for the batch (a
    few queries instead of a few per document): countries by code, people and
    organizations by name or alias, and events."""

    countries: dict[str, Country]
    people: dict[str, Person]
    organizations: dict[str, Organization]
    events: list[Event]  # every curated event one of the found ones may be, in Event order

    @classmethod
    def named_in(cls, extractions: Iterable[Extraction]) -> Curated:
        extractions = [e for e in extractions if e.supported]
        codes = {found.code for e in extractions for found in e.countries}
        people = [
            name
            for e in extractions
            for name in [p.name for p in e.people if p.mentions]
            + [q.speaker for q in e.quotes]
            + [p.speaker for p in e.paraphrases]
        ]
        organizations = [o.name for e in extractions for o in e.organizations if o.mentions]
        event_names = {
            name for e in extractions for found in e.events for name in _event_names(found)
        }
        query = Q()
        for name in event_names:
            query |= Q(name__iexact=name) | Q(short_name__iexact=name)
        return cls(
            countries={c.code: c for c in Country.objects.filter(code__in=codes)} if codes else {},
            people=_first_named(Person, people),
            organizations=_first_named(Organization, organizations),
            events=list(Event.objects.filter(query)) if event_names else [],
        )

    def event(self, found: EventFound) -> Event | None:
        """What `Event.objects.filter(<any of its names, iexact, as name or short
        name>).first()` gives, from the batch's events."""
        names = {name.upper() for name in _event_names(found)}
        return next(
            (e for e in self.events if e.name.upper() in names or e.short_name.upper() in names),
            None,
        )


def _event_payload(found: EventFound) -> dict[str, Any]:
    return {
        "name": found.display_name,
        "base_name": found.name,
        "short_name": found.short_name,
        "year": found.year,
        "city": found.city,
        "country": found.country,
        "theme": found.theme,
        "start_date": found.start_date,
        "end_date": found.end_date,
        "duration_days": found.duration_days,
        "mentions": [asdict(m) for m in found.mentions],
    }


class CandidateRow(NamedTuple):
    """A Candidate's columns as write_candidates files them. Rows, not model instances:
    building, validating and compiling the INSERT of a document's ~46 Candidates through
    the ORM took 8 of its ~54 ms of ingestion CPU (bench/ingestion-speed.md)."""

    kind: str
    start: int
    end: int
    payload: dict[str, Any]
    excerpt: str
    confidence: float
    extractor: str
    record_type_id: int | None
    record_id: str


_FIELD = Candidate._meta.get_field
_MAX_LENGTH = {name: _FIELD(name).max_length for name in ("kind", "extractor", "record_id")}
_MAX_POSITION = 2_147_483_647  # PostgreSQL's integer, as the ORM's own validator says
_KINDS = frozenset(Candidate.Kind.values)
_REQUIRED = Candidate.REQUIRED_PAYLOAD_KEYS
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escape jsonb refuses, not "\\u0000"


def candidate_columns(row: CandidateRow, text: str) -> tuple[Any, ...]:
    """`row`'s values as filed for a document of `text` (the payload as JSON), or a
    ValidationError naming each field that cannot be filed. It refuses what
    Candidate.full_clean() and the ORM's INSERT refuse (the table's checks, a NUL
    character, a NaN in the payload), so that a rule's bug fails its document with a
    message instead of filing it half-written."""
    errors: dict[str, str] = {}
    if row.kind not in _KINDS:
        errors["kind"] = f"Value {row.kind!r} is not a valid choice."
    payload = None
    if not isinstance(row.payload, dict):
        errors["payload"] = "The payload must be a JSON object."
    elif missing := [k for k in _REQUIRED.get(row.kind, ()) if k not in row.payload]:
        errors["payload"] = f"A {row.kind} payload needs: {', '.join(missing)}."
    else:
        try:
            payload = json.dumps(row.payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            errors["payload"] = f"The payload is not JSON: {exc}."
        if payload is not None and _JSON_NUL.search(payload):
            errors["payload"] = "The payload holds a NUL character."
    for name in ("start", "end"):
        value = getattr(row, name)
        if type(value) is not int or not 0 <= value <= _MAX_POSITION:
            errors[name] = f"{name} must be an integer from 0 to {_MAX_POSITION}."
    if not errors.keys() & {"start", "end"} and row.end <= row.start:
        errors["end"] = "The span must not be empty (end > start)."
    # The excerpt is a slice of the document's text, which PostgreSQL keeps free of NULs.
    span = not errors.keys() & {"start", "end"}  # else no span to compare the excerpt with
    if span and (not row.excerpt or text[row.start : row.end] != row.excerpt):
        errors["excerpt"] = "The excerpt must be exactly the document's text at [start:end]."
    if not isinstance(row.confidence, float | int) or not 0 <= row.confidence <= 1:
        errors["confidence"] = "The confidence must be a number from 0 to 1."
    for name, limit in _MAX_LENGTH.items():
        value = getattr(row, name)
        if not isinstance(value, str) or len(value) > limit or (not value and name != "record_id"):
            errors[name] = f"{name} must be text of 1 to {limit} characters."
        elif "\x00" in value:
            errors[name] = f"{name} holds a NUL character."
    if errors:
        raise ValidationError(errors)
    return (*row[:3], payload, *row[4:])


def _candidates(
    extraction: Extraction, document: Document, curated: Curated
) -> Iterator[CandidateRow]:
    text = document.text
    countries, people, organizations = curated.countries, curated.people, curated.organizations

    def make(
        kind: str,
        start: int,
        end: int,
        payload: dict,
        record: models.Model | None,
        extractor: str = "",
        confidence: float | None = None,
    ) -> CandidateRow:
        return CandidateRow(
            kind=kind,
            start=start,
            end=end,
            payload=_jsonable(payload),
            excerpt=text[start:end],
            confidence=CONFIDENCE[kind] if confidence is None else confidence,
            extractor=extractor or f"{kind}-{EXTRACTOR_VERSION}",
            record_type_id=ContentType.objects.get_for_model(record).pk if record else None,
            record_id=str(record.pk) if record else "",
        )

    for found in extraction.countries:
        first = found.mentions[0]
        payload = {"code": found.code, "mentions": [asdict(m) for m in found.mentions]}
        yield make(
            Candidate.Kind.COUNTRY, first.start, first.end, payload, countries.get(found.code)
        )
    for person in extraction.people:
        if not person.mentions:
            continue
        first = person.mentions[0]
        yield make(
            Candidate.Kind.PERSON, first.start, first.end, asdict(person), people.get(person.name)
        )
    for org in extraction.organizations:
        if not org.mentions:
            continue
        first = org.mentions[0]
        yield make(
            Candidate.Kind.ORGANIZATION,
            first.start,
            first.end,
            asdict(org),
            organizations.get(org.name),
        )
    for quote in extraction.quotes:
        speaker = people.get(quote.speaker)
        payload = {**asdict(quote), "speaker_id": speaker.pk if speaker else None}
        existing = _quoted_statement(speaker, quote.text[:200]) if speaker else None
        yield make(Candidate.Kind.QUOTE, quote.start, quote.end, payload, existing)
    for para in extraction.paraphrases:
        speaker = people.get(para.speaker)
        # Reported speech holding the speaker's words in quotation marks is a partial
        # quote: the marks come out of the text, the words they held are its quoted runs
        # (each verbatim in the span), as accepting files it (review._quotation).
        words, quoted = quotation.split_marked(para.text)
        payload = {
            "speaker": para.speaker,
            "text": words,
            "kind": "partial" if quoted else "paraphrase",
            "quoted": quoted,
            "verb": para.verb,
            "speaker_id": speaker.pk if speaker else None,
        }
        # Its own extractor name: a paraphrase's natural key never clashes with a quote's.
        yield make(
            Candidate.Kind.QUOTE,
            para.start,
            para.end,
            payload,
            _paraphrase_statement(speaker, para) if speaker else None,
            extractor=f"paraphrase-{EXTRACTOR_VERSION}",
        )
    for proposal in extraction.proposals:
        yield make(Candidate.Kind.PROPOSAL, proposal.start, proposal.end, asdict(proposal), None)
        for position, item in enumerate(proposal.items, start=1):
            start, end = _item_span(text, item, proposal.start, proposal.end)
            payload = {"heading": item, "position": position, "proposal": proposal.text[:300]}
            yield make(Candidate.Kind.ACTION_ITEM, start, end, payload, None)
    for figure in extraction.figures:
        yield make(Candidate.Kind.FIGURE, figure.start, figure.end, asdict(figure), None)
    for found_date in extraction.dates:
        yield make(Candidate.Kind.DATE, found_date.start, found_date.end, asdict(found_date), None)
    for event in extraction.events:
        first = event.mentions[0]
        yield make(
            Candidate.Kind.EVENT,
            first.start,
            first.end,
            _event_payload(event),
            curated.event(event),
        )
    for part in extraction.participation:
        # start/end is the participant's own mention, so each one is its own candidate.
        payload = {
            "participant": part.participant,
            "participant_type": part.participant_type,
            "role": part.role,
            "subject": part.subject[:300],
            "subject_type": part.subject_type,
            "date": part.date,
            "evidence": text[part.evidence_start : part.evidence_end],
        }
        yield make(
            Candidate.Kind.PARTICIPATION,
            part.start,
            part.end,
            payload,
            None,
            f"participation-inferred-{EXTRACTOR_VERSION}" if part.inferred else "",
            INFERRED_CONFIDENCE if part.inferred else None,
        )


def write_candidates(
    document: Document, extraction: Extraction, curated: Curated | None = None
) -> dict[str, int]:
    """Replace the document's pending candidates and its country mentions; return counts.

    `curated`: the records the extraction names, if looked up already for a batch of
    documents (Curated.named_in); else they are looked up for this one. The candidates'
    excerpts are cut from `document.text`, the text `extraction` was made from."""
    if curated is None:
        curated = Curated.named_in([extraction])
    with transaction.atomic(), connection.cursor() as cursor:
        # Two extractions of one document (a resent message) take turns on its row, and
        # what an earlier run filed comes with the lock. Candidates and mentions are made
        # from the text, so the commit need not wait for the disk (1.3 ms a document): a
        # crash of PostgreSQL loses at most its last moments of them, and those documents,
        # still pending, are sent again (resend_lost_extractions).
        cursor.execute(_lock_sql(), [document.pk])
        locked = cursor.fetchall()
        if not locked:
            raise Document.DoesNotExist(f"Document {document.pk} is gone.")
        if not extraction.supported:
            document.extraction_status = ExtractionStatus.UNSUPPORTED
            document.extraction_error = (
                f"Extraction is not supported for this language ({extraction.language})."
            )
            document.extracted_at = timezone.now()
            document.save(update_fields=["extraction_status", "extraction_error", "extracted_at"])
            return {"candidates": 0, "countries": 0}
        # What an earlier run filed: pending ones are replaced, decided ones kept. A new
        # document has none, and then nothing is deleted (a delete first loads the rows).
        earlier = [row for row in locked if row[0] is not None]
        pending = [pk for pk, status, *_ in earlier if status == Candidate.Status.PENDING]
        decided = {tuple(key) for _, status, *key in earlier if status != Candidate.Status.PENDING}
        replaced = Candidate.objects.filter(pk__in=pending).delete()[0] if pending else 0
        fresh: list[tuple] = []  # the rows' columns, as _CANDIDATE_COLUMNS lists them
        now = timezone.now()
        for row in _candidates(extraction, document, curated):
            key = (row.kind, row.start, row.end, row.extractor)
            if key in decided or row.end <= row.start:
                continue  # a curator already decided this one
            columns = candidate_columns(row, document.text)
            decided.add(key)
            fresh.append((document.pk, *columns, PENDING, "", now))
        mentions = mention_rows(document.pk, extraction.countries, set(curated.countries))
        # One round trip for the writes. The ORM's delete() of the old mentions would first
        # read them, for post_delete signals whose only receiver bumps the revision bumped
        # below; an update, not save(), of the document for the same reason.
        sql, params = _inserts(Candidate, _CANDIDATE_COLUMNS, fresh)
        sql += f"DELETE FROM {_table(DocumentCountry)} WHERE document_id = %s; "
        params.append(document.pk)
        more_sql, more_params = _inserts(DocumentCountry, _MENTION_COLUMNS, mentions)
        sql += more_sql + (
            f"UPDATE {_table(Document)} SET extraction_status = %s, extraction_error = '', "
            "extracted_at = %s WHERE id = %s"
        )
        cursor.execute(sql, [*params, *more_params, ExtractionStatus.DONE.value, now, document.pk])
        # The country pages list the documents mentioning them (no signal is sent).
        count_cache.bump(count_cache.INGESTED)
    return {"candidates": len(fresh), "replaced": replaced, "countries": len(extraction.countries)}


def mention_rows(
    document_id: int, countries: list[CountryFound], known: set[str]
) -> list[tuple[int, str, int, int, int, list[str]]]:
    """A document's DocumentCountry rows (_MENTION_COLUMNS) from the countries found in
    it: one per country with a row in Country, first mention as its span."""
    return [
        (
            document_id,
            found.code,
            len(found.mentions),
            found.mentions[0].start,
            found.mentions[0].end,
            sorted({m.type for m in found.mentions}),
        )
        for found in countries
        if found.mentions and found.code in known
    ]


def record_country_mentions(document: Document) -> int:
    """Store the document's country mentions as extraction does (same finder, same rows),
    without filing candidates: for the seed article, whose facts are curated already and
    whose countries must count it among their documents. Replaces earlier rows; returns
    how many there are."""
    found = extract_country_mentions(document.text, language=document.language)
    known = set(
        Country.objects.filter(code__in=[c.code for c in found]).values_list("code", flat=True)
    )
    rows = mention_rows(document.pk, found, known)
    with transaction.atomic():
        DocumentCountry.objects.filter(document=document).delete()
        DocumentCountry.objects.bulk_create(
            DocumentCountry(**dict(zip(_MENTION_COLUMNS, row, strict=True))) for row in rows
        )
        # bulk_create sends no signal: the country pages' document counts change.
        count_cache.bump(count_cache.INGESTED)
    return len(rows)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _inserts(
    model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]
) -> tuple[str, list[Any]]:
    """One INSERT of `rows` into `model`'s table (jsonb columns take JSON text), with its
    parameter; nothing for no rows. The rows go as one JSON array that PostgreSQL reads
    back into columns: psycopg2 quoting each of a document's ~600 values one by one took
    longer than PostgreSQL's whole INSERT."""
    if not rows:
        return "", []
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return _insert_sql(model, columns), [json.dumps(records, default=_iso_time)]


def _iso_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be filed as JSON")


@cache
def _insert_sql(model: type[models.Model], columns: tuple[str, ...]) -> str:
    """The INSERT of `columns` read from a JSON array of rows (the same for every
    document, so made once). A jsonb column arrives as JSON text and is cast."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    jsonb = {c for c in columns if fields[c].get_internal_type() == "JSONField"}
    read = ", ".join(
        f"{quote(c)} {'text' if c in jsonb else fields[c].db_type(connection)}" for c in columns
    )
    values = ", ".join(f"r.{quote(c)}::jsonb" if c in jsonb else f"r.{quote(c)}" for c in columns)
    names = ", ".join(quote(c) for c in columns)
    return (
        f"INSERT INTO {_table(model)} ({names}) SELECT {values} "
        f"FROM json_to_recordset(%s::json) AS r({read}); "
    )


@cache
def _lock_sql() -> str:
    candidates, documents = _table(Candidate), _table(Document)
    return (
        "SET LOCAL synchronous_commit = off; "
        f'SELECT c.id, c.status, c.kind, c.start, c."end", c.extractor FROM {documents} d '
        f"LEFT JOIN {candidates} c ON c.document_id = d.id WHERE d.id = %s FOR UPDATE OF d"
    )


PENDING = Candidate.Status.PENDING.value
# CandidateRow's columns in its order, then status, decision_note and created_at; the
# others (decided_by, decided_at) are NULL, as a new Candidate's are.
_CANDIDATE_COLUMNS = (
    "document_id",
    *(_FIELD(name).column for name in CandidateRow._fields),
    "status",
    "decision_note",
    "created_at",
)
_MENTION_COLUMNS = ("document_id", "country_id", "mention_count", "start", "end", "mention_types")
