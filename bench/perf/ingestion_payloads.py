"""The payloads of the end-to-end ingestion bench (bench/perf/ingestion.py).

A payload is an RSS 2.0 feed of ENTRIES_PER_FEED entries, each carrying a whole news
article as HTML paragraphs in `content:encoded` (no page to fetch), served from a
loopback HTTP server. Each article is built from real paragraphs: those of the seed
article (governance/fixtures/seed) and of the news-dev articles
(../shared/corpora/news-dev, when present), plus tests/ingest/feeds.PARAGRAPHS.
Article i takes the length of a real article (cycling through them, within 10%) and
fills it with paragraphs drawn by a random.Random seeded with i: headlines, datelines,
quotes, proposals, lists of countries and bylines, in new combinations. Every article
is distinct (the store dedupes by content hash), and the same arguments always give
the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_ARTICLE = ROOT / "governance" / "fixtures" / "seed" / "waic-2025-article.txt"
NEWS_DEV = ROOT.parent / "shared" / "corpora" / "news-dev"
ENTRIES_PER_FEED = 25


@dataclass(frozen=True)
class Corpus:
    paragraphs: list[str]
    lengths: list[int]  # characters of each real article
    sources: list[str]  # where they came from, for the report


def corpus() -> Corpus:
    from bench.extraction_eval import article_text
    from tests.ingest.feeds import PARAGRAPHS

    articles = {"seed article": SEED_ARTICLE.read_text(encoding="utf-8")}
    for path in sorted(NEWS_DEV.glob("*.txt")) if NEWS_DEV.exists() else []:
        articles[f"news-dev/{path.name}"] = article_text(path)
    paragraphs = [p.strip() for text in articles.values() for p in text.split("\n") if p.strip()]
    paragraphs += [p for p in PARAGRAPHS if p not in paragraphs]
    return Corpus(
        paragraphs=paragraphs,
        lengths=[len(text) for text in articles.values()],
        sources=[*articles, "tests/ingest/feeds.PARAGRAPHS"],
    )


def articles(count: int, *, salt: str = "") -> list[tuple[str, list[str]]]:
    """`count` distinct (title, paragraphs) articles; `salt` gives another set."""
    pool = corpus()
    out: list[tuple[str, list[str]]] = []
    seen: set[tuple[str, ...]] = set()
    i = 0
    while len(out) < count:
        rng = random.Random(f"waic-ingestion-{salt}-{i}")
        target = pool.lengths[i % len(pool.lengths)] * rng.uniform(0.9, 1.1)
        paragraphs: list[str] = []
        while sum(len(p) + 1 for p in paragraphs) < target:
            paragraphs.append(rng.choice(pool.paragraphs))
        i += 1
        if tuple(paragraphs) in seen:
            continue
        seen.add(tuple(paragraphs))
        # The headline: a real paragraph's opening words, as a news headline often is.
        title = " ".join(paragraphs[0].split()[:10]).rstrip(",.;:")
        out.append((f"{title} ({len(out) + 1})", paragraphs))
    return out


def serve_feeds(
    server: object, prefix: str, documents: int, *, salt: str = ""
) -> list[tuple[str, int]]:
    """Add feeds holding `documents` articles to a PayloadServer under /<prefix>/;
    (feed URL, entries) per feed."""
    from tests.ingest.feeds import rss

    texts = articles(documents, salt=salt or prefix)
    feeds: list[tuple[str, int]] = []
    for f, start in enumerate(range(0, documents, ENTRIES_PER_FEED)):
        items = [
            {
                "title": title,
                "link": server.url(f"/{prefix}/{f}/{n}.html"),
                "content": "".join(f"<p>{_escape(p)}</p>" for p in paragraphs),
            }
            for n, (title, paragraphs) in enumerate(texts[start : start + ENTRIES_PER_FEED])
        ]
        path = f"/{prefix}/{f}.xml"
        server.add(path, body=rss(items), headers={"Content-Type": "application/rss+xml"})
        feeds.append((server.url(path), len(items)))
    return feeds


def _escape(text: str) -> str:
    from html import escape

    return escape(text, quote=False)
