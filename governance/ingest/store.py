"""Store parsed documents exactly once: upsert on canonical URL, dedupe on text hash.

The same article fetched twice, or carried by two feeds, is one Document; a
changed article updates its Document in place and the run keeps the hash of
the text it replaced. Another source's copy of a stored article replaces it
only when it is fuller (a feed's full text over another's summary), so two
feeds never flip it back and forth. Each document is written in its own
savepoint: a concurrent worker storing the same article makes this one a
duplicate, not an error, and one bad entry never loses the others.

A feed's entries that are plainly new (a URL and a text no stored document has and no
other entry of the feed repeats) go in together: one query to tell, one INSERT, where
one at a time took five round trips each. Should that INSERT fail (a concurrent worker
stored one of them meanwhile, or one cannot be stored), they are stored one at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance import count_cache
from governance.database_errors import database_unavailable
from governance.ingest.parse import ParsedDocument
from governance.models import Document, Source

logger = logging.getLogger(__name__)

# Column sizes of Document, so a long title never fails an insert.
_MAX = {"title": 500, "publisher": 200, "author": 300, "language": 10, "url": 2000}


@dataclass
class StoreResult:
    new: list[int] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    duplicate: int = 0
    failed: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def changed_ids(self) -> list[int]:
        """Documents whose text is new or changed: these go to extraction."""
        return self.new + [u["document"] for u in self.updated]


def _fields(parsed: ParsedDocument, source: Source, warnings: list[str]) -> dict[str, Any]:
    url = parsed.url
    if url and len(url) > _MAX["url"]:
        warnings.append(f"URL longer than {_MAX['url']} characters, stored without it: {url[:80]}…")
        url = None
    return {
        "source": source,
        "url": url,
        "title": (parsed.title or parsed.text[:80] or "(untitled)")[: _MAX["title"]],
        "publisher": parsed.publisher[: _MAX["publisher"]],
        "author": parsed.author[: _MAX["author"]],
        "published_at": parsed.published_at,
        "language": parsed.language[: _MAX["language"]],
        # PostgreSQL text cannot hold NUL; broken feeds do contain it.
        "text": parsed.text.replace("\x00", ""),
        "fetched_at": timezone.now(),
    }


# A document's columns as stored, and the hash of its text.
type _Entry = tuple[dict[str, Any], str]


def _entry(parsed: ParsedDocument, source: Source, result: StoreResult) -> _Entry | None:
    """What `parsed` would be stored as; None, recorded as failed, if it has no text."""
    if not parsed.text.replace("\x00", "").strip():
        result.failed += 1
        result.warnings.append(f"No text in {parsed.url or parsed.title!r}; not stored.")
        return None
    values = _fields(parsed, source, result.warnings)
    return values, Document.hash_text(values["text"])


def store_document(parsed: ParsedDocument, source: Source, result: StoreResult) -> None:
    """Create, update or recognise one document, recording what happened in `result`."""
    if (entry := _entry(parsed, source, result)) is not None:
        _store_one(entry, source, result)


def _store_one(entry: _Entry, source: Source, result: StoreResult) -> None:
    values, text_hash = entry
    try:
        with transaction.atomic():
            existing = (
                Document.objects.select_for_update().filter(url=values["url"]).first()
                if values["url"]
                else None
            )
            if existing is None:
                if Document.objects.filter(content_sha256=text_hash).exists():
                    result.duplicate += 1  # the same text under another URL or feed
                    return
                document = Document.objects.create(**values)
                result.new.append(document.pk)
                return
            if existing.content_sha256 == text_hash:
                result.duplicate += 1
                return
            if existing.source_id != source.pk and len(values["text"]) <= len(existing.text):
                # Another feed's rendering of a stored article, no fuller than what we have:
                # the same article, not a change (else two feeds would flip it back and forth).
                result.duplicate += 1
                return
            if Document.objects.filter(content_sha256=text_hash).exclude(pk=existing.pk).exists():
                result.duplicate += 1
                result.warnings.append(
                    f"{values['url']} now has the text of another document; kept as it was."
                )
                return
            previous = existing.content_sha256
            # `source` follows the text: the source whose version is stored owns its changes.
            for name, value in values.items():
                setattr(existing, name, value)
            existing.save()
            result.updated.append({"document": existing.pk, "previous_sha256": previous})
    except IntegrityError:
        # Another worker stored the same URL or text between our check and insert.
        result.duplicate += 1
    except DatabaseError as exc:
        if database_unavailable(exc):
            raise  # PostgreSQL went away: not this document's fault (the task retries)
        result.failed += 1
        result.warnings.append(f"Could not store {values['url'] or values['title']!r}: {exc}")
        logger.warning("storing %s failed", values["url"] or values["title"], exc_info=True)


def store_documents(parsed: list[ParsedDocument], source: Source) -> StoreResult:
    """Each entry stored as store_document stores it; the plainly new ones together."""
    result = StoreResult()
    entries = [e for document in parsed if (e := _entry(document, source, result)) is not None]
    new, others = _plainly_new(entries)
    if new and not _insert_together(new, result):
        others = entries  # one at a time, in the feed's order
    for entry in others:
        _store_one(entry, source, result)
    return result


def _plainly_new(entries: list[_Entry]) -> tuple[list[_Entry], list[_Entry]]:
    """(entries whose URL and text no stored document has and no other entry repeats,
    the rest): the first can be inserted as they are, whatever order they go in."""
    urls = Counter(values["url"] for values, _ in entries if values["url"])
    hashes = Counter(text_hash for _, text_hash in entries)
    stored = Document.objects.filter(
        Q(url__in=list(urls)) | Q(content_sha256__in=list(hashes))
    ).values_list("url", "content_sha256")
    for url, text_hash in stored:
        urls[url] += 1  # now more than one: not new
        hashes[text_hash] += 1

    def new(entry: _Entry) -> bool:
        values, text_hash = entry
        return hashes[text_hash] == 1 and (not values["url"] or urls[values["url"]] == 1)

    return [e for e in entries if new(e)], [e for e in entries if not new(e)]


def _insert_together(entries: list[_Entry], result: StoreResult) -> bool:
    """Insert `entries` in one statement; False, nothing written, if that failed for
    any reason but PostgreSQL being gone: the caller then stores them one at a time,
    which tells a race with another worker (a duplicate) from a bad entry (a failure)."""
    documents = [Document(**values, content_sha256=text_hash) for values, text_hash in entries]
    try:
        with transaction.atomic():
            Document.objects.bulk_create(documents)
    except DatabaseError as exc:
        if database_unavailable(exc):
            raise
        logger.info("%d new documents not stored together (%s): one at a time", len(entries), exc)
        return False
    result.new += [d.pk for d in documents]
    count_cache.bump(count_cache.INGESTED)  # bulk_create sends no post_save
    return True
