"""Exports of every filtered list (?format=csv|json): the page's filters and order, the
documented columns, source URL and evidence in every row, links that carry the query
string, 400 for a bad format or filter, and their own statement timeout.

Expectations come from the fixture dataset (tests/governance/ui_data.py) or from the
page itself, never from the export code.
"""

from __future__ import annotations

import csv
import datetime
import html as htmllib
import io
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.utils import timezone

from governance import exports, models
from tests.governance.ui_data import (
    EVENT_PARTICIPANTS,
    PROPOSALS,
    UIData,
    add_evidence,
    ui_data,
)

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

SPECS = {spec.name: spec for spec in exports.SPECS}
URLS = {
    "statements": "/statements/",
    "proposals": "/proposals/",
    "participation": "/participation/",
    "countries": "/countries/",
    "documents": "/documents/",
}
HTMX_TARGET = {"statements": "browser"}  # the others swap #results


def export(client: Client, name: str, params: Any = None, fmt: str = "csv") -> list[dict]:
    """The export's rows, after checking it is a streamed attachment with its columns."""
    query = urlencode({**(params or {}), "format": fmt}, doseq=True)
    response = client.get(f"{URLS[name]}?{query}")
    assert response.status_code == 200, response.content
    assert response.streaming
    today = timezone.now().strftime("%Y-%m-%d")
    assert response["Content-Disposition"] == f'attachment; filename="{name}-{today}.{fmt}"'
    body = b"".join(response.streaming_content).decode()
    columns = list(SPECS[name].columns)
    if fmt == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        reader = csv.DictReader(io.StringIO(body))
        assert reader.fieldnames == columns
        return list(reader)
    assert response["Content-Type"] == "application/json"
    rows = json.loads(body)
    assert isinstance(rows, list)
    for row in rows:
        assert list(row) == columns
    return rows


def page(client: Client, name: str, params: Any = None, **headers: str) -> str:
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    response = client.get(f"{URLS[name]}{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def results(html: str) -> str:
    """The results region of a list page (past the filter menus, which link nothing)."""
    for marker in ('<div id="results"', '<section class="results"'):
        if marker in html:
            return html[html.index(marker) :]
    return html


def linked(html: str, prefix: str) -> list[str]:
    """Slugs, codes or ids of `<a href="/prefix/x/">` links in the results, in order."""
    found = re.findall(rf'<a href="/{prefix}/([^/"#]+)/"', results(html))
    return list(dict.fromkeys(found))


def count_shown(html: str, noun: str) -> int:
    match = re.search(rf"(\d+) {noun}", html)
    assert match, noun
    return int(match.group(1))


def download_links(html: str) -> dict[str, str]:
    """format -> href of the page's "Download" links, unescaped."""
    match = re.search(r'<p class="export-links">(.*?)</p>', html, re.S)
    assert match, "no download links"
    hrefs = re.findall(r'<a href="([^"]+)" hx-boost="false">', match.group(1))
    out = {}
    for href in map(htmllib.unescape, hrefs):
        out[parse_qs(urlsplit(href).query)["format"][0]] = href
    return out


# --- Every list ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(URLS))
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_each_list_exports_its_documented_columns(
    client: Client, ui_data: UIData, name: str, fmt: str
) -> None:
    rows = export(client, name, fmt=fmt)
    assert rows
    for row in rows:
        assert row["url"].startswith("http://testserver/")


@pytest.mark.parametrize("name", list(URLS))
@pytest.mark.parametrize("bad", ["xml", "", "CSV", "csv;"])
def test_a_bad_format_is_a_400_with_a_message(
    client: Client, ui_data: UIData, name: str, bad: str
) -> None:
    response = client.get(URLS[name], {"format": bad})
    assert response.status_code == 400
    message = response.content.decode()
    assert "format=csv or format=json" in message
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("statements", {"country": "china", "kind": "direct_quote"}),
        ("statements", {"from": "2025-02-30"}),
        ("proposals", {"year": "twenty", "kind": "declaration"}),
        ("participation", {"country": "xyz"}),
        ("participation", {"role": "emperor"}),
        ("documents", {"published_from": "2025-05-01", "published_to": "2024-01-01"}),
    ],
)
def test_an_export_refuses_a_filter_the_page_would_ignore(
    client: Client, ui_data: UIData, name: str, params: dict[str, str]
) -> None:
    """The page reports a bad filter and shows the rest; an export would silently hold
    more rows than asked for, so it says what was not understood instead."""
    html = page(client, name, params)
    assert "Some filters were not understood" in html
    response = client.get(URLS[name], {**params, "format": "csv"})
    assert response.status_code == 400
    message = response.content.decode()
    assert "Some filters were not understood, so nothing was exported" in message
    assert any(f"- {field}" in message for field in params) or "- date_" in message


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("statements", {"country": "cn", "kind": "direct_quote", "page": "2"}),
        ("statements", {"q": "safety", "sort": "relevance"}),
        ("proposals", {"kind": "declaration", "country": "de", "page": "1"}),
        ("participation", {"country": "cn", "year": "2025"}),
        ("countries", {"q": "korea", "sort": "name"}),
        ("documents", {"country": "fr", "q": "safety"}),
    ],
)
def test_download_links_carry_the_query_string_with_and_without_htmx(
    client: Client, ui_data: UIData, name: str, params: dict[str, str]
) -> None:
    """The links are the page's own query string plus format (no page number), in the
    full page (no JavaScript) and in the htmx partial; following one gives the export of
    those filters."""
    target = HTMX_TARGET.get(name, "results")
    full = page(client, name, params)
    fragment = page(client, name, params, **{"HX-Request": "true", "HX-Target": target})
    assert "<html" not in fragment
    expected_query = {k: [v] for k, v in params.items() if k != "page"}
    for html in (full, fragment):
        links = download_links(html)
        assert set(links) == {"csv", "json"}
        for fmt, href in links.items():
            assert href.startswith("?")
            assert parse_qs(urlsplit(href).query) == {**expected_query, "format": [fmt]}
    followed = client.get(URLS[name] + download_links(full)["csv"])
    assert followed.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(followed.streaming_content).decode())))
    direct = export(client, name, {k: v for k, v in params.items() if k != "page"})
    assert rows == direct and rows


