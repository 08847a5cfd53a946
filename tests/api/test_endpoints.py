"""Each API endpoint against the UI dataset (tests/governance/ui_data.py): what a list holds
and how its filters narrow it, computed from the dataset's own records; the statements
filter compared with the /statements/ page itself; details, evidence, 404s, merged records
and bad input."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from governance import models
from tests.governance.ui_data import (
    EVENTS,
    ORGANIZATIONS,
    PARTICIPATIONS,
    PEOPLE,
    PROPOSALS,
    StatementRow,
    UIData,
    words,
)

pytestmark = pytest.mark.django_db

BASE = "http://testserver"


def collect(api: Client, url: str) -> list[dict[str, Any]]:
    """Every row of a list, following `next` links to the end."""
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = api.get(next_url)
        assert response.status_code == 200, (next_url, response.content[:300])
        body = response.json()
        rows += body["results"]
        next_url = body["next"]
    return rows


def page_statement_ids(client: Client, query: str) -> list[int]:
    """The statement ids the /statements/ page lists for `query`, over all its pages."""
    ids: list[int] = []
    page = 1
    while True:
        html = client.get(f"/statements/?{query}&page={page}").content.decode()
        ids += [int(pk) for pk in re.findall(r'href="/statements/(\d+)/">details', html)]
        if 'rel="next"' not in html:
            return ids
        page += 1


# --- Statements ------------------------------------------------------------------------


def _year(s: StatementRow) -> int | None:
    return s.said_on.year if s.said_on else None


# (query string, with {paris} for the Paris event's slug; which dataset rows it selects)
STATEMENT_QUERIES: list[tuple[str, Callable[[StatementRow, UIData], bool]]] = [
    ("country=cn&year=2025", lambda s, d: s.country == "CN" and _year(s) == 2025),
    (
        "country=CN,us&year=2024&year=2025",
        lambda s, d: s.country in {"CN", "US"} and _year(s) in {2024, 2025},
    ),
    ("kind=direct_quote&country=gb", lambda s, d: s.kind == "direct_quote" and s.country == "GB"),
    ("q=safety", lambda s, d: "safety" in words(s.text)),
    (
        "q=safety&from=2024-01-01&to=2024-12-31",
        lambda s, d: "safety" in words(s.text) and _year(s) == 2024,
    ),
    ("event={paris}", lambda s, d: s.event == d.events["paris"].slug),
]


@pytest.mark.parametrize(("query", "keep"), STATEMENT_QUERIES)
def test_statements_filter_is_the_pages(
    api: Client, ui_data: UIData, query: str, keep: Callable[[StatementRow, UIData], bool]
) -> None:
    query = query.format(paris=ui_data.events["paris"].slug)
    expected = {s.pk for s in ui_data.statements if keep(s, ui_data)}
    assert expected, "the case should select something"
    from_api = [row["id"] for row in collect(api, f"/api/statements?{query}&limit=7")]
    assert len(from_api) == len(set(from_api))
    assert set(from_api) == expected
    # The page lists the same statements, in the same order (newest first).
    assert from_api == page_statement_ids(Client(), query)


def test_statements_are_newest_first_with_undated_last(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/statements?limit=200")
    assert len(rows) == len(ui_data.statements)
    dated = [r["said_on"] for r in rows if r["said_on"]]
    undated = [r for r in rows if not r["said_on"]]
    assert undated and dated == sorted(dated, reverse=True)
    assert rows[-len(undated) :] == undated
    oldest = collect(api, "/api/statements?sort=oldest&limit=200")
    assert [r["said_on"] for r in oldest if r["said_on"]] == sorted(dated)


def test_statement_row_carries_speaker_country_and_evidence(api: Client, ui_data: UIData) -> None:
    row = ui_data.statements[5]
    body = api.get(f"/api/statements/{row.pk}").json()
    assert body["id"] == row.pk and body["text"] == row.text
    assert body["url"] == f"{BASE}/statements/{row.pk}/"
    assert body["speaker"]["slug"] == row.speaker
    assert body["country"]["code"] == row.country
    assert {p["slug"] for p in body["proposals"]} == set(row.proposals)
    [evidence] = body["evidence"]
    assert evidence["excerpt"] == row.text
    assert evidence["document_id"] == row.document_id
    # Pasted documents have no URL of their own: the source is their page here.
    assert evidence["source_url"] == f"{BASE}/documents/{row.document_id}/"
    assert evidence["evidence_url"].startswith(f"{BASE}/documents/{row.document_id}/#span-")
    listed = next(r for r in collect(api, "/api/statements?limit=200") if r["id"] == row.pk)
    assert listed["evidence"][0]["source_url"] == evidence["source_url"]


def test_statement_with_a_source_url_gives_it(api: Client, ui_data: UIData) -> None:
    row = ui_data.statements[0]
    models.Document.objects.filter(pk=row.document_id).update(url="https://example.org/r0")
    body = api.get(f"/api/statements/{row.pk}").json()
    assert body["evidence"][0]["source_url"] == "https://example.org/r0"


# --- Proposals -------------------------------------------------------------------------


def _taking_part(code: str) -> set[str]:
    not_taking_part = {"declined", "opponent", "target", "absent"}
    return {k for k, who, role, _ in PARTICIPATIONS if who == code and role not in not_taking_part}


def test_proposals_list_and_filters(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/proposals?limit=2")
    assert {r["slug"] for r in rows} == {p.slug for p in ui_data.proposals.values()}
    announced = [r["announced_on"] for r in rows]
    assert announced == sorted(announced, reverse=True)
    by_slug = {r["slug"]: r for r in rows}
    waico = by_slug[ui_data.proposal_slug("waico")]
    assert waico["participant_count"] == sum(1 for k, *_ in PARTICIPATIONS if k == "waico")
    assert [(p["role"], p["country"]["code"]) for p in waico["proposers"]] == [("proposer", "CN")]
    assert waico["url"] == f"{BASE}/proposals/{waico['slug']}/"

    for code in ("DE", "US", "CN"):
        taking_part = collect(api, f"/api/proposals?country={code.lower()}")
        assert {r["slug"] for r in taking_part} == {
            ui_data.proposal_slug(k) for k in _taking_part(code)
        }
    declarations = collect(api, "/api/proposals?kind=declaration&status=adopted")
    assert {r["slug"] for r in declarations} == {
        ui_data.proposal_slug(k)
        for k, v in PROPOSALS.items()
        if v[1:3] == ("declaration", "adopted")
    }
    by_year = collect(api, "/api/proposals?year=2025&proposer=cn")
    assert {r["slug"] for r in by_year} == {
        ui_data.proposal_slug("waico"),
        ui_data.proposal_slug("plan"),
    }
    by_title = collect(api, "/api/proposals?sort=title&limit=2")
    assert [r["title"] for r in by_title] == sorted(v[0] for v in PROPOSALS.values())
    by_participants = collect(api, "/api/proposals?sort=participants&limit=2")
    counts = [r["participant_count"] for r in by_participants]
    assert counts == sorted(counts, reverse=True) and len(by_participants) == len(PROPOSALS)


def test_proposal_detail_has_participations_with_evidence(api: Client, ui_data: UIData) -> None:
    slug = ui_data.proposal_slug("bletchley")
    body = api.get(f"/api/proposals/{slug}").json()
    assert body["title"] == PROPOSALS["bletchley"][0]
    expected = {
        (p.country, p.role, p.evidence_url)
        for p in ui_data.participations
        if p.proposal == "bletchley"
    }
    got = {
        (p["country"]["code"], p["role"], p["evidence"][0]["evidence_url"].removeprefix(BASE))
        for p in body["participations"]
    }
    assert got == expected
    assert all(p["evidence"][0]["excerpt"] for p in body["participations"])


# --- Countries, people, organizations --------------------------------------------------


def test_countries_list_search_and_detail(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/countries?limit=200")
    assert len(rows) == models.Country.objects.count()
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    korea = collect(api, "/api/countries?q=korea")
    assert {r["code"] for r in korea} >= {"KR", "KP"} and all("Korea" in r["name"] for r in korea)
    # Like the page: the name, an alias ("French" for Martinique…) or the code.
    fra = {r["code"] for r in collect(api, "/api/countries?q=fra")}
    aliased = {a.country_id for a in models.CountryAlias.objects.all() if "fra" in a.alias.lower()}
    named = {c.code for c in models.Country.objects.all() if "fra" in c.name.lower()}
    assert "FR" in fra and fra == aliased | named
    assert [r["code"] for r in collect(api, "/api/countries?q=deu")] == ["DE"]
    body = api.get("/api/countries/cn").json()
    assert body["name"] == "China" and body["url"] == f"{BASE}/countries/cn/"
    assert body["statement_count"] == sum(1 for s in ui_data.statements if s.country == "CN")
    assert body["proposal_count"] == len({k for k, who, *_ in PARTICIPATIONS if who == "CN"})
    assert body["document_count"] == sum(1 for codes in ui_data.mentions.values() if "CN" in codes)


def test_people_list_search_and_country(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/people?limit=3")
    assert {r["name"] for r in rows} == {name for name, *_ in PEOPLE}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    li = next(r for r in rows if r["name"] == "Li Qiang")
    assert li["roles"][0]["title"] == "Premier" and li["roles"][0]["country"]["code"] == "CN"
    chinese = collect(api, "/api/people?country=cn")
    assert {r["name"] for r in chinese} == {n for n, _, code, _ in PEOPLE if code == "CN"}
    assert {r["name"] for r in collect(api, "/api/people?q=olaf")} == {"Olaf Scholz"}
    # Aliases are searched too.
    ui_data.people["Olaf Scholz"].aliases = ["Der Kanzler"]
    ui_data.people["Olaf Scholz"].save()
    assert {r["name"] for r in collect(api, "/api/people?q=kanzler")} == {"Olaf Scholz"}
    person = api.get(f"/api/people/{ui_data.people['Wang Yi'].slug}").json()
    assert person["name"] == "Wang Yi" and person["roles"][0]["title"] == "Foreign Minister"


def test_organizations_list_and_filters(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/organizations")
    assert {r["name"] for r in rows} == {name for name, *_ in ORGANIZATIONS}
    us = collect(api, "/api/organizations?country=us")
    assert {r["name"] for r in us} == {n for n, _, code in ORGANIZATIONS if code == "US"}
    research = collect(api, "/api/organizations?kind=research&q=trustworthy")
    assert [r["name"] for r in research] == ["Institute for Trustworthy Machines"]
    un = ui_data.organizations["United Nations"]
    un.members.set(["CN", "FR"])
    body = api.get(f"/api/organizations/{un.slug}").json()
    assert {m["code"] for m in body["members"]} == {"CN", "FR"}


# --- Participation, events, documents --------------------------------------------------


def test_participation_filters(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/participation?limit=5")
    assert len(rows) == models.Participation.objects.count()
    paris = ui_data.proposal_slug("paris")
    declined = collect(api, f"/api/participation?proposal={paris}&role=declined")
    assert {r["country"]["code"] for r in declined} == {
        who for k, who, role, _ in PARTICIPATIONS if k == "paris" and role == "declined"
    }
    assert all(r["evidence"][0]["source_url"] for r in declined)
    cn = collect(api, "/api/participation?country=CN")
    assert len(cn) == sum(1 for _, who, *_ in PARTICIPATIONS if who == "CN") + 1  # + WAIC host
    waic = collect(api, f"/api/participation?event={ui_data.events['waic'].slug}")
    assert [(r["country"]["code"], r["role"]) for r in waic] == [("CN", "host")]
    un = collect(
        api, f"/api/participation?organization={ui_data.organizations['United Nations'].slug}"
    )
    assert [r["role"] for r in un] == ["observer"]
    li = collect(api, f"/api/participation?person={ui_data.people['Li Qiang'].slug}")
    assert [r["role"] for r in li] == ["announcer"]


def test_events_filters_and_detail(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/events")
    assert [r["name"] for r in rows] == [
        v[0] for v in sorted(EVENTS.values(), key=lambda v: v[4], reverse=True)
    ]
    assert {r["name"] for r in collect(api, "/api/events?year=2025")} == {
        v[0] for v in EVENTS.values() if v[4].year == 2025
    }
    assert [r["city"] for r in collect(api, "/api/events?country=gb")] == ["Bletchley Park"]
    today = timezone.localdate()
    future = models.Event.objects.create(
        name="Future Forum", start_date=today + datetime.timedelta(days=30)
    )
    ongoing = models.Event.objects.create(
        name="Ongoing Forum",
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=1),
    )
    upcoming = {r["name"] for r in collect(api, "/api/events?upcoming=true")}
    assert upcoming == {future.name, ongoing.name}
    past = {r["name"] for r in collect(api, "/api/events?upcoming=false")}
    assert past == {v[0] for v in EVENTS.values()}
    waic = ui_data.events["waic"]
    models.EventFigure.objects.create(event=waic, label="companies", value=800, qualifier="over")
    body = api.get(f"/api/events/{waic.slug}").json()
    assert body["figures"][0]["value"] == 800 and body["country"]["code"] == "CN"


def test_documents_filters_and_detail(api: Client, ui_data: UIData) -> None:
    rows = collect(api, "/api/documents?limit=50")
    assert len(rows) == len(ui_data.documents)
    assert "text" not in rows[0]
    cn = collect(api, "/api/documents?country=cn")
    assert {r["id"] for r in cn} == {pk for pk, codes in ui_data.mentions.items() if "CN" in codes}
    assert all(r["countries"] == ["CN"] for r in cn)
    safety = collect(api, "/api/documents?q=safety")
    expected = {d.pk for d in ui_data.documents if "safety" in words(d.title + " " + d.text)}
    assert {r["id"] for r in safety} == expected
    assert collect(api, f"/api/documents?source={ui_data.source.pk}&language=EN") == rows
    assert collect(api, "/api/documents?language=fr") == []
    row = ui_data.statements[3]
    body = api.get(f"/api/documents/{row.document_id}").json()
    document = models.Document.objects.get(pk=row.document_id)
    assert body["text"] == document.text
    [span] = body["evidence"]
    assert document.text[span["start"] : span["end"]] == span["excerpt"] == row.text
    assert (span["record_type"], span["record_id"]) == ("statement", str(row.pk))


# --- Details: 404 and merged records ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/proposals/no-such-proposal",
        "/api/people/no-such-person",
        "/api/organizations/no-such-org",
        "/api/events/no-such-event",
        "/api/countries/zz",
        "/api/statements/999999999",
        "/api/documents/999999999",
    ],
)
def test_missing_detail_is_a_json_404(api: Client, ui_data: UIData, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"]


def test_merged_record_redirects_to_its_survivor_and_leaves_lists(
    api: Client, ui_data: UIData
) -> None:
    survivor = ui_data.people["Li Qiang"]
    duplicate = models.Person.objects.create(name="Li Keqiang Duplicate", merged_into=survivor)
    response = api.get(f"/api/people/{duplicate.slug}")
    assert response.status_code == 301
    assert response["Location"] == f"{BASE}/api/people/{survivor.slug}"
    assert api.get(response["Location"]).json()["id"] == survivor.pk
    assert duplicate.pk not in {r["id"] for r in collect(api, "/api/people?limit=200")}
    # A chain of merges leads to the last survivor.
    older = models.Person.objects.create(name="Older Duplicate", merged_into=duplicate)
    assert api.get(f"/api/people/{older.slug}")["Location"].endswith(f"/api/people/{survivor.slug}")


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/statements?year=twenty", "year"),
        ("/api/statements?year=1066", "year"),
        ("/api/statements?country=china", "country"),
        ("/api/statements?kind=rumour", "kind"),
        ("/api/statements?from=2025-02-30", "from"),
        ("/api/statements?from=2025-03-01&to=2025-01-01", "to"),
        ("/api/statements?sort=relevance", "sort"),
        ("/api/statements?limit=0", "limit"),
        ("/api/statements?limit=201", "limit"),
        ("/api/statements?q=a%00b", "q"),
        ("/api/proposals?kind=manifesto", "kind"),
        ("/api/proposals?year=99999", "year"),
        ("/api/people?country=chn", "country"),
        ("/api/participation?role=hero", "role"),
        ("/api/events?upcoming=perhaps", "upcoming"),
        ("/api/documents?source=-1", "source"),
        ("/api/documents?source=99999999999999999999", "source"),
        ("/api/statements/0", "id"),
        ("/api/statements/99999999999999999999", "id"),
        ("/api/people/bad%00slug", "slug"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    api: Client, ui_data: UIData, url: str, param: str
) -> None:
    response = api.get(url)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["detail"]
    assert param in [e["param"] for e in body["errors"]], body
    assert all(e["message"] for e in body["errors"])
