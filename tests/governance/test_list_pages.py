"""List pages, global search and compare: filters, counts, htmx partials.

Expectations come from the fixture dataset's own records (tests/governance/ui_data.py).
"""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from governance import models
from tests import factories
from tests.governance.ui_data import (
    EVENT_PARTICIPANTS,
    PARTICIPATIONS,
    PROPOSALS,
    ParticipationRow,
    UIData,
    ui_data,
    words,
)

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

PROPOSER_ROLES = {"proposer", "issuer"}


def get(client: Client, url: str, params: Any = None, **headers: str) -> str:
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    response = client.get(f"{url}{query}", headers=headers)
    assert response.status_code == 200, url
    assert "HX-Request" in response["Vary"]
    return response.content.decode()


def partial(client: Client, url: str, target: str, params: Any = None) -> str:
    fragment = get(client, url, params, **{"HX-Request": "true", "HX-Target": target})
    assert "<html" not in fragment and "site-header" not in fragment
    return fragment


def full_page(client: Client, url: str, params: Any = None) -> str:
    page = get(client, url, params)
    assert "<html" in page and "site-header" in page
    return page


def links(page: str, prefix: str) -> list[str]:
    """Slugs or codes of `<a href="/prefix/x/">` links, in page order, without repeats."""
    found = re.findall(rf'<a href="/{prefix}/([^/"]+)/">', page)
    return list(dict.fromkeys(found))


def error_notice(page: str) -> str:
    match = re.search(r'<div class="notice notice-error" role="alert">(.*?)</div>', page, re.S)
    return htmllib.unescape(match.group(1)) if match else ""


# --- Proposals ----------------------------------------------------------------------


def proposal_rows(data: UIData) -> dict[str, dict[str, Any]]:
    """slug -> what the list should know about each proposal, from the dataset."""
    rows: dict[str, dict[str, Any]] = {}
    for key, (title, kind, status, announced, _) in PROPOSALS.items():
        parts = [p for p in PARTICIPATIONS if p[0] == key]
        rows[data.proposal_slug(key)] = {
            "title": title,
            "kind": kind,
            "status": status,
            "announced": announced,
            "participants": len(parts),
            "proposers": {who for _, who, role, _ in parts if role in PROPOSER_ROLES},
            "countries": {who for _, who, _, _ in parts if len(who) == 2},
        }
    return rows


def newest_first(rows: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(rows, key=lambda s: (-rows[s]["announced"].toordinal(), rows[s]["title"]))


def proposal_slugs(page: str) -> list[str]:
    body = page[page.index('<div id="results"') :] if '<div id="results"' in page else page
    return links(body, "proposals")


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({}, lambda r: True),
        ({"kind": "declaration"}, lambda r: r["kind"] == "declaration"),
        ({"status": "adopted"}, lambda r: r["status"] == "adopted"),
        ({"proposer": "cn"}, lambda r: "CN" in r["proposers"]),
        ({"proposer": "GB"}, lambda r: "GB" in r["proposers"]),
        ({"country": "kr"}, lambda r: "KR" in r["countries"]),
        ({"country": "de"}, lambda r: "DE" in r["countries"]),
        ({"year": "2025"}, lambda r: r["announced"].year == 2025),
        (
            {"kind": "declaration", "year": "2025", "country": "de"},
            lambda r: (
                r["kind"] == "declaration"
                and r["announced"].year == 2025
                and "DE" in r["countries"]
            ),
        ),
        ({"q": "governance"}, lambda r: "governance" in r["title"].lower()),
    ],
)
def test_proposal_filters(
    client: Client, ui_data: UIData, params: dict[str, str], keep: Any
) -> None:
    rows = proposal_rows(ui_data)
    expected = newest_first({s: r for s, r in rows.items() if keep(r)})
    assert expected
    page = full_page(client, "/proposals/", params)
    assert proposal_slugs(page) == expected
    n = len(expected)
    assert f"{n} proposal{'s' if n != 1 else ''}" in page
    assert error_notice(page) == ""
    # The same filters as an htmx request for #results: just the table.
    fragment = partial(client, "/proposals/", "results", params)
    assert proposal_slugs(fragment) == expected
    assert "<form" not in fragment


