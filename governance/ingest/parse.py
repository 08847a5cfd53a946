"""Bytes in, typed records out: feeds (feedparser), pages (trafilatura), pasted text.

No network and no database here. Every failure is a ParseError with a reason
an admin can act on; library exceptions never escape.

Safety of feeds: feedparser is only ever given bytes (given a string it may
fetch a URL, with no timeout, or open a local file). It does not resolve
external entities (XXE), but it does expand "safe" internal entities, and an
entity of 100 kB referenced 20,000 times made it build a 2 GB string in about
70 s (expat stops at its amplification limit, then feedparser's fallback parser
expands the entities itself). So `_defuse` removes the whole prolog (DOCTYPE,
ENTITY declarations, comments, processing instructions) before feedparser sees
the document: no feed needs a DTD, and undefined entities only make the feed
"bozo", which we tolerate.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
import feedparser
import trafilatura
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import NonXMLContentType
from lxml import etree
from trafilatura.htmlprocessing import convert_to_html

from governance.ingest.canonical import canonical_url, is_web_url, same_site
from governance.ingest.errors import FailureReason, ParseError
from governance.ingest.htmltext import (
    html_to_text,
    normalize_paragraphs,
    plain_text,
    sanitize_html,
    strip_controls,
)
from governance.ingest.language import detect_language, normalize_language_tag

logger = logging.getLogger(__name__)

# Lengths of the Document columns the records are stored in.
MAX_TITLE, MAX_PUBLISHER, MAX_AUTHOR = 500, 200, 300
# A feed entry with no full content and a summary shorter than this (in characters
# of plain text) is a teaser: the article is on the linked page.
SUMMARY_MAX_CHARS = 1000
# Fewer letters than this in a page's extracted text is a frame with no article
# (trafilatura falls back to the navigation rather than return nothing).
MIN_PAGE_LETTERS = 50
TITLE_WORDS = 12
# htmldate: a time and zone when the page gives them, the published date before the
# modified one, and no guessing from copyright lines or URLs ("© 2025" is not a date).
DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": False,
}

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)
TEXT_EXTENSIONS = frozenset({"", ".txt", ".text", ".md", ".markdown"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
# Magic numbers of formats we do not read, whatever the Content-Type claims.
BINARY_SIGNATURES = (
    b"%PDF-",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"RIFF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\xd0\xcf\x11\xe0",
    b"OggS",
    b"ID3",
)
FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
UTF8_XML = "application/xml; charset=utf-8"


@dataclass
class ParsedDocument:
    url: str | None  # canonical URL (see canonical_url), None for pasted text
    title: str
    text: str  # plain text, paragraphs separated by "\n\n"; never HTML
    publisher: str = ""
    author: str = ""
    published_at: datetime | None = None  # timezone-aware (UTC if the source gives none)
    language: str = ""  # ISO 639-1 ("en", "zh", "fr"...), "" if undetermined
    summary_only: bool = False  # a feed entry that carries only a summary and links a page
    html: str = ""  # sanitized (nh3) HTML of the body when the source had HTML, else ""


@dataclass
class ParsedFeed:
    title: str
    link: str
    entries: list[ParsedDocument]
    warnings: list[str] = field(default_factory=list)  # e.g. bozo exceptions of usable feeds


def _guarded[T](what: str, func: Callable[[], T]) -> T:
    """Run `func`, turning any library exception into ParseError(PARSE_ERROR)."""
    try:
        return func()
    except ParseError:
        raise
    except Exception as exc:  # a library failing on hostile input must not crash the task
        logger.warning("%s failed", what, exc_info=True)
        raise ParseError(FailureReason.PARSE_ERROR, f"{what} failed: {_describe(exc)}") from exc


# --- Feeds --------------------------------------------------------------------


def parse_feed(content: bytes, *, url: str, content_type: str = "") -> ParsedFeed:
    """An RSS/Atom/RDF feed's entries as ParsedDocuments, relative links resolved
    against `url`. A feed that is not well-formed but still yields entries is
    kept, with the parser's complaint in `warnings`."""
    if not content.strip():
        raise ParseError(FailureReason.EMPTY, "the response was empty")
    if _has_binary_signature(content):
        raise ParseError(FailureReason.NOT_A_FEED, "binary content (not XML)")
    return _guarded("feed parsing", lambda: _parse_feed(content, url, content_type))


