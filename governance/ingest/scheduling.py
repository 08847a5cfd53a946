"""Which sources are due, and the hand-offs to Celery, kept apart from the tasks module."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from governance.models import Source


def due_sources(now: datetime) -> Q:
    """Enabled, due and unclaimed sources whose message is not presumed still queued.

    A message counts as still queued for INGEST_REENQUEUE_AFTER after it was sent, unless a
    worker claimed the source since (the lease was taken after the enqueue) and let the
    lease lapse: that worker died mid-fetch and its message was consumed, so the source is
    enqueued again on the first tick after the lapse. The new enqueue stamp is later than
    the lapsed lease, so the next tick does not enqueue it a second time."""
    recently = now - timedelta(seconds=settings.INGEST_REENQUEUE_AFTER)
    lease_lapsed_since_enqueued = Q(lease_expires_at__lt=now, enqueued_at__lt=F("lease_expires_at"))
    return (
        Q(enabled=True, next_fetch_at__lte=now)
        & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=recently) | lease_lapsed_since_enqueued)
    )


def mark_due_sources_enqueued(*, now: datetime, limit: int = 500) -> list[int]:
    """Mark due sources as enqueued and return their ids.

    SKIP LOCKED lets two beat processes started by mistake split the work
    instead of enqueuing the same sources twice.
    """
    with transaction.atomic():
        ids = list(
            Source.objects.filter(due_sources(now))
            .order_by("next_fetch_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        Source.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def broker_forgot_its_messages() -> bool:
    """True when the broker holds no marker of ours: the first tick ever, or Redis came
    back from a restart without its data (a Redis that keeps nothing on disk), taking
    every queued message with it. The marker lives beside the queue, so the two are lost
    together; a Redis that persists keeps both."""
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    key = f"waic:queue-marker:{settings.CELERY_TASK_DEFAULT_QUEUE}"
    with client:
        return bool(client.set(key, timezone.now().isoformat(), nx=True))


def forget_enqueued(source_ids: list[int] | None = None) -> int:
    """Clear "enqueued" on sources whose message is lost or was never sent, so the next
    tick enqueues them again (a source being fetched keeps its lease and is left alone).
    A message that did survive only becomes a duplicate, which the ingest task's claim
    turns into a no-op."""
    now = timezone.now()
    waiting = Source.objects.filter(enqueued_at__isnull=False).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    if source_ids is not None:
        waiting = waiting.filter(pk__in=source_ids)
    return waiting.update(enqueued_at=None)


def enqueue_extraction(document_ids: list[int]) -> None:
    """Hand new or changed documents to extraction once the caller's transaction commits.

    Marked in the same transaction, so a message lost before it was sent (a worker killed
    just after the commit) or after (a broker that lost its queue) is sent again by
    resend_lost_extractions."""
    from governance.models import Document, ExtractionStatus

    Document.objects.filter(pk__in=document_ids).update(
        extraction_status=ExtractionStatus.PENDING, extraction_enqueued_at=timezone.now()
    )
    _send_extraction(document_ids)


def resend_lost_extractions(*, now: datetime, older_than: timedelta, limit: int = 500) -> int:
    """Send extraction again for documents handed over `older_than` ago and still pending.

    Extraction is idempotent (a document's pending candidates are replaced), so a message
    that was only slow costs a second run, not a duplicate."""
    from governance.models import Document, ExtractionStatus

    with transaction.atomic():
        ids = list(
            Document.objects.filter(
                extraction_status=ExtractionStatus.PENDING,
                extraction_enqueued_at__lte=now - older_than,
            )
            .order_by("extraction_enqueued_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        Document.objects.filter(pk__in=ids).update(extraction_enqueued_at=now)
        _send_extraction(ids)
    return len(ids)


def extraction_batches(lengths: list[tuple[int, int]]) -> list[list[int]]:
    """(document id, characters) in order → the ids of each extraction message: at most
    EXTRACTION_BATCH_SIZE documents and BATCH_CHARS characters (spaCy parses a message's
    documents together), a longer document alone."""
    from governance.extract.pipeline import BATCH_CHARS, in_batches

    batches = in_batches(
        lengths,
        lambda length: length[1],
        most=settings.EXTRACTION_BATCH_SIZE,
        most_size=BATCH_CHARS,
    )
    return [[document_id for document_id, _ in batch] for batch in batches]


def _send_extraction(document_ids: list[int]) -> None:
    """Send the documents' extraction on commit, in batches, in the order given."""
    from django.db.models.functions import Length

    from governance.models import Document
    from governance.tasks import extract_documents

    chars = dict(
        Document.objects.filter(pk__in=document_ids)
        .annotate(chars=Length("text"))
        .values_list("pk", "chars")
    )
    lengths = [(pk, chars[pk]) for pk in dict.fromkeys(document_ids) if pk in chars]
    for batch in extraction_batches(lengths):
        extract_documents.delay_on_commit(document_ids=batch)


def fetch_now(source_ids: list[int]) -> int:
    """Admin "fetch now": make the sources due and enqueue them at once."""

    now = timezone.now()
    with transaction.atomic():
        ids = list(Source.objects.filter(pk__in=source_ids).values_list("pk", flat=True))
        Source.objects.filter(pk__in=ids).update(next_fetch_at=now, enqueued_at=now)
    send_ingest_tasks(ids)
    return len(ids)


def send_ingest_tasks(source_ids: list[int]) -> None:
    """One ingest message per source. If the broker fails midway, the unsent sources are
    marked not enqueued (they are still due, so the next beat tick sends them) and the
    error is raised."""
    from governance.tasks import ingest_source

    for sent, source_id in enumerate(source_ids):
        try:
            ingest_source.delay(source_id=source_id)
        except Exception:
            forget_enqueued(source_ids[sent:])
            raise
