"""Exports of filtered lists, streamed so that a million rows run in constant memory.

The list views call `respond` when the query string asks for `format=csv` or
`format=json`: the same filters as the page, every row with its source URL and evidence
excerpt (a list's columns are fixed and described in its `ExportSpec`).

How a long export stays alive and bounded:

- Rows are read as tuples through a server-side cursor (`QuerySet.iterator`), CHUNK
  rows per round trip, with each chunk's related rows (evidence, proposers, country
  mentions) read in one query per chunk; output is written in ~64 KiB pieces. Memory
  does not grow with the number of rows.
- The generator runs after the view has returned, so outside the page's transaction
  and its 3 s statement timeout (governance.middleware.AnalystQueryTimeout). It opens
  its own read transaction (which also keeps the cursor streaming rather than
  materialized, as a cursor WITH HOLD in autocommit would be) with its own limit,
  settings.EXPORT_QUERY_TIMEOUT_MS, per statement: each fetch of a chunk and each
  per-chunk query must finish within it, however long the whole download takes.
- A failure half-way (the limit, a lost connection) is logged and re-raised: the server
  then aborts the chunked response, so the client sees a broken download, never a
  silently truncated file.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import batched
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from governance import quotation, spreadsheet
from governance.models import (
    Document,
    DocumentCountry,
    Evidence,
    Participation,
    Proposal,
    Statement,
    date_basis,
)

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "json")
CHUNK = 2000  # rows fetched per round trip (and per query for their evidence)
BUFFER = 64 * 1024  # characters per piece handed to the server

Row = dict[str, Any]


@dataclass(frozen=True)
class ExportSpec:
    """One list's export: its file name stem and its columns, in order, described."""

    name: str
    columns: dict[str, str]


def _one_of(choices: Any) -> str:
    return "One of: " + ", ".join(choices.values)


_SOURCE = {
    "source_url": "The source document's own URL (the tracker's copy of it if it has none)",
    "evidence": "The sentence of that source supporting the record (its first evidence span)",
}

_INFERRED = {
    "date_basis": (
        "own: its own date; event: undated, shown with the dates of the event it was "
        "reported at; empty: undated"
    ),
    "date_inferred_start": "When date_basis is event: the event's first day (YYYY-MM-DD)",
    "date_inferred_end": "When date_basis is event: the event's last day (YYYY-MM-DD)",
}


def _inferred(own: datetime.date | None, start: datetime.date | None, end: Any) -> Row:
    basis = date_basis(own, start)
    return {
        "date_basis": basis,
        "date_inferred_start": _date(start) if basis == "event" else "",
        "date_inferred_end": _date(end) if basis == "event" else "",
    }