def _parse_feed(content: bytes, url: str, content_type: str) -> ParsedFeed:
    # An absent type is read as XML: UTF-8 unless the XML declaration says otherwise
    # (feedparser would otherwise assume ISO-8859-1 and garble UTF-8 feeds).
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    warnings: list[str] = []
    conversion: dict[str, Any] = {}
    utf8 = convert_to_utf8(headers, content, conversion)
    if conversion.get("bozo"):
        exc = conversion.get("bozo_exception")
        if not isinstance(exc, NonXMLContentType) or content_type:
            warnings.append(_describe(exc))
    if not conversion.get("encoding"):  # nothing decoded it: parse what we can
        utf8 = content.decode("utf-8", "replace").encode("utf-8")
    safe, root = _defuse(utf8)
    result = feedparser.parse(
        safe,
        response_headers={"content-location": url, "content-type": UTF8_XML},
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    if result.get("bozo"):
        warnings.append(_describe(result.get("bozo_exception")))
    feed = result.get("feed", {})
    version = result.get("version") or ""
    entries = []
    for index, entry in enumerate(result.get("entries", [])):
        document = _entry_document(entry, feed, feed_url=url, atom=version.startswith("atom"))
        if document is None:
            warnings.append(f"entry {index + 1} skipped: no text and no link")
        else:
            entries.append(document)
    if not entries:
        _raise_if_not_a_feed(bool(result.get("bozo")), version, root, warnings)
    link = feed.get("link", "")
    return ParsedFeed(
        title=_one_line(feed.get("title", "")),
        link=canonical_url(link) if is_web_url(link) else link,
        entries=entries,
        warnings=warnings,
    )


def _raise_if_not_a_feed(bozo: bool, version: str, root: str, warnings: list[str]) -> None:
    """No entries: a valid empty feed passes; anything else is NOT_A_FEED or PARSE_ERROR."""
    problem = next((w for w in reversed(warnings) if not w.startswith("entry ")), "")
    if root == "html":
        raise ParseError(FailureReason.NOT_A_FEED, "an HTML page, not a feed")
    if not bozo:
        if version:
            return
        raise ParseError(FailureReason.NOT_A_FEED, f"XML with root <{root}>, not RSS or Atom")
    if version or root in FEED_ROOTS:
        raise ParseError(FailureReason.PARSE_ERROR, f"malformed feed, no entries: {problem}")
    raise ParseError(FailureReason.NOT_A_FEED, f"not a feed: {problem}")


def _entry_document(
    entry: dict[str, Any], feed: dict[str, Any], *, feed_url: str, atom: bool
) -> ParsedDocument | None:
    page_url = _entry_url(entry)
    contents = [c for c in entry.get("content", []) if (c.get("value") or "").strip()]
    # Several content elements (Atom content + content:encoded): the longest is the article.
    body = max(contents, key=lambda c: len(c["value"])) if contents else entry.get("summary_detail")
    text, html = _body_text(body, base_url=page_url or feed_url)
    if not text and not page_url:
        return None
    title = _title(entry.get("title_detail"), entry.get("title", ""))
    language = detect_language(text or title) or normalize_language_tag(
        (body or {}).get("language") or feed.get("language")
    )
    author = entry.get("author") or (feed.get("author", "") if atom else "")
    source = entry.get("source") or {}
    return ParsedDocument(
        url=canonical_url(page_url) if page_url else None,
        title=_clip(title or _first_words(text) or page_url or "(untitled)", MAX_TITLE),
        text=text,
        publisher=_clip(_one_line(source.get("title") or feed.get("title", "")), MAX_PUBLISHER),
        author=_clip(_one_line(author), MAX_AUTHOR),
        published_at=_entry_date(entry),
        language=language,
        summary_only=bool(page_url) and not contents and len(text) < SUMMARY_MAX_CHARS,
        html=html,
    )


def _entry_url(entry: dict[str, Any]) -> str | None:
    """The article's address: its link, else its guid when that is a URL (many feeds
    put the permalink there, even with isPermaLink="false"), else None: the store
    then dedupes by text hash. Atom ids are usually tag: URIs and are not used."""
    for candidate in (entry.get("link"), entry.get("id")):
        if is_web_url(candidate):
            return candidate.strip()
    return None


def _body_text(detail: dict[str, Any] | None, *, base_url: str) -> tuple[str, str]:
    """(plain text, sanitized HTML) of a feedparser content/summary detail."""
    if not detail or not (detail.get("value") or "").strip():
        return "", ""
    value = detail["value"]
    if detail.get("type", "text/html") in HTML_TYPES:
        html = sanitize_html(value, base_url=base_url)
        return html_to_text(html), html
    return plain_text(value), ""


def _title(detail: dict[str, Any] | None, title: str) -> str:
    if detail and detail.get("type") in HTML_TYPES:
        title = html_to_text(sanitize_html(title))
    return _one_line(title)


def _entry_date(entry: dict[str, Any]) -> datetime | None:
    """Published, else updated, as an aware UTC datetime.

    dict.get bypasses FeedParserDict's deprecated updated→published mapping. A
    date feedparser could not read (it rejects "Sat, 26 Jul 2025 10:00:00", with
    a weekday but no zone) gets a second chance with the e-mail date parser."""
    for key in ("published", "updated"):
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                pass
        if raw := dict.get(entry, key):
            try:
                value = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                continue
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None


_PROLOG_TOKEN = re.compile(rb"<(\?|!--|!|[A-Za-z0-9_])")
_NAME = re.compile(rb"[\w.:-]+")


def _defuse(data: bytes) -> tuple[bytes, str]:
    """`data` (UTF-8) with everything between the XML declaration and the root
    element removed, and the root element's local name ("" if there is none).

    feedparser collects <!ENTITY> declarations from everything before the first
    "<" + word character, even inside comments, so nothing of the prolog is kept."""
    declaration = b""
    stripped = data.lstrip()
    if stripped.startswith(b"<?xml") and (end := stripped.find(b"?>")) != -1:
        declaration, data = stripped[: end + 2] + b"\n", stripped[end + 2 :]
    position = 0
    while match := _PROLOG_TOKEN.search(data, position):
        kind = match.group(1)
        if kind == b"?":
            position = _find_end(data, b"?>", match.end())
        elif kind == b"!--":
            position = _find_end(data, b"-->", match.end())
        elif kind == b"!":
            position = _declaration_end(data, match.end())
        else:
            name = _NAME.match(data, match.start() + 1)
            root = name.group(0).decode("ascii", "replace") if name else ""
            return declaration + data[match.start() :], root.rpartition(":")[2].lower()
    return declaration, ""


def _find_end(data: bytes, marker: bytes, start: int) -> int:
    end = data.find(marker, start)
    return len(data) if end == -1 else end + len(marker)


def _declaration_end(data: bytes, position: int) -> int:
    """End of a <!DOCTYPE ...> (or other <!...>) declaration: the first ">" outside
    quotes, comments and the [...] internal subset."""
    depth, quote, length = 0, 0, len(data)
    while position < length:
        char = data[position]
        if quote:
            if char == quote:
                quote = 0
        elif data.startswith(b"<!--", position):
            position = _find_end(data, b"-->", position + 4)
            continue
        elif char in b"\"'":
            quote = char
        elif char == ord("["):
            depth += 1
        elif char == ord("]"):
            depth = max(depth - 1, 0)
        elif char == ord(">") and depth == 0:
            return position + 1
        position += 1
    return length


# --- Pages --------------------------------------------------------------------


def parse_page(
    content: bytes, *, url: str, content_type: str = "", charset: str | None = None
) -> ParsedDocument:
    """The article in an HTML page: main text without navigation or other
    boilerplate, and its metadata. `url` is where it was fetched from."""
    media_type = content_type.split(";")[0].strip().lower()
    _check_page_type(content, media_type)
    decoded = _guarded("decoding", lambda: decode_text(content, charset, html=True))
    if media_type in TEXT_TYPES:
        document = parse_text(decoded, filename="page.txt")
        document.url = canonical_url(url)
        return document
    html = decoded
    return _guarded("page extraction", lambda: _parse_html(html, url=url, title=""))


def _check_page_type(content: bytes, media_type: str) -> None:
    if media_type in FEED_TYPES or media_type.endswith(("rss+xml", "atom+xml")):
        raise ParseError(
            FailureReason.UNSUPPORTED_CONTENT, f"{media_type} is a feed: add it as a feed source"
        )
    if media_type and media_type not in HTML_TYPES and media_type not in TEXT_TYPES:
        raise ParseError(FailureReason.UNSUPPORTED_CONTENT, f"cannot read {media_type} content")
    if _has_binary_signature(content) or _looks_binary(content):
        raise ParseError(FailureReason.UNSUPPORTED_CONTENT, "binary content, not an HTML page")
    if not content.strip():
        raise ParseError(FailureReason.EMPTY, "the page was empty")


def _has_binary_signature(content: bytes) -> bool:
    return content[:64].lstrip().startswith(BINARY_SIGNATURES)


def _looks_binary(content: bytes) -> bool:
    head = content[:1024]
    wide = head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"<\x00" in head or b"\x00<" in head
    return b"\x00" in head and not wide


def _parse_html(html: str, *, url: str | None, title: str) -> ParsedDocument:
    tree = trafilatura.load_html(html)
    if tree is None:
        raise ParseError(FailureReason.EMPTY, "no HTML document found")
    page = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_links=True,
        include_formatting=True,
        include_images=False,
        date_extraction_params=DATE_PARAMS,
    )
    if page is None or page.body is None:
        raise ParseError(FailureReason.EMPTY, "no main text found on the page")
    page_title = _one_line(title or page.title or "")
    _drop_title_heading(page.body, page_title)
    raw_html = etree.tostring(convert_to_html(page.body), encoding="unicode")
    body_html = sanitize_html(raw_html, base_url=url)
    text = html_to_text(body_html)
    if sum(ch.isalpha() for ch in text) < MIN_PAGE_LETTERS:
        raise ParseError(FailureReason.EMPTY, "no main text found on the page")
    return ParsedDocument(
        url=_page_url(tree, url) if url else None,
        title=_clip(page_title or _first_words(text), MAX_TITLE),
        text=text,
        publisher=_clip(_one_line(page.sitename or ""), MAX_PUBLISHER),
        author=_clip(_one_line(page.author or ""), MAX_AUTHOR),
        published_at=_iso_to_datetime(page.date),
        language=detect_language(text) or normalize_language_tag(tree.get("lang")),
        html=body_html,
    )


