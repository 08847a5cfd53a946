"""Small RSS feeds and article pages built in tests, for cases a recorded payload can't vary."""

from __future__ import annotations

from html import escape


def rss(items: list[dict[str, str]], *, title: str = "Test wire") -> bytes:
    """An RSS 2.0 feed; each item has link, title, either content (full) or summary, and
    optionally an author."""
    parts = []
    for item in items:
        body = ""
        if "content" in item:
            body = f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>"
        if "summary" in item:
            body += f"<description>{escape(item['summary'])}</description>"
        if "author" in item:
            body += f"<dc:creator>{escape(item['author'])}</dc:creator>"
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
            f"<guid>{escape(item['link'])}</guid>"
            f"<pubDate>{item.get('date', 'Sat, 26 Jul 2025 08:00:00 GMT')}</pubDate>{body}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>http://wire.test/</link>"
        f"<description>Test feed</description>{''.join(parts)}</channel></rss>"
    ).encode()


def article(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title></head><body>"
        "<nav><a href=/>Home</a> <a href=/world>World</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>© Test News. All rights reserved.</footer></body></html>"
    ).encode()


PARAGRAPHS = [
    "China has proposed the creation of an international organization aimed at promoting "
    "global cooperation and equitable access to AI technology, its premier said on Saturday.",
    "Speaking at the opening of the World Artificial Intelligence Conference in Shanghai, "
    "Premier Li Qiang called for a unified international approach to regulating AI.",
    "Delegates from over 30 countries took part in a high-level roundtable during the "
    "three-day conference, which drew more than 800 companies.",
]