# --- Statements -----------------------------------------------------------------------


def test_statements_export_follows_the_page_order(client: Client, ui_data: UIData) -> None:
    """All matching statements, in the page's sort (here oldest first, undated last)."""
    params = {"country": "us", "sort": "oldest"}
    rows = export(client, "statements", params)
    expected = [s for s in ui_data.statements if s.country == "US"]
    key = lambda s: (s.said_on is None, s.said_on or datetime.date.min, s.pk)  # noqa: E731
    assert [int(r["id"]) for r in rows] == [s.pk for s in sorted(expected, key=key)]
    # The page shows the same statements first.
    first = re.findall(
        r'<a href="/statements/(\d+)/">details</a>', page(client, "statements", params)
    )
    assert [int(pk) for pk in first] == [int(r["id"]) for r in rows[: len(first)]]
    for row in rows:
        s = ui_data.statement(int(row["id"]))
        assert row["text"] == s.text == row["evidence"]
        assert row["source_url"] == f"http://testserver/documents/{s.document_id}/"


# --- Proposals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "declaration"},
        {"country": "de", "sort": "participants"},
        {"proposer": "cn", "sort": "title"},
        {"year": "2025", "status": "adopted"},
        {"q": "export"},
    ],
)
def test_proposals_export_is_the_page_list(
    client: Client, ui_data: UIData, params: dict[str, str]
) -> None:
    html = page(client, "proposals", params)
    rows = export(client, "proposals", params, fmt="json")
    assert [r["slug"] for r in rows] == linked(html, "proposals")
    assert len(rows) == count_shown(html, "proposal")


