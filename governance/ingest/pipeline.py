"""One ingestion attempt of one Source: claim, fetch, parse, store, record, reschedule.

Every attempt leaves an IngestRun, whatever happens. The Source row is the
schedule (`next_fetch_at`) and the lock (`lease_expires_at`, taken by
compare-and-set), so two workers never fetch one source at once and a lost
broker message only delays a fetch until beat's next tick.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from governance.ingest.errors import FailureReason, IngestError
from governance.ingest.fetch import FetchResult, fetch
from governance.ingest.parse import ParsedDocument, parse_feed, parse_page, parse_text
from governance.ingest.store import StoreResult, store_documents
from governance.models import Document, IngestRun, Source

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, application/feed+json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_BACKOFF = timedelta(days=7)

# Wraps entry iteration, e.g. with a progress bar in the ingest command.
Progress = Callable[[list[ParsedDocument]], Iterable[ParsedDocument]]


@dataclass
class Collected:
    """What fetching and parsing produced, before anything is stored."""

    documents: list[ParsedDocument] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_modified: bool = False
    http_status: int | None = None
    etag: str = ""
    last_modified: str = ""


@dataclass
class Attempt:
    run: IngestRun
    retry: bool = False  # a transient failure the caller may retry soon


def claim(
    source_id: int,
    *,
    now: datetime | None = None,
    due_only: bool = False,
    resume: datetime | None = None,
) -> Source | None:
    """Take the source's lease if nobody holds it (compare-and-set); None if taken.

    `due_only` (the ingest task): also only while the source is due, so a
    duplicate or redelivered message arriving after the fetch finished (which moved
    `next_fetch_at` on) fetches nothing. A worker killed mid-fetch never moved it, so
    its redelivered message still claims the source once the lease lapses.

    `resume`: the lease an attempt took before PostgreSQL went away under it. The task's
    retry takes its own lease back at once instead of waiting for it to lapse."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.INGEST_LEASE_SECONDS)
    candidates = Source.objects.filter(pk=source_id)
    if due_only:
        candidates = candidates.filter(next_fetch_at__lte=now)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    if resume is not None:
        free |= Q(lease_expires_at=resume)
    taken = candidates.filter(free).update(lease_expires_at=now + lease)
    if not taken:
        return None
    # A run still "running" now belonged to a worker that died holding the lease, or to
    # the attempt the database outage cut short.
    reason, error = (
        FailureReason.WORKER_LOST,
        ("The worker stopped before finishing; the source was fetched again later."),
    )
    if resume is not None:
        reason, error = (
            FailureReason.DATABASE_UNAVAILABLE,
            ("The database went away during the run; the task fetched again once it was back."),
        )
    IngestRun.objects.filter(source_id=source_id, outcome=IngestRun.Outcome.RUNNING).update(
        outcome=IngestRun.Outcome.FAILED, failure_reason=reason, error=error, finished_at=now
    )
    return Source.objects.filter(pk=source_id).first()


def backoff(source: Source, failures: int) -> timedelta:
    """The interval times consecutive failures, capped at 7 days, with ±10% jitter."""
    delay = min(source.interval * failures, MAX_BACKOFF)
    return min(delay * random.uniform(0.9, 1.1), MAX_BACKOFF)


def _fetch_source(
    source: Source, prefetched: FetchResult | None, accept: str
) -> tuple[FetchResult, Collected]:
    """The source's response (conditional GET) and the run's record of it."""
    result = prefetched or fetch(
        source.url, etag=source.etag, last_modified=source.last_modified, accept=accept
    )
    collected = Collected(
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        not_modified=result.not_modified,
    )
    return result, collected