STATEMENTS = ExportSpec(
    "statements",
    {
        "id": "The statement's id (stable; its page is /statements/<id>/)",
        "said_on": "Date said (YYYY-MM-DD), its own date; empty if unknown",
        **_INFERRED,
        "kind": _one_of(Statement.Kind),
        "speaker": "The speaker's name, empty if unattributed",
        "speaker_role": "The speaker's role (title) when speaking",
        "country": "ISO alpha-2 code of the country the speaker spoke for",
        "event": "The event it was said at",
        "text": (
            "The words, never with quotation marks the source does not have: verbatim for "
            "a direct quote, reported speech holding the quoted words for a partial quote, "
            "otherwise what was said"
        ),
        "display_text": (
            "The text as the tracker shows it: quotation marks around the quoted words only "
            "(a direct quote's whole text, a partial quote's quoted words), never around a "
            "paraphrase"
        ),
        "quoted": (
            "The words shown inside quotation marks, each verbatim in the source (CSV: one "
            "per line; JSON: a list); empty for paraphrases and remarks"
        ),
        **_SOURCE,
        "url": "The statement's page in the tracker",
    },
)
PROPOSALS = ExportSpec(
    "proposals",
    {
        "id": "The proposal's id (stable)",
        "slug": "The proposal's slug (its page is /proposals/<slug>/)",
        "title": "Title",
        "kind": _one_of(Proposal.Kind),
        "status": _one_of(Proposal.Status),
        "announced_on": "Date announced (YYYY-MM-DD), empty if unknown",
        "event": "The event it was announced at",
        "proposed_by": "Proposers and issuers, separated by '; '",
        "participants": "Number of participations recorded (any role)",
        "summary": "Summary",
        **_SOURCE,
        "url": "The proposal's page in the tracker",
    },
)
PARTICIPATION = ExportSpec(
    "participation",
    {
        "id": "The participation's id (stable)",
        "subject_type": "proposal or event",
        "subject": "The proposal's title or the event's name",
        "participant_type": "country, organization or person",
        "participant": "The country's, organization's or person's name",
        "country": "ISO alpha-2 code when the participant is a country",
        "role": _one_of(Participation.Role),
        "date": "Date of the role (YYYY-MM-DD), its own date; empty if unknown",
        **_INFERRED,
        "note": "Curator's note",
        **_SOURCE,
        "url": "The proposal's or event's page in the tracker",
    },
)
COUNTRIES = ExportSpec(
    "countries",
    {
        "code": "ISO alpha-2 code",
        "alpha3": "ISO alpha-3 code",
        "name": "Short name",
        "region": "UN M49 region",
        "subregion": "UN M49 sub-region",
        "standing": "taking part (a role in a proposal or an event other than declined,"
        " opponent, target, noted absent), shown apart (only such roles) or no role",
        "proposals": "Proposals the country has any recorded role in",
        "events": "Events the country has any recorded role in",
        "statements": "Statements made on its behalf",
        "documents": "Documents that mention it",
        "url": "The country's page in the tracker (its evidence is listed there)",
    },
)
DOCUMENTS = ExportSpec(
    "documents",
    {
        "id": "The document's id (stable; its page is /documents/<id>/)",
        "title": "Title",
        "publisher": "Publisher",
        "author": "Author",
        "published_at": "Publication time (ISO 8601, UTC), empty if unknown",
        "fetched_at": "When the tracker fetched it (ISO 8601, UTC)",
        "language": "Language code (e.g. en, zh)",
        "source": "The tracker source it came from",
        "countries": "ISO alpha-2 codes of the countries it mentions, separated by ';'",
        "source_url": "The document's own URL (the tracker's copy if it has none)",
        "url": "The document's page in the tracker (full text with evidence highlighted)",
    },
)
SPECS = (STATEMENTS, PROPOSALS, PARTICIPATION, COUNTRIES, DOCUMENTS)


# --- Rows -------------------------------------------------------------------
# Rows are read as plain tuples (values_list), not model instances, and their evidence
# with one query per chunk: building CHUNK model instances with a related manager each
# cost ten times the time and memory of the export itself.


def _date(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _url(base_url: str, name: str) -> Callable[[Any], str]:
    """A fast `reverse(name, args=[value])` with the site's address in front."""
    sentinel = 987654321
    prefix, suffix = reverse(name, args=[sentinel]).split(str(sentinel))
    return lambda value: f"{base_url}{prefix}{value}{suffix}"


def _chunks(rows: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """Tuples of up to CHUNK rows, read through a server-side cursor."""
    return batched(rows.iterator(chunk_size=CHUNK), CHUNK, strict=False)


def _first_evidence(model: type[Model], ids: Iterable[Any], base_url: str) -> dict[str, Row]:
    """Record id (as text) -> source_url and excerpt of its first evidence span (by
    document, then position: the order record pages list them)."""
    document_url = _url(base_url, "governance:document_detail")
    spans = (
        Evidence.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(i) for i in ids],
        )
        .order_by("object_id", "document_id", "start")
        .values_list("object_id", "excerpt", "document_id", "document__url")
    )
    out: dict[str, Row] = {}
    for object_id, excerpt, document_id, url in spans:
        if object_id not in out:
            out[object_id] = {
                "source_url": url or document_url(document_id),
                "evidence": excerpt,
            }
    return out


_NO_EVIDENCE: Row = {"source_url": "", "evidence": ""}


def statement_order(sort: str, q: str = "") -> list[Any]:
    """The statements browser's orders (search.statement_page), for the export."""
    if sort == "oldest":
        return [F("said_on").asc(nulls_last=True), "id"]
    if sort == "relevance" and q:
        return ["-rank", "-id"]
    return [F("said_on").desc(nulls_last=True), "-id"]


