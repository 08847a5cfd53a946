"""Figures: qualifier, value and counted noun, with exact spans (governance/extract/figures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.extract.figures import extract_figures
from governance.extract.nlp import english
from governance.extract.types import FigureFound
from tests.extract import devset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
SEED = devset.SEED_ARTICLE
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "figures.yaml").read_text())


def figures(text: str) -> list[FigureFound]:
    found = extract_figures(text, english()(text))
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
    return found


def described(text: str, found: list[FigureFound]) -> list[tuple[str, float, str, str]]:
    return [(text[f.start : f.end], f.value, f.qualifier, f.unit) for f in found]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_fixture_case(case: dict[str, Any]) -> None:
    text = case["text"]
    got = described(text, figures(text))
    expected = [(e["text"], e["value"], e["qualifier"], e["unit"]) for e in case["figures"]]
    for item in expected:
        assert item in got, f"missing {item}; got {got}"
    if case.get("exact"):
        assert len(got) == len(expected), got
    for absent in case.get("absent", []):
        assert not any(absent in span for span, *_ in got), f"{absent!r} read as a figure: {got}"


def test_values_are_ints_when_whole() -> None:
    (f,) = figures("They pledged 2.5 billion euros.")
    assert f.value == 2_500_000_000 and isinstance(f.value, int)
    (g,) = figures("Adoption grew 12.5% in a year.")
    assert g.value == 12.5 and g.unit == "percent"


def test_seed_article_yields_every_figure_in_facts() -> None:
    text = SEED.read_text()
    got = {(v, q, u) for _, v, q, u in described(text, figures(text))}
    for fact in [
        (800, "over", "companies"),
        (3000, "more_than", "products"),
        (40, "exact", "large language models"),
        (50, "exact", "AI-enabled devices"),
        (60, "exact", "intelligent robots"),
        # The ASEAN post is cut off after "distinguished…": the unit keeps the cut word.
        (1000, "over", "distinguished"),
        (30, "over", "countries"),
        (3, "exact", "day event"),
    ]:
        assert fact in got, f"{fact} not in {got}"
    # "WAIC 2025", "2025 World Artificial Intelligence Conference", the tweet link: no figures.
    spans = [s for s, *_ in described(text, figures(text))]
    assert not any("2025" in s or "twitter" in s for s in spans)


@pytest.mark.skipif(not devset.available(), reason="news-dev set not on this machine")
@pytest.mark.parametrize("name", devset.dev_files())
def test_devset_labelled_numbers(name: str) -> None:
    """Every labelled number phrase ("over 1,000 representatives") is a figure's span."""
    text = devset.article(name)
    spans = [s for s, *_ in described(text, figures(text))]
    wanted = devset.labels()[name]["numbers"]
    hits = [w for w in wanted if w in spans]
    print(f"{name}: figures recall {devset.recall(len(hits), len(wanted)):.2f}")
    assert hits == wanted, f"missing {set(wanted) - set(hits)}; found {spans}"