def _drop_title_heading(body: etree._Element, title: str) -> None:
    """Trafilatura keeps the headline as the body's first heading; it is the title."""
    first = body[0] if len(body) else None
    if first is not None and first.tag == "head" and _one_line(first.xpath("string()")) == title:
        body.remove(first)


def _page_url(tree: etree._Element, fetched: str) -> str:
    """<link rel=canonical> when it is http(s) on the same site, else the fetched URL."""
    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rels and href:
            candidate = urljoin(fetched, href)
            if is_web_url(candidate) and same_site(candidate, fetched):
                return canonical_url(candidate)
            break
    return canonical_url(fetched)


def _iso_to_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Stored in UTC, like feed dates; a page without a zone is taken as UTC.
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def decode_text(content: bytes, charset: str | None = None, *, html: bool = False) -> str:
    """Bytes as text: the given charset, else a BOM, an HTML <meta charset>,
    UTF-8, then charset_normalizer's guess; never fails (undecodable bytes become U+FFFD)."""
    candidates = [charset] if charset else []
    if content.startswith(b"\xef\xbb\xbf"):
        candidates.append("utf-8-sig")
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates.append("utf-16")
    if html and (meta := _META_CHARSET.search(content[:4096])):
        candidates.append(meta.group(1).decode("ascii"))
    candidates.append("utf-8")
    for candidate in candidates:
        try:
            return content.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    best = charset_normalizer.from_bytes(content[:200_000]).best()
    return content.decode(best.encoding if best else "cp1252", "replace")