def statement_rows(
    statements: QuerySet[Statement], base_url: str, *, sort: str = "date", q: str = ""
) -> Iterator[Row]:
    """One flat dict per statement, in the page's order, read in chunks."""
    if sort == "relevance" and q:
        query = SearchQuery(q, search_type="websearch", config="english")
        statements = statements.annotate(rank=SearchRank(F("search_vector"), query))
    url = _url(base_url, "governance:statement_detail")
    rows = statements.order_by(*statement_order(sort, q)).values_list(
        "id",
        "said_on",
        "kind",
        "speaker__name",
        "speaker_role__title",
        "on_behalf_of_country_id",
        "event__name",
        "text",
        "quoted",
        "date_start",
        "date_end",
    )
    for chunk in _chunks(rows):
        evidence = _first_evidence(Statement, (r[0] for r in chunk), base_url)
        for row in chunk:
            pk, said_on, kind, speaker, role, country, event, text = row[:8]
            quoted, start, end = row[8:]
            yield {
                "id": pk,
                "said_on": _date(said_on),
                **_inferred(said_on, start, end),
                "kind": kind,
                "speaker": speaker or "",
                "speaker_role": role or "",
                "country": country or "",
                "event": event or "",
                "text": text,
                "display_text": quotation.display_text(kind, text, quoted),
                "quoted": quotation.display_runs(kind, text, quoted),
                **evidence.get(str(pk), _NO_EVIDENCE),
                "url": url(pk),
            }


def _participant_names(
    participations: QuerySet[Participation],
) -> Iterator[tuple[Any, str]]:
    for key, country, organization, person in participations.values_list(
        "proposal_id", "country__name", "organization__name", "person__name"
    ):
        yield key, country or organization or person or ""


def proposal_rows(proposals: QuerySet[Proposal], base_url: str) -> Iterator[Row]:
    """Rows of `listings.proposal_list(...)`, in its order."""
    url = _url(base_url, "governance:proposal_detail")
    rows = proposals.prefetch_related(None).values_list(
        "id",
        "slug",
        "title",
        "kind",
        "status",
        "announced_on",
        "event__name",
        "participant_count",
        "summary",
    )
    for chunk in _chunks(rows):
        ids = [r[0] for r in chunk]
        evidence = _first_evidence(Proposal, ids, base_url)
        proposers: dict[int, list[str]] = {}
        by = Participation.objects.filter(
            proposal__in=ids, role__in=Participation.PROPOSING_ROLES
        ).order_by("proposal_id", "role", "id")
        for proposal_id, name in _participant_names(by):
            proposers.setdefault(proposal_id, []).append(name)
        for pk, slug, title, kind, status, announced, event, count, summary in chunk:
            yield {
                "id": pk,
                "slug": slug,
                "title": title,
                "kind": kind,
                "status": status,
                "announced_on": _date(announced),
                "event": event or "",
                "proposed_by": "; ".join(proposers.get(pk, [])),
                "participants": count,
                "summary": summary,
                **evidence.get(str(pk), _NO_EVIDENCE),
                "url": url(slug),
            }


def participation_rows(participations: QuerySet[Participation], base_url: str) -> Iterator[Row]:
    proposal_url = _url(base_url, "governance:proposal_detail")
    event_url = _url(base_url, "governance:event_detail")
    rows = participations.values_list(
        "id",
        "proposal__slug",
        "proposal__title",
        "event__slug",
        "event__name",
        "country_id",
        "country__name",
        "organization__name",
        "person__name",
        "role",
        "date",
        "note",
        "date_start",
        "date_end",
    )
    for chunk in _chunks(rows):
        evidence = _first_evidence(Participation, (r[0] for r in chunk), base_url)
        for row in chunk:
            pk, p_slug, p_title, e_slug, e_name, code, country, org, person = row[:9]
            role, date, note, start, end = row[9:]
            yield {
                "id": pk,
                "subject_type": "proposal" if p_slug else "event",
                "subject": p_title or e_name or "",
                "participant_type": (
                    "country" if code else "organization" if org is not None else "person"
                ),
                "participant": country or org or person or "",
                "country": code or "",
                "role": role,
                "date": _date(date),
                **_inferred(date, start, end),
                "note": note,
                **evidence.get(str(pk), _NO_EVIDENCE),
                "url": proposal_url(p_slug) if p_slug else event_url(e_slug),
            }


def country_rows(rows: Iterable[Any], base_url: str) -> Iterator[Row]:
    """Rows of `listings.country_rows(...)`: 249 at most, already counted."""
    for r in rows:
        c = r.country
        yield {
            "code": c.code,
            "alpha3": c.alpha3,
            "name": c.name,
            "region": c.region,
            "subregion": c.subregion,
            "standing": r.standing,
            "proposals": r.proposals,
            "events": r.events,
            "statements": r.statements,
            "documents": r.documents,
            "url": base_url + c.get_absolute_url(),
        }