def _collect_feed(source: Source, prefetched: FetchResult | None, progress: Progress) -> Collected:
    result, collected = _fetch_source(source, prefetched, FEED_ACCEPT)
    if collected.not_modified:
        return collected
    feed = parse_feed(result.content, url=result.url, content_type=result.content_type)
    collected.warnings += feed.warnings
    pages_fetched = 0
    for entry in progress(feed.entries):
        if not (entry.summary_only and entry.url):
            collected.documents.append(entry)
        elif Document.objects.filter(url=entry.url).exists():
            # Already stored from its page; the feed still carries only its summary.
            collected.documents.append(_known(entry))
        elif pages_fetched >= settings.INGEST_MAX_PAGES_PER_RUN:
            collected.warnings.append(f"{entry.url}: page fetch limit reached; kept the summary")
            collected.documents.append(entry)
        else:
            pages_fetched += 1
            collected.documents.append(_with_page(entry, collected.warnings))
    return collected


def _known(entry: ParsedDocument) -> ParsedDocument:
    """The stored document for an entry already fetched, so the store counts a duplicate."""
    stored = Document.objects.get(url=entry.url)
    return ParsedDocument(url=stored.url, title=stored.title, text=stored.text)


def _with_page(entry: ParsedDocument, warnings: list[str]) -> ParsedDocument:
    """The article page behind a summary-only entry, or the summary if the page fails."""
    try:
        page = fetch(entry.url, accept=PAGE_ACCEPT)
        parsed = parse_page(
            page.content, url=page.url, content_type=page.content_type, charset=page.charset
        )
    except IngestError as exc:
        warnings.append(f"{entry.url}: {exc}; kept the feed's summary")
        return entry
    parsed.url = entry.url
    parsed.title = parsed.title or entry.title
    parsed.published_at = parsed.published_at or entry.published_at
    parsed.author = parsed.author or entry.author
    return parsed


def _collect_page(source: Source, prefetched: FetchResult | None) -> Collected:
    result, collected = _fetch_source(source, prefetched, PAGE_ACCEPT)
    if collected.not_modified:
        return collected
    collected.documents.append(
        parse_page(
            result.content, url=result.url, content_type=result.content_type, charset=result.charset
        )
    )
    return collected


def collect(
    source: Source, *, prefetched: FetchResult | None = None, progress: Progress = iter
) -> Collected:
    if source.kind == Source.Kind.FEED:
        return _collect_feed(source, prefetched, progress)
    if source.kind == Source.Kind.PAGE:
        return _collect_page(source, prefetched)
    document = parse_text(source.manual_text, filename=source.manual_filename, title=source.name)
    return Collected(documents=[document])


def _outcome(collected: Collected, stored: StoreResult) -> str:
    if collected.not_modified:
        return IngestRun.Outcome.NOT_MODIFIED
    if stored.new:
        return IngestRun.Outcome.NEW
    if stored.updated:
        return IngestRun.Outcome.UPDATED
    if stored.duplicate:
        return IngestRun.Outcome.DUPLICATE
    if stored.failed:
        return IngestRun.Outcome.FAILED
    return IngestRun.Outcome.NO_DOCUMENTS


def _succeeded(source: Source, collected: Collected, now: datetime) -> None:
    changes: dict[str, Any] = {
        "consecutive_failures": 0,
        "last_error": "",
        "last_success_at": now,
        "lease_expires_at": None,
        "enqueued_at": None,
        # A manual text is ingested once; saving it again in the admin re-queues it.
        "next_fetch_at": None if source.kind == Source.Kind.MANUAL else now + source.interval,
    }
    if collected.etag or collected.last_modified or not collected.not_modified:
        changes.update(etag=collected.etag[:500], last_modified=collected.last_modified[:100])
    Source.objects.filter(pk=source.pk).update(**changes)


def _failed(source: Source, error: str, now: datetime, *, retry: bool) -> None:
    if retry:
        # Try again soon; the schedule only backs off once retries are used up.
        Source.objects.filter(pk=source.pk).update(lease_expires_at=None, last_error=error)
        return
    failures = source.consecutive_failures + 1
    Source.objects.filter(pk=source.pk).update(
        consecutive_failures=failures,
        last_error=error,
        next_fetch_at=now + backoff(source, failures),
        lease_expires_at=None,
        enqueued_at=None,
    )


