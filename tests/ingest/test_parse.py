"""parse.py: recorded payloads (tests/fixtures/payloads) in, typed records out.

No server and no database: parsing is bytes in, records out. The payloads are
served over HTTP only in the fetch and store tests.
"""

from __future__ import annotations

import codecs
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.ingest import parse as parse_module
from governance.ingest.canonical import canonical_url, same_site
from governance.ingest.errors import FailureReason, ParseError
from governance.ingest.htmltext import MAX_NESTING, html_to_text, nesting_depth, sanitize_html
from governance.ingest.language import detect_language
from governance.ingest.parse import (
    ParsedDocument,
    ParsedFeed,
    parse_feed,
    parse_page,
    parse_text,
)

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
SEED_ARTICLE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "waic-2025-article.txt"
BASE = "http://127.0.0.1:8765"
ARTICLE_URL = f"{BASE}/articles/waic-2025-china-proposes-ai-body.html"
ACTION_PLAN_URL = f"{BASE}/articles/waic-2025-action-plan.html"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def feed(name: str, content_type: str = "application/rss+xml") -> ParsedFeed:
    return parse_feed(payload(name), url=f"{BASE}/feeds/{name}", content_type=content_type)


def rss(
    items: str, *, channel: str = "<title>T</title><link>http://payloads.test/</link>"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def reason_of(call, *args, **kwargs) -> FailureReason:
    with pytest.raises(ParseError) as caught:
        call(*args, **kwargs)
    assert caught.value.message  # every failure says something a person can act on
    return caught.value.reason


# --- Watching for file and network access (XXE) ----------------------------------

_accesses: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _accesses is None:
        return
    if event == "open" and args and "hostname" in str(args[0]):
        _accesses.append(f"open {args[0]}")
    elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        _accesses.append(f"{event} {args[:2]}")


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one is idle outside `no_io`


@contextmanager
def no_io() -> Iterator[list[str]]:
    """Record any read of /etc/hostname and any network access inside the block."""
    global _accesses
    _accesses = []
    try:
        yield _accesses
    finally:
        _accesses = None


# --- RSS ---------------------------------------------------------------------------


def test_rss_entries_titles_urls_dates_and_metadata() -> None:
    parsed = feed("waic-news.rss")

    assert parsed.title == "The Test Wire: Technology"
    assert parsed.link == "http://payloads.test/technology/"
    assert parsed.warnings == []
    assert [e.title for e in parsed.entries] == [
        "China proposes global AI cooperation body at WAIC 2025",
        "China releases Action Plan for Global AI Governance",
        "Over 800 companies exhibit at Shanghai AI conference",
        "Hinton, Bouverot and Schmidt speak at WAIC Saturday sessions",
    ]
    # Relative links resolve against the feed's URL; tracking parameters go.
    assert [e.url for e in parsed.entries] == [
        ARTICLE_URL,
        ACTION_PLAN_URL,
        f"{BASE}/articles/waic-2025-exhibitors.html",
        f"{BASE}/articles/waic-2025-saturday-sessions.html",  # from the permalink guid
    ]
    # "+0800" in the feed, UTC in the record.
    assert [e.published_at for e in parsed.entries] == [
        datetime(2025, 7, 26, 10, 30, tzinfo=UTC),
        datetime(2025, 7, 26, 13, 0, tzinfo=UTC),
        datetime(2025, 7, 27, 0, 0, tzinfo=UTC),
        datetime(2025, 7, 26, 14, 0, tzinfo=UTC),
    ]
    first = parsed.entries[0]
    assert first.author == "Test Wire Staff"
    assert first.publisher == "The Test Wire: Technology"
    assert {e.language for e in parsed.entries} == {"en"}


def test_rss_summary_only_teaser_and_full_content_item() -> None:
    teaser, full, exhibitors, _ = feed("waic-news.rss").entries

    assert teaser.summary_only is True
    assert teaser.text.startswith("Premier Li Qiang opened the World Artificial Intelligence")
    assert full.summary_only is False
    # content:encoded wins over the description, as paragraphs of plain text.
    assert full.text.split("\n\n") == [
        "China’s foreign ministry released an online “Action Plan for Global AI Governance” "
        "during the World Artificial Intelligence Conference (WAIC) in Shanghai.",
        "The plan invites governments, corporations, research institutions and international "
        "organizations to collaborate on developing a broadly supported framework for AI "
        "regulation.",
        "What the plan advocates",
        "Open-source collaboration.",
        "Cross-border exchanges.",
        "Bridging gaps in regulatory philosophies and technical standards.",
        "The release came as Premier Li Qiang proposed an international organization for AI "
        "cooperation. Read our report on the proposal.",
    ]
    assert "<strong>" in full.html and "<li>" in full.html
    assert f'href="{BASE}/articles/waic-2025-china-proposes-ai-body.html"' in full.html
    assert "trackRead" not in full.text + full.html
    assert "<" not in full.text
    # A short HTML description and a link: the article is on the page.
    assert exhibitors.summary_only is True
    assert "<b>over 800 companies</b>" in exhibitors.html
    assert "<b>" not in exhibitors.text


def test_entry_urls_prefer_link_then_url_guid_else_none() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>a</title><guid isPermaLink='false'>https://Payloads.test/p?id=7"
            "</guid><description>Text of a.</description></item>"
            "<item><title>b</title><guid isPermaLink='false'>urn:uuid:1234</guid>"
            "<description>Text of b, with no address at all.</description></item>"
            "<item><title>c</title><guid isPermaLink='false'>urn:uuid:5678</guid></item>"
        ),
        url="http://payloads.test/feed.xml",
    )

    a, b = parsed.entries
    assert a.url == "https://payloads.test/p?id=7"
    assert a.summary_only is True
    assert b.url is None  # the store dedupes it by its text
    assert b.summary_only is False
    # An entry with neither text nor address is of no use: skipped, and said so.
    assert parsed.warnings == ["entry 3 skipped: no text and no link"]