def document_rows(documents: QuerySet[Document], base_url: str) -> Iterator[Row]:
    url = _url(base_url, "governance:document_detail")
    rows = documents.values_list(
        "id",
        "title",
        "publisher",
        "author",
        "published_at",
        "fetched_at",
        "language",
        "source__name",
        "url",
    )
    for chunk in _chunks(rows):
        mentioned: dict[int, list[str]] = {}
        pairs = (
            DocumentCountry.objects.filter(document__in=[r[0] for r in chunk])
            .order_by("document_id", "country_id")
            .values_list("document_id", "country_id")
        )
        for document_id, code in pairs:
            mentioned.setdefault(document_id, []).append(code)
        for pk, title, publisher, author, published, fetched, language, source, own in chunk:
            yield {
                "id": pk,
                "title": title,
                "publisher": publisher,
                "author": author,
                "published_at": published.isoformat() if published else "",
                "fetched_at": fetched.isoformat(),
                "language": language,
                "source": source or "",
                "countries": ";".join(mentioned.get(pk, [])),
                "source_url": own or url(pk),
                "url": url(pk),
            }


# --- Output -----------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Row], columns: Iterable[str]) -> Iterator[str]:
    """CSV with formula-like text neutralized (governance.spreadsheet); JSON keeps it raw."""
    writer = spreadsheet.DictWriter(_Echo(), fieldnames=list(columns))
    yield writer.writeheader()
    for row in rows:
        # A list (a partial quote's quoted words) is one cell, an item per line: the
        # words may hold any separator but a line break.
        yield writer.writerow(
            {k: "\n".join(v) if isinstance(v, list) else v for k, v in row.items()}
        )


def json_lines(rows: Iterable[Row]) -> Iterator[str]:
    """A JSON array written element by element, one element per line."""
    yield "["
    for n, row in enumerate(rows):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


def buffered(pieces: Iterable[str], size: int = BUFFER) -> Iterator[str]:
    """Join small pieces into ~`size` characters: one socket write per piece, not per row."""
    parts: list[str] = []
    length = 0
    for piece in pieces:
        parts.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(parts)
            parts, length = [], 0
    if parts:
        yield "".join(parts)


def in_export_transaction(pieces: Iterable[str], name: str) -> Iterator[str]:
    """Run the export's reads in their own transaction, under EXPORT_QUERY_TIMEOUT_MS."""
    try:
        with transaction.atomic():
            if timeout_ms := settings.EXPORT_QUERY_TIMEOUT_MS:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)]
                    )
            yield from pieces
    except GeneratorExit:
        raise  # the client went away: the transaction was rolled back, nothing to report
    except Exception:
        logger.exception("export of %s failed part-way; the response is aborted", name)
        raise


def wanted(request: HttpRequest) -> bool:
    """Whether the request asks for an export (a bad format is reported by `respond`)."""
    return "format" in request.GET


def base_url(request: HttpRequest) -> str:
    """The site's address as the client sees it, for absolute URLs in rows."""
    return request.build_absolute_uri("/")[:-1]


def respond(
    request: HttpRequest,
    spec: ExportSpec,
    rows: Callable[[str], Iterable[Row]],
    form: forms.Form | None = None,
) -> HttpResponse:
    """The streamed export, or 400 for an unknown format or a filter that did not validate.

    (The page shows a bad filter and ignores it; an export would silently widen to more
    rows than asked for, so it refuses instead.)
    """
    fmt = request.GET.get("format", "")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(
            f"Unknown export format {fmt[:20]!r}: use format=csv or format=json.\n",
            content_type="text/plain; charset=utf-8",
        )
    if form is not None and not form.is_valid():
        problems = "\n".join(
            f"- {name}: {error}" for name, errors in form.errors.items() for error in errors
        )
        return HttpResponseBadRequest(
            f"Some filters were not understood, so nothing was exported:\n{problems}\n",
            content_type="text/plain; charset=utf-8",
        )
    body = rows(base_url(request))
    if fmt == "csv":
        pieces, content_type = csv_lines(body, spec.columns), "text/csv; charset=utf-8"
    else:
        pieces, content_type = json_lines(body), "application/json"
    response = StreamingHttpResponse(
        in_export_transaction(buffered(pieces), spec.name), content_type=content_type
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{spec.name}-{stamp}.{fmt}"'
    # Nothing in between should hold the whole body to compress or buffer it.
    response["X-Accel-Buffering"] = "no"
    return response
