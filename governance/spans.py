"""Cutting a text at spans that may nest, overlap or touch.

One function serves every page that shows a document with evidence (the document page,
the review queue): the text is cut at every span boundary, so that each piece is covered
by the same spans over its whole length, and any one span is exactly the run of pieces
that name it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True)
class Piece:
    """text[start:end], with the spans (indices into the caller's list) covering all of it
    and the spans beginning at its first character."""

    start: int
    end: int
    text: str
    covered_by: tuple[int, ...]
    starts: tuple[int, ...]


def split_at_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[Piece]:
    """The pieces of `text` between consecutive span boundaries, in order.

    The pieces concatenate to `text`, and span i is exactly the concatenation of the
    pieces whose `covered_by` holds i. Spans are half-open [start, end) and must be
    non-empty and inside the text: anything else is a ValueError, not a silent clip,
    since a span that does not fit is evidence that no longer matches its document.
    """
    for start, end in spans:
        if not 0 <= start < end <= len(text):
            raise ValueError(
                f"span [{start}:{end}] is not a non-empty part of a text of {len(text)} characters"
            )
    beginning: dict[int, list[int]] = defaultdict(list)
    ending: dict[int, list[int]] = defaultdict(list)
    for i, (start, end) in enumerate(spans):
        beginning[start].append(i)
        ending[end].append(i)
    cuts = sorted({0, len(text), *beginning, *ending})
    # A sweep over the cuts: a span covers [a, b) exactly when start <= a < end, since
    # every boundary is a cut.
    active: set[int] = set()
    pieces = []
    for a, b in pairwise(cuts):
        active.difference_update(ending.get(a, ()))
        starts = tuple(beginning.get(a, ()))
        active.update(starts)
        pieces.append(Piece(a, b, text[a:b], tuple(sorted(active)), starts))
    return pieces