@pytest.mark.parametrize("sort", ["newest", "oldest", "title", "participants"])
def test_proposal_sorts(client: Client, ui_data: UIData, sort: str) -> None:
    rows = proposal_rows(ui_data)
    keys = {
        "newest": lambda s: (-rows[s]["announced"].toordinal(), rows[s]["title"]),
        "oldest": lambda s: (rows[s]["announced"].toordinal(), rows[s]["title"]),
        "title": lambda s: rows[s]["title"],
        "participants": lambda s: (-rows[s]["participants"], rows[s]["title"]),
    }
    page = full_page(client, "/proposals/", {"sort": sort})
    assert proposal_slugs(page) == sorted(rows, key=keys[sort])


def test_proposal_rows_show_proposers_and_participant_counts(
    client: Client, ui_data: UIData
) -> None:
    page = full_page(client, "/proposals/")
    for slug, row in proposal_rows(ui_data).items():
        tr = re.search(rf'<tr>\s*<td><a href="/proposals/{slug}/">.*?</tr>', page, re.S)
        assert tr, slug
        cells = re.findall(r"<td>(.*?)</td>", tr.group(0), re.S)
        assert len(cells) == 6
        assert set(links(cells[3], "countries")) == {c.lower() for c in row["proposers"]}
        assert cells[4].strip() == str(row["participants"])
        assert f'datetime="{row["announced"]:%Y-%m-%d}"' in cells[5]


def test_proposal_filter_menus_offer_the_countries_in_the_data(
    client: Client, ui_data: UIData
) -> None:
    page = full_page(client, "/proposals/")

    def options(select_id: str) -> set[str]:
        select = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
        assert select
        return {v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v}

    proposers = {who.lower() for _, who, role, _ in PARTICIPATIONS if role in PROPOSER_ROLES}
    taking_part = {who.lower() for _, who, _, _ in PARTICIPATIONS if len(who) == 2}
    assert options("id_proposer") == proposers
    assert options("id_country") == taking_part
    assert options("id_year") == {str(p[3].year) for p in PROPOSALS.values() if p[3]}


def test_proposal_bad_filter_is_reported_and_the_rest_applied(
    client: Client, ui_data: UIData
) -> None:
    page = full_page(client, "/proposals/", {"kind": "nope", "year": "abc", "status": "adopted"})
    notice = error_notice(page)
    assert "kind" in notice and "year" in notice
    rows = proposal_rows(ui_data)
    assert proposal_slugs(page) == newest_first(
        {s: r for s, r in rows.items() if r["status"] == "adopted"}
    )


# --- Countries ----------------------------------------------------------------------


NOT_TAKING_PART = {"declined", "opponent", "target", "absent"}


def country_roles() -> dict[str, set[str]]:
    """code -> its roles in proposals and events, from the dataset's definition."""
    roles: dict[str, set[str]] = {}
    for _, who, role, _ in PARTICIPATIONS:
        if len(who) == 2:
            roles.setdefault(who, set()).add(role)
    for participants in EVENT_PARTICIPANTS.values():
        for code, role in participants:
            roles.setdefault(code, set()).add(role)
    return roles


def country_counts(data: UIData) -> dict[str, tuple[int, int, int, int]]:
    """code -> (proposals it has a role in, events it has a role in, statements on its
    behalf, documents mentioning it), for every country with any of them."""
    proposals: dict[str, set[str]] = {}
    for key, who, _, _ in PARTICIPATIONS:
        if len(who) == 2:
            proposals.setdefault(who, set()).add(key)
    events: dict[str, set[str]] = {}
    for key, participants in EVENT_PARTICIPANTS.items():
        for code, _ in participants:
            events.setdefault(code, set()).add(key)
    statements = Counter(s.country for s in data.statements if s.country)
    documents = Counter(code for codes in data.mentions.values() for code in codes)
    codes = set(proposals) | set(events) | set(statements) | set(documents)
    return {
        c: (len(proposals.get(c, ())), len(events.get(c, ())), statements[c], documents[c])
        for c in codes
    }


