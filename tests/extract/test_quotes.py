"""Quotations and their speakers: labelled snippets, the seed article, the dev set."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from governance.extract.actors import extract_actors
from governance.extract.nlp import english
from governance.extract.quote_marks import find_quoted
from governance.extract.quotes import extract_quotes
from governance.extract.types import QuoteFound
from tests.extract.devset import FIXTURES, SEED_ARTICLE, dev_files, dev_labels, dev_text

CASES = yaml.safe_load((FIXTURES / "quotes.yaml").read_text(encoding="utf-8"))["cases"]


def run(text: str) -> list[QuoteFound]:
    doc = english()(text)
    people, organizations = extract_actors(text, doc)
    quotes = extract_quotes(text, doc, people, organizations)
    for quote in quotes:
        assert text[quote.start : quote.end] == quote.text
        assert quote.cue_start is not None and quote.cue_end is not None
    return quotes


def starting(quotes: list[QuoteFound], words: str) -> QuoteFound | None:
    return next((q for q in quotes if q.text.startswith(words)), None)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_snippets(case: dict[str, Any]) -> None:
    quotes = run(case["text"])
    for expected in case.get("quotes", []):
        quote = starting(quotes, expected["starts"])
        assert quote is not None, f"no quote starting {expected['starts']!r}"
        assert quote.speaker == expected["speaker"]
        if "kind" in expected:
            assert quote.kind == expected["kind"]
    for words in case.get("not_quotes", []):
        assert starting(quotes, words) is None
    expected_starts = [e["starts"] for e in case.get("quotes", [])]
    extra = [q.text for q in quotes if not any(q.text.startswith(s) for s in expected_starts)]
    assert extra == []


def test_seed_article_quote() -> None:
    quotes = run(SEED_ARTICLE.read_text(encoding="utf-8"))
    assert [(q.speaker, q.kind, q.text) for q in quotes] == [
        (
            "Li Qiang",
            "direct",
            "AI should be a common good for all of humanity. China stands ready to share its"
            " development experience, innovations, and AI products with the international"
            " community, particularly with countries in the Global South",
        )
    ]


@pytest.mark.parametrize("name", dev_files())
def test_dev_set_quote_speakers(name: str) -> None:
    """Every labelled direct and partial quote is found with its labelled speaker."""
    quotes = run(dev_text(name))
    labels = dev_labels()[name]
    for speaker, words in labels.get("quotes", []) + labels.get("partial_quotes", []):
        quote = starting(quotes, words)
        assert quote is not None, f"no quote starting {words!r}"
        assert quote.speaker == speaker


def test_multi_paragraph_quote_is_one_span_per_paragraph() -> None:
    text = "She said:\n“First paragraph goes on.\n“Second one ends here,” she added."
    spans = find_quoted(text)
    assert [text[q.start : q.end] for q in spans] == [
        "First paragraph goes on.",
        "Second one ends here",
    ]
    assert [q.continues for q in spans] == [False, True]
    assert spans[0].close is None


def test_apostrophes_are_not_single_quotes() -> None:
    text = "China’s plan and the countries’ rights were ‘not negotiable’, he said."
    assert [text[q.start : q.end] for q in find_quoted(text)] == ["not negotiable"]


def test_a_cue_with_the_subject_after_its_verb_spans_both() -> None:
    """ "... said Premier Li Qiang “...”": the cue runs from the verb to the name."""
    text = "“we we we,” Li Qiang said. said Premier Li Qiang “ . "
    people, orgs = extract_actors(text, english()(text))
    quotes = extract_quotes(text, english()(text), people, orgs)
    inverted = [q for q in quotes if q.cue_start > text.index(".")]
    assert inverted, quotes
    for quote in inverted:
        assert quote.cue_start <= quote.cue_end
        assert text[quote.cue_start : quote.cue_end] == "said Premier Li Qiang"