def test_title_falls_back_to_first_words_and_dates_without_zone_are_utc() -> None:
    words = " ".join(f"word{i}" for i in range(30))
    parsed = parse_feed(
        rss(
            f"<item><link>/x</link><description>{words}</description>"
            "<pubDate>Sat, 26 Jul 2025 10:00:00</pubDate></item>"
        ),
        url="http://payloads.test/feed.xml",
    )

    entry = parsed.entries[0]
    assert entry.title == " ".join(f"word{i}" for i in range(12)) + "…"
    assert entry.published_at == datetime(2025, 7, 26, 10, 0, tzinfo=UTC)
    assert entry.published_at.tzinfo is not None


# --- Atom --------------------------------------------------------------------------


def test_atom_entries_content_kinds_dates_and_inherited_author() -> None:
    parsed = feed("waic-news.atom", content_type="application/atom+xml")

    plan, asean, roundtable = parsed.entries
    assert parsed.title == "The Test Wire: Artificial intelligence"
    assert plan.published_at == datetime(2025, 7, 26, 13, 0, tzinfo=UTC)  # published, not updated
    assert asean.published_at == datetime(2025, 7, 26, 12, 0, tzinfo=UTC)  # only <updated>
    assert plan.summary_only is False and "Action Plan for Global AI Governance" in plan.text
    # <summary type="text">: plain text, no HTML, and a page to fetch.
    assert asean.summary_only is True
    assert asean.html == ""
    assert "Kao Kim Hourn" in asean.text
    # XHTML content keeps its paragraphs.
    assert roundtable.text.count("\n\n") == 1 and "Ma Zhaoxu" in roundtable.text
    # Atom entries inherit the feed's author.
    assert {e.author for e in parsed.entries} == {"Test Wire Staff"}


def test_same_article_in_rss_and_atom_has_one_canonical_url() -> None:
    rss_urls = {e.url for e in feed("waic-news.rss").entries}
    atom_urls = {e.url for e in feed("waic-news.atom", "application/atom+xml").entries}

    # The Atom link carries utm_* parameters and a fragment; both are dropped.
    assert rss_urls & atom_urls == {ACTION_PLAN_URL}


# --- Bozo, malformed, not a feed ---------------------------------------------------


