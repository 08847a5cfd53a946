"""Redis killed while the worker runs a task: the worker stays up, the task finishes, and
the worker takes tasks again once Redis is back (waic/broker_fix.py).

Before the fix the worker exited at once ("Unrecoverable error: AttributeError: 'NoneType'
object has no attribute 'hostname'", exit 1) as soon as a late-acknowledged task was in
flight when the connection dropped; killed while idle, it reconnected. The broker here is
a throwaway server of the test's own, so the test decides when it dies and returns; it
keeps its data (append-only), as docker-compose's and `up`'s do.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from governance.models import Document, IngestRun, Source
from tests.ingest.feeds import PARAGRAPHS, rss
from tests.ingest.payload_server import PayloadServer
from tests.ingest.worker import Worker
from waic.services import EmbeddedRedis, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]

FETCH_SECONDS = 6.0  # the feed answers this slowly: the kill lands mid-task


def wait_until(condition: Callable[[], object], timeout: float, what: str, worker: Worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.log()[-4000:]}")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), log_file=tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


def send(broker: EmbeddedRedis, task: str, **kwargs: object) -> None:
    # Not the current app: later tests' tasks would go to this broker once it is gone.
    app = Celery(broker=broker.url, set_as_current=False)
    try:
        app.send_task(task, kwargs=kwargs, queue=os.environ["CELERY_QUEUE"])
    finally:
        app.close()


def test_worker_survives_redis_killed_mid_task_and_resumes_when_it_returns(
    tmp_path: Path, payload_server: PayloadServer, broker: EmbeddedRedis
) -> None:
    entry = {"title": "Slow", "link": "http://wire.test/slow", "content": PARAGRAPHS[1]}
    route = payload_server.add("/slow.xml", body=rss([entry]), delay=FETCH_SECONDS)
    source = Source.objects.create(
        name="slow wire", kind=Source.Kind.FEED, url=payload_server.url("/slow.xml")
    )
    worker = Worker(
        tmp_path,
        concurrency=2,
        REDIS_URL=broker.url,
        INGEST_FETCH_DEADLINE="30",
        # Extraction is not under test: its messages go to a queue nobody reads.
        CELERY_EXTRACT_QUEUE=f"{os.environ['CELERY_QUEUE']}-parked",
    ).start()
    try:
        send(broker, "governance.tasks.ingest_source", source_id=source.pk)
        wait_until(lambda: route.hits == 1, 30, "the fetch to start", worker)

        os.kill(broker.pids()[0], signal.SIGKILL)
        worker.wait_for_log(r"Connection to broker lost", 15)
        time.sleep(2)  # the crash came within milliseconds of that line
        assert worker.process.poll() is None, worker.log()[-4000:]
        assert "Unrecoverable error" not in worker.log()

        broker.start()  # the same port, its data back from the append-only file
        wait_until(
            lambda: len(re.findall(r"Connected to redis://", worker.log())) >= 2,
            30,
            "the worker to reconnect",
            worker,
        )
        # The task the outage interrupted ran to its end: the document is stored, once.
        wait_until(
            lambda: IngestRun.objects.filter(source=source, outcome="new").exists(),
            30,
            "the interrupted fetch to finish",
            worker,
        )
        assert Document.objects.filter(source=source).count() == 1

        # The worker consumes again.
        send(broker, "governance.tasks.heartbeat")
        worker.wait_for_log(r"Task governance\.tasks\.heartbeat\[[^\]]+\] succeeded", 30)
        # Its message could not be acknowledged on the lost connection, so Redis still
        # holds it as unacknowledged and will deliver it again: that delivery (sent here
        # rather than after the visibility timeout) finds the source fetched and skips it.
        unacked = redis.Redis.from_url(broker.url)
        with unacked:
            assert unacked.hlen("unacked") == 1
        send(broker, "governance.tasks.ingest_source", source_id=source.pk)
        worker.wait_for_log(r"source \d+ is being fetched elsewhere or not due; skipped", 30)
        assert worker.process.poll() is None
    finally:
        worker.stop()
    assert route.hits == 1
    assert Document.objects.filter(source=source).count() == 1
    assert IngestRun.objects.filter(source=source).count() == 1
