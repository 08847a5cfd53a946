"""The sentence around an evidence span, for showing a fact's source in full.

An evidence span is often a few words ("cross-border exchanges"); a reader who must cite
needs the whole sentence they come from. This finds it by looking only near the span,
so it costs the same in a long document as in a short one. Pure functions, no database
and no language model: record pages call it for every source row they show.

A sentence ends at a line break, or at `.`, `!`, `?` or `…` (with any closing quotes or
brackets) followed by white space and a word that does not start in lower case, unless
the `.` ends an abbreviation ("Dr.", "U.S.") or an initial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Titles and other words whose full stop does not end a sentence ("Dr. Kao Kim Hourn").
_ABBREVIATION_WORDS = """
    mr mrs ms dr prof sr jr st gen col lt sgt capt cmdr adm gov sen rep pres amb rev hon
    fr messrs mme mlle no nos vol vols fig figs art p pp para ch sec dept univ inc ltd co
    corp plc llc bros est approx vs etc al cf ie eg jan feb mar apr jun jul aug sep sept
    oct nov dec
"""
ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())

# A candidate end: the punctuation, closing quotes or brackets, then white space.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
# How far to look for the sentence's ends; a "sentence" longer than this (a list, a table
# flattened into text) is cut at the nearest white space instead.
MAX_REACH = 1500


@dataclass(frozen=True)
class Sentence:
    """The sentence containing an evidence span, split around it for display."""

    before: str
    span: str
    after: str

    @property
    def text(self) -> str:
        return self.before + self.span + self.after


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation at `match` ends a sentence."""
    after = text[match.end() :].lstrip(" \t")
    if after[:1].islower():
        return False
    if not match.group().startswith(".") or len(match.group().rstrip("\"'”’)]")) > 1:
        return True  # "!", "?", "…", or "..."
    word = re.search(r"(\S+)$", text[: match.start()])
    if word is None:
        return True
    token = word.group(1).lstrip("\"'“‘([")
    if token.casefold().replace(".", "") in ABBREVIATIONS:
        return False
    # An initial ("J. Smith") or a dotted acronym ("U.S.", "e.g.").
    return re.fullmatch(r"(?:\w\.)*\w", token) is None


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """(first, last) of the sentence(s) containing text[start:end], white space trimmed.

    A span that runs over several sentences gets all of them."""
    if not 0 <= start < end <= len(text):
        raise ValueError(f"Span [{start}:{end}] is not inside a text of {len(text)} characters")
    lo = max(0, start - MAX_REACH)
    left = lo
    line = text.rfind("\n", lo, start)
    if line != -1:
        left = line + 1
    for match in _END.finditer(text, left, start):
        if match.end() <= start and _ends_sentence(text, match):
            left = match.end()
    if left == lo and lo > 0:
        space = text.find(" ", lo, start)
        left = space + 1 if space != -1 else start
    hi = min(len(text), end + MAX_REACH)
    right = hi
    line = text.find("\n", end, hi)
    if line != -1:
        right = line
    # A span ending on its sentence's full stop: that stop is the end.
    search_from = max(left, end - 1)
    for match in _END.finditer(text, search_from, right):
        if match.end() >= end and _ends_sentence(text, match):
            right = match.end()
            break
    else:
        if right == hi and hi < len(text):
            space = text.rfind(" ", end, hi)
            right = space if space != -1 else end
    while left < start and text[left].isspace():
        left += 1
    while right > end and text[right - 1].isspace():
        right -= 1
    return left, right


def sentence_around(text: str, start: int, end: int) -> Sentence:
    """The sentence containing text[start:end], as before / span / after."""
    left, right = sentence_bounds(text, start, end)
    return Sentence(text[left:start], text[start:end], text[end:right])