def test_bozo_feed_with_entries_is_kept_with_its_warning() -> None:
    parsed = feed("bozo-but-usable.rss")

    assert len(parsed.warnings) == 1 and "undefined entity" in parsed.warnings[0]
    assert [e.title for e in parsed.entries] == [
        "WAIC 2025 opens in Shanghai — China proposes AI body",
        "Export curbs frame the conference",
    ]
    assert parsed.entries[0].url == f"{BASE}/briefs/waic-2025-opens.html"
    assert "Conference — a three-day event" in parsed.entries[0].text


def test_malformed_feed_is_a_parse_error() -> None:
    assert reason_of(feed, "malformed.xml") == FailureReason.PARSE_ERROR


def test_html_page_is_not_a_feed() -> None:
    assert reason_of(feed, "not-a-feed.html", "text/html") == FailureReason.NOT_A_FEED


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", FailureReason.EMPTY),
        (b"  \n ", FailureReason.EMPTY),
        (b'<?xml version="1.0"?><note><to>x</to></note>', FailureReason.NOT_A_FEED),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', FailureReason.NOT_A_FEED),
        (b"%PDF-1.7 \x00\x01\x02", FailureReason.NOT_A_FEED),
        (b"just some words", FailureReason.NOT_A_FEED),
    ],
)
def test_what_is_not_a_feed(content: bytes, reason: FailureReason) -> None:
    assert reason_of(parse_feed, content, url="http://payloads.test/feed") == reason


def test_valid_feed_without_items_is_an_empty_feed_not_an_error() -> None:
    parsed = parse_feed(rss(""), url="http://payloads.test/feed.xml")
    assert parsed.entries == [] and parsed.warnings == []


def test_feed_served_as_html_is_kept_with_a_warning() -> None:
    parsed = feed("waic-news.rss", content_type="text/html; charset=utf-8")
    assert len(parsed.entries) == 4
    assert any("NonXMLContentType" in warning for warning in parsed.warnings)


def test_encodings_declared_and_undeclared() -> None:
    latin1 = rss("<item><link>/a</link><description>Caf\xe9 cr\xe8me</description></item>")
    latin1 = latin1.decode().replace("utf-8", "iso-8859-1").encode("latin-1")
    undeclared = b'<rss version="2.0"><channel><item><link>/b</link><description>Caf\xc3\xa9 ' + (
        "上海</description></item></channel></rss>".encode()
    )

    assert parse_feed(latin1, url="http://t.test/f").entries[0].text == "Café crème"
    # No declaration and no Content-Type: XML's default, UTF-8 (not ISO-8859-1 mojibake).
    assert parse_feed(undeclared, url="http://t.test/f").entries[0].text == "Café 上海"


def test_non_english_entries_get_their_language() -> None:
    french, chinese = feed("non-english.rss").entries

    assert (french.language, chinese.language) == ("fr", "zh")
    assert chinese.title == "中国提议成立全球人工智能合作组织"
    assert "李强" in chinese.text