def test_proposal_rows_carry_proposers_counts_and_evidence(client: Client, ui_data: UIData) -> None:
    proposal = ui_data.proposals["bletchley"]
    document = models.Document.objects.create(
        title="Declaration text",
        url="https://www.gov.example/bletchley",
        text="Preamble. The Bletchley Declaration was agreed by 28 countries. End.",
    )
    add_evidence(proposal, document, "The Bletchley Declaration was agreed by 28 countries.")
    rows = {r["slug"]: r for r in export(client, "proposals")}
    row = rows[proposal.slug]
    assert row["source_url"] == "https://www.gov.example/bletchley"
    assert row["evidence"] == "The Bletchley Declaration was agreed by 28 countries."
    assert row["proposed_by"] == "United Kingdom"
    assert row["participants"] == "7"  # host, proposer and five signatories
    assert row["title"] == PROPOSALS["bletchley"][0] and row["announced_on"] == "2023-11-01"
    waico = rows[ui_data.proposal_slug("waico")]
    assert waico["proposed_by"] == "China"
    # No evidence recorded for the proposal itself: empty, not made up.
    assert waico["source_url"] == waico["evidence"] == ""


# --- Participation --------------------------------------------------------------------


PARTICIPATION_FILTERS: list[tuple[dict[str, str], Callable[[Any], bool], list[str]]] = [
    # (params, which proposal participations match, which event hosts/delegates match)
    ({}, lambda p: True, ["CN", "GB", "US"]),
    ({"country": "cn"}, lambda p: p.country == "CN", ["CN"]),
    (
        {"country": "cn", "year": "2025"},
        lambda p: p.country == "CN" and p.date and p.date.year == 2025,
        # Issue 24: China's undated row at WAIC (July 2025) takes the event's dates.
        ["CN"],
    ),
    ({"proposal": "bletchley-declaration", "role": "signatory"}, None, []),
    ({"role": "declined"}, lambda p: p.role == "declined", []),
    ({"role": "host"}, lambda p: p.role == "host", ["CN", "GB"]),
]


@pytest.mark.parametrize(("params", "keep", "event_countries"), PARTICIPATION_FILTERS)
def test_participation_export_honours_the_filters(
    client: Client,
    ui_data: UIData,
    params: dict[str, str],
    keep: Callable[[Any], bool] | None,
    event_countries: list[str],
) -> None:
    if keep is None:  # by proposal slug and role
        slug = ui_data.proposal_slug("bletchley")
        params = {**params, "proposal": slug}
        keep = lambda p: p.proposal == "bletchley" and p.role == "signatory"  # noqa: E731
    expected = {p.pk for p in ui_data.participations if keep(p)}
    rows = export(client, "participation", params)
    by_kind: dict[str, list[dict]] = {"proposal": [], "event": []}
    for row in rows:
        by_kind[row["subject_type"]].append(row)
    assert {int(r["id"]) for r in by_kind["proposal"]} == expected
    hosts = {
        code
        for rows_ in EVENT_PARTICIPANTS.values()
        for code, role in rows_
        if (params.get("role") in (None, role))
    }
    assert sorted({r["country"] for r in by_kind["event"]}) == sorted(set(event_countries) & hosts)
    html = page(client, "participation", params)
    assert count_shown(html, "participation") == len(rows)
    # Newest first, undated last: the page's order.
    dates = [r["date"] for r in rows]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True) and dates == dated + [""] * (
        len(dates) - len(dated)
    )


def test_participation_rows_carry_source_and_evidence(client: Client, ui_data: UIData) -> None:
    rows = {int(r["id"]): r for r in export(client, "participation", fmt="json")}
    for p in ui_data.participations:
        row = rows[p.pk]
        assert row["role"] == p.role and row["date"] == (p.date.isoformat() if p.date else "")
        assert row["subject"] == PROPOSALS[p.proposal][0]
        assert row["subject_type"] == "proposal"
        evidence = models.Evidence.objects.get(
            object_id=str(p.pk), content_type__model="participation"
        )
        assert row["evidence"] == evidence.excerpt and row["evidence"].startswith("Record ")
        assert row["source_url"] == f"http://testserver/documents/{evidence.document_id}/"
        assert row["url"] == f"http://testserver/proposals/{ui_data.proposal_slug(p.proposal)}/"
    kinds = {(r["participant_type"], r["participant"]) for r in rows.values()}
    assert ("organization", "United Nations") in kinds and ("person", "Li Qiang") in kinds
    assert ("country", "China") in kinds


