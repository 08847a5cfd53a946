"""HTML from elsewhere: sanitize it (nh3) and turn it into plain text with paragraphs.

Every piece of HTML we keep goes through `sanitize_html`, whatever cleaned it
before (feedparser and trafilatura have their own, different rules): one policy,
in one place. `html_to_text` reads the sanitized HTML, so the text and the HTML
of a document always agree.
"""

from __future__ import annotations

import re
from html import escape, unescape

import lxml.html
import nh3
from lxml import etree

# Structure and emphasis only: no images, forms, media, styles or classes. The
# HTML is kept to show an article's shape to curators, never to render it as
# its site did, and remote images would track whoever views it.
ALLOWED_TAGS = frozenset(
    {
        *("p", "br", "hr", "div", "span", "section", "article", "header", "footer"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "q", "cite"),
        *("ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption"),
        *("a", "abbr", "b", "strong", "i", "em", "u", "s", "del", "ins", "mark", "small"),
        *("sub", "sup", "time"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped together with their content; nh3 keeps the text of other unknown tags.
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})

# C0 controls other than tab/newline/CR, DEL, lone surrogates and non-characters:
# PostgreSQL rejects NUL (and psycopg2 cannot encode surrogates), lxml rejects the
# others, and none is ever meaningful.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

BLOCK_TAGS = frozenset(
    {
        *("p", "div", "section", "article", "header", "footer", "main", "aside", "nav"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "address", "hr"),
        *("ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption", "details", "summary"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "form", "fieldset", "center"),
    }
)
CELL_TAGS = frozenset({"td", "th"})
_BR = "\x00"  # stands for <br> while white space is collapsed
_SPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u2028\u2029\u200b]+")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


# nh3's parser is quadratic in nesting depth (100,000 nested elements: 24 s). No article
# nests this deep; deeper markup is kept as its text, in plain paragraphs.
MAX_NESTING = 400
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^<>]*?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def nesting_depth(html: str, *, stop_at: int = MAX_NESTING) -> int:
    """The deepest element nesting of `html`, read in one pass over its tags (stops
    counting at `stop_at`); close enough to decide whether markup is pathological."""
    depth = deepest = 0
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
            if deepest >= stop_at:
                break
    return deepest


_HIDDEN_BLOCK = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.S | re.I)


def _markup_stripped(html: str) -> str:
    """The text of markup too deep to parse (lxml gives up too): tags, scripts and
    styles removed in linear passes, entities decoded, white space collapsed."""
    text = _TAG.sub(" ", _HIDDEN_BLOCK.sub(" ", html))
    return " ".join(unescape(strip_controls(text)).split())


def sanitize_html(html: str, *, base_url: str | None = None) -> str:
    """nh3-cleaned `html`: allowed tags and attributes only, no script, no event
    handlers, links limited to http(s)/mailto and made absolute against `base_url`
    (or dropped when relative and there is no base)."""
    if nesting_depth(html) >= MAX_NESTING:
        return f"<p>{escape(_markup_stripped(html))}</p>"
    relative: str | tuple[str, str] = "deny"
    if base_url and base_url.lower().startswith(("http://", "https://")):
        relative = ("rewrite_with_base", base_url)
    return nh3.clean(
        strip_controls(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative=relative,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one paragraph per block element, separated
    by a blank line; <br> becomes a newline; other white space is collapsed."""
    html = strip_controls(html)
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    walker = _TextWalker()
    walker.walk(root)
    walker.flush()
    return "\n\n".join(walker.paragraphs)


def plain_text(text: str) -> str:
    """Text already plain (a feed's text/plain summary): tidy white space only."""
    return normalize_paragraphs(strip_controls(text))


def normalize_paragraphs(text: str) -> str:
    """Unix newlines, no trailing spaces, paragraphs separated by exactly one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextWalker:
    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self._parts: list[str] = []

    def walk(self, element: etree._Element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in DROP_WITH_CONTENT:
            return
        if tag in BLOCK_TAGS:
            self.flush()
        if tag == "br":
            self._parts.append(_BR)
        if tag == "pre":
            # Keep the line structure of preformatted text.
            self._parts.append((element.text_content() or "").replace("\n", _BR))
        else:
            if tag and element.text:
                self._parts.append(element.text)
            for child in element:
                self.walk(child)
                if child.tail:
                    self._parts.append(child.tail)
        if tag in CELL_TAGS:
            self._parts.append(" ")
        if tag in BLOCK_TAGS:
            self.flush()

    def flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self._parts))
        self._parts = []
        lines = (line.strip() for line in text.split(_BR))
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            self.paragraphs.append(paragraph)
