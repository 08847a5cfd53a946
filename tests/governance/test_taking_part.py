"""One count of the countries taking part, the same on every page that shows it.

"Taking part" is any participation in a proposal or an event in a role other than
declined, opponent, target and noted absent; a country with only such roles is shown
apart. The dashboard's tile, its map (legend counts and coloured countries), /countries/
and the country pages are read as a visitor reads them (the HTML) and compared with each
other and with what the test computes from the rows it made, on the seed data and on
made-up data with declined, target, opponent and absent rows and event-only
participants. Document counts per country come from the DocumentCountry rows of every
document, the seed article's included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client

from governance import models
from governance.extract.candidates import write_candidates
from governance.extract.pipeline import extract
from governance.seed import load_seed
from tests import factories

pytestmark = pytest.mark.django_db

# Spelled out here rather than read from the code under test.
NOT_TAKING_PART = {"declined", "opponent", "target", "absent"}
SEED_TAKING_PART = {"CN", "US", "RU", "DE", "KR", "ZA", "QA", "FR"}


def get(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@dataclass
class Surfaces:
    """What each page says, read from its HTML."""

    tile: int  # the dashboard's "Countries taking part"
    tile_apart: int  # its "+N shown apart" (0 when not shown)
    legend: dict[str, int]  # the map legend's taking-part entries: key -> count
    legend_apart: dict[str, int]  # its shown-apart entries
    coloured: dict[str, set[str]]  # map: class key -> codes drawn with it (shape or dot)
    summary: str  # the map's country list summary
    listed: set[str]  # /countries/ "Taking part" table
    listed_apart: set[str]  # /countries/ "Shown apart" table
    results_count: str  # /countries/ "N countries: M taking part"


def legend_entries(html: str) -> dict[str, int]:
    return {
        key: int(n)
        for key, n in re.findall(
            r'<span class="swatch cat-([\w-]+)" aria-hidden="true"></span>[^<]*'
            r'<span class="count">\((\d+)\)</span>',
            html,
        )
    }


def group_codes(html: str, group: str) -> set[str]:
    """The country codes linked in one of /countries/ group tables."""
    match = re.search(rf'<h2 class="country-group" id="group-{group}">(.*?)</table>', html, re.S)
    if match is None:
        return set()
    return {code.upper() for code in re.findall(r'<a href="/countries/(\w\w)/">', match.group(1))}


def read_surfaces(client: Client) -> Surfaces:
    dashboard = get(client, "/")
    tile = re.search(
        r'<dt>Countries taking part</dt><dd><a href="/countries/">(\d+)</a>'
        r'(?: <small class="muted">\+(\d+) shown apart</small>)?</dd>',
        dashboard,
    )
    assert tile, "no tile"
    figure = dashboard[dashboard.index('<figure class="world-map-figure">') :]
    figure = figure[: figure.index("</figure>")]
    taking_part_legend, _, apart_legend = figure.partition("world-map-legend-apart")
    coloured: dict[str, set[str]] = {}
    for cls, code in re.findall(
        r'<(?:path|circle) class="country cat-([\w-]+)[^"]*" data-code="(\w\w)"', figure
    ):
        coloured.setdefault(cls, set()).add(code.upper())
    summary = re.search(r"<summary>(.*?)</summary>", figure, re.S)
    countries = get(client, "/countries/")
    count_line = re.search(r'<p class="results-count">(.*?)</p>', countries, re.S)
    assert summary and count_line
    return Surfaces(
        tile=int(tile.group(1)),
        tile_apart=int(tile.group(2) or 0),
        legend=legend_entries(taking_part_legend),
        legend_apart=legend_entries(apart_legend),
        coloured=coloured,
        summary=summary.group(1).strip(),
        listed=group_codes(countries, "taking-part"),
        listed_apart=group_codes(countries, "shown-apart"),
        results_count=count_line.group(1).strip(),
    )


def page_says_taking_part(client: Client, code: str) -> bool:
    html = get(client, f"/countries/{code.lower()}/")
    taking = "<strong>Taking part</strong>" in html
    assert taking != ("<strong>Not taking part</strong>" in html), code
    return taking


def expected_from_rows() -> tuple[set[str], set[str]]:
    """(taking part, shown apart) computed from the participation rows, by the rule."""
    roles: dict[str, set[str]] = {}
    for code, role in models.Participation.objects.filter(country__isnull=False).values_list(
        "country_id", "role"
    ):
        roles.setdefault(code, set()).add(role)
    taking = {code for code, r in roles.items() if r - NOT_TAKING_PART}
    return taking, set(roles) - taking


def assert_consistent(client: Client, taking: set[str], apart: set[str]) -> Surfaces:
    s = read_surfaces(client)
    # The tile, the map, the list and the pages count the same countries.
    assert s.tile == len(taking)
    assert s.tile_apart == len(apart)
    assert s.listed == taking
    assert s.listed_apart == apart
    on_map = {
        code for key, codes in s.coloured.items() if key not in NOT_TAKING_PART for code in codes
    }
    hatched = {
        code for key, codes in s.coloured.items() if key in NOT_TAKING_PART for code in codes
    }
    assert on_map == taking
    assert hatched == apart
    # The legend counts what the map draws, key by key, in the right list.
    assert s.legend == {
        key: len(codes) for key, codes in s.coloured.items() if key not in NOT_TAKING_PART
    }
    assert s.legend_apart == {
        key: len(codes) for key, codes in s.coloured.items() if key in NOT_TAKING_PART
    }
    assert sum(s.legend.values()) == len(taking)
    countries = "country" if len(taking) == 1 else "countries"
    expected_summary = f"{len(taking)} {countries} taking part on the map"
    if apart:
        expected_summary += f", {len(apart)} shown apart"
    assert s.summary == expected_summary
    total = len(taking) + len(apart)
    assert s.results_count == (
        f"{total} {'country' if total == 1 else 'countries'}: {len(taking)} taking part"
    )
    for code in taking:
        assert page_says_taking_part(client, code), code
    for code in apart:
        assert not page_says_taking_part(client, code), code
    return s


def country(code: str) -> models.Country:
    return models.Country.objects.get(code=code)


def participate(code: str, role: str, *, proposal=None, event=None) -> models.Participation:
    return models.Participation.objects.create(
        country=country(code), role=role, proposal=proposal, event=event
    )


@pytest.fixture
def made_up() -> tuple[set[str], set[str]]:
    """Event-only participants, a country with only a declined row, one only targeted,
    one only opposing, one only noted absent, one that declined one thing and supports
    another, a city state that proposes (drawn as a dot), and one with a statement and a
    mention but no role at all."""
    summit = factories.EventFactory(name="Made-up summit")
    pact = factories.ProposalFactory(title="Made-up pact")
    controls = factories.ProposalFactory(title="Made-up controls")
    participate("JP", "delegate", event=summit)
    participate("NO", "speaker", event=summit)
    participate("IN", "declined", proposal=pact)
    participate("BR", "target", proposal=controls)
    participate("CA", "opponent", proposal=pact)
    participate("MX", "absent", event=summit)
    participate("GB", "declined", proposal=controls)
    participate("GB", "supporter", proposal=pact)
    participate("SG", "proposer", proposal=pact)
    factories.StatementFactory(
        text="Said by an Australian official.", on_behalf_of_country=country("AU")
    )
    document = factories.DocumentFactory()
    models.DocumentCountry.objects.create(document=document, country=country("AU"), start=0, end=3)
    return {"JP", "NO", "GB", "SG"}, {"IN", "BR", "CA", "MX"}


def test_made_up_data_counts_the_same_everywhere(client: Client, made_up) -> None:
    taking, apart = made_up
    assert expected_from_rows() == (taking, apart)  # the fixture is what it says
    s = assert_consistent(client, taking, apart)
    assert s.coloured["delegate"] == {"JP"} and s.coloured["speaker"] == {"NO"}
    assert s.coloured["supporter"] == {"GB"}  # its declined row does not colour it
    assert s.coloured["proposer"] == {"SG"}  # a dot, counted like a shape
    # Australia has no role: not counted, not drawn, not listed by default, but found by
    # name and listed with every country, under "no role".
    assert "AU" not in s.listed | s.listed_apart
    searched = get(client, "/countries/?q=australia")
    assert group_codes(searched, "no-role") == {"AU"}
    everything = get(client, "/countries/?all=1")
    assert group_codes(everything, "taking-part") == taking
    assert len(group_codes(everything, "no-role")) == models.Country.objects.count() - 8


def test_the_proposal_filter_offers_the_countries_taking_part_in_proposals(
    client: Client, made_up
) -> None:
    html = get(client, "/proposals/")
    menu = re.search(r'<select id="id_country".*?</select>', html, re.S)
    assert menu
    offered = {code.upper() for code in re.findall(r'<option value="(\w\w)"', menu.group(0))}
    # Event roles are no part in a proposal; declined, targeted and opposing ones neither.
    assert offered == {"GB", "SG"}


def test_cached_counts_follow_new_rows(client: Client, made_up) -> None:
    taking, apart = made_up
    assert_consistent(client, taking, apart)  # fills the count cache and the page cache
    summit = models.Event.objects.get(name="Made-up summit")
    participate("KE", "absent", event=summit)
    assert_consistent(client, taking, apart | {"KE"})
    participate("KE", "observer", event=summit)
    assert_consistent(client, taking | {"KE"}, apart)
    models.Participation.objects.filter(country="JP").delete()
    assert_consistent(client, taking - {"JP"} | {"KE"}, apart)


def test_a_country_listing_shows_new_document_counts(client: Client, made_up) -> None:
    """/countries/ shows document counts: a new mention (ingested data) changes its page."""

    def documents_of(code: str) -> int:
        html = get(client, "/countries/?all=1")
        row = re.search(rf'<a href="/countries/{code.lower()}/">.*?</tr>', html, re.S)
        assert row
        return int(re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', row.group(0))[-1])

    assert documents_of("JP") == 0
    models.DocumentCountry.objects.create(
        document=factories.DocumentFactory(), country=country("JP"), start=0, end=5
    )
    assert documents_of("JP") == 1


@pytest.fixture
def seeded() -> models.Document:
    load_seed()
    return models.Document.objects.get()


def test_seed_data_counts_the_same_everywhere(client: Client, seeded: models.Document) -> None:
    taking, apart = expected_from_rows()
    # The eight of the issue: the host, the five roundtable delegates, France (represented)
    # and the United States (issuer); China is also a target, but takes part.
    assert taking == SEED_TAKING_PART
    assert apart == set()
    s = assert_consistent(client, taking, apart)
    assert s.coloured["delegate"] == {"RU", "DE", "KR", "ZA", "QA"}


def document_counts(client: Client) -> dict[str, int]:
    """/countries/ Documents column, by code."""
    html = get(client, "/countries/")
    counts = {}
    for code, row in re.findall(r'<a href="/countries/(\w\w)/">(.*?)</tr>', html, re.S):
        counts[code.upper()] = int(re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', row)[-1])
    return counts


def test_seed_countries_count_the_seed_article(client: Client, seeded: models.Document) -> None:
    mentions = {
        code: models.DocumentCountry.objects.filter(country=code).count()
        for code in SEED_TAKING_PART
    }
    listed = document_counts(client)
    for code in SEED_TAKING_PART:
        assert listed[code] > 0, code
        assert listed[code] == mentions[code], code
        tab = get(client, f"/countries/{code.lower()}/?tab=documents")
        assert f'Documents that mention it <span class="muted">({mentions[code]})</span>' in tab
        assert f'href="/documents/{seeded.pk}/"' in tab
        listing = get(client, f"/documents/?country={code.lower()}")
        assert f'href="/documents/{seeded.pk}/"' in listing


def test_seed_mentions_are_the_ones_extraction_files(seeded: models.Document) -> None:
    """The seed records the article's mentions as extraction would: extracting it for
    real replaces them with the very same rows."""

    def rows() -> list[tuple]:
        return list(
            models.DocumentCountry.objects.order_by("country").values_list(
                "document", "country", "mention_count", "start", "end", "mention_types"
            )
        )

    seeded_rows = rows()
    assert {row[1] for row in seeded_rows} >= SEED_TAKING_PART
    write_candidates(seeded, extract(seeded.text, language=seeded.language))
    assert rows() == seeded_rows
    # A second seed leaves them alone and says nothing changed.
    assert not load_seed().changed
    assert rows() == seeded_rows
