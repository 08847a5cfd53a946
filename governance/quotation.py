# Curly quotation marks are this module's subject, not typos.
# ruff: noqa: RUF003
"""How a statement's words are quoted: the one place that knows the rule.

- A direct quote's text is the speaker's words, verbatim: the whole text is one quoted
  run, shown inside quotation marks.
- A partial quote's text is reported speech with some of the speaker's words in it; those
  words (`Statement.quoted`, its "quoted runs") are stored without marks, each verbatim
  in the evidence, and only they are shown inside quotation marks.
- A paraphrase (and remarks whose content is not given) is never shown inside quotation
  marks, and its stored text holds none.

Stored text never holds a quotation mark the source does not have: the marks are added
when the statement is shown, around the runs known to be verbatim. Pages, search, feeds,
exports, the dump and the API all display a statement through `display_text` or
`display_html`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DIRECT_QUOTE = "direct_quote"
PARTIAL_QUOTE = "partial_quote"
PARAPHRASE = "paraphrase"
REMARKS = "remarks"

OPEN, CLOSE = "“", "”"
# Double quotation marks of any style, and an opening single mark. The closing single
# mark and the straight apostrophe are left out: "China’s" is not a quotation.
QUOTE_MARKS = '“”"„‟«»‘'
# A run written between marks, in a text given with its marks (a curator's edit, an
# extracted paraphrase): “…”, "…", ‘…’, «…».
_MARKED_RUN = re.compile(r"“([^“”]+)”|\"([^\"]+)\"|‘([^‘’]+)’|«\s*([^«»]+?)\s*»|„([^„“”]+)[“”]")


class QuotationError(ValueError):
    """A statement whose quotation cannot be shown honestly."""


def has_quote_mark(text: str) -> bool:
    return any(ch in QUOTE_MARKS for ch in text)


def split_marked(text: str) -> tuple[str, list[str]]:
    """A text written with quotation marks around the quoted words, as (the text without
    those marks, the quoted runs in order)."""
    runs: list[str] = []

    def strip(match: re.Match[str]) -> str:
        run = next(g for g in match.groups() if g is not None)
        runs.append(run)
        return run

    return _MARKED_RUN.sub(strip, text), runs


def run_spans(text: str, quoted: Sequence[str]) -> list[tuple[int, int]]:
    """Where each quoted run sits in `text`: found in order, each after the previous one.
    Raises QuotationError for a run that is not there."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for run in quoted:
        at = text.find(run, pos) if run else -1
        if at == -1:
            raise QuotationError(f"The quoted words {run!r} are not in the statement's text.")
        spans.append((at, at + len(run)))
        pos = at + len(run)
    return spans


def quoted_spans(kind: str, text: str, quoted: Sequence[str]) -> list[tuple[int, int]]:
    """The spans of `text` shown inside quotation marks. A partial quote whose runs do not
    fit its text (a row written before the runs were known) shows no marks at all: marks
    only ever go around words known to be verbatim."""
    if kind == DIRECT_QUOTE:
        return [(0, len(text))] if text else []
    if kind == PARTIAL_QUOTE and quoted:
        try:
            return run_spans(text, quoted)
        except QuotationError:
            return []
    return []


def display_runs(kind: str, text: str, quoted: Sequence[str]) -> list[str]:
    """The words shown inside quotation marks, in order."""
    return [text[s:e] for s, e in quoted_spans(kind, text, quoted)]


def display_text(kind: str, text: str, quoted: Sequence[str], limit: int | None = None) -> str:
    """The statement as read: marks around the quoted runs only. `limit` cuts the words
    (not the marks) to that many characters with an ellipsis, closing an open quote."""
    return "".join(
        (OPEN if q else "") + part + (CLOSE if q else "")
        for part, q in _parts(kind, text, quoted, limit)
    )


def display_html(
    kind: str,
    text: str,
    quoted: Sequence[str],
    *,
    marked: str | None = None,
    start_sel: str = "",
    stop_sel: str = "",
    limit: int | None = None,
) -> SafeString:
    """`display_text` as escaped HTML, each quoted run with its marks in
    <span class="quoted"> (written out, not <q>, whose marks come from CSS and are lost
    when the text is copied). `marked` is the same
    text with search matches between `start_sel` and `stop_sel` (ts_headline), shown as
    <mark>; ignored when it is not the same text."""
    highlights: list[tuple[int, int]] = []
    if marked is not None and start_sel and limit is None:
        plain, highlights = _unmark(marked, start_sel, stop_sel)
        if plain != text:
            highlights = []
    out: list[str] = []
    pos = 0
    for part, q in _parts(kind, text, quoted, limit):
        body = _with_marks(part, pos, highlights)
        pos += len(part)
        out.append(f'<span class="quoted">{OPEN}{body}{CLOSE}</span>' if q else body)
    return mark_safe("".join(out))


