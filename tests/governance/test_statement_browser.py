"""The statements browser (/statements/): search, facets, sorting, paging, bad input, htmx.

Expected results are computed in Python from the fixture dataset (tests/governance/
ui_data.py), never read back from the code under test.
"""

from __future__ import annotations

import csv
import datetime
import html as htmllib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from django.test import Client

from governance import search
from governance.templatetags import tracker
from tests.governance.ui_data import XSS_WORD, StatementRow, UIData, ui_data, words

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

URL = "/statements/"
PAGE_SIZE = 20  # what the browser promises per page; pinned here on purpose


# --- An independent model of what the browser should return -------------------------


def _phrase_in(tokens: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


def text_matches(text: str, q: str) -> bool:
    """websearch semantics for the queries these tests use: words AND-ed, "a phrase",
    -word excluded, `or` between two words (the closed vocabulary has no stemming clash)."""
    tokens = words(text)
    phrases = [p.lower().split() for p in re.findall(r'"([^"]+)"', q)]
    rest = re.sub(r'"[^"]+"', " ", q).lower().split()
    if "or" in rest:
        i = rest.index("or")
        return rest[i - 1] in tokens or rest[i + 1] in tokens
    include = [w for w in rest if not w.startswith("-")]
    exclude = [w[1:] for w in rest if w.startswith("-")]
    return (
        all(w in tokens for w in include)
        and all(_phrase_in(tokens, p) for p in phrases)
        and not any(w in tokens for w in exclude)
    )


def expect(
    data: UIData,
    *,
    q: str = "",
    country: Iterable[str] = (),
    speaker: Iterable[str] = (),
    proposal: Iterable[str] = (),
    event: Iterable[str] = (),
    kind: Iterable[str] = (),
    year: Iterable[int] = (),
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    dates: str = "",
    skip: str = "",
) -> list[StatementRow]:
    country = {c.upper() for c in country}
    speaker, proposal, event, kind, year = (
        set(speaker),
        set(proposal),
        set(event),
        set(kind),
        set(year),
    )
    out = []
    for s in data.statements:
        if q and not text_matches(s.text, q):
            continue
        if country and skip != "country" and s.country not in country:
            continue
        if speaker and skip != "speaker" and s.speaker not in speaker:
            continue
        if proposal and skip != "proposal" and not s.proposals & proposal:
            continue
        if event and skip != "event" and s.event not in event:
            continue
        if kind and skip != "kind" and s.kind not in kind:
            continue
        # Issue 24: an undated statement of a dated event is dated to the event's days.
        first, last = dated(data, s)
        if dates == "own" and s.said_on is None:
            continue
        if year and skip != "year" and (first is None or first.year not in year):
            continue
        if date_from and (last is None or last < date_from):
            continue
        if date_to and (first is None or first > date_to):
            continue
        out.append(s)
    return out


def dated(data: UIData, s: StatementRow) -> tuple[datetime.date | None, datetime.date | None]:
    """The days a statement is dated to, computed naively: its own date, else its event's."""
    if s.said_on is not None:
        return s.said_on, s.said_on
    event = next((e for e in data.events.values() if e.slug == s.event), None)
    if event is not None and event.start_date is not None:
        return event.start_date, event.end_date or event.start_date
    return None, None


def newest_first(rows: Iterable[StatementRow]) -> list[int]:
    return [
        s.pk
        for s in sorted(
            rows,
            key=lambda s: (s.said_on is None, -(s.said_on or datetime.date.min).toordinal(), -s.pk),
        )
    ]


def oldest_first(rows: Iterable[StatementRow]) -> list[int]:
    return [
        s.pk
        for s in sorted(
            rows,
            key=lambda s: (s.said_on is None, (s.said_on or datetime.date.max).toordinal(), s.pk),
        )
    ]


def facet_value(name: str, s: StatementRow, data: UIData | None = None) -> list[str]:
    if name == "proposal":
        return sorted(s.proposals)
    if name == "year" and data is not None:
        first, _ = dated(data, s)
        return [str(first.year)] if first else []
    value = {
        "country": s.country.lower() if s.country else None,
        "speaker": s.speaker,
        "event": s.event,
        "kind": s.kind,
        "year": str(s.said_on.year) if s.said_on else None,
    }[name]
    return [value] if value is not None else []


def expected_facet_counts(data: UIData, name: str, **filters: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for s in expect(data, skip=name, **filters):
        counts.update(facet_value(name, s, data))
    return counts


# --- Reading the page -------------------------------------------------------------------

FACET_RE = re.compile(
    r'<label class="facet-value[^"]*">\s*<input type="checkbox" class="filter-control" '
    r'id="facet-[^"]*" name="(?P<name>\w+)" value="(?P<value>[^"]*)"(?P<checked> checked)?>\s*'
    r'<span class="facet-label">(?P<label>.*?)</span>\s*'
    r'<span class="count">(?P<count>[^<]*)</span>',
    re.S,
)


def get(
    client: Client, params: dict[str, Any] | list[tuple[str, Any]] | str = "", **headers: str
) -> str:
    query = params if isinstance(params, str) else urlencode(params, doseq=True)
    response = client.get(f"{URL}?{query}", headers=headers)
    assert response.status_code == 200, query
    return response.content.decode()


def result_ids(page: str) -> list[int]:
    """Statement ids in page order (each card links to its statement's details)."""
    return [int(pk) for pk in re.findall(r'href="/statements/(\d+)/">details</a>', page)]


def total(page: str) -> str:
    if "No statements match" in page:
        return "0"
    match = re.search(r"\d+–\d+ of ([\d,]+\+?) statements?", page)
    assert match, "no results count on the page"
    return match.group(1)


def facets_of(page: str) -> dict[str, dict[str, tuple[str, bool]]]:
    """{facet: {value: (count as shown, checked)}}; a value listed twice is an error."""
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for m in FACET_RE.finditer(page):
        values = out.setdefault(m["name"], {})
        assert m["value"] not in values, f"{m['name']}={m['value']} listed twice"
        values[m["value"]] = (m["count"], bool(m["checked"]))
    return out


def next_href(page: str) -> str | None:
    match = re.search(r'<a rel="next" href="([^"]+)"', page)
    return htmllib.unescape(match.group(1)) if match else None


def all_result_ids(client: Client, params: dict[str, Any] | list[tuple[str, str]]) -> list[int]:
    """Every page, asking for page 2, 3… while the page says there is a next one."""
    pairs = list(params.items()) if isinstance(params, dict) else params
    ids: list[int] = []
    for number in range(1, 100):
        page = get(client, [*pairs, ("page", number)])
        ids += result_ids(page)
        if next_href(page) is None:
            return ids
        assert len(result_ids(page)) == PAGE_SIZE
    raise AssertionError("the pager never ends")


def errors_of(page: str) -> str:
    match = re.search(r'<div class="notice notice-error" role="alert">(.*?)</div>', page, re.S)
    return match.group(1) if match else ""


# --- Filters ----------------------------------------------------------------------------


def test_no_filters_lists_every_statement_newest_first(client: Client, ui_data: UIData) -> None:
    page = get(client)
    assert total(page) == str(len(ui_data.statements))
    assert result_ids(page) == newest_first(ui_data.statements)[:PAGE_SIZE]
    assert errors_of(page) == ""


def _filter_cases(data: UIData) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(query parameters, the same filters for `expect`)."""
    li, wang = data.people["Li Qiang"].slug, data.people["Wang Yi"].slug
    bletchley, paris = data.proposal_slug("bletchley"), data.proposal_slug("paris")
    waic = data.events["waic"].slug
    return [
        ({"country": "cn"}, {"country": ["cn"]}),
        ({"speaker": li}, {"speaker": [li]}),
        ({"proposal": bletchley}, {"proposal": [bletchley]}),
        ({"event": waic}, {"event": [waic]}),
        ({"kind": "remarks"}, {"kind": ["remarks"]}),
        ({"year": "2024"}, {"year": [2024]}),
        ({"from": "2025-01-01"}, {"date_from": datetime.date(2025, 1, 1)}),
        ({"to": "2023-12-31"}, {"date_to": datetime.date(2023, 12, 31)}),
        ({"q": "safety"}, {"q": "safety"}),
        # combined
        ({"country": "cn", "kind": "direct_quote"}, {"country": ["cn"], "kind": ["direct_quote"]}),
        ({"country": "us", "year": "2025"}, {"country": ["us"], "year": [2025]}),
        ({"speaker": wang, "proposal": paris}, {"speaker": [wang], "proposal": [paris]}),
        ({"q": "cooperation", "country": "gb"}, {"q": "cooperation", "country": ["gb"]}),
        (
            {"from": "2024-03-01", "to": "2025-06-30"},
            {"date_from": datetime.date(2024, 3, 1), "date_to": datetime.date(2025, 6, 30)},
        ),
        (
            {"q": "talent", "kind": ["paraphrase", "remarks"], "year": ["2023", "2026"]},
            {"q": "talent", "kind": ["paraphrase", "remarks"], "year": [2023, 2026]},
        ),
        (
            {"event": waic, "proposal": [bletchley, paris], "from": "2023-06-01"},
            {
                "event": [waic],
                "proposal": [bletchley, paris],
                "date_from": datetime.date(2023, 6, 1),
            },
        ),
    ]


FILTER_CASES = 16


@pytest.mark.parametrize("case", range(FILTER_CASES))
def test_filters_return_exactly_the_matching_statements(
    client: Client, ui_data: UIData, case: int
) -> None:
    cases = _filter_cases(ui_data)
    assert len(cases) == FILTER_CASES
    params, filters = cases[case]
    expected = expect(ui_data, **filters)
    assert expected, "a case that matches nothing proves little"
    assert len(expected) < len(ui_data.statements)
    page = get(client, params)
    assert total(page) == str(len(expected))
    assert errors_of(page) == ""
    assert all_result_ids(client, params) == newest_first(expected)


@pytest.mark.parametrize(
    "query",
    [
        "country=cn&country=us",
        "country=cn,us",
        "country=CN&country=us,cn",
        "country=cn%2C%20us",
    ],
)
def test_multiple_values_of_a_facet_are_ored(client: Client, ui_data: UIData, query: str) -> None:
    expected = expect(ui_data, country=["cn", "us"])
    assert len(expected) > len(expect(ui_data, country=["cn"]))
    page = get(client, query)
    assert total(page) == str(len(expected))
    assert sorted(all_result_ids(client, parse_qsl(query))) == sorted(s.pk for s in expected)


def test_different_facets_are_anded_and_kinds_ored(client: Client, ui_data: UIData) -> None:
    params = {"kind": "direct_quote,remarks", "speaker": ui_data.people["Olaf Scholz"].slug}
    expected = expect(
        ui_data, kind=["direct_quote", "remarks"], speaker=[ui_data.people["Olaf Scholz"].slug]
    )
    assert {s.kind for s in expected} == {"direct_quote", "remarks"}
    assert all_result_ids(client, {k: v for k, v in params.items()}) == newest_first(expected)


@pytest.mark.parametrize(
    "q",
    [
        '"common good"',  # phrase: adjacent words only
        "common good",  # both words anywhere
        "cooperation -export",  # exclusion
        "safety or talent",
        '"common good" -sovereignty',
    ],
)
def test_search_uses_websearch_syntax(client: Client, ui_data: UIData, q: str) -> None:
    expected = expect(ui_data, q=q)
    assert expected
    assert all_result_ids(client, {"q": q}) == newest_first(expected)


def test_phrase_search_is_narrower_than_words(ui_data: UIData) -> None:
    # Guards the dataset: both kinds of text exist, so the phrase case means something.
    phrase, loose = expect(ui_data, q='"common good"'), expect(ui_data, q="common good")
    assert 0 < len(phrase) < len(loose)
    assert expect(ui_data, q="cooperation -export") != expect(ui_data, q="cooperation")


# --- Facets -----------------------------------------------------------------------------


def _facet_cases(data: UIData) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    li, scholz = data.people["Li Qiang"].slug, data.people["Olaf Scholz"].slug
    waic, paris = data.events["waic"].slug, data.proposal_slug("paris")
    return [
        ({}, {}),
        ({"kind": "paraphrase"}, {"kind": ["paraphrase"]}),
        (
            {"speaker": [li, scholz], "kind": "partial_quote,remarks", "year": ["2025", "2026"]},
            {"speaker": [li, scholz], "kind": ["partial_quote", "remarks"], "year": [2025, 2026]},
        ),
        (
            {"q": "safety", "event": waic, "proposal": paris},
            {"q": "safety", "event": [waic], "proposal": [paris]},
        ),
        (
            {"year": ["2023", "2024"], "from": "2023-06-01", "kind": "remarks"},
            {"year": [2023, 2024], "date_from": datetime.date(2023, 6, 1), "kind": ["remarks"]},
        ),
        (
            {"country": "cn,KR", "kind": "paraphrase"},
            {"country": ["cn", "kr"], "kind": ["paraphrase"]},
        ),
        # A selected country with nothing left under the other filters is listed once, at 0.
        ({"country": ["kr", "cn"], "speaker": li}, {"country": ["kr", "cn"], "speaker": [li]}),
        (
            {"q": "safety or talent", "country": "us,gb", "year": ["2024", "2025"]},
            {"q": "safety or talent", "country": ["us", "gb"], "year": [2024, 2025]},
        ),
    ]


@pytest.mark.parametrize("case", range(8))
def test_facet_counts_are_disjunctive(client: Client, ui_data: UIData, case: int) -> None:
    """Each facet counts statements under every filter but its own: its values are
    alternatives to the current selection, the other facets narrow them."""
    params, filters = _facet_cases(ui_data)[case]
    shown = facets_of(get(client, params))
    assert expect(ui_data, **filters), "a case with no results proves little"
    for name in ("country", "speaker", "proposal", "event", "kind", "year"):
        counts = expected_facet_counts(ui_data, name, **filters)
        selected = {str(v).lower() for v in filters.get(name, [])}
        # Every facet of this dataset has at most 10 values, so all of them are listed.
        expected = {value: (str(n), value in selected) for value, n in counts.items()}
        expected |= {value: ("0", True) for value in selected if value not in counts}
        assert shown.get(name, {}) == expected, name


def test_year_facet_lists_newest_year_first(client: Client, ui_data: UIData) -> None:
    years = [m["value"] for m in FACET_RE.finditer(get(client)) if m["name"] == "year"]
    assert years == sorted({str(s.said_on.year) for s in ui_data.statements if s.said_on})[::-1]


def test_selecting_a_facet_value_keeps_the_others_countable(
    client: Client, ui_data: UIData
) -> None:
    # Ticking "remarks" must not zero out the other kinds: they stay as alternatives.
    shown = facets_of(get(client, {"kind": "remarks", "year": "2024"}))["kind"]
    in_2024 = Counter(s.kind for s in ui_data.statements if s.said_on and s.said_on.year == 2024)
    assert {k: int(count) for k, (count, _) in shown.items()} == dict(in_2024)
    assert [k for k, (_, checked) in shown.items() if checked] == ["remarks"]


# --- Highlighting and escaping ---------------------------------------------------------------


def test_matches_are_highlighted(client: Client, ui_data: UIData) -> None:
    page = get(client, {"q": "innovation"})
    expected = newest_first(expect(ui_data, q="innovation"))[:PAGE_SIZE]
    assert result_ids(page) == expected
    marked = re.findall(r"<mark>(.*?)</mark>", page)
    assert marked and {m.lower() for m in marked} == {"innovation"}
    # Every card on the page has its match marked.
    cards = re.findall(r'<article class="statement.*?</article>', page, re.S)
    assert len(cards) == len(expected)
    assert all("<mark>innovation</mark>" in card for card in cards)


def test_highlighting_a_phrase_marks_its_words(client: Client, ui_data: UIData) -> None:
    page = get(client, {"q": '"common good"'})
    marked = {m.lower() for m in re.findall(r"<mark>(.*?)</mark>", page)}
    assert marked == {"common", "good"}


def test_markup_in_a_highlighted_statement_is_escaped(client: Client, ui_data: UIData) -> None:
    page = get(client, {"q": XSS_WORD})
    assert len(expect(ui_data, q=XSS_WORD)) == 1
    assert f"<mark>{XSS_WORD}</mark>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_markup_in_a_statement_is_escaped_without_a_search(client: Client, ui_data: UIData) -> None:
    page = get(client, {"speaker": ui_data.people["Wang Yi"].slug, "year": "2024"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "<mark>" not in page


def test_search_term_is_escaped_in_the_page(client: Client, ui_data: UIData) -> None:
    page = get(client, {"q": "<img src=x onerror=alert(1)> safety"})
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


# --- Sorting and paging -----------------------------------------------------------------


def test_sort_oldest_first(client: Client, ui_data: UIData) -> None:
    params = {"country": "gb", "sort": "oldest"}
    assert all_result_ids(client, params) == oldest_first(expect(ui_data, country=["gb"]))


def test_sort_by_date_is_the_default(client: Client, ui_data: UIData) -> None:
    params = {"kind": "paraphrase", "sort": "date"}
    expected = newest_first(expect(ui_data, kind=["paraphrase"]))
    assert all_result_ids(client, params) == expected
    assert all_result_ids(client, {"kind": "paraphrase"}) == expected


def test_sort_by_relevance_puts_more_occurrences_first(client: Client, ui_data: UIData) -> None:
    matches = expect(ui_data, q="sovereignty")
    occurrences = {s.pk: words(s.text).count("sovereignty") for s in matches}
    assert sorted(set(occurrences.values())) == [1, 2, 3]
    # ts_rank without normalisation grows with the number of occurrences; ties newest id first.
    expected = sorted(occurrences, key=lambda pk: (-occurrences[pk], -pk))
    assert all_result_ids(client, {"q": "sovereignty", "sort": "relevance"}) == expected
    assert all_result_ids(client, {"q": "sovereignty"}) == newest_first(matches)


def test_relevance_without_a_query_falls_back_to_date(client: Client, ui_data: UIData) -> None:
    page = get(client, {"sort": "relevance", "kind": "remarks"})
    assert result_ids(page) == newest_first(expect(ui_data, kind=["remarks"]))[:PAGE_SIZE]
    assert errors_of(page) == ""


def test_pagination(client: Client, ui_data: UIData) -> None:
    everything = newest_first(ui_data.statements)
    assert len(everything) > 2 * PAGE_SIZE
    first, second = get(client), get(client, {"page": 2})
    assert result_ids(first) == everything[:PAGE_SIZE]
    assert result_ids(second) == everything[PAGE_SIZE : 2 * PAGE_SIZE]
    assert f"{PAGE_SIZE + 1}–{2 * PAGE_SIZE} of {len(everything)} statements" in second
    # has_next and has_previous are real links (no JavaScript needed to follow them).
    assert next_href(first) is not None and 'rel="prev"' not in first
    assert next_href(second) is not None and re.search(r'<a rel="prev" href="\?[^"]+"', second)
    last_page = (len(everything) - 1) // PAGE_SIZE + 1
    last = get(client, {"page": last_page})
    assert result_ids(last) == everything[(last_page - 1) * PAGE_SIZE :]
    assert next_href(last) is None
    # Past the end: an empty page, not an error.
    beyond = get(client, {"page": last_page + 1})
    assert result_ids(beyond) == [] and "Nothing found" in beyond


def test_paging_keeps_the_filters_and_sort(client: Client, ui_data: UIData) -> None:
    q = "safety or talent"
    expected = oldest_first(expect(ui_data, q=q))
    assert len(expected) > PAGE_SIZE
    page = get(client, {"q": q, "sort": "oldest", "page": 2})
    assert result_ids(page) == expected[PAGE_SIZE : 2 * PAGE_SIZE]


# --- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("country=zzz", "Unknown country code: ZZZ"),
        ("country=c1", "Unknown country code: C1"),
        ("year=abc", "A year is four digits"),
        ("year=20255", "A year is four digits"),
        ("from=2025-01-01&to=2024-01-01", "end date is before the start date"),
        ("from=yesterday", "Enter a valid date"),
        ("page=-1", "greater than or equal to 1"),
        ("page=abc", "Enter a whole number"),
        ("sort=bogus", "bogus"),
        ("kind=nope", "Unknown kind: nope"),
    ],
)
def test_junk_input_is_reported_and_ignored(
    client: Client, ui_data: UIData, query: str, message: str
) -> None:
    page = get(client, query)
    assert message in htmllib.unescape(errors_of(page))
    expected = ui_data.statements
    if query.startswith("from=2025"):
        # The end date is the one reported as wrong; the start date still applies.
        expected = expect(ui_data, date_from=datetime.date(2025, 1, 1))
    assert total(page) == str(len(expected))
    assert result_ids(page) == newest_first(expected)[:PAGE_SIZE]


def test_junk_input_keeps_the_valid_filters(client: Client, ui_data: UIData) -> None:
    speaker = ui_data.people["Li Qiang"].slug
    query = urlencode(
        {
            "country": "zzz",
            "year": "abc",
            "from": "2024-01-01",
            "to": "2023-01-01",
            "page": "-1",
            "sort": "bogus",
            "kind": "nope",
            "speaker": speaker,
            "q": "cooperation or talent or safety",
        }
    )
    page = get(client, query)
    errors = htmllib.unescape(errors_of(page))
    for message in ("ZZZ", "four digits", "end date", "greater than", "bogus", "nope"):
        assert message in errors
    expected = [
        s
        for s in expect(ui_data, speaker=[speaker], date_from=datetime.date(2024, 1, 1))
        if {"cooperation", "talent", "safety"} & set(words(s.text))
    ]
    assert expected
    assert result_ids(page) == newest_first(expected)[:PAGE_SIZE]


# --- Capped counts ----------------------------------------------------------------------


def test_counts_above_the_cap_show_a_plus(
    client: Client, ui_data: UIData, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 5
    monkeypatch.setattr(search, "COUNT_CAP", cap)
    # capped_count binds COUNT_CAP as a default argument at import; the template filter
    # imported the constant by value. Patch all three.
    monkeypatch.setattr(search.capped_count, "__defaults__", (cap,))
    monkeypatch.setattr(tracker, "COUNT_CAP", cap)
    page = get(client)
    assert f"of {cap}+ statements" in page
    shown = facets_of(page)
    for name in ("country", "speaker", "kind", "year"):
        counts = expected_facet_counts(ui_data, name)
        assert any(n > cap for n in counts.values())
        for value, n in counts.items():
            assert shown[name][value][0] == (f"{cap}+" if n > cap else str(n)), (name, value)
    # Under the cap, the exact number.
    few = expect(ui_data, speaker=[ui_data.people["Amandeep Gill"].slug], kind=["remarks"])
    assert 0 < len(few) <= cap
    narrow = get(client, {"speaker": ui_data.people["Amandeep Gill"].slug, "kind": "remarks"})
    assert total(narrow) == str(len(few))


# --- htmx and no-JavaScript -------------------------------------------------------------------


def test_htmx_request_for_the_browser_gets_only_the_partial(
    client: Client, ui_data: UIData
) -> None:
    params = {"country": "fr"}
    response = client.get(URL, params, headers={"HX-Request": "true", "HX-Target": "browser"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment and "site-header" not in fragment
    assert 'id="statement-filters"' not in fragment  # the form stays on the page
    assert 'class="facets"' in fragment and 'class="results"' in fragment
    assert result_ids(fragment) == newest_first(expect(ui_data, country=["fr"]))[:PAGE_SIZE]
    vary = response["Vary"]
    assert "HX-Request" in vary and "HX-Target" in vary


def test_htmx_request_for_another_target_gets_the_full_page(
    client: Client, ui_data: UIData
) -> None:
    page = get(client, {}, **{"HX-Request": "true", "HX-Target": "main"})
    assert "<html" in page and 'class="facets"' in page


def test_history_restore_gets_the_full_page(client: Client, ui_data: UIData) -> None:
    headers = {"HX-Request": "true", "HX-Target": "browser", "HX-History-Restore-Request": "true"}
    response = client.get(URL, {"kind": "remarks"}, headers=headers)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and "site-header" in page and 'class="facets"' in page
    assert "HX-Request" in response["Vary"]


def test_full_page_varies_on_htmx_headers(client: Client, ui_data: UIData) -> None:
    response = client.get(URL)
    assert "HX-Request" in response["Vary"]
    assert "<html" in response.content.decode()


def test_the_page_works_without_javascript(client: Client, ui_data: UIData) -> None:
    page = get(client, {"kind": "remarks", "q": "safety"})
    form = re.search(r'<form id="statement-filters"[^>]*>', page, re.S)
    assert form
    assert 'method="get"' in form.group(0) and f'action="{URL}"' in form.group(0)
    # The facet checkboxes are inside the form, so submitting it sends them.
    form_body = page[form.end() : page.index("</form>", form.end())]
    assert 'name="kind" value="remarks" checked' in form_body
    assert 'name="q" value="safety"' in form_body
    assert "<noscript>" in form_body and 'type="submit"' in form_body
    # Clearing the filters is a plain link.
    assert f'<a class="clear" href="{URL}">' in page
    # Each card links to its statement and its source span.
    for pk in result_ids(page):
        row = ui_data.statement(pk)
        assert f'href="/documents/{row.document_id}/#span-' in page


def test_statement_cards_show_speaker_role_and_date(client: Client, ui_data: UIData) -> None:
    li = ui_data.people["Li Qiang"]
    page = get(client, {"speaker": li.slug})
    assert f'<a href="/people/{li.slug}/">Li Qiang</a>, Premier of China' in page
    newest = ui_data.statement(newest_first(expect(ui_data, speaker=[li.slug]))[0])
    assert newest.said_on is not None
    assert f'<time datetime="{newest.said_on:%Y-%m-%d}">' in page


def test_pager_link_keeps_every_filter(client: Client, ui_data: UIData) -> None:
    """The next link is one query string ("?kind=...&page=2", not "??kind=..."), and
    following it gives page 2 of the same filtered results."""
    page = client.get("/statements/", {"kind": "direct_quote,paraphrase"}).content.decode()
    href = htmllib.unescape(re.search(r'<a rel="next" href="([^"]+)"', page).group(1))
    assert href == "?kind=direct_quote%2Cparaphrase&page=2"
    page = client.get("/statements/?from=2025-01-01").content.decode()
    href = htmllib.unescape(re.search(r'<a rel="next" href="([^"]+)"', page).group(1))
    second = client.get("/statements/" + href).content.decode()
    total = re.compile(r"\d+–\d+ of (\d+) statements")
    assert total.search(second).group(1) == total.search(page).group(1)
    assert "21–" in second


def test_element_ids_are_unique(client: Client, ui_data: UIData) -> None:
    """htmx restores focus by id after a swap: duplicate ids would send it astray."""
    page = get(client, {})
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


def test_exports_carry_the_page_filters_and_stream(client: Client, ui_data: UIData) -> None:
    """?format=csv|json on the statements URL: the page's filters, every row with its
    source and evidence excerpt, as a streamed attachment."""
    params = {"country": "cn", "kind": "direct_quote"}
    page = get(client, params)
    assert "format=csv" in page and "format=json" in page
    expected = {s.pk for s in expect(ui_data, country=["CN"], kind=["direct_quote"])}
    assert len(expected) > 1
    response = client.get(URL, {**params, "format": "csv"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(r["id"]) for r in rows} == expected
    for row in rows:
        assert row["country"] == "CN" and row["kind"] == "direct_quote"
        assert row["evidence"] and row["source_url"].startswith("http")
    data = json.loads(b"".join(client.get(URL, {**params, "format": "json"}).streaming_content))
    assert {r["id"] for r in data} == expected