def test_feedparser_is_only_ever_given_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[type] = []
    real = parse_module.feedparser.parse

    def spy(source, *args, **kwargs):
        seen.append(type(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(parse_module.feedparser, "parse", spy)
    feed("waic-news.rss")
    for looks_like_a_source in (b"/etc/hostname", b"http://127.0.0.1:9/feed"):
        with pytest.raises(ParseError):
            parse_feed(looks_like_a_source, url="http://payloads.test/feed")

    assert seen and set(seen) == {bytes}


# --- Hostile XML -----------------------------------------------------------------------


def _hostname() -> str:
    path = Path("/etc/hostname")
    return path.read_text().strip() if path.exists() else socket.gethostname()


def test_xxe_reads_no_file_and_opens_no_connection() -> None:
    started = time.perf_counter()
    with no_io() as accesses:
        parsed = feed("xxe.xml")

    assert accesses == []
    assert time.perf_counter() - started < 1
    everything = " ".join([parsed.title] + [f"{e.title} {e.text} {e.html}" for e in parsed.entries])
    # Expanded, the description would read "Host name: [<host name>] remote: [...]".
    assert f"[{_hostname()}]" not in everything and f"Host: {_hostname()}" not in everything
    assert "Host name: [" in everything
    assert parsed.warnings  # the undefined entities make it bozo, and that is all


def test_billion_laughs_is_not_expanded() -> None:
    started = time.perf_counter()
    parsed = feed("billion-laughs.xml")

    assert time.perf_counter() - started < 1
    assert all(len(e.text) < 1000 and "lollol" not in e.text for e in parsed.entries)
    assert "lollol" not in parsed.title


def _quadratic(*, prefix: bytes = b"", declaration: bytes = b'<?xml version="1.0"?>') -> bytes:
    """One 100 kB entity referenced 20,000 times: 2 GB if expanded (feedparser's own
    fallback parser did expand it, in about 70 s)."""
    return (
        declaration
        + b"\n"
        + prefix
        + b'<!DOCTYPE rss [\n<!ENTITY a "'
        + b"x" * 100_000
        + b'">\n]>\n<rss version="2.0"><channel><title>t</title><item><title>i</title>'
        + b"<link>http://payloads.test/a</link><description>"
        + b"&a;" * 20_000
        + b"</description></item></channel></rss>"
    )


def _utf16(data: bytes) -> bytes:
    text = data.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


@pytest.mark.parametrize(
    "content",
    [
        _quadratic(),
        # feedparser reads entity declarations up to the first "<" + letter, even in comments.
        _quadratic(prefix=b"<!-- <x -->\n"),
        _quadratic(
            declaration=b"<?xml version='1.0'?>\n<!--\n<!DOCTYPE r [\n<!ENTITY b 'y'>]>\n-->"
        ),
        _quadratic(declaration=b"junk before the declaration <?xml version='1.0'?>"),
        # Encodings in which the DOCTYPE is not ASCII bytes.
        _utf16(_quadratic()),
        _quadratic(declaration=b'<?xml version="1.0" encoding="utf-7"?>').replace(
            b"<!DOCTYPE", b"+ADw-!DOCTYPE"
        ),
    ],
    ids=["plain", "comment-before-doctype", "doctype-in-comment", "junk", "utf-16", "utf-7"],
)
def test_quadratic_entity_blowup_is_defused(content: bytes) -> None:
    started = time.perf_counter()
    parsed = parse_feed(content, url="http://payloads.test/feed")

    assert time.perf_counter() - started < 2
    assert all(len(e.text) < 100_000 for e in parsed.entries)


# --- Pages -------------------------------------------------------------------------------


def article_page(**kwargs) -> ParsedDocument:
    url = kwargs.pop("url", f"{ARTICLE_URL}?utm_source=rss&utm_medium=feed#comments")
    content = kwargs.pop("content", payload("waic-2025-china-proposes-ai-body.html"))
    return parse_page(content, url=url, content_type="text/html; charset=utf-8", **kwargs)


def test_page_keeps_the_article_and_drops_the_boilerplate() -> None:
    page = article_page()

    seed = SEED_ARTICLE.read_text(encoding="utf-8").strip().split("\n")
    tweet = ("Secretary-General of ASEAN", "With the theme", "— ASEAN")
    for paragraph in seed:
        if not paragraph.startswith(tweet):
            assert f"{paragraph}\n\n" in f"{page.text}\n\n", paragraph
    assert page.text.startswith("Shanghai: China has proposed")  # the headline is the title
    for boilerplate in (
        "cookies",
        "Subscribe",
        "Related stories",
        "Chip export rules",
        "newsletter",
        "All rights reserved",
        "Share on",
        "Privacy policy",
        "dataLayer",
    ):
        assert boilerplate not in page.text, boilerplate
    assert "<script" not in page.html and "<p>Shanghai: China has proposed" in page.html


def test_page_metadata() -> None:
    page = article_page()

    assert page.title == "China proposes global AI cooperation body at WAIC 2025"
    assert page.author == "Test Wire Staff"
    assert page.publisher == "The Test Wire"
    assert page.published_at == datetime(2025, 7, 26, 10, 30, tzinfo=UTC)
    assert page.language == "en"
    assert page.summary_only is False
    # The page's (relative, same-site) canonical link: no tracking, no fragment.
    assert page.url == ARTICLE_URL


def test_page_canonical_link_only_when_same_site_http() -> None:
    html = payload("waic-2025-china-proposes-ai-body.html")
    relative = b'<link rel="canonical" href="/articles/waic-2025-china-proposes-ai-body.html">'
    fetched = f"{BASE}/a.html?utm_source=x&id=3"

    def with_canonical(href: str) -> str | None:
        tag = f'<link rel="canonical" href="{href}">'.encode()
        return article_page(content=html.replace(relative, tag), url=fetched).url

    assert with_canonical("http://evil.test/their-article") == f"{BASE}/a.html?id=3"
    assert with_canonical("javascript:alert(1)") == f"{BASE}/a.html?id=3"
    assert with_canonical("https://127.0.0.1:8765/x?utm_medium=y") == "https://127.0.0.1:8765/x"
    assert with_canonical("/other.html") == f"{BASE}/other.html"


def test_page_sanitizes_script_handlers_and_javascript_links() -> None:
    html = payload("waic-2025-china-proposes-ai-body.html").replace(
        b"<p>Despite such curbs,",
        b'<p>Delegates read the <a href="javascript:alert(1)">opening statement</a> and '
        b'<img src="x" onerror="alert(2)">the <a href="/ok.html" onclick="steal()">programme</a>'
        b" of the conference, which was handed out in the main hall of the venue in Shanghai."
        b"<script>alert(3)</script><style>p{}</style></p><p>Despite such curbs,",
    )
    page = article_page(content=html)

    assert "Delegates read the opening statement and the programme" in page.text
    for bad in ("javascript:", "onerror", "onclick", "<script", "alert(", "<style", "<img"):
        assert bad not in page.html, bad
    assert f'<a href="{BASE}/ok.html" rel="noopener noreferrer nofollow">programme</a>' in page.html
    assert "alert" not in page.text


@pytest.mark.parametrize("encoding", ["windows-1252", "iso-8859-1"])
def test_page_charset_given_or_detected(encoding: str) -> None:
    html = (
        '<html><head><meta charset="{}"><title>Café</title></head><body><article><p>'
        + "Le café de la conférence de Shanghai était très fréquenté, dit-on. " * 5
        + "</p></article></body></html>"
    )
    declared = html.format(encoding).encode(encoding)
    undeclared = html.replace('<meta charset="{}">', "").encode(encoding)

    given = parse_page(undeclared, url="http://t.test/a", charset=encoding)
    from_meta = parse_page(declared, url="http://t.test/a")
    guessed = parse_page(undeclared, url="http://t.test/a")

    for page in (given, from_meta, guessed):
        assert "Le café de la conférence" in page.text
        assert page.language == "fr"


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"%PDF-1.7\n...", "application/pdf", FailureReason.UNSUPPORTED_CONTENT),
        (b"%PDF-1.7\n...", "text/html", FailureReason.UNSUPPORTED_CONTENT),  # servers lie
        (b"\x89PNG\r\n\x1a\n\x00\x00", "", FailureReason.UNSUPPORTED_CONTENT),
        (b"<rss></rss>", "application/rss+xml", FailureReason.UNSUPPORTED_CONTENT),
        (b"\x00\x01\x02binary", "", FailureReason.UNSUPPORTED_CONTENT),
        (b"", "text/html", FailureReason.EMPTY),
    ],
)
def test_page_types_we_do_not_read(
    content: bytes, content_type: str, reason: FailureReason
) -> None:
    assert (
        reason_of(parse_page, content, url="http://t.test/a", content_type=content_type) == reason
    )