# --- Pasted or uploaded text ---------------------------------------------------


def parse_text(content: bytes | str, *, filename: str = "", title: str = "") -> ParsedDocument:
    """A .txt, .md or .html document pasted or uploaded by a curator (no URL).

    Plain text keeps its paragraphs; when it has no blank lines at all, each line
    is taken as a paragraph (one paragraph per line is how most copied articles
    arrive). Markdown is kept as written."""
    extension = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if extension not in TEXT_EXTENSIONS | HTML_EXTENSIONS:
        raise ParseError(FailureReason.UNSUPPORTED_CONTENT, f"cannot read {extension} files")
    if isinstance(content, bytes):
        if _has_binary_signature(content) or _looks_binary(content):
            raise ParseError(FailureReason.UNSUPPORTED_CONTENT, "binary content, not text")
        text = _guarded("decoding", lambda: decode_text(content))
    else:
        text = content
    text = strip_controls(text).lstrip("\ufeff")
    if not text.strip():
        raise ParseError(FailureReason.EMPTY, "no text")
    if extension in HTML_EXTENSIONS or (not extension and _looks_like_html(text)):
        return _guarded("HTML extraction", lambda: _parse_uploaded_html(text, title=title))
    markdown = extension in {".md", ".markdown"}
    body = normalize_paragraphs(text)
    if not markdown and "\n\n" not in body:
        body = "\n\n".join(line.strip() for line in body.split("\n") if line.strip())
    return ParsedDocument(
        url=None,
        title=_clip(_one_line(title) or _text_title(body), MAX_TITLE),
        text=body,
        language=detect_language(body),
    )