def record_failure(source: Source, error: IngestError) -> IngestRun:
    """A failed attempt that happened before `ingest` could run (e.g. while the ingest
    command fetched a new URL to guess its kind): recorded like any other."""
    now = timezone.now()
    run = IngestRun.objects.create(
        source=source,
        started_at=now,
        finished_at=now,
        outcome=IngestRun.Outcome.FAILED,
        failure_reason=error.reason,
        http_status=error.http_status,
        error=error.message,
    )
    _failed(source, str(error), now, retry=False)
    return run


def ingest(
    source: Source,
    *,
    allow_retry: bool = False,
    prefetched: FetchResult | None = None,
    progress: Progress = iter,
    on_stored: Callable[[list[int]], None] | None = None,
) -> Attempt:
    """Run one attempt for a source the caller has claimed; always returns its IngestRun.

    `on_stored` gets the ids of new and changed documents (to enqueue extraction).
    """
    # Committed at once, outside what follows: a worker killed mid-attempt leaves this
    # "running" run, and the next claim records it as WORKER_LOST.
    run = IngestRun.objects.create(source=source)
    retry = False
    try:
        collected = collect(source, prefetched=prefetched, progress=progress)
        # The documents, the source's next fetch and the finished run commit together. A
        # worker killed before the commit leaves the source due and claimed, and the fetch
        # after the lease lapses stores every document and hands it to extraction. Stored
        # one commit at a time, a kill mid-store left documents that the re-fetch counted
        # as duplicates, never to be extracted (found by bench/worker_crash.py).
        with transaction.atomic():
            stored = store_documents(collected.documents, source)
            run.outcome = _outcome(collected, stored)
            run.http_status = collected.http_status
            run.documents_new = len(stored.new)
            run.documents_updated = len(stored.updated)
            run.documents_duplicate = stored.duplicate
            run.documents_failed = stored.failed
            run.warnings = "\n".join(collected.warnings + stored.warnings)
            run.details = {"new": stored.new, "updated": stored.updated}
            if run.outcome == IngestRun.Outcome.FAILED:
                run.failure_reason = FailureReason.EMPTY
                run.error = "No entry could be stored; see the warnings."
                _failed(source, run.error, timezone.now(), retry=False)
            else:
                _succeeded(source, collected, timezone.now())
            if on_stored and stored.changed_ids:
                on_stored(stored.changed_ids)  # enqueues on commit (delay_on_commit)
            _finish(run)
        return Attempt(run=run)
    except IngestError as exc:
        retry = allow_retry and exc.transient
        run.outcome = IngestRun.Outcome.FAILED
        run.failure_reason = exc.reason
        run.http_status = exc.http_status
        run.error = exc.message + (" (will retry)" if retry else "")
        _failed(source, str(exc), timezone.now(), retry=retry)
    except (OperationalError, InterfaceError):
        # PostgreSQL went away: nothing can be recorded now. The task retries and resumes
        # its claim (see claim's `resume`); the run stays "running" until then.
        raise
    except SoftTimeLimitExceeded:
        run.outcome = IngestRun.Outcome.FAILED
        run.failure_reason = FailureReason.TIMEOUT
        run.error = "The task ran past its time limit."
        _failed(source, run.error, timezone.now(), retry=False)
    except Exception as exc:
        # A bug, not the source's fault: record it where an admin sees it, keep the worker up.
        logger.exception("ingesting source %s failed unexpectedly", source.pk)
        run.outcome = IngestRun.Outcome.FAILED
        run.failure_reason = FailureReason.INTERNAL_ERROR
        run.error = f"{type(exc).__name__}: {exc}"
        _failed(source, run.error, timezone.now(), retry=False)
    # Whatever the attempt had stored was rolled back with it.
    run.documents_new = run.documents_updated = run.documents_duplicate = 0
    run.documents_failed = 0
    run.details = {}
    _finish(run)
    return Attempt(run=run, retry=retry)


def _finish(run: IngestRun) -> None:
    run.finished_at = timezone.now()
    run.save()
