"""Exports of filtered lists, streamed so that a million rows run in constant memory.

The list views call these when the query string asks for `format=csv` or `format=json`:
the same filters as the page, every row with its source URL and evidence excerpt.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from governance.models import Evidence, Statement

EXPORT_FORMATS = ("csv", "json")
CHUNK = 2000  # rows fetched per round trip (and per prefetch of their evidence)

STATEMENT_COLUMNS = [
    "id",
    "said_on",
    "kind",
    "speaker",
    "speaker_role",
    "country",
    "event",
    "text",
    "source_url",
    "evidence",
    "url",
]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def statement_rows(statements: QuerySet[Statement], base_url: str) -> Iterator[dict[str, Any]]:
    """One flat dict per statement, newest first, read in chunks."""
    qs = (
        statements.select_related("speaker", "speaker_role", "on_behalf_of_country", "event")
        .prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
        )
        .order_by(F("said_on").desc(nulls_last=True), "-id")
    )
    for s in qs.iterator(chunk_size=CHUNK):
        evidence = next(iter(s.evidence.all()), None)
        document = evidence.document if evidence else None
        yield {
            "id": s.pk,
            "said_on": s.said_on.isoformat() if s.said_on else "",
            "kind": s.kind,
            "speaker": s.speaker.name if s.speaker else "",
            "speaker_role": s.speaker_role.title if s.speaker_role else "",
            "country": s.on_behalf_of_country_id or "",
            "event": s.event.name if s.event else "",
            "text": s.text,
            "source_url": (document.url or base_url + document.get_absolute_url())
            if document
            else "",
            "evidence": evidence.excerpt if evidence else "",
            "url": base_url + s.get_absolute_url(),
        }


def _csv_lines(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[str]:
    writer = csv.DictWriter(_Echo(), fieldnames=columns)
    yield writer.writeheader()
    for row in rows:
        yield writer.writerow(row)


def _json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written element by element."""
    yield "["
    for n, row in enumerate(rows):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


def export_response(
    rows: Iterable[dict[str, Any]], columns: list[str], fmt: str, name: str
) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y-%m-%d")
    if fmt == "csv":
        body, content_type = _csv_lines(rows, columns), "text/csv; charset=utf-8"
    else:
        body, content_type = _json_lines(rows), "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response
