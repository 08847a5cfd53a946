"""A broker that loses its messages (Redis restarted without its data) or refuses them
(Redis down) loses no source: Postgres says what is due, and the next tick sends it."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import kombu.exceptions
import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance import tasks
from governance.ingest import scheduling
from governance.models import Source
from tests.ingest.conftest import queued

pytestmark = pytest.mark.django_db


def sources(n: int) -> list[Source]:
    return [
        Source.objects.create(name=f"wire {i}", kind=Source.Kind.FEED, url=f"http://wire.test/{i}")
        for i in range(n)
    ]


def test_a_broker_that_lost_its_queue_gets_every_waiting_source_again(
    queue_broker: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    sources(3)
    assert tasks.enqueue_due_sources() == {"enqueued": 3}
    assert queued(queue_broker) == 3
    # Sent and waiting: the next tick leaves them alone (INGEST_REENQUEUE_AFTER).
    assert tasks.enqueue_due_sources() == {"enqueued": 0}

    # What a Redis restart without persistence does: the queue and our marker are gone.
    queue_broker.delete(
        settings.CELERY_TASK_DEFAULT_QUEUE,
        f"waic:queue-marker:{settings.CELERY_TASK_DEFAULT_QUEUE}",
    )
    with caplog.at_level(logging.WARNING, logger="governance.tasks"):
        assert tasks.enqueue_due_sources() == {"enqueued": 3}
    assert "the broker lost its queue; 3 source(s) enqueued again" in caplog.text
    assert queued(queue_broker) == 3
    assert tasks.enqueue_due_sources() == {"enqueued": 0}  # and the marker is back


def test_a_source_being_fetched_keeps_its_claim_when_the_queue_is_lost(
    queue_broker: redis.Redis,
) -> None:
    fetching, waiting = sources(2)
    assert tasks.enqueue_due_sources() == {"enqueued": 2}
    Source.objects.filter(pk=fetching.pk).update(
        lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert scheduling.forget_enqueued() == 1
    assert Source.objects.get(pk=fetching.pk).enqueued_at is not None
    assert Source.objects.get(pk=waiting.pk).enqueued_at is None


def test_sources_not_sent_when_the_broker_fails_midway_are_due_at_the_next_tick(
    queue_broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = sources(4)
    send = tasks.ingest_source.delay
    calls = []

    def failing_after_two(**kwargs: int) -> object:
        calls.append(kwargs["source_id"])
        if len(calls) > 2:
            raise kombu.exceptions.OperationalError("Error 111 connecting to the broker")
        return send(**kwargs)

    monkeypatch.setattr(tasks.ingest_source, "delay", failing_after_two)
    with pytest.raises(kombu.exceptions.OperationalError):
        tasks.enqueue_due_sources()
    sent, unsent = calls[:2], [s.pk for s in made if s.pk not in calls[:2]]
    assert queued(queue_broker) == 2
    assert set(
        Source.objects.filter(enqueued_at__isnull=False).values_list("pk", flat=True)
    ) == set(sent)

    monkeypatch.setattr(tasks.ingest_source, "delay", send)
    assert tasks.enqueue_due_sources() == {"enqueued": 2}  # the two it could not send
    assert queued(queue_broker) == 4
    assert set(unsent) == set(Source.objects.values_list("pk", flat=True)) - set(sent)


def extraction_messages(queue_broker: redis.Redis) -> list[int]:
    import json

    ids = []
    for raw in queue_broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "governance.tasks.extract_documents":
            body = json.loads(base64.b64decode(message["body"]))
            ids += body[1]["document_ids"]
    return sorted(ids)


@pytest.mark.django_db(transaction=True)  # extraction is sent on commit
def test_extraction_lost_with_its_message_is_sent_again(queue_broker: redis.Redis) -> None:
    from governance.models import Document, ExtractionStatus

    def document(n: int, **fields: object) -> Document:
        return Document.objects.create(title=f"D{n}", text=f"Text {n}.", **fields)

    handed, extracted, seeded = document(1), document(2), document(3)
    with transaction.atomic():
        scheduling.enqueue_extraction([handed.pk, extracted.pk])
    assert extraction_messages(queue_broker) == sorted([handed.pk, extracted.pk])
    Document.objects.filter(pk=extracted.pk).update(extraction_status=ExtractionStatus.DONE)
    queue_broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # both messages lost

    # Within the window it may only be slow: nothing resent.
    assert tasks.resend_lost_extractions() == {"resent": 0}
    later = timezone.now() + timedelta(seconds=settings.EXTRACTION_RESEND_AFTER + 1)
    assert scheduling.resend_lost_extractions(now=later, older_than=timedelta(seconds=60)) == 1
    # Only the one still pending; never the seed's document, which nobody handed over.
    assert extraction_messages(queue_broker) == [handed.pk]
    assert Document.objects.get(pk=seeded.pk).extraction_enqueued_at is None


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_lost_its_queue_gets_pending_extractions_again_at_once(
    queue_broker: redis.Redis,
) -> None:
    from governance.models import Document

    waiting = Document.objects.create(title="D", text="Some text.")
    with transaction.atomic():
        scheduling.enqueue_extraction([waiting.pk])
    assert tasks.enqueue_due_sources() == {"enqueued": 0}  # sets the marker
    queue_broker.delete(
        settings.CELERY_TASK_DEFAULT_QUEUE,
        f"waic:queue-marker:{settings.CELERY_TASK_DEFAULT_QUEUE}",
    )
    tasks.enqueue_due_sources()
    assert extraction_messages(queue_broker) == [waiting.pk]