def default_listing(data: UIData) -> dict[str, tuple[int, int, int, int]]:
    """What /countries/ lists by default: the countries with a role (taking part, or
    shown apart when every role is one that is no part), not those only quoted or
    mentioned."""
    counts = country_counts(data)
    return {code: counts[code] for code in country_roles()}


def group_rank(code: str) -> int:
    """0 taking part, 1 shown apart: the order of /countries/ groups."""
    return 0 if country_roles()[code] - NOT_TAKING_PART else 1


def country_table(page: str) -> dict[str, tuple[int, int, int, int]]:
    rows = re.findall(
        r'<tr>\s*<td><a href="/countries/(\w+)/">.*?</td>\s*<td>.*?</td>\s*'
        r'<td class="num">(.*?)</td>\s*<td class="num">(.*?)</td>\s*'
        r'<td class="num">(.*?)</td>\s*<td class="num">(.*?)</td>',
        page,
        re.S,
    )

    def number(cell: str) -> int:
        return int(re.sub(r"<[^>]+>", "", cell).replace(",", "").strip())

    return {code.upper(): (number(p), number(e), number(s), number(d)) for code, p, e, s, d in rows}


def test_country_list_counts_and_orders_by_activity(client: Client, ui_data: UIData) -> None:
    expected = default_listing(ui_data)
    page = full_page(client, "/countries/")
    assert country_table(page) == expected
    names = dict(models.Country.objects.values_list("code", "name"))
    order = sorted(expected, key=lambda c: (group_rank(c), -sum(expected[c]), names[c]))
    assert [c.upper() for c in links(page, "countries")] == order
    assert f"{len(expected)} countries" in page
    # A country's statement count links to the browser filtered to it.
    assert '<a href="/statements/?country=cn">' in page


