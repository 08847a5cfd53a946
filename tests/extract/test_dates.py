"""Dates normalised against the published date (governance/extract/figures.py)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.extract.figures import extract_dates
from governance.extract.nlp import english
from governance.extract.types import DateFound

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
SEED = Path("/work/shared/seed/waic-2025-article.txt")
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


@pytest.mark.skipif(not SEED.exists(), reason="seed article not on this machine")
def test_seed_article_dates() -> None:
    text = SEED.read_text()
    got = {(d.text, d.date) for d in dates(text, datetime.date(2025, 7, 26))}
    assert ("July 26, 2025", datetime.date(2025, 7, 26)) in got
    assert ("Saturday", datetime.date(2025, 7, 26)) in got
    assert ("today", datetime.date(2025, 7, 26)) in got
    # "three-day" is a duration (a figure), not a date.
    assert not any(t.startswith("three") for t, _ in got)
