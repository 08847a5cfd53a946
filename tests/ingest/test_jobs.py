"""The job system for real: beat's task enqueues, a Celery worker on Redis ingests into Postgres.

Workers run in subprocesses behind the loopback guard, against the test database
(so these tests commit: transaction=True) and the session's own queue.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from governance.ingest.errors import FailureReason
from governance.models import Document, IngestRun, Source
from governance.tasks import enqueue_due_sources
from tests.ingest.feeds import PARAGRAPHS, article, rss
from tests.ingest.payload_server import PayloadServer, drip, endless
from tests.ingest.worker import Worker, waiting_on

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]


def wait_until(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}")


def finished_runs(source: Source) -> int:
    return source.runs.exclude(outcome=IngestRun.Outcome.RUNNING).count()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    started = Worker(
        tmp_path,
        INGEST_FETCH_DEADLINE="2",
        INGEST_MAX_BYTES=str(1024 * 1024),
        FAKE_DNS="private.test=10.0.0.5,metadata.test=169.254.169.254",
    ).start()
    yield started
    started.stop()


def new_source(server: PayloadServer, path: str, **fields: object) -> Source:
    return Source.objects.create(
        name=f"source {path}", kind=Source.Kind.FEED, url=server.url(path), **fields
    )


def test_beat_tick_ingests_due_feeds_once(worker: Worker, payload_server: PayloadServer) -> None:
    link = payload_server.url("/articles/waic.html")
    entries = [
        {"title": "Full story", "link": payload_server.url("/n/1"), "content": PARAGRAPHS[0]},
        {"title": "China proposes AI body", "link": link, "summary": "China proposed…"},
    ]
    payload_server.add("/feed.xml", body=rss(entries), etag='"v1"')
    payload_server.add(
        "/articles/waic.html",
        body=article("China proposes AI body", PARAGRAPHS),
        headers={"Content-Type": "text/html"},
    )
    source = new_source(payload_server, "/feed.xml")
    assert enqueue_due_sources() == {"enqueued": 1}
    # Enqueued and not yet claimed: the next tick leaves it alone.
    assert enqueue_due_sources() == {"enqueued": 0}
    wait_until(lambda: finished_runs(source) == 1, what="the first run")
    run = source.runs.get()
    assert (run.outcome, run.documents_new) == ("new", 2), run.error
    assert Document.objects.count() == 2
    assert "unified international approach" in Document.objects.get(url=link).text
    source.refresh_from_db()
    assert source.next_fetch_at > timezone.now() and source.lease_expires_at is None

    # Due again: a 304, nothing added.
    Source.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
    assert enqueue_due_sources() == {"enqueued": 1}
    wait_until(lambda: finished_runs(source) == 2, what="the second run")
    assert source.runs.first().outcome == "not_modified"
    assert Document.objects.count() == 2
    # Extraction ran in the worker on the new documents and filed candidates for review.
    wait_until(
        lambda: not Document.objects.exclude(extraction_status="done").exists(),
        timeout=60,
        what="extraction of the new documents",
    )
    stored = Document.objects.get(url=link)
    assert stored.candidates.filter(kind="person", payload__name="Li Qiang").exists()
    assert set(stored.mentions.values_list("country_id", flat=True)) >= {"CN"}


def test_failures_are_recorded_and_the_worker_stays_healthy(
    worker: Worker, payload_server: PayloadServer
) -> None:
    import gzip
    import io

    bomb = io.BytesIO()
    with gzip.GzipFile(fileobj=bomb, mode="wb") as gz:
        for _ in range(64):  # 64 MiB of zeros, about 64 KiB compressed
            gz.write(bytes(1024 * 1024))
    cases = {
        "/500": ({"status": 500, "body": b"error"}, FailureReason.HTTP_ERROR),
        "/hang": ({"body": b"x", "delay": 30}, FailureReason.TIMEOUT),
        "/drip": ({"body": drip(b"<rss>" * 100)}, FailureReason.TIMEOUT),
        "/huge": ({"body": endless()}, FailureReason.TOO_LARGE),
        "/bomb": (
            {"body": bomb.getvalue(), "headers": {"Content-Encoding": "gzip"}},
            FailureReason.TOO_LARGE,
        ),
        "/malformed": ({"body": b"<?xml version='1.0'?><rss><channel><item>"}, None),
        "/to-private": (
            {"status": 302, "headers": {"Location": "http://private.test/feed.xml"}},
            FailureReason.BLOCKED_ADDRESS,
        ),
        "/to-metadata": (
            {"status": 302, "headers": {"Location": "http://169.254.169.254/latest/"}},
            FailureReason.BLOCKED_ADDRESS,
        ),
    }
    sources = {}
    for path, (route, _) in cases.items():
        payload_server.add(path, **route)
        sources[path] = new_source(payload_server, path)
    payload_server.add(
        "/good.xml",
        body=rss([{"title": "Ok", "link": "http://wire.test/ok", "content": PARAGRAPHS[1]}]),
    )
    good = new_source(payload_server, "/good.xml")
    assert enqueue_due_sources()["enqueued"] == len(cases) + 1
    for path, source in sources.items():
        wait_until(lambda s=source: finished_runs(s) == 1, timeout=60, what=path)
    wait_until(lambda: finished_runs(good) == 1, timeout=60, what="the good source")
    for path, (_, reason) in cases.items():
        # Transient failures (5xx, timeouts) are retried: each attempt has its own run.
        run = sources[path].runs.order_by("started_at").first()
        assert run.outcome == "failed", (path, run.outcome)
        transient = reason in (FailureReason.HTTP_ERROR, FailureReason.TIMEOUT)
        assert run.error.endswith("(will retry)") == transient, (path, run.error)
        if reason:
            assert run.failure_reason == reason, (path, run.failure_reason, run.error)
        else:
            assert run.failure_reason in (FailureReason.NOT_A_FEED, FailureReason.PARSE_ERROR)
    assert good.runs.get().outcome == "new"  # the worker kept working through all of it
    assert worker.process.poll() is None
    assert "test guard: refused" not in worker.log()  # nothing even tried to leave loopback


def test_killed_worker_loses_no_source_and_duplicates_nothing(
    tmp_path: Path, payload_server: PayloadServer, settings: object
) -> None:
    settings.INGEST_REENQUEUE_AFTER = 1
    env = {"INGEST_LEASE_SECONDS": "4", "INGEST_FETCH_DEADLINE": "20"}
    # The feed answers slowly, so the worker is killed mid-fetch.
    payload_server.add(
        "/slow.xml",
        body=rss([{"title": "Slow", "link": "http://wire.test/slow", "content": PARAGRAPHS[2]}]),
        delay=3,
    )
    source = new_source(payload_server, "/slow.xml")
    first = Worker(tmp_path, **env).start()
    try:
        assert enqueue_due_sources() == {"enqueued": 1}
        wait_until(
            lambda: Source.objects.get(pk=source.pk).lease_expires_at is not None,
            what="the claim",
        )
        first.kill()
    finally:
        first.stop()
    assert Document.objects.count() == 0
    # No message survives for it in the broker's eyes yet; Postgres still says it is due.
    second = Worker(tmp_path, **env).start()
    try:
        wait_until(
            lambda: Source.objects.get(pk=source.pk).lease_expires_at < timezone.now(),
            timeout=10,
            what="the dead worker's claim to lapse",
        )
        time.sleep(1.1)  # past INGEST_REENQUEUE_AFTER
        assert enqueue_due_sources() == {"enqueued": 1}  # a later beat tick
        wait_until(lambda: Document.objects.count() == 1, timeout=30, what="the re-fetch")
        wait_until(lambda: source.runs.filter(outcome="new").exists(), timeout=10, what="its run")
    finally:
        second.stop()
    assert Document.objects.count() == 1
    lost = source.runs.get(failure_reason=FailureReason.WORKER_LOST)
    assert lost.outcome == "failed"


def test_killed_pool_child_is_replaced_and_its_source_fetched_once_the_lease_lapses(
    tmp_path: Path, payload_server: PayloadServer, settings: object
) -> None:
    """A pool child SIGKILLed mid-fetch: the main process replaces it, Celery requeues the
    message (reject_on_worker_lost), and whether that delivery or a later beat tick comes
    once the lease has lapsed, the source is fetched again, once, and nothing else twice."""
    settings.INGEST_REENQUEUE_AFTER = 1
    queue = os.environ["CELERY_QUEUE"]
    # Extraction (spaCy loading in each new child) is not under test: the worker sends
    # it to a queue of its own that nothing consumes, deleted afterwards.
    parked = f"{queue}-parked"
    sources = {}
    for n in range(4):
        path = f"/child/{n}.xml"
        entry = {"title": f"Story {n}", "link": f"http://wire.test/child/{n}"}
        entry["content"] = f"{PARAGRAPHS[n % 3]} Story {n}."
        payload_server.add(path, body=rss([entry]), delay=1.5)
        sources[path] = new_source(payload_server, path)
    worker = Worker(
        tmp_path,
        concurrency=2,
        args=["--queues", queue],
        CELERY_QUEUE=parked,
        INGEST_LEASE_SECONDS="4",
        INGEST_FETCH_DEADLINE="20",
    ).start()
    try:
        assert enqueue_due_sources() == {"enqueued": 4}
        fetching: dict[int, list[str]] = {}

        def a_child_mid_fetch() -> bool:
            children = worker.pool_children()
            fetching.update({c.pid: waiting_on(c, payload_server, 1.0) for c in children})
            return any(fetching.values())

        wait_until(a_child_mid_fetch, timeout=20, what="a pool child mid-fetch")
        pid, (path,) = next((pid, paths) for pid, paths in fetching.items() if paths)
        os.kill(pid, signal.SIGKILL)
        killed = sources.pop(path)
        wait_until(
            lambda: len([c for c in worker.pool_children() if c.pid != pid]) == 2,
            what="the main process to replace the child",
        )

        def refetched() -> bool:
            enqueue_due_sources()  # beat ticking
            return killed.runs.filter(outcome="new").exists()

        wait_until(refetched, what="the killed child's source to be fetched again")
        wait_until(
            lambda: all(s.runs.filter(outcome="new").exists() for s in sources.values()),
            what="the other sources",
        )
        time.sleep(1)  # a late duplicate delivery would be handled by now
        assert worker.process.poll() is None
    finally:
        worker.stop()
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(parked)
    assert payload_server.routes[path].hits == 2
    assert [payload_server.routes[p].hits for p in sources] == [1, 1, 1]
    assert Document.objects.count() == 4
    assert IngestRun.objects.filter(outcome="new").count() == 4
    lost = killed.runs.get(failure_reason=FailureReason.WORKER_LOST)
    assert lost.outcome == "failed"
