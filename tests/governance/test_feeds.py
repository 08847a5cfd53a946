"""Atom feeds: the filtered statements view, and a proposal, a country and a person.

Every feed is parsed back with feedparser (the library feed readers are built on) and
checked for what a reader relies on: well-formed Atom 1.0, unique ids that stay the
same between fetches, entry and feed `updated` dates taken from the facts, absolute
links. Expected entries come from the fixture dataset and the history tables, not
from the feed code.
"""

from __future__ import annotations

import datetime
import html as htmllib
import re
import time
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import models, search
from tests import factories
from tests.governance.ui_data import XSS_TEXT, UIData, add_evidence, ui_data

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

ATOM = "application/atom+xml; charset=utf-8"


def fetch(client: Client, url: str) -> Any:
    """The feed at `url`, parsed, after the checks every feed must pass."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"] == ATOM
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.title
    assert feed.feed.link.startswith("http://testserver/")
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [f"http://testserver{url}"]
    assert feed.feed.author == "AI Governance Tracker"  # Atom: every entry needs an author
    ids = [e.id for e in feed.entries]
    assert all(ids) and len(set(ids)) == len(ids), "entry ids must be present and unique"
    for e in feed.entries:
        assert e.id.startswith("tag:"), e.id
        assert e.updated_parsed is not None and e.published_parsed is not None
        assert urlsplit(e.link).scheme == "http" and urlsplit(e.link).netloc == "testserver"
        assert e.title and e.summary
    if feed.entries:
        assert feed.feed.updated_parsed == max(e.updated_parsed for e in feed.entries)
    return feed


def entry_key(entry: Any) -> str:
    """`statement:12`, `participation:3:41`, … : the part of a tag: id after the date."""
    return entry.id.split(",2025:", 1)[1]


def statement_ids(feed: Any) -> list[int]:
    return [
        int(entry_key(e).split(":")[1])
        for e in feed.entries
        if entry_key(e).startswith("statement:")
    ]


def as_struct(moment: datetime.datetime) -> time.struct_time:
    return moment.astimezone(datetime.UTC).replace(microsecond=0).utctimetuple()


def history_span(pk: int) -> tuple[datetime.datetime, datetime.datetime]:
    dates = list(
        models.Statement.history.filter(id=pk)
        .order_by("history_date")
        .values_list("history_date", flat=True)
    )
    return dates[0], dates[-1]


# --- The statements feed --------------------------------------------------------------


def test_statement_feed_is_valid_atom_with_stable_ids(client: Client, ui_data: UIData) -> None:
    first = fetch(client, "/statements/feed/")
    second = fetch(client, "/statements/feed/")
    assert [(e.id, e.updated) for e in first.entries] == [(e.id, e.updated) for e in second.entries]
    assert first.feed.id == second.feed.id
    assert first.feed.updated == second.feed.updated  # not the time of the fetch
    assert first.feed.title == "Statements"
    assert len(first.entries) == 50  # of 62 statements


def test_statement_feed_holds_the_most_recently_recorded_statements(
    client: Client, ui_data: UIData
) -> None:
    feed = fetch(client, "/statements/feed/")
    last_change = {
        pk: history_span(pk)[1] for pk in models.Statement.objects.values_list("pk", flat=True)
    }
    expected = sorted(last_change, key=lambda pk: last_change[pk], reverse=True)[:50]
    assert statement_ids(feed) == expected
    for entry in feed.entries:
        pk = int(entry_key(entry).split(":")[1])
        first, last = history_span(pk)
        assert entry.published_parsed == as_struct(first)
        assert entry.updated_parsed == as_struct(last)
        assert entry.link == f"http://testserver/statements/{pk}/"


def test_filtered_feed_has_exactly_the_filtered_statements(client: Client, ui_data: UIData) -> None:
    feed = fetch(client, "/statements/feed/?country=cn&year=2025")
    expected = {
        s.pk
        for s in ui_data.statements
        if s.country == "CN" and s.said_on and s.said_on.year == 2025
    }
    assert expected, "the fixture has Chinese statements of 2025"
    assert set(statement_ids(feed)) == expected
    filters = search.StatementFilters(country=["CN"], year=[2025])
    assert set(search.filtered_statements(filters).values_list("pk", flat=True)) == expected
    assert feed.feed.title == "Statements — country: China, year: 2025"


def test_filtered_feed_combines_search_speaker_and_proposal(
    client: Client, ui_data: UIData
) -> None:
    waico = ui_data.proposal_slug("waico")
    li = ui_data.people["Li Qiang"].slug
    feed = fetch(client, f"/statements/feed/?q=safety&proposal={waico}&speaker={li}")
    expected = {
        s.pk
        for s in ui_data.statements
        if "safety" in s.text.split() and waico in s.proposals and s.speaker == li
    }
    assert set(statement_ids(feed)) == expected
    assert feed.feed.title == (
        "Statements — search: “safety”, speaker: Li Qiang, "
        "proposal: World AI Cooperation Organization"
    )


def test_feed_id_is_the_same_however_the_filters_are_written(
    client: Client, ui_data: UIData
) -> None:
    a = fetch(client, "/statements/feed/?country=cn&country=us&year=2025&page=3&sort=oldest")
    b = fetch(client, "/statements/feed/?year=2025&country=US,CN")
    assert a.feed.id == b.feed.id
    assert a.feed.id != fetch(client, "/statements/feed/?country=cn").feed.id


def test_bad_filters_are_ignored_like_on_the_page(client: Client, ui_data: UIData) -> None:
    junk = "?country=china1&year=abc&from=notadate&to=2025-13-45&kind=rumour&page=-4&sort=x"
    feed = fetch(client, f"/statements/feed/{junk}")
    assert statement_ids(feed) == statement_ids(fetch(client, "/statements/feed/"))
    assert feed.feed.title == "Statements"
    # A NUL byte cannot reach Postgres: refused with a clear 400 before any view
    # (governance/validation.py), the feed's and the page's alike.
    for url in ("/statements/feed/", "/statements/"):
        response = client.get(url, {"speaker": "li\x00qiang", "q": "a\x00b"})
        assert response.status_code == 400
        assert "NUL character" in response.content.decode()


def test_markup_in_a_statement_is_escaped(client: Client, ui_data: UIData) -> None:
    person = ui_data.people["Wang Yi"]
    text = 'Profits & "safety" <b>first</b> if a<b & c>d'
    statement = models.Statement.objects.create(
        speaker=person, kind=models.Statement.Kind.DIRECT_QUOTE, text=text
    )
    response = client.get(f"/people/{person.slug}/feed/")
    raw = response.content.decode()
    assert "<b>first" not in raw  # markup never reaches the XML unescaped
    feed = fetch(client, f"/people/{person.slug}/feed/")
    entry = next(e for e in feed.entries if entry_key(e) == f"statement:{statement.pk}")
    assert entry.title == f"Wang Yi: “{text}”"
    # The summary is HTML whose text is the statement, not markup made from it.
    assert "<b>" not in entry.summary
    assert text in htmllib.unescape(re.sub(r"<[^>]+>", "", entry.summary))
    xss = next(s for s in ui_data.statements if s.text == XSS_TEXT)
    assert "<script>" not in client.get("/statements/feed/").content.decode()
    assert xss.pk in statement_ids(fetch(client, "/statements/feed/?q=quarantine"))


def test_summary_carries_the_statement_and_its_source_url(client: Client, ui_data: UIData) -> None:
    row = ui_data.statements[5]
    document = models.Document.objects.get(pk=row.document_id)
    feed = fetch(client, f"/statements/feed/?speaker={row.speaker}")
    entry = next(e for e in feed.entries if entry_key(e) == f"statement:{row.pk}")
    assert row.text in htmllib.unescape(entry.summary)
    evidence = models.Evidence.objects.get(
        content_type=ContentType.objects.get_for_model(models.Statement), object_id=str(row.pk)
    )
    # The fixture documents have no original URL: the source is our copy of the text.
    assert f'href="{settings.SITE_URL}{evidence.get_absolute_url()}"' in entry.summary
    assert document.title in entry.summary


def test_statements_without_history_are_dated_by_their_evidence_or_day(
    client: Client, ui_data: UIData
) -> None:
    """The bulk generator writes no history rows: such a statement is still an entry,
    dated by when its evidence was recorded, else the day it was said."""
    person = factories.PersonFactory(name="Bulk Speaker")
    day = datetime.date(2024, 5, 6)
    bare, evidenced = models.Statement.objects.bulk_create(
        [
            models.Statement(
                speaker=person,
                kind="paraphrase",
                text=f"Bulk statement {n}",
                said_on=day,
                fingerprint=f"bulk-{n}",
            )
            for n in range(2)
        ]
    )
    document = factories.DocumentFactory(text="He said: Bulk statement 1. Then left.")
    evidence = add_evidence(evidenced, document, "Bulk statement 1")
    feed = fetch(client, f"/people/{person.slug}/feed/")
    entries = {entry_key(e): e for e in feed.entries}
    midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)
    assert entries[f"statement:{bare.pk}"].updated_parsed == as_struct(midnight)
    assert entries[f"statement:{evidenced.pk}"].updated_parsed == as_struct(evidence.created_at)


# --- Record feeds ---------------------------------------------------------------------------


def test_record_feeds_are_valid_and_stable(client: Client, ui_data: UIData) -> None:
    urls = [
        f"/proposals/{ui_data.proposal_slug('bletchley')}/feed/",
        "/countries/cn/feed/",
        f"/people/{ui_data.people['Li Qiang'].slug}/feed/",
    ]
    for url in urls:
        first, second = fetch(client, url), fetch(client, url)
        assert first.entries, url
        assert [(e.id, e.updated) for e in first.entries] == [
            (e.id, e.updated) for e in second.entries
        ]
        assert first.feed.updated == second.feed.updated


def test_a_new_statement_appears_in_proposal_country_and_person_feeds(
    client: Client, ui_data: UIData
) -> None:
    person = ui_data.people["Li Qiang"]
    proposal = ui_data.proposals["waico"]
    statement = models.Statement.objects.create(
        speaker=person,
        speaker_role=ui_data.roles["Li Qiang"],
        on_behalf_of_country_id="CN",
        kind=models.Statement.Kind.DIRECT_QUOTE,
        text="A brand new remark on cooperation",
        said_on=datetime.date(2021, 1, 1),  # said long ago, recorded just now
    )
    statement.proposals.add(proposal)
    _, recorded = history_span(statement.pk)
    for url in (
        f"/proposals/{proposal.slug}/feed/",
        "/countries/cn/feed/",
        f"/people/{person.slug}/feed/",
    ):
        feed = fetch(client, url)
        newest = feed.entries[0]
        assert entry_key(newest) == f"statement:{statement.pk}", url
        assert newest.updated_parsed == as_struct(recorded)
        assert feed.feed.updated_parsed == as_struct(recorded)
        assert "A brand new remark on cooperation" in newest.summary
    # A statement about the country (not on its behalf) is in its feed too.
    about = models.Statement.objects.create(kind="paraphrase", text="Remarks about Korea")
    about.countries.add("KR")
    assert f"statement:{about.pk}" in {
        entry_key(e) for e in fetch(client, "/countries/kr/feed/").entries
    }
    assert f"statement:{about.pk}" not in {
        entry_key(e) for e in fetch(client, "/countries/cn/feed/").entries
    }


def test_participation_changes_are_entries(client: Client, ui_data: UIData) -> None:
    row = next(p for p in ui_data.participations if p.proposal == "paris" and p.country == "US")
    participation = models.Participation.objects.get(pk=row.pk)
    participation.role = models.Participation.Role.SIGNATORY
    participation.save()
    change = participation.history.order_by("-history_date").first()
    proposal = ui_data.proposals["paris"]
    for url in (f"/proposals/{proposal.slug}/feed/", "/countries/us/feed/"):
        feed = fetch(client, url)
        entry = next(
            e for e in feed.entries if entry_key(e) == f"participation:{row.pk}:{change.history_id}"
        )
        assert entry.title == (
            "Participation changed: United States — Signatory — Paris Statement on Inclusive AI"
        )
        assert entry.updated_parsed == as_struct(change.history_date)
        assert entry.link == f"http://testserver/proposals/{proposal.slug}/"
        assert "is recorded as signatory of Paris Statement on Inclusive AI" in entry.summary
        assert row.evidence_url.split("#")[0] in entry.summary  # its source
    # The original "recorded" entry stays, with its own id.
    feed = fetch(client, f"/proposals/{proposal.slug}/feed/")
    created = participation.history.order_by("history_date").first()
    assert f"participation:{row.pk}:{created.history_id}" in {entry_key(e) for e in feed.entries}
    # A removal is an entry too.
    participation.delete()
    feed = fetch(client, "/countries/us/feed/")
    assert feed.entries[0].title.startswith("Participation removed: United States")


def test_changes_of_the_record_itself_are_entries(client: Client, ui_data: UIData) -> None:
    proposal = models.Proposal.objects.get(pk=ui_data.proposals["waico"].pk)
    proposal.status = models.Proposal.Status.ADOPTED
    proposal.proposed_headquarters = "Shanghai"
    proposal.save()
    feed = fetch(client, f"/proposals/{proposal.slug}/feed/")
    newest = feed.entries[0]
    change = proposal.history.order_by("-history_date").first()
    assert entry_key(newest) == f"proposal:{proposal.pk}:{change.history_id}"
    assert newest.title == (
        "Proposal changed: World AI Cooperation Organization (proposed headquarters, status)"
    )
    assert "Status: Proposed → Adopted" in newest.summary
    assert "Proposed headquarters: — → Shanghai" in newest.summary
    # A new record: its creation and its change are two entries, newest first.
    fresh = factories.ProposalFactory(title="Fresh Accord", summary="")
    fresh.summary = "Now with a summary"
    fresh.save()
    titles = [e.title for e in fetch(client, f"/proposals/{fresh.slug}/feed/").entries]
    assert titles == ["Proposal changed: Fresh Accord (summary)", "Proposal recorded: Fresh Accord"]


def test_new_documents_mentioning_the_record_are_entries(client: Client, ui_data: UIData) -> None:
    document = factories.DocumentFactory(
        title="Seoul & Beijing talk <compute>",
        text="Officials of the Republic of Korea met.",
        url="https://news.example.org/korea?a=1&b=2",
        publisher="Example News",
    )
    start = document.text.index("Korea")
    models.DocumentCountry.objects.create(
        document=document, country_id="KR", start=start, end=start + 5
    )
    feed = fetch(client, "/countries/kr/feed/")
    entry = feed.entries[0]
    assert entry_key(entry) == f"document:{document.pk}"
    assert entry.title == "New source: Seoul & Beijing talk <compute>"
    assert entry.updated_parsed == as_struct(document.fetched_at)
    assert entry.link == f"http://testserver/documents/{document.pk}/"
    assert 'href="https://news.example.org/korea?a=1&amp;b=2"' in entry.summary
    # The proposal feed lists the documents that are the evidence of its facts; the
    # sources of its statements come with the statement entries, not twice.
    proposal = ui_data.proposals["chips"]
    proposal_feed = fetch(client, f"/proposals/{proposal.slug}/feed/")
    documents = {
        entry_key(e) for e in proposal_feed.entries if entry_key(e).startswith("document:")
    }
    participants = models.Document.objects.get(title=f"Participants in {proposal.title}")
    assert documents == {f"document:{participants.pk}"}
    statements = [s for s in ui_data.statements if proposal.slug in s.proposals]
    assert set(statement_ids(proposal_feed)) == {s.pk for s in statements}
    for s in statements:
        entry = next(e for e in proposal_feed.entries if entry_key(e) == f"statement:{s.pk}")
        assert f"/documents/{s.document_id}/#span-" in entry.summary


def test_unknown_records_are_404(client: Client, ui_data: UIData) -> None:
    for url in (
        "/proposals/no-such-thing/feed/",
        "/countries/zz/feed/",
        "/countries/chn/feed/",
        "/people/nobody/feed/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/countries/c%00/feed/").status_code == 400  # a NUL: refused first


def test_merged_records_redirect_to_the_survivor_feed(client: Client, ui_data: UIData) -> None:
    survivor = ui_data.people["Li Qiang"]
    loser = factories.PersonFactory(name="Li Qiang (duplicate)")
    models.Person.objects.filter(pk=loser.pk).update(merged_into=survivor)
    response = client.get(f"/people/{loser.slug}/feed/")
    assert response.status_code == 301
    assert response["Location"] == f"/people/{survivor.slug}/feed/"
    proposal = ui_data.proposals["waico"]
    duplicate = factories.ProposalFactory(title="WAICO (duplicate)")
    models.Proposal.objects.filter(pk=duplicate.pk).update(merged_into=proposal)
    response = client.get(f"/proposals/{duplicate.slug}/feed/")
    assert response.status_code == 301
    assert response["Location"] == f"/proposals/{proposal.slug}/feed/"


def test_feed_queries_do_not_grow_with_entries(client: Client, ui_data: UIData) -> None:
    proposal = ui_data.proposals["waico"]

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    urls = ["/statements/feed/?country=cn", f"/proposals/{proposal.slug}/feed/"]
    before = [queries(url) for url in urls]
    for n in range(5):
        statement = factories.StatementFactory(
            on_behalf_of_country_id="CN", speaker=ui_data.people["Wang Yi"]
        )
        statement.proposals.add(proposal)
        document = factories.DocumentFactory(text=f"Report {n}: {statement.text}")
        add_evidence(statement, document, statement.text)
        models.Participation.objects.create(
            proposal=proposal, country_id=["FR", "DE", "GB", "IN", "JP"][n], role="supporter"
        )
    assert [queries(url) for url in urls] == before


# --- Links on the pages ---------------------------------------------------------------


def alternate_links(html: str) -> list[str]:
    return [
        htmllib.unescape(href)
        for href in re.findall(
            r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', html
        )
    ]


def subscribe_links(html: str) -> list[str]:
    return [
        htmllib.unescape(href)
        for href in re.findall(r'<a class="feed-link" href="([^"]+)"[^>]*>Subscribe \(Atom\)', html)
    ]


def test_statements_page_links_its_feed_with_the_filters(client: Client, ui_data: UIData) -> None:
    html = client.get("/statements/?country=cn&year=2025&page=2&sort=oldest").content.decode()
    expected = "/statements/feed/?country=cn&year=2025"
    assert alternate_links(html) == [expected]
    assert subscribe_links(html) == [expected]
    # After an htmx filter change only the browser region is swapped: it carries the link.
    partial = client.get(
        "/statements/",
        {"country": "us", "kind": "paraphrase"},
        headers={"HX-Request": "true", "HX-Target": "browser"},
    ).content.decode()
    assert "<html" not in partial
    assert subscribe_links(partial) == ["/statements/feed/?country=us&kind=paraphrase"]
    # No results: the feed is still offered, for what is said later.
    empty = client.get("/statements/?q=zebra").content.decode()
    assert subscribe_links(empty) == ["/statements/feed/?q=zebra"]


def test_record_pages_link_their_feeds(client: Client, ui_data: UIData) -> None:
    proposal = ui_data.proposal_slug("waico")
    person = ui_data.people["Li Qiang"].slug
    for page, feed in (
        (f"/proposals/{proposal}/", f"/proposals/{proposal}/feed/"),
        ("/countries/cn/", "/countries/cn/feed/"),
        (f"/people/{person}/", f"/people/{person}/feed/"),
    ):
        html = client.get(page).content.decode()
        assert alternate_links(html) == [feed], page
        assert subscribe_links(html) == [feed], page
        fetch(client, feed)
