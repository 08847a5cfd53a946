"""Extraction waits while this machine's web server is busy (governance/web_load.py): the
web processes report the requests they have in flight, on real Redis; a real worker
waits for them, within its budget, and loses nothing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from governance import web_load
from governance.ingest.scheduling import enqueue_extraction
from governance.models import Document, ExtractionStatus
from tests.factories import DocumentFactory
from tests.ingest.worker import Worker

pytestmark = pytest.mark.django_db

TEXT = (
    "GENEVA, March 3 (Reuters) - France and Brazil proposed a joint charter on AI safety "
    'on Monday. "We will build it together," said Jean Dupont, France\'s digital minister.'
)


@pytest.fixture(autouse=True)
def _own_meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(web_load, "_meter", web_load._Meter())
    client, key = _redis(), web_load._key()  # the test session's own key prefix
    client.delete(key)
    yield
    client.delete(key)


def _redis() -> redis.Redis:
    return cache._cache.get_client(write=True)


def _report(pid: int, load: float, age: float = 0.0) -> None:
    """What a web process `pid` writes, `age` seconds ago."""
    _redis().hset(web_load._key(), str(pid), f"{load} {time.time() - age}")


def test_a_report_is_the_share_of_the_time_spent_in_requests() -> None:
    web_load._meter.since = time.monotonic() - 4.0
    web_load.record(1.0)  # one second in requests over the last four
    assert web_load.in_flight() == pytest.approx(0.25, abs=0.01)
    reports = _redis().hgetall(web_load._key())
    assert list(reports) == [str(os.getpid()).encode()]


def test_no_report_within_a_second_of_the_last() -> None:
    web_load.record(0.5)  # the meter started just now: nothing due yet
    assert _redis().hgetall(web_load._key()) == {}


def test_the_fresh_reports_of_every_process_add_up() -> None:
    _report(101, 0.75)
    _report(102, 0.5, age=1.0)
    _report(103, 3.0, age=web_load.FRESH_FOR + 1)  # idle since
    _report(104, 3.0, age=web_load.KEY_TTL + 1)  # gone: forgotten
    _redis().hset(web_load._key(), "105", "not a report")
    assert web_load.in_flight() == pytest.approx(1.25)
    assert sorted(_redis().hgetall(web_load._key())) == [b"101", b"102", b"103"]


def test_every_request_is_timed_cached_hits_included(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_load, "REPORT_EVERY", 0.0)
    client.get("/statements/")
    assert client.get("/statements/")["X-Page-Cache"] == "hit"
    (report,) = _redis().hgetall(web_load._key()).values()
    load, at = (float(part) for part in report.split())
    assert load > 0 and abs(time.time() - at) < 5


def test_an_unreachable_redis_reads_as_an_idle_web_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = []

    def unreachable(*args: object, **kwargs: object) -> object:
        attempts.append(1)
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(cache._cache, "get_client", unreachable)
    monkeypatch.setattr(cache, "_skip_until", 0.0, raising=False)
    monkeypatch.setattr(web_load, "REPORT_EVERY", 0.0)
    web_load.record(0.1)  # no error either
    assert web_load.in_flight() == 0.0
    web_load.record(0.1)
    assert attempts == [1]  # then left alone for a while, as the cache does


def test_a_task_waits_while_the_web_server_is_busy_up_to_its_budget(settings: object) -> None:
    settings.WORKER_YIELD_AT, settings.WORKER_YIELD_MAX_SECONDS = 1.0, 0.6  # type: ignore[attr-defined]
    _report(101, 1.5)
    yielding = web_load.Yielding()
    started = time.monotonic()
    yielding.wait()
    assert 0.55 <= time.monotonic() - started < 1.5
    assert yielding.waited == pytest.approx(0.6)
    started = time.monotonic()
    yielding.wait()  # its budget is spent: on at once
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize(("load", "threshold"), [(0.9, 1.0), (5.0, 0.0)])
def test_a_task_does_not_wait_below_the_threshold_or_when_turned_off(
    settings: object, load: float, threshold: float
) -> None:
    settings.WORKER_YIELD_AT, settings.WORKER_YIELD_MAX_SECONDS = threshold, 5.0  # type: ignore[attr-defined]
    _report(101, load)
    yielding = web_load.Yielding()
    yielding.wait()
    assert yielding.waited == 0.0


@pytest.mark.jobs
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_extracts_once_the_web_server_is_no_longer_busy(tmp_path: Path) -> None:
    """A web process reports 2 requests in flight for 3 s: the worker's extraction of a
    document waits for it to end, then files its candidates."""
    document = DocumentFactory(text=TEXT, language="en")
    worker = Worker(tmp_path, WORKER_YIELD_AT="1", WORKER_YIELD_MAX_SECONDS="40").start()
    busy_until = time.monotonic() + 3.0
    stop = threading.Event()

    def busy_web_process() -> None:
        while not stop.is_set():
            _report(4242, 2.0 if time.monotonic() < busy_until else 0.0)
            time.sleep(0.2)

    reporter = threading.Thread(target=busy_web_process)
    reporter.start()
    try:
        enqueue_extraction([document.pk])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            document.refresh_from_db()
            if document.extraction_status != ExtractionStatus.PENDING:
                break
            time.sleep(0.1)
        done_at = time.monotonic()
    finally:
        stop.set()
        reporter.join()
        worker.stop()
    assert document.extraction_status == ExtractionStatus.DONE, worker.log()
    assert done_at >= busy_until - 0.3  # not before the web server was done
    assert done_at < busy_until + 20
    assert "extraction waited" in worker.log()
    assert Document.objects.get(pk=document.pk).candidates.exists()


def test_after_finding_the_web_server_idle_a_task_looks_again_only_after_a_while(
    settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WORKER_YIELD_AT, settings.WORKER_YIELD_MAX_SECONDS = 1.0, 5.0  # type: ignore[attr-defined]
    looks: list[float] = []
    real = web_load.in_flight
    monkeypatch.setattr(web_load, "in_flight", lambda: looks.append(1) or real())
    yielding = web_load.Yielding()
    for _ in range(10):
        yielding.wait()
    assert len(looks) == 1
    time.sleep(web_load.POLL_EVERY)
    _report(101, 2.0)  # the web server got busy meanwhile (for FRESH_FOR seconds)
    yielding.wait()
    assert len(looks) > 2
    assert web_load.FRESH_FOR - 0.5 < yielding.waited <= web_load.FRESH_FOR + 0.5