def check(kind: str, text: str, quoted: Sequence[str], evidence: Iterable[str]) -> None:
    """Refuse a statement that would be shown misquoted. Each quoted run (a direct quote's
    whole text, a partial quote's runs) must occur verbatim in one of the `evidence`
    texts, and no quotation mark may stand outside a quoted run."""
    excerpts = [e for e in evidence if e]
    if not text.strip():
        raise QuotationError("A statement needs its text.")
    if kind in (PARAPHRASE, REMARKS):
        if quoted:
            raise QuotationError(f"A {kind.replace('_', ' ')} has no quoted words.")
        if has_quote_mark(text):
            raise QuotationError(
                f"A {kind.replace('_', ' ')} is never inside quotation marks, but its text "
                f"holds one: {text[:80]!r}. If it quotes the speaker's words, file it as a "
                "partial quote with those words as its quoted runs."
            )
        return
    if kind == DIRECT_QUOTE:
        if quoted and list(quoted) != [text]:
            raise QuotationError("A direct quote's quoted words are its whole text.")
        runs = [text]
    elif kind == PARTIAL_QUOTE:
        if not quoted:
            raise QuotationError("A partial quote names the words it quotes.")
        runs = list(quoted)
        spans = run_spans(text, runs)
        outside = "".join(text[a:b] for a, b in gaps(spans, len(text)))
        if has_quote_mark(outside):
            raise QuotationError(
                "Quotation marks belong to the display, not the text: write the quoted "
                f"words without marks and list them as quoted runs ({text[:80]!r})."
            )
    else:
        raise QuotationError(f"Unknown statement kind {kind!r}.")
    if not excerpts:
        raise QuotationError("A quote needs the evidence its words come from.")
    for run in runs:
        if not any(run in excerpt for excerpt in excerpts):
            raise QuotationError(
                f"The quoted words {run[:80]!r} do not occur verbatim in the statement's evidence."
            )


# --- internals ---------------------------------------------------------------------


def gaps(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The stretches of a text of `length` between the (ordered) spans."""
    out, pos = [], 0
    for start, end in spans:
        out.append((pos, start))
        pos = end
    out.append((pos, length))
    return out


def _parts(
    kind: str, text: str, quoted: Sequence[str], limit: int | None
) -> list[tuple[str, bool]]:
    spans = quoted_spans(kind, text, quoted)
    parts: list[tuple[str, bool]] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            parts.append((text[pos:start], False))
        parts.append((text[start:end], True))
        pos = end
    if pos < len(text):
        parts.append((text[pos:], False))
    if limit is None or len(text) <= limit:
        return parts
    cut: list[tuple[str, bool]] = []
    left = max(limit - 1, 0)
    for part, q in parts:
        if left <= 0:
            break
        if len(part) > left:
            # At a word boundary when there is one: a quoted run cut mid-word misquotes.
            kept = part[:left]
            if " " in kept.strip() and not part[left].isspace():
                kept = kept.rsplit(" ", 1)[0]
            cut.append((kept.rstrip() + "…", q))
            break
        cut.append((part, q))
        left -= len(part)
    return cut


def _unmark(marked: str, start_sel: str, stop_sel: str) -> tuple[str, list[tuple[int, int]]]:
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    pos, length, open_at = 0, 0, None
    while pos < len(marked):
        if marked.startswith(start_sel, pos):
            open_at, pos = length, pos + len(start_sel)
        elif marked.startswith(stop_sel, pos):
            if open_at is not None:
                spans.append((open_at, length))
            open_at, pos = None, pos + len(stop_sel)
        else:
            plain.append(marked[pos])
            length += 1
            pos += 1
    return "".join(plain), spans


def _with_marks(part: str, offset: int, highlights: list[tuple[int, int]]) -> str:
    """`part` (at `offset` of the text) escaped, with the highlights inside it in <mark>."""
    out, pos = [], 0
    for start, end in highlights:
        a, b = max(start - offset, pos), min(end - offset, len(part))
        if b <= a:
            continue
        out.append(escape(part[pos:a]))
        out.append(f"<mark>{escape(part[a:b])}</mark>")
        pos = b
    out.append(escape(part[pos:]))
    return "".join(out)