def test_page_without_main_text_is_empty() -> None:
    assert (
        reason_of(parse_page, payload("empty.html"), url="http://t.test/e") == FailureReason.EMPTY
    )


def test_plain_text_page() -> None:
    page = parse_page(
        b"Li Qiang proposed an international AI organization.\r\nIt would be in Shanghai.",
        url="http://T.test/a.txt",
        content_type="text/plain",
    )
    assert page.url == "http://t.test/a.txt"
    assert page.text == (
        "Li Qiang proposed an international AI organization.\n\nIt would be in Shanghai."
    )


# --- Pasted and uploaded text ------------------------------------------------------------


def test_text_upload_one_paragraph_per_line_like_the_seed_article() -> None:
    seed = SEED_ARTICLE.read_bytes().replace(b"\n", b"\r\n")
    document = parse_text(seed, filename="waic.txt")

    assert document.url is None
    assert document.title.startswith("Shanghai: China has proposed the creation")
    assert document.text.split("\n\n") == SEED_ARTICLE.read_text().strip().split("\n")
    assert document.language == "en"
    assert document.html == ""


def test_text_with_blank_lines_keeps_its_paragraphs_and_title_argument_wins() -> None:
    # NUL and lone surrogates would not survive PostgreSQL or psycopg2: dropped.
    text = "First line of a paragraph\nwrapped here.\n\n\n\nSecond paragraph.\x00\udcff\n"
    document = parse_text(text, title="  My   title ")

    assert document.title == "My title"
    assert document.text == "First line of a paragraph\nwrapped here.\n\nSecond paragraph."


