# Curly quotation marks are this module's subject, not typos.
# ruff: noqa: RUF002, RUF003
"""Where the quotation marks are: quoted spans per paragraph, before any attribution.

News text mixes curly (“ ” ‘ ’) and straight (" ') marks, and a quote that runs
over several paragraphs leaves each paragraph open and reopens the next one
with an opening mark (AP style). This module only pairs marks; quotes.py
decides which spans are quotations and who said them.

Decision on multi-paragraph quotes: one span per paragraph, linked by
`continues` to the previous paragraph's span, so every span is exact, holds no
paragraph break and no stray reopening mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN_DOUBLE = "“"
CLOSE_DOUBLE = "”"
OPEN_SINGLE = "‘"
CLOSE_SINGLE = "’"

FUNCTION_WORDS = {
    "a",
    "an",
    "and",
    "at",
    "by",
    "for",
    "from",
    "in",
    "of",
    "on",
    "or",
    "the",
    "to",
    "with",
}


@dataclass
class Quoted:
    open: int  # index of the opening mark
    start: int  # first character of the quoted words
    end: int  # one past the last quoted character kept (trailing comma and spaces dropped)
    close: int | None  # index of the closing mark; None when the paragraph ends open
    paragraph: int  # index of the paragraph in the text
    single: bool = False  # inside single marks (‘ ’ or ' '): a phrase, never a full quote
    continues: bool = False  # reopens a quote left open by the previous paragraph


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line; news text puts one paragraph per line."""
    spans = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding spaces and a trailing comma: “..., ” Li said → the words alone."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    return start, end


def _double_quotes(text: str, p_start: int, p_end: int, index: int) -> list[Quoted]:
    found: list[Quoted] = []
    opened: int | None = None
    for i in range(p_start, p_end):
        ch = text[i]
        if ch == OPEN_DOUBLE or (ch == '"' and opened is None):
            if opened is None:
                opened = i
        elif (ch == CLOSE_DOUBLE or ch == '"') and opened is not None:
            start, end = _trim(text, opened + 1, i)
            if end > start:
                found.append(Quoted(opened, start, end, i, index))
            opened = None
    if opened is not None:
        start, end = _trim(text, opened + 1, p_end)
        if end > start:
            found.append(Quoted(opened, start, end, None, index))
    return found


_SINGLE_RE = re.compile(
    # An opening single mark after a space or bracket and before a letter; a closing one
    # after a word or punctuation and before a non-letter. Apostrophes inside words
    # ("China’s") have letters on both sides and so are never marks.
    r"(?:(?<=^)|(?<=[\s(\[—–-]))([‘'])(?=\w)([^‘’'\n]{1,120}?[\w.,!?])([’'])(?![\w])"
)


def _single_quotes(text: str, p_start: int, p_end: int, index: int) -> list[Quoted]:
    found = []
    for m in _SINGLE_RE.finditer(text, p_start, p_end):
        if m.group(1) == "‘" and m.group(3) != "’":
            continue
        start, end = _trim(text, m.start(2), m.end(2))
        found.append(Quoted(m.start(1), start, end, m.start(3), index, single=True))
    return found


def find_quoted(text: str) -> list[Quoted]:
    """Every quoted span in reading order; single-quoted spans only outside double ones."""
    result: list[Quoted] = []
    left_open = False
    for index, (p_start, p_end) in enumerate(paragraphs(text)):
        doubles = _double_quotes(text, p_start, p_end, index)
        singles = [
            s
            for s in _single_quotes(text, p_start, p_end, index)
            if not any(d.open <= s.open <= (d.close or p_end) for d in doubles)
        ]
        if doubles and left_open and doubles[0].open == _first_char(text, p_start, p_end):
            doubles[0].continues = True
        left_open = bool(doubles) and doubles[-1].close is None
        result.extend(sorted(doubles + singles, key=lambda q: q.open))
    return result


def _first_char(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


def is_title(words_text: str) -> bool:
    """A capitalised, title-like phrase ("Action Plan for Global AI Governance") names a
    plan, body or theme; it is not speech."""
    words = re.findall(r"[A-Za-z][\w’'-]*", words_text)
    content = [w for w in words if w.lower() not in FUNCTION_WORDS]
    if len(words) < 2 or not content:
        return False
    if re.search(r"[.!?]\s", words_text + " ") and not words_text.rstrip().endswith(
        ("Inc.", "Co.")
    ):
        return False
    return all(w[0].isupper() for w in content)


def word_count(words_text: str) -> int:
    return len(re.findall(r"\w[\w’'-]*", words_text))