def test_participation_page_lists_rows_with_their_source(client: Client, ui_data: UIData) -> None:
    slug = ui_data.proposal_slug("paris")
    html = page(client, "participation", {"proposal": slug})
    assert count_shown(html, "participation") == 5
    body = results(html)
    for code in ("FR", "DE", "CN", "US", "GB"):
        assert f'href="/countries/{code.lower()}/"' in body
    assert body.count("<td>Declined</td>") == 2  # the United States and the United Kingdom
    evidence_links = re.findall(r'<a [^>]*href="(/documents/\d+/#span-\d+-\d+)"', body)
    assert len(evidence_links) == 5
    # The filter menus offer what is in the data, with the chosen one selected.
    assert f'<option value="{slug}" selected>' in html
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    fragment = page(client, "participation", {"proposal": slug}, **htmx)
    assert "<form" not in fragment and count_shown(fragment, "participation") == 5


def test_participation_page_shows_every_row_once(client: Client, ui_data: UIData) -> None:
    total = len(ui_data.participations) + sum(len(r) for r in EVENT_PARTICIPANTS.values())
    html = page(client, "participation")
    assert count_shown(html, "participation") == total
    assert len(re.findall(r"<tr\b", results(html))) == total + 1  # and the header row


# --- Countries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [{}, {"q": "korea"}, {"sort": "name"}, {"all": "1", "sort": "name"}]
)
def test_countries_export_is_the_page_list(
    client: Client, ui_data: UIData, params: dict[str, str]
) -> None:
    html = page(client, "countries", params)
    rows = export(client, "countries", params)
    assert [r["code"].lower() for r in rows] == linked(html, "countries")
    assert len(rows) == count_shown(html, "countr(?:y|ies)")
    if params.get("all"):
        assert len(rows) == models.Country.objects.count()


def test_country_rows_count_the_countrys_records(client: Client, ui_data: UIData) -> None:
    rows = {r["code"]: r for r in export(client, "countries", fmt="json")}
    china = rows["CN"]
    assert china["statements"] == sum(1 for s in ui_data.statements if s.country == "CN")
    assert china["documents"] == sum(1 for codes in ui_data.mentions.values() if "CN" in codes)
    assert china["proposals"] == len(
        {p.proposal for p in ui_data.participations if p.country == "CN"}
    )
    assert china["url"] == "http://testserver/countries/cn/"
    assert (china["name"], china["alpha3"]) == ("China", "CHN")


# --- Documents ------------------------------------------------------------------------


@pytest.fixture
def more_documents(ui_data: UIData) -> list[models.Document]:
    """Documents with a publisher, another language and an older fetch time."""
    docs = [
        models.Document.objects.create(
            title="Xinhua on the cooperation organization",
            url="https://news.example.cn/waico",
            publisher="Xinhua",
            language="zh",
            text="Shanghai summit text about the cooperation body.",
            published_at=datetime.datetime(2025, 7, 27, 3, tzinfo=datetime.UTC),
            fetched_at=datetime.datetime(2025, 7, 27, 9, tzinfo=datetime.UTC),
        ),
        models.Document.objects.create(
            title="Reuters on the summit",
            url="https://news.example.com/summit",
            publisher="Reuters",
            language="en",
            text="A summit in Paris where France hosted the talks.",
            published_at=datetime.datetime(2025, 2, 10, 12, tzinfo=datetime.UTC),
            fetched_at=datetime.datetime(2025, 2, 11, 8, tzinfo=datetime.UTC),
        ),
    ]
    start = docs[1].text.index("France")
    models.DocumentCountry.objects.create(
        document=docs[1], country_id="FR", start=start, end=start + len("France")
    )
    return docs


