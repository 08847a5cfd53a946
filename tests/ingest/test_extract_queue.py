"""CELERY_EXTRACT_QUEUE: extraction runs only on the workers of its own queue
(docs/scaling.md), real workers on Redis."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from governance.models import Document, Source
from governance.tasks import enqueue_due_sources
from tests.ingest.feeds import PARAGRAPHS, rss
from tests.ingest.payload_server import PayloadServer
from tests.ingest.test_jobs import wait_until
from tests.ingest.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]


def test_extraction_waits_for_a_worker_of_its_queue(
    tmp_path: Path, payload_server: PayloadServer, settings: object
) -> None:
    queue = os.environ["CELERY_QUEUE"]
    extract_queue = f"{queue}-extract"
    entries = [{"title": "Story", "link": payload_server.url("/n/1"), "content": PARAGRAPHS[0]}]
    payload_server.add("/feed.xml", body=rss(entries))
    Source.objects.create(name="feed", kind=Source.Kind.FEED, url=payload_server.url("/feed.xml"))
    env = {"CELERY_EXTRACT_QUEUE": extract_queue}
    fetcher = Worker(tmp_path, args=["-Q", queue], **env).start()
    try:
        assert enqueue_due_sources() == {"enqueued": 1}
        wait_until(lambda: Document.objects.exists(), what="the fetch")
        time.sleep(3)  # time enough for a misrouted extraction to run
        assert Document.objects.get().extraction_status != "done"
        extractor = Worker(tmp_path, args=["-Q", extract_queue], **env).start()
        try:
            wait_until(
                lambda: Document.objects.get().extraction_status == "done",
                timeout=60,
                what="extraction on its own queue",
            )
        finally:
            extractor.stop()
    finally:
        fetcher.stop()


def test_workers_run_below_the_web_servers_priority(tmp_path: Path) -> None:
    """WORKER_NICENESS: a worker and its pool children yield the CPU to pages."""
    import psutil

    mine = psutil.Process().nice()
    worker = Worker(tmp_path, concurrency=2, WORKER_NICENESS="7").start()
    try:
        processes = [psutil.Process(worker.process.pid), *worker.pool_children()]
        assert len(processes) == 3
        assert {p.nice() for p in processes} == {min(mine + 7, 19)}
    finally:
        worker.stop()