def _parse_uploaded_html(html: str, *, title: str) -> ParsedDocument:
    """Main text as for a page; a short HTML note with no "article" in it is
    taken whole (a curator uploaded it on purpose)."""
    try:
        return _parse_html(html, url=None, title=title)
    except ParseError as exc:
        if exc.reason != FailureReason.EMPTY:
            raise
    body_html = sanitize_html(html)
    text = html_to_text(body_html)
    if not text:
        raise ParseError(FailureReason.EMPTY, "no text in the HTML")
    return ParsedDocument(
        url=None,
        title=_clip(_one_line(title) or _text_title(text), MAX_TITLE),
        text=text,
        language=detect_language(text),
        html=body_html,
    )


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body"))


def _text_title(text: str) -> str:
    """The first Markdown heading, else the first line, cut to a sensible length."""
    for line in text.split("\n"):
        if heading := re.match(r"#{1,6}\s+(.+)", line.strip()):
            return heading.group(1).strip(" #")
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return first if len(first) <= 150 else _first_words(first)


# --- Small helpers --------------------------------------------------------------


def _first_words(text: str, count: int = TITLE_WORDS) -> str:
    """A title made of the first words of the text (CJK text has no spaces: characters)."""
    words = text.split()
    if not words:
        return ""
    if len(words) == 1 and len(words[0]) > 60:
        return words[0][:40] + "…"
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


def _one_line(text: str) -> str:
    """A short field (title, author, publisher): one line, no control characters."""
    return " ".join(strip_controls(text or "").split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _describe(exc: object) -> str:
    if exc is None:
        return "unknown problem"
    message = strip_controls(str(exc))[:300]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