def _published(d: models.Document) -> datetime.date | None:
    return d.published_at.date() if d.published_at else None


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"publisher": "Xinhua"}, lambda d, m: d.publisher == "Xinhua"),
        ({"language": "zh"}, lambda d, m: d.language == "zh"),
        ({"country": "fr"}, lambda d, m: "FR" in m),
        (
            {"country": "cn", "published_from": "2024-01-01", "published_to": "2024-12-31"},
            lambda d, m: "CN" in m and _published(d) and _published(d).year == 2024,
        ),
        (
            {"fetched_to": "2025-07-31"},
            lambda d, m: d.fetched_at.date() <= datetime.date(2025, 7, 31),
        ),
        ({"q": "summit"}, lambda d, m: "summit" in d.text.lower() or "summit" in d.title.lower()),
    ],
)
def test_documents_export_honours_the_filters(
    client: Client,
    ui_data: UIData,
    more_documents: list[models.Document],
    params: dict[str, str],
    keep: Callable[[models.Document, set[str]], bool],
) -> None:
    everything = [*ui_data.documents, *more_documents]
    mentions = {**ui_data.mentions, more_documents[1].pk: {"FR"}}
    expected = {d.pk for d in everything if keep(d, mentions.get(d.pk, set()))}
    assert expected
    rows = export(client, "documents", params)
    assert {int(r["id"]) for r in rows} == expected
    html = page(client, "documents", params)
    assert count_shown(html, "document") == len(rows)
    if len(rows) <= 50:
        assert [int(pk) for pk in linked(html, "documents")] == [int(r["id"]) for r in rows]


def test_document_rows_carry_their_own_url(
    client: Client, ui_data: UIData, more_documents: list[models.Document]
) -> None:
    rows = {int(r["id"]): r for r in export(client, "documents", fmt="json")}
    reuters = rows[more_documents[1].pk]
    assert reuters["source_url"] == "https://news.example.com/summit"
    assert reuters["countries"] == "FR" and reuters["publisher"] == "Reuters"
    assert reuters["published_at"] == "2025-02-10T12:00:00+00:00"
    assert reuters["url"] == f"http://testserver/documents/{more_documents[1].pk}/"
    # A document with no URL of its own (entered by hand) points at the tracker's copy.
    hand = ui_data.documents[0]
    assert rows[hand.pk]["source_url"] == rows[hand.pk]["url"]
    assert "text" not in rows[hand.pk]


def test_documents_sorted_by_fetch_time(
    client: Client, ui_data: UIData, more_documents: list[models.Document]
) -> None:
    rows = export(client, "documents", {"sort": "fetched"})
    fetched = [r["fetched_at"] for r in rows]
    assert fetched == sorted(fetched, reverse=True)
    assert int(rows[-1]["id"]) == more_documents[1].pk  # fetched in February 2025


# --- Outside the page's statement timeout ----------------------------------------------


def _slow_rows(seconds: float) -> Callable[..., Any]:
    real = exports.statement_rows

    def slow(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
        yield from real(*args, **kwargs)

    return slow


def test_an_export_is_not_cut_by_the_page_timeout(
    client: Client, ui_data: UIData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query slower than the page limit (150 ms) still completes in an export: it
    streams after the page's transaction, under EXPORT_QUERY_TIMEOUT_MS."""
    monkeypatch.setattr(exports, "statement_rows", _slow_rows(0.3))
    with override_settings(ANALYST_QUERY_TIMEOUT_MS=150, EXPORT_QUERY_TIMEOUT_MS=5000):
        rows = export(client, "statements", {"country": "gb"})
    assert {int(r["id"]) for r in rows} == {s.pk for s in ui_data.statements if s.country == "GB"}


def test_an_export_has_its_own_limit(
    client: Client, ui_data: UIData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXPORT_QUERY_TIMEOUT_MS the stream fails loudly (the server aborts the
    response), and the connection is usable afterwards."""
    monkeypatch.setattr(exports, "statement_rows", _slow_rows(2))
    with override_settings(EXPORT_QUERY_TIMEOUT_MS=100):
        response = client.get("/statements/", {"format": "csv"})
        assert response.status_code == 200
        with pytest.raises(OperationalError, match="statement timeout"):
            b"".join(response.streaming_content)
    assert models.Statement.objects.count() == len(ui_data.statements)
