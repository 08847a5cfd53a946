"""Events: names, acronyms, years, venue, theme and dates, mentions merged
(governance/extract/events.py)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.extract.events import extract_events
from governance.extract.figures import extract_dates, extract_figures
from governance.extract.nlp import english
from governance.extract.types import EventFound
from tests.extract import devset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "events.yaml").read_text())
FIELDS = ("name", "short_name", "year", "city", "country", "theme", "start_date", "end_date")


def events(text: str, published: datetime.date | None = None) -> list[EventFound]:
    doc = english()(text)
    found = extract_events(
        text, doc, extract_dates(text, doc, published), extract_figures(text, doc)
    )
    for event in found:
        for m in event.mentions:
            assert text[m.start : m.end] == m.text
        for span in (event.city_span, event.country_span):
            assert span is None or 0 <= span[0] < span[1] <= len(text)
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_fixture_case(case: dict[str, Any]) -> None:
    found = events(case["text"], case.get("published"))
    assert len(found) == case["count"], [e.name for e in found]
    for expected in case["events"]:
        event = next((e for e in found if e.name == expected["name"]), None)
        assert event is not None, f"missing {expected['name']!r}; got {[e.name for e in found]}"
        for key in FIELDS:
            if key in expected:
                assert getattr(event, key) == expected[key], (key, event)
        texts = [m.text for m in event.mentions]
        for mention in expected.get("mentions", []):
            assert mention in texts, f"{mention!r} not a mention; got {texts}"


def test_a_meeting_alone_names_no_event() -> None:
    assert events("The meeting ended late. The summit, officials said, was a success.") == []


def test_year_after_the_name_and_acronym_with_year() -> None:
    (event,) = events(
        "Ministers met at the Global AI Summit 2026 in Riyadh. GAIS 2026 drew 90 states."
    )
    assert (event.name, event.year, event.city, event.country) == (
        "Global AI Summit",
        "2026",
        "Riyadh",
        "SA",
    )


@pytest.mark.skipif(not devset.SEED_ARTICLE.exists(), reason="seed article not on this machine")
def test_seed_article_event() -> None:
    text = devset.SEED_ARTICLE.read_text()
    (event,) = events(text, datetime.date(2025, 7, 26))
    assert event.name == "World Artificial Intelligence Conference"
    assert (event.short_name, event.year, event.display_name) == (
        "WAIC",
        "2025",
        "World Artificial Intelligence Conference 2025",
    )
    assert (event.city, event.country) == ("Shanghai", "CN")
    assert event.country_span and text[slice(*event.country_span)] == "China"
    assert event.theme == "Global Solidarity in the AI Era"
    assert event.duration_days == 3
    assert (event.start_date, event.end_date) == (
        datetime.date(2025, 7, 26),
        datetime.date(2025, 7, 28),
    )
    texts = {m.text for m in event.mentions}
    for mention in (
        "WAIC 2025",
        "the three-day event",
        "The Shanghai conference",
        "the conference",
    ):
        assert mention in texts, texts


@pytest.mark.skipif(not devset.SEED_ARTICLE.exists(), reason="seed article not on this machine")
def test_seed_article_dates_without_publication_date() -> None:
    """ "today" is undated then; the embedded post's date line still dates the opening."""
    (event,) = events(devset.SEED_ARTICLE.read_text())
    assert (event.start_date, event.end_date) == (
        datetime.date(2025, 7, 26),
        datetime.date(2025, 7, 28),
    )


DEV_EVENTS = {
    "02-pandaily-waic2025-world-ai-cooperation-organization.txt": (
        "World Artificial Intelligence Conference 2025",
        "Shanghai",
        datetime.date(2025, 7, 26),
    ),
    "07-export-org-uk-bletchley-declaration-28-countries.txt": (
        "AI Safety Summit",
        "",
        datetime.date(2023, 11, 1),
    ),
    "10-thedayafterai-paris-summit-us-uk-decline.txt": (
        "Artificial Intelligence Action Summit",
        "Paris",
        datetime.date(2025, 2, 10),
    ),
    "13-ecns-unga-china-led-capacity-building-resolution-july-2024.txt": (
        "United Nations General Assembly",
        "",
        datetime.date(2024, 7, 1),
    ),
}


@pytest.mark.skipif(not devset.available(), reason="dev set not on this machine")
@pytest.mark.parametrize("name", sorted(DEV_EVENTS))
def test_dev_article_event(name: str) -> None:
    """One event per labelled article, its several names merged, dated and placed."""
    display, city, start = DEV_EVENTS[name]
    (event,) = events(devset.dev_text(name), devset.published(name))
    assert (event.display_name, event.city, event.start_date) == (display, city, start)


def test_open_source_and_open_markets_open_no_event() -> None:
    text = (
        "The Global AI Summit in Riyadh drew 90 states. On March 3, 2026, ministers urged "
        "open-source models and an open, fair market. The summit opened on March 1, 2026."
    )
    (event,) = events(text)
    assert event.start_date == datetime.date(2026, 3, 1)


def test_a_described_event_is_placed_only_by_a_place() -> None:
    (event,) = events("Engineers flocked to the Microsoft Build conference last week.")
    assert (event.name, event.city) == ("Microsoft Build conference", "")
    (event,) = events("Officials left the Shanghai conference early.")
    assert (event.name, event.city) == ("Shanghai conference", "Shanghai")