def test_country_list_sorted_by_name_and_with_inactive(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/countries/", {"sort": "name"})
    names = dict(models.Country.objects.values_list("code", "name"))
    codes = [c.upper() for c in links(page, "countries")]
    assert codes == sorted(default_listing(ui_data), key=lambda c: (group_rank(c), names[c]))
    everything = partial(client, "/countries/", "results", {"all": "1"})
    table = country_table(everything)
    assert len(table) == models.Country.objects.count()
    # Countries only quoted or mentioned are listed with every country, with their counts.
    counts = country_counts(ui_data)
    assert {code: table[code] for code in counts} == counts


@pytest.mark.parametrize(
    ("q", "must", "must_not"),
    [
        ("Korea", {"KR", "KP"}, {"CN", "JP"}),  # both Koreas by name
        ("Korea, Republic of", {"KR"}, {"KP"}),  # an ISO alias that is not the name
        ("Washington", {"US"}, {"GB"}),  # a capital used as a metonym
        ("fr", {"FR"}, set()),  # the code
        ("deu", {"DE"}, set()),  # the alpha-3 code
        ("china", {"CN"}, {"US"}),
    ],
)
def test_country_search_by_name_alias_and_code(
    client: Client, ui_data: UIData, q: str, must: set[str], must_not: set[str]
) -> None:
    page = full_page(client, "/countries/", {"q": q})
    found = {c.upper() for c in links(page, "countries")}
    assert must <= found and not (must_not & found)
    fragment = partial(client, "/countries/", "results", {"q": q})
    assert {c.upper() for c in links(fragment, "countries")} == found
    # Counts for a matching active country are the same as in the full list.
    for code in must & set(country_counts(ui_data)):
        assert country_table(page)[code] == country_counts(ui_data)[code]


def test_country_search_with_no_match(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/countries/", {"q": "Atlantis"})
    assert links(page[page.index('<div id="results"') :], "countries") == []
    assert "No country matches “Atlantis”" in page


# --- Events, people, organizations ---------------------------------------------------


def test_event_list(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/events/")
    events = sorted(ui_data.events.values(), key=lambda e: (-e.start_date.toordinal(), e.name))
    assert links(page, "events") == [e.slug for e in events]
    statements = Counter(s.event for s in ui_data.statements if s.event)
    participants = {e.slug: models.Participation.objects.filter(event=e).count() for e in events}
    for event in events:
        item = re.search(rf'<a href="/events/{event.slug}/">.*?</li>', page, re.S)
        assert item
        text = " ".join(item.group(0).split())
        n, m = participants[event.slug], statements[event.slug]
        assert f"{n} participant{'s' if n != 1 else ''}" in text
        assert f"{m} statement{'s' if m != 1 else ''}" in text
        assert event.city in text
    fragment = partial(client, "/events/", "results")
    assert links(fragment, "events") == [e.slug for e in events]


def test_person_list(client: Client, ui_data: UIData) -> None:
    counts = Counter(s.speaker for s in ui_data.statements if s.speaker)
    people = sorted(ui_data.people.values(), key=lambda p: (-counts[p.slug], p.name))
    page = full_page(client, "/people/")
    assert links(page, "people") == [p.slug for p in people]
    assert f"{len(people)} people" in page
    for person in people:
        row = re.search(rf'<a href="/people/{person.slug}/">.*?</tr>', page, re.S)
        assert row and re.search(rf'<td class="num">{counts[person.slug]}</td>', row.group(0))
    fragment = partial(client, "/people/", "results", {"q": "an"})
    expected = [p.slug for p in people if "an" in p.name.lower()]
    assert links(fragment, "people") == expected
    assert f"{len(expected)} people" in fragment


def test_organization_list(client: Client, ui_data: UIData) -> None:
    organizations = sorted(ui_data.organizations.values(), key=lambda o: o.name)
    page = full_page(client, "/organizations/")
    assert links(page, "organizations") == [o.slug for o in organizations]
    assert '<a href="/countries/cn/">China</a>' in page
    only = partial(client, "/organizations/", "results", {"kind": "intergovernmental"})
    assert links(only, "organizations") == [
        o.slug for o in organizations if o.kind == "intergovernmental"
    ]
    named = partial(client, "/organizations/", "results", {"q": "ministry"})
    assert links(named, "organizations") == [
        ui_data.organizations["Ministry of Foreign Affairs of China"].slug
    ]
    # An unknown kind is ignored rather than matching nothing.
    assert links(
        partial(client, "/organizations/", "results", {"kind": "nope"}), "organizations"
    ) == [o.slug for o in organizations]


# --- Global search -------------------------------------------------------------------


def search_groups(page: str) -> dict[str, str]:
    """Heading -> the group's HTML."""
    return dict(
        re.findall(r'<section class="panel[^"]*"><h2>([^<]+)</h2>(.*?)</section>', page, re.S)
    )


@pytest.mark.parametrize(
    ("q", "group", "prefix", "slug_of"),
    [
        ("Li Quang", "People", "people", lambda d: d.people["Li Qiang"].slug),  # a typo
        ("Li Qiang", "People", "people", lambda d: d.people["Li Qiang"].slug),
        ("Raimundo", "People", "people", lambda d: d.people["Gina Raimondo"].slug),
        ("Chna", "Countries", "countries", lambda d: "cn"),  # a typo
        ("Korea", "Countries", "countries", lambda d: "kr"),  # an alias
        (
            "Untied Nations",
            "Organizations",
            "organizations",
            lambda d: d.organizations["United Nations"].slug,
        ),
        ("Bletchly Declaration", "Proposals", "proposals", lambda d: d.proposal_slug("bletchley")),
        ("Artificial Intelligence Conference", "Events", "events", lambda d: d.events["waic"].slug),
    ],
)
def test_global_search_finds_names_despite_typos(
    client: Client, ui_data: UIData, q: str, group: str, prefix: str, slug_of: Any
) -> None:
    page = full_page(client, "/search/", {"q": q})
    groups = search_groups(page)
    assert group in groups, (q, list(groups))
    assert links(groups[group], prefix)[0] == slug_of(ui_data)


def _newest(rows: list[Any], date: Any) -> list[Any]:
    with_date = sorted((r for r in rows if date(r)), key=lambda r: (date(r), r.pk), reverse=True)
    return with_date + sorted((r for r in rows if not date(r)), key=lambda r: -r.pk)


def test_global_search_finds_statements_and_documents_by_words(
    client: Client, ui_data: UIData
) -> None:
    matching = [s for s in ui_data.statements if "sovereignty" in words(s.text)]
    assert len(matching) > 8
    page = full_page(client, "/search/", {"q": "sovereignty"})
    groups = search_groups(page)
    assert set(groups) == {"Statements", "Source documents"}
    expected = [s.pk for s in _newest(matching, lambda s: s.said_on)][:8]
    shown = [int(pk) for pk in re.findall(r'href="/statements/(\d+)/"', groups["Statements"])]
    assert shown == expected
    assert '<a href="/statements/?q=sovereignty">' in groups["Statements"]
    documents = [d for d in ui_data.documents if "sovereignty" in words(d.text)]
    expected_docs = [d.pk for d in _newest(documents, lambda d: d.published_at)][:8]
    shown_docs = [
        int(pk) for pk in re.findall(r'href="/documents/(\d+)/"', groups["Source documents"])
    ]
    assert shown_docs == expected_docs


def test_global_search_partial_and_empty_states(client: Client, ui_data: UIData) -> None:
    fragment = partial(client, "/search/", "search-results", {"q": "Li Quang"})
    assert "People" in search_groups(fragment)
    assert "<form" not in fragment
    nothing = partial(client, "/search/", "search-results", {"q": "xylophone"})
    assert "Nothing found for “xylophone”" in nothing
    blank = full_page(client, "/search/")
    assert search_groups(blank) == {}
    # The query is echoed escaped.
    hostile = full_page(client, "/search/", {"q": "<b>bold</b> safety"})
    assert "<b>bold</b>" not in hostile and "&lt;b&gt;bold&lt;/b&gt;" in hostile


# --- Compare ---------------------------------------------------------------------------


def compare_cells(page: str, codes: list[str]) -> dict[str, dict[str, str]]:
    """proposal slug -> {country code: the cell's HTML}, columns in the order of `codes`."""
    out: dict[str, dict[str, str]] = {}
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r'<th scope="row"><a href="/proposals/([^/]+)/">', row)
        if not head:
            continue
        cells = re.findall(r'<td class="(?:known|unknown)">(.*?)</td>', row, re.S)
        assert len(cells) == len(codes)
        out[head.group(1)] = dict(zip(codes, cells, strict=True))
    return out


def expected_compare(
    data: UIData, codes: list[str]
) -> dict[str, dict[str, list[ParticipationRow]]]:
    out: dict[str, dict[str, list[ParticipationRow]]] = {}
    for p in data.participations:
        if p.country in codes:
            out.setdefault(data.proposal_slug(p.proposal), {}).setdefault(p.country, []).append(p)
    return out


@pytest.mark.parametrize(
    "params",
    [
        {"countries": "cn,us"},
        {"countries": ["cn", "us"]},
        {"countries": ["CN", "us,cn"]},
    ],
)
def test_compare_cells_show_role_date_and_source(
    client: Client, ui_data: UIData, params: dict[str, Any]
) -> None:
    codes = ["CN", "US"]
    expected = expected_compare(ui_data, codes)
    page = full_page(client, "/compare/", params)
    cells = compare_cells(page, codes)
    assert set(cells) == set(expected)
    for slug, by_country in cells.items():
        for code, cell in by_country.items():
            rows = expected[slug].get(code, [])
            if not rows:
                assert "unknown" in cell and "role-" not in cell, (slug, code)
                continue
            assert "unknown" not in cell
            for p in rows:
                label = models.Participation.Role(p.role).label
                assert f'<span class="role role-{p.role}">{label}</span>' in cell
                if p.date:
                    assert f'<time datetime="{p.date:%Y-%m-%d}">' in cell
                assert f'href="{p.evidence_url}"' in cell
    counts = Counter(s.country for s in ui_data.statements)
    footer = page[page.index("<tfoot>") : page.index("</tfoot>")]
    assert re.findall(r'\?country=(\w+)">(\d+)</a>', footer) == [
        ("cn", str(counts["CN"])),
        ("us", str(counts["US"])),
    ]


def test_compare_distinguishes_declined_from_unknown(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/compare/", {"countries": "us,cn"})
    cells = compare_cells(page, ["US", "CN"])
    paris, waico = ui_data.proposal_slug("paris"), ui_data.proposal_slug("waico")
    declined = cells[paris]["US"]
    assert "Declined" in declined and "unknown" not in declined
    assert '<time datetime="2025-02-11">' in declined
    unknown = cells[waico]["US"]
    assert "unknown" in unknown and "Declined" not in unknown
    assert 'class="unknown"' in page and 'class="known"' in page


def test_compare_reports_unknown_codes_and_keeps_the_rest(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/compare/", {"countries": ["gb", "zz", "fr"]})
    assert "ZZ" in error_notice(page)
    cells = compare_cells(page, ["GB", "FR"])
    assert set(cells) == set(expected_compare(ui_data, ["GB", "FR"]))
    single = full_page(client, "/compare/", {"countries": "de"})
    assert "Choose two or more countries" in single
    assert set(compare_cells(single, ["DE"])) == set(expected_compare(ui_data, ["DE"]))


def test_compare_partial(client: Client, ui_data: UIData) -> None:
    fragment = partial(client, "/compare/", "comparison", {"countries": "cn,us"})
    expected = expected_compare(ui_data, ["CN", "US"])
    assert set(compare_cells(fragment, ["CN", "US"])) == set(expected)
    page = full_page(client, "/compare/", {"countries": "cn,us"})
    assert compare_cells(page, ["CN", "US"]) == compare_cells(fragment, ["CN", "US"])
    # The picker keeps the chosen countries ticked, and works as a plain GET form.
    assert re.search(r'<form class="filters" method="get" action="/compare/"', page)
    assert 'name="countries" value="cn" checked' in page
    assert 'name="countries" value="us" checked' in page


def test_compare_lists_proposals_newest_first(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/compare/", {"countries": "fr,de"})
    slugs = list(compare_cells(page, ["FR", "DE"]))
    announced = {
        ui_data.proposal_slug(key): (-p[3].toordinal(), p[0]) for key, p in PROPOSALS.items()
    }
    assert slugs == sorted(expected_compare(ui_data, ["FR", "DE"]), key=announced.__getitem__)


def test_compare_with_no_countries(client: Client, ui_data: UIData) -> None:
    page = full_page(client, "/compare/")
    assert "Choose two or more countries" in page and "<tbody>" not in page


def test_declining_or_being_targeted_is_not_taking_part(client: Client) -> None:
    """`country=` keeps proposals the country takes part in; a declined or targeted one is
    not, and a country that only declined is not offered in the filter menu. (Countries
    the module's shared dataset leaves alone.)"""
    joined, declined, targeted = (factories.ProposalFactory() for _ in range(3))
    role = models.Participation.Role
    for proposal, code, r in [
        (joined, "NZ", role.SIGNATORY),
        (declined, "NZ", role.DECLINED),
        (targeted, "NZ", role.TARGET),
        (declined, "IS", role.DECLINED),
    ]:
        models.Participation.objects.create(proposal=proposal, country_id=code, role=r)
    page = client.get("/proposals/", {"country": "nz"}).content.decode()
    assert joined.title in page
    assert declined.title not in page and targeted.title not in page
    menu = re.search(r'<select id="id_country".*?</select>', page, re.S).group(0)
    assert 'value="nz"' in menu and 'value="is"' not in menu
