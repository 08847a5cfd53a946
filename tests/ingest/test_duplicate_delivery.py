"""Duplicate deliveries never mean duplicate fetches (issue #8, scenarios 4 and 5).

Two real workers on Redis share the queue. The same source is enqueued twice at once
(what a broker redelivery or a double enqueue looks like to a worker), and two beats
tick at the same moment: each source must still be fetched once and stored once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from governance.models import Document, IngestRun, Source
from governance.tasks import enqueue_due_sources, ingest_source
from tests.ingest.feeds import rss
from tests.ingest.payload_server import PayloadServer
from tests.ingest.test_jobs import wait_until
from tests.ingest.worker import Beat, Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]

SOURCES = 8
ENTRIES = 3
DELIVERED = re.compile(r"governance\.tasks\.ingest_source\[[^\]]+\] succeeded")


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Worker, Worker]]:
    first = Worker(tmp_path, INGEST_FETCH_DEADLINE="10").start()
    second = Worker(tmp_path, INGEST_FETCH_DEADLINE="10").start()
    yield first, second
    first.stop()
    second.stop()


def slow_feeds(server: PayloadServer) -> list[Source]:
    """Feeds that answer after half a second, so a second delivery arrives mid-fetch."""
    sources = []
    for n in range(SOURCES):
        path = f"/dup/{n}.xml"
        entries = [
            {
                "title": f"Story {n}.{i}",
                "link": server.url(f"/dup/{n}/{i}"),
                "content": f"Text {n} {i}. " * 20,
            }
            for i in range(ENTRIES)
        ]
        server.add(path, body=rss(entries), delay=0.5)
        sources.append(
            Source.objects.create(name=f"dup {n}", kind=Source.Kind.FEED, url=server.url(path))
        )
    return sources


def finished(sources: list[Source]) -> bool:
    return IngestRun.objects.filter(source__in=sources).exclude(
        outcome=IngestRun.Outcome.RUNNING
    ).values("source").distinct().count() == len(sources)


def assert_each_fetched_and_stored_once(server: PayloadServer, sources: list[Source]) -> None:
    assert [server.routes[f"/dup/{n}.xml"].hits for n in range(SOURCES)] == [1] * SOURCES
    for source in sources:
        runs = list(source.runs.values_list("outcome", flat=True))
        assert runs == [IngestRun.Outcome.NEW], (source.name, runs)
    assert Document.objects.count() == SOURCES * ENTRIES
    assert Document.objects.values("url").distinct().count() == SOURCES * ENTRIES


def test_the_same_source_delivered_twice_at_once_is_fetched_once(
    two_workers: tuple[Worker, Worker], payload_server: PayloadServer
) -> None:
    sources = slow_feeds(payload_server)
    for source in sources:
        ingest_source.delay(source_id=source.pk)
        ingest_source.delay(source_id=source.pk)  # the duplicate delivery

    wait_until(lambda: finished(sources), timeout=60, what="every source's run")
    # The duplicates are answered too ("claimed elsewhere or not due"): all succeed.
    wait_until(
        lambda: len(DELIVERED.findall("\n".join(w.log() for w in two_workers))) >= 2 * SOURCES,
        timeout=30,
        what="every delivery to be handled",
    )
    assert_each_fetched_and_stored_once(payload_server, sources)
    assert "Traceback" not in "\n".join(w.log() for w in two_workers)


def test_two_beats_ticking_together_enqueue_each_source_once(
    two_workers: tuple[Worker, Worker], payload_server: PayloadServer
) -> None:
    sources = slow_feeds(payload_server)
    barrier = threading.Barrier(2)
    enqueued: list[int] = []

    def beat() -> None:
        close_old_connections()  # a thread of its own gets its own connection
        try:
            barrier.wait()
            enqueued.append(enqueue_due_sources()["enqueued"])
        finally:
            connection.close()

    beats = [threading.Thread(target=beat) for _ in range(2)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join(timeout=30)

    assert sum(enqueued) == SOURCES, enqueued
    wait_until(lambda: finished(sources), timeout=60, what="every source's run")
    # Later ticks of both beats find nothing due: no second fetch.
    assert enqueue_due_sources() == {"enqueued": 0}
    assert_each_fetched_and_stored_once(payload_server, sources)


def test_two_beat_processes_fetch_nothing_twice(
    two_workers: tuple[Worker, Worker], payload_server: PayloadServer, tmp_path: Path
) -> None:
    """Two real `celery beat` processes, each ticking every second, with two workers."""
    sources = slow_feeds(payload_server)
    Source.objects.update(next_fetch_at=timezone.now() + timedelta(days=1))
    beats = [Beat(tmp_path, INGEST_BEAT_INTERVAL="1").start() for _ in range(2)]

    def ticks() -> list[int]:
        return [beat.log().count("Sending due task enqueue-due-sources") for beat in beats]

    try:
        wait_until(lambda: min(ticks()) >= 1, timeout=30, what="both beats ticking")
        Source.objects.update(next_fetch_at=timezone.now())  # all due at once, for both
        wait_until(lambda: finished(sources), timeout=60, what="every source's run")
        # Both keep ticking: nothing is due any more, nothing is fetched again.
        seen = ticks()
        wait_until(
            lambda: all(now >= then + 3 for now, then in zip(ticks(), seen, strict=True)),
            timeout=30,
            what="three more ticks of each beat",
        )
    finally:
        for beat in beats:
            beat.stop()
    assert_each_fetched_and_stored_once(payload_server, sources)