def test_markdown_is_kept_as_written_and_titled_by_its_heading() -> None:
    markdown = (
        "Intro line\n\n# Action Plan for Global AI Governance\n\n- open source\n- exchanges\n"
    )
    document = parse_text(markdown.encode(), filename="notes.md")

    assert document.title == "Action Plan for Global AI Governance"
    assert document.text == markdown.strip()


def test_html_upload_goes_through_the_page_path_without_url() -> None:
    document = parse_text(payload("waic-2025-china-proposes-ai-body.html"), filename="saved.HTML")

    assert document.url is None
    assert document.title == "China proposes global AI cooperation body at WAIC 2025"
    assert "Ma Zhaoxu said Beijing is considering" in document.text
    assert "cookies" not in document.text
    assert 'href="/' not in document.html  # relative links cannot be resolved: dropped


def test_short_html_note_is_taken_whole() -> None:
    document = parse_text("<h2>Note</h2><p>Call the <b>ASEAN</b> desk.</p>", filename="n.html")
    assert document.title == "Note"
    assert document.text == "Note\n\nCall the ASEAN desk."


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (b"%PDF-1.4 ...", "report.pdf", FailureReason.UNSUPPORTED_CONTENT),
        (b"text", "report.docx", FailureReason.UNSUPPORTED_CONTENT),
        (b"\x00\x01\x02\x03", "data.txt", FailureReason.UNSUPPORTED_CONTENT),
        (b"  \n\n ", "empty.txt", FailureReason.EMPTY),
        ("", "", FailureReason.EMPTY),
    ],
)
def test_text_uploads_we_refuse(content: bytes | str, filename: str, reason: FailureReason) -> None:
    assert reason_of(parse_text, content, filename=filename) == reason


# --- HTML helpers --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_NESTING, 200_000])
def test_markup_nested_too_deep_is_kept_as_escaped_text(depth: int) -> None:
    """nh3 is quadratic in nesting depth: past MAX_NESTING the text is kept, plainly."""
    hostile = (
        "<div>" * depth
        + "Over 30 countries &amp; <b>more</b> <script>alert(1)</script>"
        + '<img src=x onerror="alert(2)"><style>p{}</style>'
        + "</div>" * depth
    )
    assert nesting_depth(hostile) >= MAX_NESTING
    assert sanitize_html(hostile) == "<p>Over 30 countries &amp; more</p>"


def test_ordinary_nesting_is_not_flattened() -> None:
    html = "<div>" * 20 + "<p>Deep <b>enough</b></p>" + "</div>" * 20
    assert nesting_depth(html) == 22
    assert "<b>enough</b>" in sanitize_html(html)


def test_sanitize_html_strips_script_handlers_and_javascript_links() -> None:
    dirty = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">js</a> <a href="data:text/html,x">'
        'data</a> <a href="/rel">rel</a> <a href="https://ok.test/">ok</a></p>'
        '<script>alert(1)</script><img src=x onerror="alert(1)"><iframe src="https://x.test">'
        "</iframe><style>body{}</style>"
    )

    clean = sanitize_html(dirty, base_url="http://site.test/dir/page.html")

    for bad in ("onclick", "javascript:", "data:", "<script", "alert", "<img", "<iframe", "<style"):
        assert bad not in clean, bad
    assert '<a href="http://site.test/rel" rel="noopener noreferrer nofollow">rel</a>' in clean
    assert '<a href="https://ok.test/" rel="noopener noreferrer nofollow">ok</a>' in clean
    assert 'href="/rel"' not in sanitize_html(dirty)  # no base: relative links dropped


