"""A worker that dies mid-fetch leaves its source claimed: the first beat tick after the
lease lapses enqueues it again, not INGEST_REENQUEUE_AFTER after the enqueue; while the
lease is live, and once enqueued again, no tick enqueues it twice."""

from __future__ import annotations

import time

import pytest
import redis
from django.utils import timezone

from governance import tasks
from governance.ingest import pipeline
from governance.models import Source
from tests.ingest.conftest import queued

pytestmark = pytest.mark.django_db


def test_a_lapsed_lease_is_enqueued_again_at_once_and_only_once(
    queue_broker: redis.Redis, settings: object
) -> None:
    settings.INGEST_LEASE_SECONDS = 1  # type: ignore[attr-defined]
    # The production window: without the lease rule the source would wait five minutes.
    settings.INGEST_REENQUEUE_AFTER = 300  # type: ignore[attr-defined]
    source = Source.objects.create(name="wire", kind=Source.Kind.FEED, url="http://wire.test/")
    idle = Source.objects.create(name="idle", kind=Source.Kind.FEED, url="http://wire.test/i")
    assert tasks.enqueue_due_sources() == {"enqueued": 2}
    queue_broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # the messages, as if consumed
    # A worker takes the message and claims the source, then dies (nothing releases it).
    assert pipeline.claim(source.pk, due_only=True) is not None
    claimed = Source.objects.get(pk=source.pk)
    assert claimed.lease_expires_at is not None and claimed.enqueued_at is not None

    # While the lease is live: no tick enqueues it (nor the idle one, still within its window).
    assert tasks.enqueue_due_sources() == {"enqueued": 0}
    assert queued(queue_broker) == 0

    while Source.objects.get(pk=source.pk).lease_expires_at >= timezone.now():
        time.sleep(0.1)
    # The first tick after the lapse enqueues the dead worker's source, and it alone.
    assert tasks.enqueue_due_sources() == {"enqueued": 1}
    assert queued(queue_broker) == 1
    again = Source.objects.get(pk=source.pk)
    assert again.enqueued_at > again.lease_expires_at
    # Its new message now counts as queued: later ticks leave it alone.
    assert tasks.enqueue_due_sources() == {"enqueued": 0}
    assert tasks.enqueue_due_sources() == {"enqueued": 0}
    assert queued(queue_broker) == 1
    # The new message claims it (the lapsed lease is free), once.
    assert pipeline.claim(source.pk, due_only=True) is not None
    assert pipeline.claim(source.pk, due_only=True) is None
    assert Source.objects.get(pk=idle.pk).lease_expires_at is None


def test_a_lease_released_by_a_finished_fetch_waits_for_the_schedule(
    queue_broker: redis.Redis, settings: object
) -> None:
    """A fetch that ended normally clears its lease and moves next_fetch_at on: nothing is
    enqueued again, lapsed lease or not."""
    settings.INGEST_LEASE_SECONDS = 1  # type: ignore[attr-defined]
    source = Source.objects.create(name="wire", kind=Source.Kind.FEED, url="http://wire.test/")
    assert tasks.enqueue_due_sources() == {"enqueued": 1}
    claimed = pipeline.claim(source.pk, due_only=True)
    assert claimed is not None
    pipeline._succeeded(claimed, pipeline.Collected(), timezone.now())
    time.sleep(1.1)
    assert tasks.enqueue_due_sources() == {"enqueued": 0}
