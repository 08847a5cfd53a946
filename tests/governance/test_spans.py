"""Cutting a document's text at evidence spans that nest, overlap or touch
(governance.spans.split_at_spans), and the pages built on it."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import models
from governance.review_queue import highlight_candidates
from governance.selectors import highlight_evidence
from governance.spans import Piece, split_at_spans

TEXT = "Li Qiang said: “AI should be a common good.” Others agreed."


def span_text(pieces: list[Piece], i: int) -> str:
    """Span i as the page marks it: the pieces naming it, which must be consecutive."""
    covering = [n for n, piece in enumerate(pieces) if i in piece.covered_by]
    assert covering == list(range(covering[0], covering[-1] + 1)), "a span's pieces have gaps"
    return "".join(pieces[n].text for n in covering)


def test_no_spans_is_one_plain_piece() -> None:
    assert split_at_spans(TEXT, []) == [Piece(0, len(TEXT), TEXT, (), ())]
    assert split_at_spans("", []) == []


def test_nested_overlapping_and_adjacent_spans_each_keep_their_whole_text() -> None:
    spans = [
        (0, 13),  # "Li Qiang said"
        (0, 8),  # nested in it, same start: "Li Qiang"
        (15, 44),  # the quotation
        (9, 25),  # overlaps the first and the quotation
        (44, 58),  # adjacent to the quotation
        (15, 44),  # the same span again (two facts from one sentence)
    ]
    pieces = split_at_spans(TEXT, spans)
    assert "".join(p.text for p in pieces) == TEXT
    assert [(p.start, p.end) for p in pieces] == [
        (0, 8), (8, 9), (9, 13), (13, 15), (15, 25), (25, 44), (44, 58), (58, 59)
    ]  # fmt: skip
    for i, (start, end) in enumerate(spans):
        assert span_text(pieces, i) == TEXT[start:end]
    # Adjacent spans share no piece: marking one never marks a character of the other.
    assert not any({2, 4} <= set(p.covered_by) for p in pieces)
    # Each span begins in exactly one piece, the one at its start.
    assert [p.starts for p in pieces if p.starts] == [(0, 1), (3,), (2, 5), (4,)]
    assert pieces[-1].covered_by == ()  # the closing full stop supports nothing


@pytest.mark.parametrize("span", [(5, 5), (7, 3), (-1, 4), (0, len(TEXT) + 1)])
def test_a_span_that_does_not_fit_the_text_is_refused(span: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match=rf"span \[{span[0]}:{span[1]}\]"):
        split_at_spans(TEXT, [(0, 4), span])


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(st.text(alphabet="ab “”.\n", min_size=1, max_size=60))
    bounds = st.integers(0, len(text))
    pairs = draw(st.lists(st.tuples(bounds, bounds), max_size=12))
    return text, [(min(a, b), max(a, b)) for a, b in pairs if a != b]


@settings(max_examples=300, deadline=None)
@given(text_and_spans())
def test_pieces_rebuild_the_text_and_every_span_exactly(
    case: tuple[str, list[tuple[int, int]]],
) -> None:
    text, spans = case
    pieces = split_at_spans(text, spans)
    assert "".join(p.text for p in pieces) == text
    assert all(p.text == text[p.start : p.end] and p.text for p in pieces)
    for i, (start, end) in enumerate(spans):
        assert span_text(pieces, i) == text[start:end]
        assert [p.start for p in pieces if i in p.starts] == [start]
    # Every cut is a span boundary: no piece is split for nothing.
    for before, after in pairwise(pieces):
        assert any(after.start in (start, end) for start, end in spans)
        assert before.end == after.start


# --- The pages' use of it ----------------------------------------------------------------


def test_document_segments_name_each_distinct_span_once() -> None:
    document = models.Document(text=TEXT)
    segments = highlight_evidence(document, [(15, 44), (0, 13), (15, 44), (9, 25)])
    assert "".join(s.text for s in segments) == TEXT
    anchors = [a for s in segments for a in s.anchors]
    assert anchors == ["span-0-13", "span-9-25", "span-15-44"]
    for key in ("0-13", "9-25", "15-44"):
        start, end = map(int, key.split("-"))
        assert "".join(s.text for s in segments if key in s.spans) == TEXT[start:end]
    assert next(s for s in segments if s.text == "“AI should").span_keys == "9-25 15-44"


def test_review_queue_anchors_every_candidate_even_sharing_a_start() -> None:
    candidates = [
        models.Candidate(pk=7, start=0, end=8),
        models.Candidate(pk=9, start=0, end=13),
        models.Candidate(pk=11, start=13, end=20),
    ]
    segments = highlight_candidates(TEXT, candidates)
    assert [s.anchors for s in segments if s.anchors] == [["span-c7", "span-c9"], ["span-c11"]]
    assert "".join(s.text for s in segments if 9 in s.candidate_ids) == TEXT[0:13]
    assert "".join(s.text for s in segments if 11 in s.candidate_ids) == TEXT[13:20]