def test_html_to_text_paragraphs_line_breaks_lists_and_tables() -> None:
    html = (
        "<h2>Title</h2><p>One  <em>two</em>\n three<br>four</p>loose<ul><li>a</li><li>b</li></ul>"
        "<table><tr><th>k</th><td>v</td></tr></table><pre>x\n  y</pre>"
    )
    assert html_to_text(html) == "Title\n\nOne two three\nfour\n\nloose\n\na\n\nb\n\nk v\n\nx\ny"
    assert html_to_text("") == ""


# --- canonical_url -----------------------------------------------------------------------

CANONICAL_CASES = [
    ("HTTP://Example.COM/Path/A.html", "http://example.com/Path/A.html"),
    ("http://example.com", "http://example.com/"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
    ("http://example.com/a#section-2", "http://example.com/a"),
    ("http://example.com/a/", "http://example.com/a/"),  # trailing slash kept
    ("https://example.com/a", "https://example.com/a"),  # http and https stay distinct
    ("http://www.example.com/a", "http://www.example.com/a"),
    (
        "http://example.com/a?utm_source=rss&b=2&utm_medium=feed&a=1&fbclid=x&gclid=y",
        "http://example.com/a?a=1&b=2",
    ),
    ("http://example.com/a?mc_cid=1&mc_eid=2&ref=home&UTM_Campaign=z", "http://example.com/a"),
    ("http://example.com/a?z=1&a=2&a=1", "http://example.com/a?a=1&a=2&z=1"),
    ("http://example.com/a?q=a%2fb&&x", "http://example.com/a?q=a%2Fb&x"),
    ("http://example.com/a?", "http://example.com/a"),
    ("http://user:secret@Example.com/a", "http://example.com/a"),
    ("http://example.com./a", "http://example.com/a"),
    ("http://[::1]:80/a", "http://[::1]/a"),
    ("http://example.com/caf%c3%a9", "http://example.com/caf%C3%A9"),
    ("http://example.com/café dé", "http://example.com/caf%C3%A9%20d%C3%A9"),
    ("  http://example.com/a \n", "http://example.com/a"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
    ("tag:example.com,2025:1", "tag:example.com,2025:1"),
    ("/relative/path", "/relative/path"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [url for url, _ in CANONICAL_CASES]
    + [
        "http://example.com/%",
        "http://example.com/a?b=%zz&c",
        "http://example.com/a b?c d=e f#g",
        "http://example.com/\udcff",
        "http://[::1/",
        "http://example.com:notaport/a",
        "HTTPS://EXAMPLE.com/A/../b/./c?utm_x=1&Z=%7e",
    ],
)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_same_site() -> None:
    assert same_site("https://www.example.com/a", "http://example.com:8080/b")
    assert not same_site("http://evil.test/a", "http://example.com/a")
    assert not same_site("/relative", "http://example.com/a")


# --- detect_language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (SEED_ARTICLE.read_text(encoding="utf-8"), "en"),
        (
            "Le Premier ministre chinois a proposé la création d’une organisation internationale "
            "pour la coopération en intelligence artificielle.",
            "fr",
        ),
        ("在上海举行的世界人工智能大会上，中国提议成立全球人工智能合作组织。", "zh"),
        ("Die Konferenz in Shanghai zog Delegierte aus mehr als dreißig Ländern an.", "de"),
        ("", ""),
        ("AI", ""),
        ("Shanghai AI", ""),  # too short to tell (lingua would say French)
        ("12345 !!! 2025-07-26", ""),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_survives_lone_surrogates() -> None:
    assert detect_language("The conference in Shanghai \udcff drew many companies.") == "en"


def test_detect_language_reads_only_the_start() -> None:
    text = "The conference in Shanghai drew companies from around the world. " * 40
    assert detect_language(text + "Le reste du texte est en français. " * 500) == "en"
