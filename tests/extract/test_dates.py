"""Dates normalised against the published date (governance/extract/figures.py)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.extract.figures import (
    _DATE_PATTERNS,
    _DEICTIC,
    _MONTH_YEAR,
    _WEEKDAY_ALONE,
    extract_dates,
)
from governance.extract.nlp import english
from governance.extract.types import DateFound
from tests.extract import devset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
SEED = devset.SEED_ARTICLE
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "dates.yaml").read_text())


def dates(text: str, published: datetime.date | None) -> list[DateFound]:
    found = extract_dates(text, english()(text), published)
    for d in found:
        assert text[d.start : d.end] == d.text
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_fixture_case(case: dict[str, Any]) -> None:
    got = [(d.text, d.date) for d in dates(case["text"], case["published"])]
    expected = [(e["text"], e["date"]) for e in case["dates"]]
    for item in expected:
        assert item in got, f"missing {item}; got {got}"
    if case.get("exact"):
        assert len(got) == len(expected), got


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime.date(2025, 7, 26), datetime.date(2025, 7, 26)),  # a Saturday: that day
        (datetime.date(2025, 7, 28), datetime.date(2025, 7, 26)),  # Monday after: looks back
        (datetime.date(2025, 8, 1), datetime.date(2025, 7, 26)),  # Friday: the week's Saturday
    ],
)
def test_bare_weekday_is_the_latest_on_or_before_published(
    published: datetime.date, expected: datetime.date
) -> None:
    (found,) = dates("Saturday's sessions featured experts.", published)
    assert found.date == expected


def test_seed_article_dates() -> None:
    text = SEED.read_text()
    got = {(d.text, d.date) for d in dates(text, datetime.date(2025, 7, 26))}
    assert ("July 26, 2025", datetime.date(2025, 7, 26)) in got
    assert ("Saturday", datetime.date(2025, 7, 26)) in got
    assert ("today", datetime.date(2025, 7, 26)) in got
    # "three-day" is a duration (a figure), not a date.
    assert not any(t.startswith("three") for t, _ in got)


@pytest.mark.skipif(not devset.available(), reason="news-dev set not on this machine")
@pytest.mark.parametrize("name", devset.dev_files())
def test_devset_labelled_dates(name: str) -> None:
    text = devset.article(name)
    found = dates(text, devset.published(name))
    wanted = devset.labels()[name]["dates"]
    hits = [w for w in wanted if any(d.text == w and d.date is not None for d in found)]
    print(f"{name}: dates recall {devset.recall(len(hits), len(wanted)):.2f}")
    assert hits == wanted, f"missing {set(wanted) - set(hits)}; found {found}"


def test_devset_relative_dates_resolve() -> None:
    if not devset.available():
        pytest.skip("news-dev set not on this machine")
    name = "13-ecns-unga-china-led-capacity-building-resolution-july-2024.txt"
    found = dates(devset.article(name), datetime.date(2024, 7, 3))
    assert {d.date for d in found if d.text == "Monday"} == {datetime.date(2024, 7, 1)}
    name = "07-export-org-uk-bletchley-declaration-28-countries.txt"
    found = dates(devset.article(name), devset.published(name))
    assert ("1 November", datetime.date(2023, 11, 1)) in {(d.text, d.date) for d in found}


def test_published_datetime_gives_days() -> None:
    published = datetime.datetime(2025, 7, 28, 9, 30, tzinfo=datetime.UTC)
    (found,) = dates("The forum closed today.", published)  # type: ignore[arg-type]
    assert found.date == datetime.date(2025, 7, 28)
    assert type(found.date) is datetime.date


_DATE_WORDS = [
    *("Monday", "Mon.", "Thursday", "Thu", "Sunday", "Saturday,", "Fri"),
    *("January", "July", "Jul.", "Sept", "Sep", "May", "August", "October", "Nov", "Dec."),
    *("2025", "1999", "26", "1st", "2nd", "3", "of", "-", "–", ",", " ", "\n"),
    *("last", "Next", "this", "on", "today", "Tomorrow", "YESTERDAY", "2025-07-26"),
    *("Dec. 26", "December 1, 2025", "Sunday, July 26", "26 Dec", "Oct 2023", "next Monday"),
    *("April 3-4", "2nd of November 2023", "Feb 10", "June 2024", "Wed. 5 March"),
    *("Wednesday, July 26", "Wed 05 March", "Tuesday 3 June", "Friday, Oct. 3", "Thursday"),
]


def _same_without_the_lookahead(text: str) -> None:
    for pattern in [*_DATE_PATTERNS, _MONTH_YEAR, _WEEKDAY_ALONE, _DEICTIC]:
        assert pattern.pattern.startswith("(?=[")
        bare = re.compile(re.sub(r"^\(\?=\[[^\]]*\]\)", "", pattern.pattern), pattern.flags)
        found = [m.span() for m in pattern.finditer(text)]
        assert found == [m.span() for m in bare.finditer(text)], (pattern.pattern, text)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(_DATE_WORDS) | st.text(max_size=3), max_size=14))
def test_a_date_pattern_finds_what_it_finds_without_its_opening_lookahead(
    pieces: list[str],
) -> None:
    """Each date pattern opens with a lookahead for the characters it can start with (for
    speed only): without it, it finds the same dates."""
    _same_without_the_lookahead("".join(pieces))


def test_every_pair_of_date_words_is_found_as_without_the_lookahead() -> None:
    for first in _DATE_WORDS:
        for second in _DATE_WORDS:
            _same_without_the_lookahead(f"{first} {second}")
