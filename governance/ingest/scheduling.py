"""Which sources are due, and the hand-offs to Celery, kept apart from the tasks module."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance.models import Source


def due_sources(now: datetime) -> Q:
    recently = now - timedelta(seconds=settings.INGEST_REENQUEUE_AFTER)
    return (
        Q(enabled=True, next_fetch_at__lte=now)
        & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=recently))
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


def enqueue_extraction(document_ids: list[int]) -> None:
    from governance.tasks import extract_document

    for document_id in document_ids:
        extract_document.delay_on_commit(document_id=document_id)


def fetch_now(source_ids: list[int]) -> int:
    """Admin "fetch now": make the sources due and enqueue them at once."""
    from governance.tasks import ingest_source

    now = timezone.now()
    with transaction.atomic():
        ids = list(Source.objects.filter(pk__in=source_ids).values_list("pk", flat=True))
        Source.objects.filter(pk__in=ids).update(next_fetch_at=now, enqueued_at=now)
        for source_id in ids:
            ingest_source.delay_on_commit(source_id=source_id)
    return len(ids)
