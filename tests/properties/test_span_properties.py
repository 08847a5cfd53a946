"""Property test (Hypothesis): every span the extractors return indexes the text exactly.

Texts are built from the pieces news is made of (names, titles, quote marks of every
kind, reporting verbs, dates, figures) in random order, with stray marks and odd
white space, so quote pairing and attribution meet unbalanced and nested cases.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from governance.extract.pipeline import extract

NAMES = ["Li Qiang", "Antonio Guterres", "Ursula von der Leyen", "Mauro Vieira", "Yoon Suk-yeol"]
TITLES = ["Premier", "Secretary-General", "President", "Foreign Minister", ""]
PLACES = ["China", "the United States", "Washington", "Beijing", "Brazil", "South Africa"]
VERBS = ["said", "told reporters", "added", "warned", "emphasized", "stated"]
MARKS = ["“", "”", '"', "‘", "’", "'", "«", "»"]
_PROSE = (
    "we must act together on AI governance cooperation and the plan for a global "
    "organization in Shanghai over 30 countries proposed 26 July 2025 — , . ; :"
)
WORDS = st.sampled_from([*_PROSE.split(), "China’s", "don't", "’90s", "e.g.", "U.S.", "1,000"])

fragment = st.one_of(
    st.builds(lambda t, n: f"{t} {n}".strip(), st.sampled_from(TITLES), st.sampled_from(NAMES)),
    st.sampled_from(PLACES),
    st.sampled_from(VERBS),
    st.sampled_from(MARKS),
    WORDS,
    st.lists(WORDS, min_size=1, max_size=12).map(" ".join),
    st.builds(
        lambda o, words, c: f"{o}{' '.join(words)},{c}",
        st.sampled_from(["“", '"', "‘", "'"]),
        st.lists(WORDS, min_size=1, max_size=15),
        st.sampled_from(["”", '"', "’", "'", ""]),
    ),
    st.sampled_from(["\n", "\n\n", "  ", "\t", ". ", "! ", "? "]),
)
# Attributed quotations, so that attribution and paraphrase rules run on most examples.
quotation = st.one_of(
    st.builds(
        lambda words, n, v: f"“{' '.join(words)},” {n} {v}.",
        st.lists(WORDS, min_size=3, max_size=15),
        st.sampled_from(NAMES),
        st.sampled_from(VERBS),
    ),
    st.builds(
        lambda n, v, words, close: f'{n} {v}: "{" ".join(words)}{close}',
        st.sampled_from(NAMES),
        st.sampled_from(VERBS),
        st.lists(WORDS, min_size=3, max_size=15),
        st.sampled_from(['."', "", "”", '.\n"more words']),
    ),
    st.builds(
        lambda n, v, words: f"{n} {v} that {' '.join(words)}.",
        st.sampled_from(NAMES),
        st.sampled_from(VERBS),
        st.lists(WORDS, min_size=3, max_size=12),
    ),
)
texts = st.lists(st.one_of(quotation, fragment), min_size=1, max_size=40).map(" ".join)


def spans(found: Any, path: str = "extraction") -> list[tuple[str, Any]]:
    """Every (path, object) in the result that carries a span."""
    out: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(found):
        if hasattr(found, "start") and hasattr(found, "end"):
            out.append((path, found))
        for f in dataclasses.fields(found):
            out += spans(getattr(found, f.name), f"{path}.{f.name}")
    elif isinstance(found, list):
        for i, item in enumerate(found):
            out += spans(item, f"{path}[{i}]")
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
# Found by this test: a subject after its verb ("said Premier Li Qiang") gave a cue that
# ended before it started.
@example("“we we we,” Li Qiang said. said Premier Li Qiang “ . ")
def test_every_span_indexes_the_text_exactly(text: str) -> None:
    found = extract(text, language="en")
    for path, item in spans(found):
        assert 0 <= item.start <= item.end <= len(text), (path, item)
        if isinstance(getattr(item, "text", None), str):
            assert text[item.start : item.end] == item.text, (path, item)
        if getattr(item, "evidence_start", None) is not None:
            assert 0 <= item.evidence_start <= item.start <= item.end <= item.evidence_end, path
            assert item.evidence_end <= len(text), path
        if getattr(item, "cue_start", None) is not None:
            assert 0 <= item.cue_start <= item.cue_end <= len(text), path
    for event in found.events:
        for span in (event.city_span, event.country_span):
            if span is not None:
                assert 0 <= span[0] <= span[1] <= len(text)
    for quote in found.quotes:
        assert "\n" not in quote.text  # one span per paragraph, never across a break
